/**
 * key-secrecy: no key value in any host-visible byte, each place scanned once for what changed since
 * (the database images scanned last are cached).
 * @module
 */
import { inspect } from 'node:util';
import type { Deployment } from './deployment.ts';
import type { SdCard } from '../../device/sdcard.ts';
import type { DeploymentModel } from './referenceModel.ts';
import { violated } from './invariantError.ts';

/** The database image each host held at the last scan: only what changed since is scanned again. */
const scannedImages = new WeakMap<object, Uint8Array>();

/**
 * key-secrecy: no key value in any host-visible byte: the SD cards, the databases in plaintext as
 * the hosts hold them (only the cards' copies are sealed), every file written to the share or seen
 * on it (each scanned once, as the deployment saw it), every message, every command's output and
 * error; raw, as hex or as base64 text.
 */
export async function checkKeySecrecy(m: DeploymentModel, r: Deployment): Promise<void> {
  // Every place is scanned before the check fails, and the failure names every leak: the share files
  // are handed over once (`takeUnscanned`), and the outputs cleared, so a check that stopped at the
  // first leak would never scan the rest, nor anything behind a leak that stays on a card. The same
  // leak said twice (an error's several views) is said once.
  const leaks: string[] = [];
  const leak = (where: string, found: string | null) => {
    if (found !== null) leaks.push(`${found} found in ${where}`);
  };
  const cards: Array<[string, SdCard]> = [['the admin SD card', r.adminCard]];
  for (const slot of r.users.values()) cards.push([`${slot.userId}'s SD card`, slot.sd]);
  for (const [name, card] of cards) leak(name, r.secrets.findOnCard(card));
  const hosts: Array<[string, { readonly hostDatabaseImage: Uint8Array }]> = [["the admin host's database", r.admin]];
  for (const slot of r.users.values())
    if (slot.user !== null) hosts.push([`${slot.userId}'s replica in host memory`, slot.user]);
  for (const [name, host] of hosts) {
    const image = host.hostDatabaseImage;
    const before = scannedImages.get(host);
    if (before === image) continue;
    scannedImages.set(host, image);
    leak(name, r.secrets.findInImageChanges(image, before));
  }
  for (const { stream, name, bytes } of r.takeUnscanned())
    leak(`share file ${stream}/${name}`, r.secrets.findInBytes(bytes));
  for (const entry of m.ledger) leak(`message #${entry.id}`, r.secrets.findInBytes(entry.message));
  for (const value of r.outputs) {
    if (value instanceof Uint8Array) leak('a command output', r.secrets.findInBytes(value));
    else {
      const views = [inspect(value, { depth: 10, maxArrayLength: Infinity, maxStringLength: Infinity }), String(value)];
      if (value instanceof Error) views.push(value.message, value.stack ?? '');
      for (const v of views) leak('a command output or error message', r.secrets.findInText(v));
    }
  }
  r.outputs.length = 0;
  if (leaks.length > 0) violated('key-secrecy', [...new Set(leaks)].join('; also '));
}
