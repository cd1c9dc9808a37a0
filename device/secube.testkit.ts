/**
 * Test helpers for the SEcube simulator: devices on a metered flash, and a scanner that looks for
 * secret bytes in anything a host could see.
 * @module
 */
import { inspect } from 'node:util';
import { isDeviceError } from './deviceError.ts';
import type { DeviceErrorCode } from './deviceError.ts';
import { Manufacturer } from './attestation.ts';
import { CycleMeter } from './costModel.ts';
import { Flash } from './flash.ts';
import { SdCard } from './sdcard.ts';
import { provisionUserDevice } from './provisioning.ts';
import { SecubeDevice } from './secube.ts';
import type { ProvisioningKeyIds, SecubeDeviceOptions } from './secube.ts';
import { encodeUpdateHeader } from './updateHeader.ts';
import type { UpdateKind } from './updateHeader.ts';

/** PINs used by test devices. */
export const USER_PIN = 'user-pin-1234';
/** Admin PIN of test devices. */
export const ADMIN_PIN = 'admin-pin-5678';

/** The one manufacturer of every test device (deterministic), so test devices trust each other. */
export const TEST_MANUFACTURER: Manufacturer = Manufacturer.generate('test');

/** A test device, its flash and the meter both charge. */
export interface TestDevice {
  readonly device: SecubeDevice;
  readonly flash: Flash;
  readonly meter: CycleMeter;
}

/**
 * A factory-initialised device, certified by {@link TEST_MANUFACTURER}, with test hooks on, a seeded TRNG and cheap PIN
 * hashing (10
 * PBKDF2 iterations keep the PIN suites fast; the default is used where cost is measured).
 */
export function makeDevice(
  seed: string,
  options: Partial<Omit<SecubeDeviceOptions, 'flash'>> & { readonly flashSeed?: number } = {},
): TestDevice {
  const meter = new CycleMeter();
  const flash = new Flash({ meter, seed: options.flashSeed ?? 1 });
  const { flashSeed: _ignored, ...rest } = options;
  const device = new SecubeDevice({ flash, seed, pinIterations: 10, testHooks: true, ...rest });
  device.factoryInit({ userPin: USER_PIN, adminPin: ADMIN_PIN, manufacturer: TEST_MANUFACTURER });
  return { device, flash, meter };
}

/** A test device with its microSD card. */
export interface TestDeviceWithCard extends TestDevice {
  readonly sd: SdCard;
}

/**
 * Factory-fresh devices by seed, flash seed and card size: the templates {@link freshDevice} copies.
 * Bounded, oldest first out; a property suite uses a few dozen seeds over and over.
 */
const factoryFresh = new Map<string, SecubeDevice>();
const FACTORY_FRESH_ENTRIES = 256;

/**
 * What {@link makeDevice}`(seed, { sdcard: new SdCard({ sectorCount: cardSectors }), flashSeed })`
 * returns, with the card (and with `adminSession`, as after `login('admin', ADMIN_PIN)` on it) —
 * but a copy (`SecubeDevice.simulatorClone`) of a device made so once in this process, not one
 * made again. Why it is the same: factory init and that login are functions of the seed alone
 * (seeded TRNG, fixed PINs and manufacturer, a blank flash and card), and the copy carries
 * everything such a device has — flash cells and wear, card, meter totals, TRNG state, RAM — so
 * it answers, writes and charges exactly as one made fresh would (`secube.clone.test.ts`). The
 * template itself is never handed out, so nothing a test does reaches it.
 */
export function freshDevice(
  seed: string,
  options: { readonly flashSeed?: number; readonly cardSectors: number; readonly adminSession?: boolean },
): TestDeviceWithCard {
  const adminSession = options.adminSession === true;
  const key = JSON.stringify([seed, options.flashSeed ?? 1, options.cardSectors, adminSession]);
  let template = factoryFresh.get(key);
  if (template === undefined) {
    const sdcard = new SdCard({ sectorCount: options.cardSectors });
    template = makeDevice(seed, {
      sdcard,
      ...(options.flashSeed === undefined ? {} : { flashSeed: options.flashSeed }),
    }).device;
    if (adminSession) template.login('admin', ADMIN_PIN);
    if (factoryFresh.size >= FACTORY_FRESH_ENTRIES) factoryFresh.delete(factoryFresh.keys().next().value as string);
    factoryFresh.set(key, template);
  }
  const { device, flash, meter } = template.simulatorClone();
  const sd = device.sdcard;
  if (meter === undefined || sd === undefined) throw new Error('a test device has a meter and here a card');
  return { device, flash, meter, sd };
}

/** Key IDs of the pairs made by {@link makeProvisionedPair}: the same on both devices. */
export const PAIR_IDS: ProvisioningKeyIds = Object.freeze({
  adminToUserKeyId: 1000,
  userToAdminKeyId: 1001,
  wrappingKeyId: 1002,
});

/**
 * An admin device and a user device provisioned with `ids` (default {@link PAIR_IDS}), both left in
 * admin sessions; `userFlashSeed` seeds the user flash's torn-write model.
 */
export function makeProvisionedPair(
  seed: string,
  options: { readonly ids?: ProvisioningKeyIds; readonly userFlashSeed?: number } = {},
): { admin: TestDevice; user: TestDevice } {
  const ids = options.ids ?? PAIR_IDS;
  const admin = makeDevice(`${seed}-admin`);
  const user = makeDevice(
    `${seed}-user`,
    options.userFlashSeed === undefined ? {} : { flashSeed: options.userFlashSeed },
  );
  admin.device.login('admin', ADMIN_PIN);
  user.device.login('admin', ADMIN_PIN);
  provisionUserDevice(admin.device, user.device, ids);
  return { admin, user };
}

/** An update file as the user's HSM takes it: header (the AAD) and sealed body. */
export interface SealedUpdate {
  readonly header: Uint8Array;
  readonly sealedBody: Uint8Array;
}

/**
 * Update `sequence` for the device with `serial`, its `body` sealed by `admin` (in a session) under
 * its `seal` key `keyId` (default: the pair's admin→user key), the header as AAD.
 */
export function sealUpdate(
  admin: SecubeDevice,
  serial: string,
  sequence: number,
  options: { readonly keyId?: number; readonly body?: Uint8Array; readonly kind?: UpdateKind } = {},
): SealedUpdate {
  const body = options.body ?? new Uint8Array(0);
  const header = encodeUpdateHeader(
    { kind: options.kind ?? 'incremental', userId: 'U1', serial, sequence, previousHash: new Uint8Array(32) },
    body.length + 28,
  );
  return { header, sealedBody: admin.seal(options.keyId ?? PAIR_IDS.adminToUserKeyId, body, header) };
}

/**
 * The one way a user device's applied-update counter moves: `admin` seals update `sequence`, the
 * user device authenticates it (`openUpdate`) and records it as applied. Both need a session.
 */
export function recordUpdate(
  admin: SecubeDevice,
  user: SecubeDevice,
  sequence: number,
  keyId = PAIR_IDS.adminToUserKeyId,
): void {
  const { header, sealedBody } = sealUpdate(admin, user.serial, sequence, { keyId });
  user.openUpdate(keyId, header, sealedBody);
  user.recordUpdateApplied(sequence);
}

/** Ends whatever session `device` has and opens one at `level`. */
export function relogin(device: SecubeDevice, level: 'user' | 'admin'): void {
  if (device.session !== 'loggedOut') device.logout();
  device.login(level, level === 'admin' ? ADMIN_PIN : USER_PIN);
}

/** Reboots a device from its flash (a new device object, as after a power cycle of the firmware). */
export function reboot(t: TestDevice, seed = 'reboot'): SecubeDevice {
  return new SecubeDevice({ flash: t.flash, seed, pinIterations: 10, testHooks: true });
}

/** Everything printable about a value, as a host would log it: JSON, inspect, String, and for errors the stack. */
export function hostViews(value: unknown): string[] {
  const views: string[] = [];
  const json = JSON.stringify(value, (_k, v: unknown) =>
    v instanceof Uint8Array ? Buffer.from(v).toString('hex') : v,
  );
  if (json !== undefined) views.push(json);
  views.push(inspect(value, { depth: 10, showHidden: true, maxArrayLength: Infinity, maxStringLength: Infinity }));
  views.push(String(value));
  if (value instanceof Error) views.push(value.message, value.stack ?? '', JSON.stringify({ ...value }));
  if (value instanceof Uint8Array)
    views.push(Buffer.from(value).toString('hex'), Buffer.from(value).toString('latin1'));
  return views;
}

/**
 * Secret fragments to look for: every 8-byte window of each secret, in hex and as raw bytes
 * (latin1), so a partial leak is caught too.
 */
export function secretNeedles(secrets: readonly Uint8Array[]): string[] {
  const needles = new Set<string>();
  for (const s of secrets) {
    for (let i = 0; i + 8 <= s.length; i += 4) {
      const w = Buffer.from(s.subarray(i, i + 8));
      needles.add(w.toString('hex'));
      needles.add(w.toString('latin1'));
    }
  }
  return [...needles];
}

/** The needles found in any of the host views (empty when nothing leaked). */
export function leaks(views: readonly string[], needles: readonly string[]): string[] {
  return needles.filter((n) => views.some((v) => v.includes(n)));
}

/** Runs `f` and requires it to throw a `DeviceError` with `code`. */
export function expectCode(code: DeviceErrorCode, f: () => unknown): void {
  try {
    f();
  } catch (e) {
    if (!isDeviceError(e, code)) throw new Error(`expected ${code}, got ${String(e)}`);
    return;
  }
  throw new Error(`expected ${code}, but the call succeeded`);
}
