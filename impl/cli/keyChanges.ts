/**
 * What an admin command did to keys, said in one line per key: new keys, state transitions, renames
 * and changes of holders. Computed by comparing the key list before and after the command, so that
 * consequences the command did not name — the rekey after a member leaves, the replacement of a
 * compromised key, the expiry sweep that runs before every operation — are shown too.
 * @module
 */
import type { AdminKeyInfo } from '../kms/admin.ts';
import { formatDuration } from './durations.ts';
import { ids, when } from './format.ts';

/** One line per key that differs between `before` and `after`. */
export function describeKeyChanges(before: readonly AdminKeyInfo[], after: readonly AdminKeyInfo[]): string[] {
  const old = new Map(before.map((k) => [k.id, k]));
  const lines: string[] = [];
  for (const k of after) {
    const b = old.get(k.id);
    if (!b) {
      const expiry = k.expiresAt === null ? `cryptoperiod ${formatDuration(k.cryptoperiodMs)}` : `expires ${when(k.expiresAt)}`;
      lines.push(`${k.id}: new key of ${k.owner} '${k.name}', ${k.state}, ${expiry}, held by ${ids(k.holders)}`);
      continue;
    }
    const parts: string[] = [];
    if (b.state !== k.state) parts.push(`${b.state} → ${k.state}`);
    if (b.name !== k.name) parts.push(`renamed '${b.name}' → '${k.name}'`);
    const gained = k.holders.filter((h) => !b.holders.includes(h));
    const lost = b.holders.filter((h) => !k.holders.includes(h));
    if (gained.length > 0 || lost.length > 0) {
      parts.push(`holders ${[...gained.map((h) => `+${h}`), ...lost.map((h) => `-${h}`)].join(' ')}`);
    }
    if (parts.length > 0) lines.push(`${k.id}: ${parts.join('; ')}`);
  }
  return lines;
}
