/**
 * The simulated SEcube HSM: PIN sessions, a flash key store reached by numeric key ID only,
 * AES-256-GCM by key ID, AES-KW export/import under designated wrapping keys, monotonic counters and
 * an X25519 identity key — with every secret kept inside.
 *
 * {@link SecubeDevice} is a facade: its state is a private `DeviceCore` (`secubeCore.ts`) and each
 * concern is a module of functions over it. What they fix in the original firmware (W-numbers as in
 * `docs/spec.md`, "Differences from the original"):
 * - `secubePin.ts` — PINs: a retry counter per level, spent in flash **before** the comparison, and
 *   PINs kept only as salted PBKDF2 hashes compared in constant time (W8). Every PIN decision is
 *   taken by the model's `pinSessionMachine`; the device persists it and runs its effects.
 * - `secubePinReset.ts`, `pinResetOrder.ts` — PIN reset orders: the admin HSM seals a new user PIN
 *   for one paired device, which accepts it while logged out (the user level may be locked) if it
 *   is authentic and fresher than the last one it accepted (no admin PINs of user devices needed).
 * - `secubeFactory.ts` — factory init and reset: a TRNG serial (W10), an X25519 identity made inside
 *   and certified by the manufacturer, whose public key is burned in as the root of trust.
 * - `secubeKeyAccess.ts`, `secubeKeys.ts` — one purpose per key, checked by every method (NIST SP
 *   800-57 Part 1 §5.2, `keyPurpose.ts`); a user session can create keys but never delete or
 *   replace one (W5), except by a delete order sealed by the admin device (need-to-know).
 * - `secubeCrypto.ts` — AES-256-GCM by key ID (NIST SP 800-38D); `secubeWrap.ts` — export only at
 *   admin level, only data keys, only AES-KW-wrapped (RFC 3394) under a `wrap` key; import only
 *   under an `unwrap` key (W4); no plaintext import outside test hooks.
 * - `secubeCounters.ts` — monotonic counters in flash (anti-rollback, W2).
 * - `secubeAcknowledge.ts` — acknowledgements sealed only under the `ack` key and only for an update
 *   sequence the device's applied-update counter has reached.
 * - `secubeUpdates.ts`, `updateHeader.ts` — update files authenticated by the device itself, which
 *   moves its applied-update counter only to an update it authenticated (the generic
 *   `counterAdvance` refuses that counter).
 * - `secubeProvisioning.ts`, `provisioningKdf.ts` — provisioning keys derived inside both devices
 *   (W3), direction-separated (W1), only with a peer certified by the same manufacturer.
 *
 * Persistent state survives power loss: key records live in the key store (key purpose included, in
 * the same record), everything else in a two-sector record area. A power cut at any point of any
 * operation leaves the state before or after it.
 * @module
 */
import type { PinLevel } from '../model/pinSession.ts';
import type { CycleMeter } from './costModel.ts';
import type { Flash } from './flash.ts';
import { DeviceError } from './deviceError.ts';
import type { Pin } from './pinHash.ts';
import type { SdCard } from './sdcard.ts';
import { DeviceCore } from './secubeCore.ts';
import type { DeviceSummary, SecubeDeviceOptions, SessionState } from './secubeCore.ts';
import { acknowledge } from './secubeAcknowledge.ts';
import { counterAdvance, counterRead } from './secubeCounters.ts';
import { openUpdate, recordUpdateApplied } from './secubeUpdates.ts';
import { decrypt, encrypt, open, reencrypt, seal } from './secubeCrypto.ts';
import type { EncryptOptions, EncryptResult } from './secubeCrypto.ts';
import { attestationOf, factoryInit, factoryReset, ownPublicKey } from './secubeFactory.ts';
import type { FactoryInitOptions, FactoryInitResult, FactoryResetOptions } from './secubeFactory.ts';
import { deleteKey, deleteKeyByOrder, generateKey, keyInfo, listKeyIds } from './secubeKeys.ts';
import type { GenerateKeyOptions, KeyInfo } from './secubeKeys.ts';
import { changeAdminPin, changeUserPin, login, logout, resetUserPin, retriesLeft, sessionState } from './secubePin.ts';
import { acceptPinResetOrder, issuePinResetOrder } from './secubePinReset.ts';
import { installProvisionedKeys } from './secubeProvisioning.ts';
import type { ProvisioningRequest } from './secubeProvisioning.ts';
import { makeTestHooks } from './secubeTestHooks.ts';
import type { SecubeTestHooks } from './secubeTestHooks.ts';
import { exportWrapped, importWrapped } from './secubeWrap.ts';

export { UPDATE_SEQUENCE_COUNTER } from './acknowledgement.ts';
export { PIN_RESET_ACCEPTED_COUNTER, PIN_RESET_ISSUED_COUNTER } from './pinResetOrder.ts';
export { KEY_PURPOSES, MAX_KEY_ID, PROVISIONED_PURPOSES } from './keyPurpose.ts';
export type { KeyPurpose } from './keyPurpose.ts';
export { DEFAULT_STATE_SECTORS } from './secubeCore.ts';
export type { DeviceSummary, SecubeDeviceOptions, SessionState } from './secubeCore.ts';
export type { EncryptOptions, EncryptResult } from './secubeCrypto.ts';
export type { FactoryInitOptions, FactoryInitResult, FactoryResetOptions } from './secubeFactory.ts';
export type { GenerateKeyOptions, KeyInfo } from './secubeKeys.ts';
export type { ProvisioningKeyIds, ProvisioningPeer, ProvisioningRequest } from './secubeProvisioning.ts';
export type { SecubeTestHooks } from './secubeTestHooks.ts';

const hooksOf = new WeakMap<SecubeDevice, SecubeTestHooks>();
/** Set by {@link SecubeDevice.simulatorClone} for the one constructor call it makes: the core to adopt, not boot. */
let adopting: DeviceCore | undefined;
/** Node's `util.inspect.custom` (a registered symbol, so no dependency on node:util). */
const INSPECT = Symbol.for('nodejs.util.inspect.custom');

/**
 * One SEcube. Construction boots it (reads its flash); a blank device needs {@link factoryInit}.
 * Every method throws `PowerLossError` while the device is unpowered, and a power cut during a
 * method leaves the device unpowered until {@link powerOn}.
 */
export class SecubeDevice {
  readonly #core: DeviceCore;

  constructor(options: SecubeDeviceOptions) {
    const adopted = adopting;
    adopting = undefined;
    const core = adopted ?? new DeviceCore(options);
    this.#core = core;
    if (options.testHooks === true) {
      core.testHooks = makeTestHooks(core);
      hooksOf.set(this, core.testHooks);
    }
    // A clone's core is already in its source's booted state: booting it again would charge the reads.
    if (adopted === undefined) core.guard(() => core.boot());
  }

  /**
   * SIMULATOR ONLY, like a virtual machine's snapshot: an independent device in exactly this one's
   * state, on copies of its flash, meter, SD card and seeded TRNG (and RAM: session, key store
   * view, caches), so every later call returns, writes and charges what it would on this device.
   * A real HSM cannot be cloned — its secrets and its TRNG state never leave it — so only a device
   * built with `testHooks: true` offers this; nothing in `impl/` uses it. It exists so the test kit
   * can make a seeded, factory-fresh device once and hand out copies (`secube.testkit.ts`
   * `freshDevice`), instead of running factory init for the same seed run after run;
   * `secube.clone.test.ts` drives a copy and a freshly made device side by side and compares every
   * output, cycle and byte.
   * @throws DeviceError `AccessDenied` on a device without test hooks; RangeError when the TRNG was
   *   handed in or is unseeded (no state to copy).
   */
  simulatorClone(): { readonly device: SecubeDevice; readonly flash: Flash; readonly meter: CycleMeter | undefined } {
    const core = this.#core;
    if (core.testHooks === undefined) throw new DeviceError('AccessDenied', 'only a test device can be cloned');
    adopting = core.cloneSimulated();
    const copy = adopting;
    try {
      return { device: new SecubeDevice({ flash: copy.flash, testHooks: true }), flash: copy.flash, meter: copy.meter };
    } finally {
      adopting = undefined;
    }
  }

  /** Runs `step` on the core; a power cut in it leaves the device off (`DeviceCore.guard`). */
  #run<T>(step: (core: DeviceCore) => T): T {
    const core = this.#core;
    return core.guard(() => step(core));
  }

  // ---- power (secubeCore.ts) -----------------------------------------------------------------

  /** False after a power cut until {@link powerOn}. */
  get powered(): boolean {
    return this.#core.powered;
  }

  /** The meter charged by this device (shared with its flash by default). */
  get meter(): CycleMeter | undefined {
    return this.#core.meter;
  }

  /** The microSD card, if the device has one. */
  get sdcard(): SdCard | undefined {
    return this.#core.sdcard;
  }

  /** Pulls the plug now (SD card included); to cut inside a flash operation, arm the flash's `cutPowerAfter`. */
  cutPower(): void {
    this.#core.cutPower();
  }

  /** Powers the device (and its flash and SD card) back on and boots from flash. */
  powerOn(): void {
    this.#core.powerOn();
  }

  // ---- identity and factory (secubeFactory.ts) -----------------------------------------------

  /** True once factory init has run. @throws DeviceError `StateCorrupt` after a failed boot. */
  get initialized(): boolean {
    this.#core.requirePower();
    // Not blank either: the flash holds a state it could not read (DeviceError `StateCorrupt`).
    this.#core.requireBooted();
    return this.#core.state !== undefined;
  }

  /** The 32-character serial number. */
  get serial(): string {
    return this.#run((core) => core.requireInit().state.serial);
  }

  /** The X25519 public key of the device identity (RFC 7748 §6.1); the secret never leaves. */
  get identityPublicKey(): Uint8Array {
    return this.#run((core) => ownPublicKey(core).slice());
  }

  /** The manufacturer's Ed25519 signature (RFC 8032 §5.1.6) of (serial, identity public key). @throws DeviceError
   * `NoRootOfTrust`. */
  get certificate(): Uint8Array {
    return this.#run((core) => attestationOf(core).certificate.slice());
  }

  /** The manufacturer's Ed25519 public key (RFC 8032 §5.1.5): the root of trust for peers. @throws DeviceError
   * `NoRootOfTrust`. */
  get manufacturerPublicKey(): Uint8Array {
    return this.#run((core) => attestationOf(core).rootOfTrust.slice());
  }

  /**
   * Factory initialisation (SEcube CMD0 1, run once, atomic): TRNG serial, X25519 identity certified
   * by `options.manufacturer` (burned in as the root of trust), PIN verifiers, an empty key store.
   */
  factoryInit(options: FactoryInitOptions): FactoryInitResult {
    return this.#run((core) => factoryInit(core, options));
  }

  /**
   * Factory reset (logged out, admin session, or locked): erases every key, then saves new PINs,
   * full tries, no counters and a fresh identity certified by `options.manufacturer`, which must be
   * the one burned in. @throws DeviceError `WrongManufacturer`, `AccessDenied`.
   */
  factoryReset(options: FactoryResetOptions): void {
    this.#run((core) => factoryReset(core, options));
  }

  // ---- PIN sessions (secubePin.ts) -----------------------------------------------------------

  /** The session state, from the PIN machine. */
  get session(): SessionState {
    return this.#run(sessionState);
  }

  /** Tries left per level (persisted in flash). */
  get retriesLeft(): { readonly user: number; readonly admin: number } {
    return this.#run(retriesLeft);
  }

  /** Opens a session at `level`, spending the try in flash first. @throws DeviceError `WrongPin`, `PinLocked`,
   * `DeviceLocked`, `SessionActive`. */
  login(level: PinLevel, pin: Pin): void {
    this.#run((core) => login(core, level, pin));
  }

  /** Ends the session. */
  logout(): void {
    this.#run(logout);
  }

  /** Admin: sets a new user PIN and gives the user level all its tries back (`RESET_USER_PIN`). */
  resetUserPin(newPin: Pin): void {
    this.#run((core) => resetUserPin(core, newPin));
  }

  /** User: changes the user PIN (after logging in with the current one). */
  changeUserPin(newPin: Pin): void {
    this.#run((core) => changeUserPin(core, newPin));
  }

  /** Admin: changes the admin PIN. */
  changeAdminPin(newPin: Pin): void {
    this.#run((core) => changeAdminPin(core, newPin));
  }

  // ---- PIN reset orders (secubePinReset.ts, pinResetOrder.ts) --------------------------------

  /**
   * Admin session: an order for the paired device `serial` to take `newPin` as its user PIN,
   * sealed under `seal` key `channelKeyId` (the pair's admin→user channel key), its sequence taken
   * from this HSM's order counter, which reaches flash first.
   * @throws DeviceError `AccessDenied`, `WrongKeyPurpose`, `UnknownKey`, `BadArgument`, `BadOrder`.
   */
  issuePinResetOrder(channelKeyId: number, serial: string, newPin: Pin): Uint8Array {
    return this.#run((core) => issuePinResetOrder(core, channelKeyId, serial, newPin));
  }

  /**
   * Nobody logged in: carries out a PIN reset order of the admin HSM opened under `open` key
   * `channelKeyId`: a new user PIN and all user tries, also when the user level is locked.
   * @returns the order's sequence, now the last accepted.
   * @throws DeviceError `AuthFailed`, `NotForThisDevice`, `StaleOrder`, `BadOrder`, `SessionActive`,
   *   `DeviceLocked`, `WrongKeyPurpose`, `UnknownKey`.
   */
  acceptPinResetOrder(channelKeyId: number, order: Uint8Array): number {
    return this.#run((core) => acceptPinResetOrder(core, channelKeyId, order));
  }

  // ---- keys (secubeKeys.ts) ------------------------------------------------------------------

  /** Generates a data (or local) key inside the device from the TRNG and stores it under `id`. */
  generateKey(id: number, options: GenerateKeyOptions = {}): KeyInfo {
    return this.#run((core) => generateKey(core, id, options));
  }

  /** Admin only: deletes a key; the key store zeroes its bytes in flash before this returns. */
  deleteKey(id: number): boolean {
    return this.#run((core) => deleteKey(core, id));
  }

  /**
   * Carries out a delete order sealed by the admin device under `open` key `channelKeyId`: the one
   * way a user session can remove a key. The admin's host must never pass user-supplied bytes here.
   * @returns false when there is no such key (a replayed order).
   * @throws DeviceError `UnknownKey`, `WrongKeyPurpose`, `AuthFailed`, `BadOrder`.
   */
  deleteKeyByOrder(keyId: number, order: Uint8Array, channelKeyId: number): boolean {
    return this.#run((core) => deleteKeyByOrder(core, keyId, order, channelKeyId));
  }

  /** IDs of every stored key, ascending. */
  listKeyIds(): number[] {
    return this.#run(listKeyIds);
  }

  /** Purpose and size of a key (see `keyPurpose.ts` for what each purpose allows). */
  keyInfo(id: number): KeyInfo {
    return this.#run((core) => keyInfo(core, id));
  }

  // ---- AES-256-GCM by key ID (secubeCrypto.ts) -----------------------------------------------

  /**
   * AES-GCM encryption under data key `keyId` (NIST SP 800-38D §7.1) with a nonce the device draws
   * from its TRNG (§8.2.2); the host cannot supply one. @throws DeviceError `BadArgument` when
   * `options` carries a `nonce` anyway.
   */
  encrypt(keyId: number, plaintext: Uint8Array, options: EncryptOptions = {}): EncryptResult {
    return this.#run((core) => encrypt(core, keyId, plaintext, options));
  }

  /** AES-GCM decryption under data key `keyId` (NIST SP 800-38D §7.2). @throws DeviceError `AuthFailed`. */
  decrypt(keyId: number, nonce: Uint8Array, ciphertext: Uint8Array, aad: Uint8Array = new Uint8Array(0)): Uint8Array {
    return this.#run((core) => decrypt(core, keyId, nonce, ciphertext, aad));
  }

  /** Decrypts under `fromKeyId` and re-encrypts under `toKeyId` inside; the plaintext never leaves (NIST SP 800-57 Pt 1
   * §7). */
  reencrypt(
    fromKeyId: number,
    nonce: Uint8Array,
    ciphertext: Uint8Array,
    fromAad: Uint8Array,
    toKeyId: number,
    toAad: Uint8Array,
  ): EncryptResult {
    return this.#run((core) => reencrypt(core, { fromKeyId, nonce, ciphertext, fromAad, toKeyId, toAad }));
  }

  /** Seals under a `data`, `seal` or `local` key (never an `ack` key): nonce ‖ ciphertext ‖ tag (NIST SP 800-38D
   * §8.2.2). */
  seal(keyId: number, plaintext: Uint8Array, aad: Uint8Array): Uint8Array {
    return this.#run((core) => seal(core, keyId, plaintext, aad));
  }

  /** Opens what {@link seal} produced, under a `data`, `open` or `local` key. @throws DeviceError `AuthFailed`. */
  open(keyId: number, sealed: Uint8Array, aad: Uint8Array): Uint8Array {
    return this.#run((core) => open(core, keyId, sealed, aad));
  }

  // ---- update files and the applied-update counter (secubeUpdates.ts, updateHeader.ts) --------

  /**
   * Authenticates an update file, `header` ‖ `sealedBody`, under `open` key `channelKeyId` (the
   * admin→user channel key; AES-256-GCM with the header as AAD, NIST SP 800-38D §7.2) and returns the
   * body's plaintext. The device parses the header itself (`updateHeader.ts`), requires it to name
   * this device, and remembers its sequence in RAM (until power-off, login or logout) for
   * {@link recordUpdateApplied}.
   * @throws DeviceError `AuthFailed`, `NotForThisDevice`, `BadArgument`, `WrongKeyPurpose`.
   */
  openUpdate(channelKeyId: number, header: Uint8Array, sealedBody: Uint8Array): Uint8Array {
    return this.#run((core) => openUpdate(core, channelKeyId, header, sealedBody));
  }

  /**
   * Records update `sequence` as applied: moves the applied-update counter
   * ({@link UPDATE_SEQUENCE_COUNTER}) to it, persisted before this returns, but only to the
   * sequence this device authenticated last ({@link openUpdate}) since it was powered on or logged
   * in, and never backwards (equal is a no-op).
   * @throws DeviceError `UpdateNotAuthenticated`, `CounterRollback`, `BadArgument`.
   */
  recordUpdateApplied(sequence: number): number {
    return this.#run((core) => recordUpdateApplied(core, sequence));
  }

  // ---- acknowledgements (secubeAcknowledge.ts, acknowledgement.ts) ---------------------------

  /**
   * Seals acknowledgement `header` (`acknowledgement.ts`) under `ack` key `channelKeyId`, the
   * user→admin channel key: nonce ‖ GCM tag over an empty plaintext, the header as AAD. The device
   * parses the header and refuses a sequence above its applied-update counter
   * ({@link UPDATE_SEQUENCE_COUNTER}) or a header naming another device.
   * @throws DeviceError `NotApplied`, `BadArgument`, `WrongKeyPurpose`.
   */
  acknowledge(channelKeyId: number, header: Uint8Array): Uint8Array {
    return this.#run((core) => acknowledge(core, channelKeyId, header));
  }

  // ---- wrapping (secubeWrap.ts) --------------------------------------------------------------

  /**
   * Admin only: data key `keyId`, bound to its ID and to update file `sequence` (the file that will
   * carry it), wrapped with AES-KW (RFC 3394 §2.2.1) under `wrap` key `wrappingKeyId`.
   * @throws DeviceError `AccessDenied`, `WrongKeyPurpose`, `BadArgument`.
   */
  exportWrapped(keyId: number, wrappingKeyId: number, sequence: number): { blob: Uint8Array } {
    return this.#run((core) => exportWrapped(core, keyId, wrappingKeyId, sequence));
  }

  /**
   * Unwraps `blob` (RFC 3394 §2.2.2–2.2.3) under `unwrap` key `unwrappingKeyId` into data key
   * `keyId`, if the blob names `keyId` and an update file beyond the last this device recorded as
   * applied; only an admin may replace.
   * @throws DeviceError `UnwrapFailed`, `SpentKeyMaterial`, `WrongKeyPurpose`.
   */
  importWrapped(
    keyId: number,
    blob: Uint8Array,
    unwrappingKeyId: number,
    options: { readonly replace?: boolean } = {},
  ): KeyInfo {
    return this.#run((core) => importWrapped(core, keyId, blob, unwrappingKeyId, options.replace === true));
  }

  // ---- monotonic counters (secubeCounters.ts) ------------------------------------------------

  /** Value of monotonic counter `name` (0 when never advanced). */
  counterRead(name: string): number {
    return this.#run((core) => counterRead(core, name));
  }

  /**
   * Moves counter `name` forward to `to`, persisted before this returns. Not the applied-update
   * counter, which only {@link recordUpdateApplied} moves.
   * @throws DeviceError `CounterRollback`, `ReservedCounter`.
   */
  counterAdvance(name: string, to: number): number {
    return this.#run((core) => counterAdvance(core, name, to));
  }

  // ---- provisioning (secubeProvisioning.ts, provisioningKdf.ts) ------------------------------

  /**
   * Admin session: checks the peer's certificate, derives the three keys shared with it (X25519,
   * RFC 7748 §6.1; HKDF-SHA256, RFC 5869) and stores them with the purposes of this side.
   * @throws DeviceError `AccessDenied`, `BadArgument`, `KeyExists`, `UntrustedPeer`, `NoRootOfTrust`.
   */
  installProvisionedKeys(request: ProvisioningRequest): void {
    this.#run((core) => installProvisionedKeys(core, request));
  }

  // ---- presentation: never any secret --------------------------------------------------------

  /** Serial, power, session and key count; never key material. */
  toString(): string {
    const s = this.#core.summary();
    return (
      `SecubeDevice(serial=${s.serial ?? 'uninitialized'}, ${s.powered ? 'on' : 'off'}, ` +
      `session=${s.session ?? '-'}, keys=${s.keys ?? '-'})`
    );
  }

  /** The same summary for `JSON.stringify`. */
  toJSON(): DeviceSummary {
    return this.#core.summary();
  }

  /** The same summary for `util.inspect` / `console.log`. */
  [INSPECT](): string {
    return this.toString();
  }
}

/**
 * TESTS ONLY. The test hooks of a device constructed with `testHooks: true`.
 * @throws DeviceError `AccessDenied` for any other device.
 */
export function testOnlyHooks(device: SecubeDevice): SecubeTestHooks {
  const hooks = hooksOf.get(device);
  if (hooks === undefined) throw new DeviceError('AccessDenied', 'test hooks are disabled on this device');
  return hooks;
}
