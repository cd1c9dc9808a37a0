/**
 * The simulated SEcube HSM: PIN sessions, a flash key store reached by numeric key ID only,
 * AES-256-GCM by key ID, AES-KW export/import under designated wrapping keys, monotonic counters and
 * an X25519 identity key — with every secret kept inside.
 *
 * What it fixes in the original firmware (see the project design brief):
 * - PINs: a retry counter per level, spent in flash **before** the comparison, and PINs kept only as
 *   salted PBKDF2 hashes compared in constant time (the original has no counter and stores PINs in
 *   clear, W8). Every PIN decision is taken by the model's `pinSessionMachine`, driven with xstate's
 *   pure `transition()`; the device only persists what the machine decided and runs the effects it
 *   hands back (`eraseAllKeys`).
 * - Every key has one purpose, checked by every method (`keyPurpose.ts`: data, wrap, unwrap, seal,
 *   open; NIST SP 800-57 Part 1 §5.2). Key export: only at admin level, only data keys, only wrapped
 *   (AES-KW, RFC 3394) under a `wrap` key; import only under an `unwrap` key. The original wraps
 *   under any key, even one imported in clear (W4); here no key but a data key ever leaves, and
 *   there is no plaintext import at all outside test hooks.
 * - Provisioning keys are derived inside both devices (see `provisioning.ts`), never sent in clear
 *   (W3), and are direction-separated: the admin→user channel key can only `seal` on the admin
 *   device and only `open` on the user device (and the reverse for user→admin), so the user's host
 *   cannot forge an admin message to its own device (W1).
 * - A user-level session can create keys but never delete or replace one (W5), except that it can
 *   carry out a delete order sealed by the admin device ({@link SecubeDevice.deleteKeyByOrder}), so
 *   need-to-know is enforced on the device itself.
 * - The serial comes from the TRNG (the original's is epoch-prefixed and predictable, W10).
 * - Device identity attestation (`attestation.ts`): factory init burns the manufacturer's Ed25519
 *   public key into the device (root of trust) and stores the manufacturer's certificate of
 *   (serial, identity public key). Provisioning derives nothing until the peer's certificate verifies
 *   against that root, so a host cannot pair the admin device with an X25519 key pair of its own
 *   (whose secret it would know) and unwrap exported data keys.
 *
 * Persistent state survives power loss: key records live in the key store (key purpose included, in
 * the same record), everything else in a two-sector {@link RecordArea}. A power cut at any point of
 * any operation leaves the state before or after it.
 * @module
 */
import { concatBytes } from '@noble/hashes/utils.js';
import { initialTransition, transition } from 'xstate';
import type { SnapshotFrom } from 'xstate';
import { pinSessionMachine } from '../model/pinSession.ts';
import type { PinEvent, PinLevel } from '../model/pinSession.ts';
import { verifyIdentity } from './attestation.ts';
import type { Manufacturer } from './attestation.ts';
import type { CycleMeter } from './costModel.ts';
import { decodeDeleteOrder, deleteOrderAad } from './deleteOrder.ts';
import { DeviceError } from './deviceError.ts';
import { IDENTITY_SECRET_BYTES, MAX_COUNTERS, MAX_COUNTER_NAME_BYTES, SERIAL_ALPHABET, SERIAL_LENGTH, decodeDeviceState, encodeDeviceState } from './deviceState.ts';
import type { DeviceAttestation, DeviceState } from './deviceState.ts';
import type { Flash } from './flash.ts';
import { DEFAULT_KEY_STORE_SECTORS, KeyStore, readKeyMaterialForDevice } from './keyStore.ts';
import type { KeyStoreOptions } from './keyStore.ts';
import { KeyStoreFullError, KeyStoreNotFormattedError } from './keyStoreErrors.ts';
import { KEY_PURPOSES, MAX_KEY_ID, PROVISIONED_PURPOSES, decodeStoreId, encodeStoreId } from './keyPurpose.ts';
import type { KeyPurpose } from './keyPurpose.ts';
import {
  AES256_KEY_BYTES,
  GCM_NONCE_BYTES,
  aesGcmDecrypt,
  aesGcmEncrypt,
  aesKeyUnwrap,
  aesKeyWrap,
  chargePbkdf2,
  hkdfSha256,
  x25519PublicKey,
  x25519SharedSecret,
} from './meteredCrypto.ts';
import { DEFAULT_PIN_ITERATIONS, PIN_SALT_BYTES, makePinVerifier, pinBytes, verifyPin } from './pinHash.ts';
import type { Pin, PinVerifier } from './pinHash.ts';
import { PowerLossError } from './powerLossError.ts';
import { RecordArea } from './recordArea.ts';
import type { SdCard } from './sdcard.ts';
import { Trng } from './trng.ts';
import type { TrngSeed } from './trng.ts';

export { KEY_PURPOSES, MAX_KEY_ID, PROVISIONED_PURPOSES } from './keyPurpose.ts';
export type { KeyPurpose } from './keyPurpose.ts';

/** Default record-area sectors: two 16 KiB sectors of bank 2 (RM0090 §3.4: sectors 12 and 13). */
export const DEFAULT_STATE_SECTORS: readonly [number, number] = Object.freeze([12, 13]) as readonly [number, number];

/** Session state as the host sees it. */
export type SessionState = 'loggedOut' | 'user' | 'admin' | 'locked';

/** Options of {@link SecubeDevice}. */
export interface SecubeDeviceOptions {
  /** The device's internal flash (keep a reference only to inject faults or inspect wear). */
  readonly flash: Flash;
  /** Meter for crypto, TRNG and PIN work; defaults to the flash's meter, so one meter sees everything. */
  readonly meter?: CycleMeter;
  /** TRNG to use; default: a new one (seeded with `seed` when given) charging `meter`. */
  readonly trng?: Trng;
  /** Seed for a deterministic TRNG (reproducible runs); ignored when `trng` is given. */
  readonly seed?: TrngSeed;
  /** Key store placement and tuning (default: the 128 KiB sectors of bank 2). */
  readonly keyStore?: KeyStoreOptions;
  /** The two sectors of the device-state record area (default {@link DEFAULT_STATE_SECTORS}). */
  readonly stateSectors?: readonly [number, number];
  /** The device's microSD card, cut together with the device. */
  readonly sdcard?: SdCard;
  /** PBKDF2 iterations for new PIN verifiers (default {@link DEFAULT_PIN_ITERATIONS}). */
  readonly pinIterations?: number;
  /**
   * TESTS ONLY: enables {@link testOnlyHooks} (plaintext key import for published test vectors,
   * reading key bytes for secrecy scans, a cut point between spending a PIN try and comparing).
   */
  readonly testHooks?: boolean;
}

/** Factory-init parameters. */
export interface FactoryInitOptions {
  readonly userPin: Pin;
  readonly adminPin: Pin;
  /**
   * The factory's signing authority: its public key is burned into the device as the root of trust,
   * and it certifies the identity key made inside (`attestation.ts`).
   */
  readonly manufacturer: Manufacturer;
  /** Consecutive wrong PINs each level tolerates (the PIN machine's default when omitted). */
  readonly maxRetries?: number;
}

/**
 * New PINs for a factory reset (the retry limit chosen at factory init stays), and the manufacturer
 * that certifies the new identity key: a reset is a return to the factory. It must be the
 * manufacturer whose key the device carries; the root of trust never changes.
 */
export interface FactoryResetOptions {
  readonly userPin: Pin;
  readonly adminPin: Pin;
  readonly manufacturer: Manufacturer;
}

/** What {@link SecubeDevice.factoryInit} reports: public values only. */
export interface FactoryInitResult {
  readonly serial: string;
  /** X25519 identity public key (RFC 7748 §6.1). */
  readonly identityPublicKey: Uint8Array;
  /** The manufacturer's certificate of (serial, identity public key) (`attestation.ts`). */
  readonly certificate: Uint8Array;
}

/** Public facts about one stored key (never its bytes). */
export interface KeyInfo {
  readonly id: number;
  readonly purpose: KeyPurpose;
  readonly bits: number;
}

/** Options of {@link SecubeDevice.generateKey}. */
export interface GenerateKeyOptions {
  /**
   * Always `data` (the default). The other purposes only make sense as one half of a pair agreed
   * with a peer, so they come from provisioning; a TRNG-fresh one would have no peer.
   */
  /** `data` (default; exportable when wrapped) or `local` (seal/open only, never leaves the device). */
  readonly purpose?: 'data' | 'local';
  /** Key length in bytes: 16, 24 or 32 (default 32, AES-256). */
  readonly length?: 16 | 24 | 32;
  /** Admin only: atomically replace an existing key with this ID. */
  readonly replace?: boolean;
}

/** Options of {@link SecubeDevice.encrypt}. */
export interface EncryptOptions {
  readonly aad?: Uint8Array;
  /** 12-byte nonce; when omitted the device draws one from its TRNG (NIST SP 800-38D §8.2.2). */
  readonly nonce?: Uint8Array;
}

/** Result of {@link SecubeDevice.encrypt}: nonce, and ciphertext with its 16-byte tag appended. */
export interface EncryptResult {
  readonly nonce: Uint8Array;
  readonly ciphertext: Uint8Array;
}

/** Peer of a provisioning exchange, as the host relays it: public values only. */
export interface ProvisioningPeer {
  readonly serial: string;
  readonly publicKey: Uint8Array;
  /** The peer's identity certificate ({@link SecubeDevice.certificate}), checked against this device's root of trust. */
  readonly certificate: Uint8Array;
}

/**
 * Key IDs of a provisioned pair. Both devices store the three keys under these IDs; the purposes
 * differ by side (admin / user): admin→user channel `seal` / `open`, user→admin channel `open` /
 * `seal`, wrapping `wrap` / `unwrap`.
 */
export interface ProvisioningKeyIds {
  /** AES-256-GCM key of messages from the admin device to the user device (update files, delete orders). */
  readonly adminToUserKeyId: number;
  /** AES-256-GCM key of messages from the user device to the admin device (acknowledgements). */
  readonly userToAdminKeyId: number;
  /** AES-KW key-encryption key: the admin device wraps data keys for export, the user device unwraps them. */
  readonly wrappingKeyId: number;
}

/** What {@link SecubeDevice.installProvisionedKeys} derives and stores. */
export interface ProvisioningRequest extends ProvisioningKeyIds {
  /** This device's role in the pair: fixes the HKDF info order and which purpose each key gets. */
  readonly role: 'admin' | 'user';
  readonly peer: ProvisioningPeer;
  /** Replace keys already under these IDs (re-provisioning); each replacement is atomic. */
  readonly replace?: boolean;
}

/** Test-only access to a device built with `testHooks: true`. */
export interface SecubeTestHooks {
  /** TEST ONLY: stores a key given in clear (published test vectors need known keys). Admin session. */
  importPlainKey(id: number, key: Uint8Array, purpose: KeyPurpose): void;
  /** TEST ONLY: the bytes of a stored key, so secrecy tests can scan host-visible output for them. */
  readKey(id: number): Uint8Array;
  /** TEST ONLY: the identity secret, for the same scans. */
  readIdentitySecret(): Uint8Array;
  /** TEST ONLY: runs after a login's spent try is persisted and before the PIN is compared. */
  onTrySpent: (() => void) | undefined;
}

type PinSnapshot = SnapshotFrom<typeof pinSessionMachine>;

/**
 * HKDF info labels (RFC 5869 §3.2: info binds each derived key to its use), one per derived key;
 * each is followed by a 0x00 byte, so no label is a prefix of another's info.
 */
const PROVISIONING_LABELS = Object.freeze({
  adminToUser: 'SEkey-TS provisioning v2 admin-to-user channel',
  userToAdmin: 'SEkey-TS provisioning v2 user-to-admin channel',
  wrapping: 'SEkey-TS provisioning v2 wrapping',
});
/** Purposes each operation accepts (NIST SP 800-57 Part 1 §5.2; table in `keyPurpose.ts`). */
const SEALERS: readonly KeyPurpose[] = Object.freeze(['data', 'seal', 'local']);
const OPENERS: readonly KeyPurpose[] = Object.freeze(['data', 'open', 'local']);
const DATA_ONLY: readonly KeyPurpose[] = Object.freeze(['data']);
const hooksOf = new WeakMap<SecubeDevice, SecubeTestHooks>();
/** Node's `util.inspect.custom` (a registered symbol, so no dependency on node:util). */
const INSPECT = Symbol.for('nodejs.util.inspect.custom');
/** Most tries per PIN level (the counters are persisted as bytes). */
const MAX_PIN_RETRIES = 100;

function checkKeyId(id: number): void {
  if (!Number.isSafeInteger(id) || id < 1 || id > MAX_KEY_ID) throw new DeviceError('BadArgument', `key IDs are integers in 1..${MAX_KEY_ID}, got ${String(id)}`);
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function wipe(...buffers: Uint8Array[]): void {
  for (const b of buffers) b.fill(0);
}


/**
 * One SEcube. Construction boots it (reads its flash); a blank device needs {@link factoryInit}.
 * Every method throws {@link PowerLossError} while the device is unpowered, and a power cut during a
 * method leaves the device unpowered until {@link powerOn}.
 */
export class SecubeDevice {
  readonly #flash: Flash;
  readonly #meter: CycleMeter | undefined;
  readonly #trng: Trng;
  readonly #keyStoreOptions: KeyStoreOptions;
  readonly #area: RecordArea;
  readonly #sdcard: SdCard | undefined;
  readonly #pinIterations: number;
  #powered = false;
  #state: DeviceState | undefined;
  #store: KeyStore | undefined;
  #storeNeedsMount = false;
  #pin: PinSnapshot | undefined;
  /** Cache of the identity public key (one scalar multiplication per boot, not per query). */
  #identityPublic: Uint8Array | undefined;

  constructor(options: SecubeDeviceOptions) {
    this.#flash = options.flash;
    this.#meter = options.meter ?? options.flash.meter;
    const trngOptions = this.#meter === undefined ? {} : { meter: this.#meter };
    this.#trng = options.trng ?? new Trng(options.seed === undefined ? trngOptions : { ...trngOptions, seed: options.seed });
    this.#keyStoreOptions = options.keyStore ?? {};
    const stateSectors = options.stateSectors ?? DEFAULT_STATE_SECTORS;
    const storeSectors = this.#keyStoreOptions.sectors ?? DEFAULT_KEY_STORE_SECTORS;
    if (stateSectors.some((s) => storeSectors.includes(s))) throw new RangeError('state sectors and key store sectors must not overlap');
    this.#area = new RecordArea({ flash: options.flash, sectors: stateSectors });
    this.#sdcard = options.sdcard;
    this.#pinIterations = options.pinIterations ?? DEFAULT_PIN_ITERATIONS;
    if (options.testHooks === true) hooksOf.set(this, this.#makeTestHooks());
    this.#guard(() => this.#boot());
  }

  // ---- power ---------------------------------------------------------------------------------

  /** False after a power cut until {@link powerOn}. */
  get powered(): boolean {
    return this.#powered;
  }

  /** The meter charged by this device (shared with its flash by default). */
  get meter(): CycleMeter | undefined {
    return this.#meter;
  }

  /** The microSD card, if the device has one. */
  get sdcard(): SdCard | undefined {
    return this.#sdcard;
  }

  /**
   * Pulls the plug now: the session ends (the PIN machine's `POWER_LOSS`) and the SD card's unsynced
   * writes are resolved by its crash model. Flash operations are synchronous, so none is in flight;
   * to cut in the middle of one, arm the flash with `cutPowerAfter`.
   */
  cutPower(): void {
    if (this.#powered && this.#pin !== undefined) [this.#pin] = transition(pinSessionMachine, this.#pin, { type: 'POWER_LOSS' });
    this.#powered = false;
    this.#pin = undefined;
    if (this.#sdcard?.powered === true) this.#sdcard.cutPower();
  }

  /** Powers the device (and its flash and SD card) back on and boots from flash. */
  powerOn(): void {
    this.#flash.powerOn();
    this.#sdcard?.powerOn();
    this.#guard(() => this.#boot());
  }

  #boot(): void {
    this.#powered = true;
    this.#state = undefined;
    this.#store = undefined;
    this.#storeNeedsMount = false;
    this.#pin = undefined;
    this.#identityPublic = undefined;
    this.#area.remount();
    const raw = this.#area.load();
    if (raw === undefined) return;
    const state = decodeDeviceState(raw);
    const store = this.#mountStore();
    // Counters come back from flash: the machine resumes exactly where the last persisted step left it.
    [this.#pin] = initialTransition(pinSessionMachine, { maxRetries: state.maxRetries, retriesLeft: state.retriesLeft });
    this.#store = store;
    this.#state = state;
  }

  #mountStore(): KeyStore {
    try {
      return KeyStore.mount(this.#flash, this.#keyStoreOptions);
    } catch (e) {
      // Factory init formats the store before it saves the state, so this means damaged flash.
      if (e instanceof KeyStoreNotFormattedError) throw new DeviceError('StateCorrupt', 'device state present but key store missing');
      throw e;
    }
  }

  /** Runs a step; a power cut anywhere in it leaves the device off (firmware just stops). */
  #guard<T>(step: () => T): T {
    try {
      return step();
    } catch (e) {
      if (e instanceof PowerLossError) {
        this.#powered = false;
        this.#pin = undefined;
      } else if (this.#store !== undefined && !(e instanceof DeviceError)) {
        // A key-store operation failed half-way (e.g. worn flash): its view must be rebuilt.
        this.#storeNeedsMount = true;
      }
      throw e;
    }
  }

  #requirePower(): void {
    if (!this.#powered) throw new PowerLossError('secube', false, 'device is unpowered');
  }

  #requireInit(): { state: DeviceState; pin: PinSnapshot; store: KeyStore } {
    this.#requirePower();
    if (this.#state === undefined || this.#pin === undefined || this.#store === undefined) throw new DeviceError('NotInitialized', 'factory init has not run');
    if (this.#storeNeedsMount) {
      this.#store = this.#mountStore();
      this.#storeNeedsMount = false;
    }
    return { state: this.#state, pin: this.#pin, store: this.#store };
  }

  #requireSession(levels: readonly PinLevel[] = ['user', 'admin']): { state: DeviceState; pin: PinSnapshot; store: KeyStore; level: PinLevel } {
    const ctx = this.#requireInit();
    const value = ctx.pin.value;
    if (value === 'locked') throw new DeviceError('DeviceLocked', 'admin PIN tries exhausted: only a factory reset helps');
    if (value !== 'user' && value !== 'admin') throw new DeviceError('NotLoggedIn', 'this operation needs a PIN session');
    if (!levels.includes(value)) throw new DeviceError('AccessDenied', `this operation needs the ${levels.join(' or ')} level`);
    return { ...ctx, level: value };
  }

  #save(next: DeviceState): void {
    this.#area.save(encodeDeviceState(next));
    this.#state = next;
  }

  // ---- identity ------------------------------------------------------------------------------

  /** True once factory init has run. */
  get initialized(): boolean {
    this.#requirePower();
    return this.#state !== undefined;
  }

  /** The 32-character serial number. */
  get serial(): string {
    return this.#guard(() => this.#requireInit().state.serial);
  }

  /** The X25519 public key of the device identity (RFC 7748 §6.1); the secret never leaves. */
  get identityPublicKey(): Uint8Array {
    return this.#guard(() => this.#ownPublicKey().slice());
  }

  /**
   * The manufacturer's certificate of this device's identity: an Ed25519 signature (RFC 8032 §5.1.6)
   * of (serial, identity public key), checked by peers with `verifyIdentity`.
   * @throws DeviceError `NoRootOfTrust` on a device whose state predates attestation.
   */
  get certificate(): Uint8Array {
    return this.#guard(() => this.#attestation().certificate.slice());
  }

  /**
   * The manufacturer's Ed25519 public key burned in at factory init: the root of trust against which
   * this device checks its provisioning peers (RFC 8032 §5.1.5).
   * @throws DeviceError `NoRootOfTrust` on a device whose state predates attestation.
   */
  get manufacturerPublicKey(): Uint8Array {
    return this.#guard(() => this.#attestation().rootOfTrust.slice());
  }

  #attestation(): DeviceAttestation {
    const { state } = this.#requireInit();
    if (state.attestation === null) throw new DeviceError('NoRootOfTrust', 'this device has no root of trust or certificate: factory-reset it with its manufacturer');
    return state.attestation;
  }

  #ownPublicKey(): Uint8Array {
    const { state } = this.#requireInit();
    this.#identityPublic ??= x25519PublicKey(state.identitySecret, this.#meter);
    return this.#identityPublic;
  }

  #newSerial(): string {
    // Rejection sampling keeps every character uniform: 252 = 7·36 is the largest multiple below 256.
    let serial = '';
    while (serial.length < SERIAL_LENGTH) {
      for (const b of this.#trng.randomBytes(SERIAL_LENGTH)) {
        if (b < 252 && serial.length < SERIAL_LENGTH) serial += SERIAL_ALPHABET[b % SERIAL_ALPHABET.length];
      }
    }
    return serial;
  }

  /**
   * A fresh X25519 identity made inside, and the certificate the factory station issues for it: the
   * device hands the manufacturer only its serial and public key.
   */
  #newIdentity(serial: string, manufacturer: Manufacturer): { secret: Uint8Array; publicKey: Uint8Array; certificate: Uint8Array } {
    const secret = this.#trng.randomBytes(IDENTITY_SECRET_BYTES);
    const publicKey = x25519PublicKey(secret, this.#meter);
    return { secret, publicKey, certificate: manufacturer.certify(serial, publicKey) };
  }

  #newVerifier(pin: Pin): PinVerifier {
    pinBytes(pin);
    chargePbkdf2(this.#meter, this.#pinIterations);
    return makePinVerifier(pin, this.#trng.randomBytes(PIN_SALT_BYTES), this.#pinIterations);
  }

  /**
   * Factory initialisation (SEcube CMD0 1, run once): a TRNG serial, an X25519 identity key pair made
   * inside, the manufacturer's public key burned in as the root of trust and its certificate of
   * (serial, identity public key) (`attestation.ts`), the two PIN verifiers, an empty key store.
   * Atomic: the state record is written last.
   * @returns the serial, the identity public key and its certificate.
   */
  factoryInit(options: FactoryInitOptions): FactoryInitResult {
    return this.#guard(() => {
      this.#requirePower();
      if (this.#state !== undefined) throw new DeviceError('AlreadyInitialized', 'factory init already ran');
      const { maxRetries } = options;
      if (maxRetries !== undefined && (!Number.isSafeInteger(maxRetries) || maxRetries < 1 || maxRetries > MAX_PIN_RETRIES)) {
        throw new DeviceError('BadArgument', `maxRetries must be an integer in 1..${MAX_PIN_RETRIES}`);
      }
      const [pin] = initialTransition(pinSessionMachine, options.maxRetries === undefined ? {} : { maxRetries: options.maxRetries });
      const serial = this.#newSerial();
      const pins = { user: this.#newVerifier(options.userPin), admin: this.#newVerifier(options.adminPin) };
      const identity = this.#newIdentity(serial, options.manufacturer);
      const state: DeviceState = {
        serial,
        maxRetries: pin.context.maxRetries,
        retriesLeft: pin.context.retriesLeft,
        pins,
        counters: new Map(),
        identitySecret: identity.secret,
        attestation: { rootOfTrust: options.manufacturer.publicKey, certificate: identity.certificate },
      };
      const store = KeyStore.format(this.#flash, this.#keyStoreOptions);
      this.#save(state);
      this.#store = store;
      this.#pin = pin;
      this.#identityPublic = identity.publicKey;
      return { serial, identityPublicKey: identity.publicKey.slice(), certificate: identity.certificate.slice() };
    });
  }

  // ---- PIN sessions --------------------------------------------------------------------------

  /** The session state, from the PIN machine. */
  get session(): SessionState {
    const value = this.#guard(() => this.#requireInit().pin.value);
    // `checking` only exists inside login(), between the persisted spend and the comparison.
    return value === 'checking' ? 'loggedOut' : value;
  }

  /** Tries left per level (persisted in flash). */
  get retriesLeft(): { readonly user: number; readonly admin: number } {
    return this.#guard(() => ({ ...this.#requireInit().pin.context.retriesLeft }));
  }

  #feed(event: PinEvent): { next: PinSnapshot; eraseAllKeys: boolean } {
    const { pin } = this.#requireInit();
    const [next, actions] = transition(pinSessionMachine, pin, event);
    return { next, eraseAllKeys: actions.some((a) => a.type === 'eraseAllKeys') };
  }

  #persistRetries(snapshot: PinSnapshot): void {
    const { state } = this.#requireInit();
    const left = snapshot.context.retriesLeft;
    if (left.user !== state.retriesLeft.user || left.admin !== state.retriesLeft.admin) this.#save({ ...state, retriesLeft: { ...left } });
  }

  /**
   * Opens a session at `level`. The machine spends one try, the device writes it to flash, and only
   * then compares the PIN (constant time, salted hash); a power cut between the two gives no free
   * try. A correct PIN restores that level's tries.
   * @throws DeviceError `WrongPin`, `PinLocked` (level exhausted), `DeviceLocked` (admin level
   *   exhausted), `SessionActive`.
   */
  login(level: PinLevel, pin: Pin): void {
    this.#guard(() => {
      const { state, pin: current } = this.#requireInit();
      pinBytes(pin); // a malformed PIN is a usage error, not a guess: refuse it before spending a try
      const event: PinEvent = { type: 'LOGIN', level };
      if (!current.can(event)) {
        if (current.value === 'locked') throw new DeviceError('DeviceLocked', 'admin PIN tries exhausted: only a factory reset helps');
        if (current.value !== 'loggedOut') throw new DeviceError('SessionActive', 'log out first');
        throw new DeviceError('PinLocked', `the ${level} PIN has no tries left`);
      }
      const { next: checking } = this.#feed(event);
      this.#persistRetries(checking); // the spent try reaches flash before any comparison
      this.#pin = checking;
      hooksOf.get(this)?.onTrySpent?.();
      this.#requirePower();
      chargePbkdf2(this.#meter, state.pins[level].iterations);
      const accepted = verifyPin(pin, state.pins[level]);
      const { next } = this.#feed({ type: accepted ? 'PIN_ACCEPTED' : 'PIN_REJECTED' });
      this.#persistRetries(next);
      this.#pin = next;
      if (!accepted) {
        if (next.value === 'locked') throw new DeviceError('DeviceLocked', 'wrong admin PIN, no tries left: only a factory reset helps');
        throw new DeviceError('WrongPin', `wrong ${level} PIN, ${next.context.retriesLeft[level]} tries left`);
      }
    });
  }

  /** Ends the session. */
  logout(): void {
    this.#guard(() => {
      const { pin } = this.#requireInit();
      if (!pin.can({ type: 'LOGOUT' })) throw new DeviceError('NotLoggedIn', 'no session to close');
      this.#pin = this.#feed({ type: 'LOGOUT' }).next;
    });
  }

  /** Admin: sets a new user PIN and gives the user level all its tries back (`RESET_USER_PIN`). */
  resetUserPin(newPin: Pin): void {
    this.#guard(() => {
      const { state, pin } = this.#requireSession(['admin']);
      if (!pin.can({ type: 'RESET_USER_PIN' })) throw new DeviceError('AccessDenied', 'the PIN machine refuses RESET_USER_PIN here');
      const { next } = this.#feed({ type: 'RESET_USER_PIN' });
      // New verifier and restored counter in one record: both or neither survive a cut.
      this.#save({ ...state, pins: { ...state.pins, user: this.#newVerifier(newPin) }, retriesLeft: { ...next.context.retriesLeft } });
      this.#pin = next;
    });
  }

  /** Admin: changes the admin PIN. */
  changeAdminPin(newPin: Pin): void {
    this.#guard(() => {
      const { state } = this.#requireSession(['admin']);
      this.#save({ ...state, pins: { ...state.pins, admin: this.#newVerifier(newPin) } });
    });
  }

  /**
   * Factory reset, when the PIN machine allows it (logged out, admin session, or locked): it returns
   * the `eraseAllKeys` action, on which the device erases the whole key store; then new PINs, full
   * tries, no counters and a fresh identity key pair (so old provisioning keys cannot be re-derived)
   * are saved. The serial stays. Erasing comes first: a cut before the save leaves a device without
   * keys whose reset can simply be run again.
   *
   * A reset is a return to the factory: the new identity key needs a new certificate, which only
   * the manufacturer can issue. The root of trust burned in at factory init stays; the manufacturer
   * given must be that one (checked before anything changes). A device whose state predates
   * attestation (no root) gets `options.manufacturer` as its root here.
   * @throws DeviceError `WrongManufacturer` (another manufacturer's key is burned in), `AccessDenied`.
   */
  factoryReset(options: FactoryResetOptions): void {
    this.#guard(() => {
      const { state, pin } = this.#requireInit();
      if (!pin.can({ type: 'FACTORY_RESET' })) throw new DeviceError('AccessDenied', 'a user session cannot factory-reset the device');
      const root = state.attestation?.rootOfTrust ?? options.manufacturer.publicKey;
      if (!equalBytes(root, options.manufacturer.publicKey)) throw new DeviceError('WrongManufacturer', 'this device was made by another manufacturer: only its own can re-certify it');
      const { next, eraseAllKeys } = this.#feed({ type: 'FACTORY_RESET' });
      const users = this.#newVerifier(options.userPin);
      const admins = this.#newVerifier(options.adminPin);
      const identity = this.#newIdentity(state.serial, options.manufacturer);
      if (eraseAllKeys) {
        this.#store = KeyStore.format(this.#flash, this.#keyStoreOptions);
        this.#storeNeedsMount = false;
      }
      this.#save({
        ...state,
        pins: { user: users, admin: admins },
        retriesLeft: { ...next.context.retriesLeft },
        counters: new Map(),
        identitySecret: identity.secret,
        attestation: { rootOfTrust: root, certificate: identity.certificate },
      });
      this.#identityPublic = identity.publicKey;
      this.#pin = next;
    });
  }

  // ---- keys ----------------------------------------------------------------------------------

  #locate(store: KeyStore, id: number): KeyPurpose | undefined {
    checkKeyId(id);
    return KEY_PURPOSES.find((purpose) => store.has(encodeStoreId(id, purpose)));
  }

  #require(store: KeyStore, id: number): KeyPurpose {
    const purpose = this.#locate(store, id);
    if (purpose === undefined) throw new DeviceError('UnknownKey', `no key with ID ${id}`);
    return purpose;
  }

  /**
   * The purpose of key `id`, which must be one of `allowed` (NIST SP 800-57 Part 1 §5.2).
   * @throws DeviceError `UnknownKey`, `WrongKeyPurpose`
   */
  #usable(store: KeyStore, id: number, allowed: readonly KeyPurpose[], use: string): KeyPurpose {
    const purpose = this.#require(store, id);
    if (!allowed.includes(purpose)) throw new DeviceError('WrongKeyPurpose', `key ${id} is a ${purpose} key; it cannot ${use} (needs ${allowed.join(' or ')})`);
    return purpose;
  }

  #withKey<T>(store: KeyStore, id: number, purpose: KeyPurpose, use: (key: Uint8Array) => T): T {
    const key = readKeyMaterialForDevice(store, encodeStoreId(id, purpose));
    try {
      return use(key);
    } finally {
      wipe(key);
    }
  }

  /**
   * Refuses what {@link #put} would refuse, without writing anything, honouring W5: a user session
   * may only create, an admin may replace (atomically, with `replace`). An ID names one key whatever
   * its purpose, and a replacement keeps the purpose: changing it would take two flash commits (a new
   * record under the new store ID, then a delete of the old one), and a cut between them would leave
   * two keys under one ID.
   */
  #checkPut(store: KeyStore, level: PinLevel, id: number, purpose: KeyPurpose, replace: boolean): void {
    const existing = this.#locate(store, id);
    if (existing === undefined) return;
    if (level !== 'admin') throw new DeviceError('AccessDenied', `a user session cannot replace key ${id}`);
    if (!replace) throw new DeviceError('KeyExists', `key ${id} exists (pass replace to overwrite it)`);
    if (existing !== purpose) throw new DeviceError('BadArgument', `key ${id} is a ${existing} key; delete it before reusing its ID for a ${purpose} key`);
  }

  /** Stores `key` under `id` with `purpose`: one key-store record, so key and purpose commit together. */
  #put(store: KeyStore, level: PinLevel, id: number, key: Uint8Array, purpose: KeyPurpose, replace: boolean): void {
    this.#checkPut(store, level, id, purpose, replace);
    try {
      store.put(encodeStoreId(id, purpose), key);
    } catch (e) {
      if (e instanceof KeyStoreFullError) throw new DeviceError('StoreFull', e.message);
      throw e;
    }
  }

  /**
   * Generates a data key inside the device from the TRNG and stores it under `id`. User or admin
   * session (a user session cannot replace an existing key). Keys of the other purposes come only
   * from provisioning, where both devices derive the same bytes.
   */
  generateKey(id: number, options: GenerateKeyOptions = {}): KeyInfo {
    return this.#guard(() => {
      const { store, level } = this.#requireSession();
      checkKeyId(id);
      const length = options.length ?? AES256_KEY_BYTES;
      if (length !== 16 && length !== 24 && length !== 32) throw new DeviceError('BadArgument', 'key length must be 16, 24 or 32 bytes');
      const purpose: KeyPurpose = options.purpose ?? 'data';
      if (purpose !== 'data' && purpose !== 'local') {
        throw new DeviceError('BadArgument', `only data and local keys are generated; ${String(purpose)} keys come from provisioning`);
      }
      const key = this.#trng.randomBytes(length);
      try {
        this.#put(store, level, id, key, purpose, options.replace === true);
      } finally {
        wipe(key);
      }
      return { id, purpose, bits: length * 8 };
    });
  }

  /** Admin only: deletes a key; the key store zeroes its bytes in flash before this returns. */
  deleteKey(id: number): boolean {
    return this.#guard(() => {
      const { store } = this.#requireSession(['admin']);
      const purpose = this.#locate(store, id);
      if (purpose === undefined) return false;
      return store.delete(encodeStoreId(id, purpose));
    });
  }

  /**
   * Carries out a delete order from the admin device, in a user or an admin session: the one way a
   * user session can remove a key (need-to-know after a member leaves or a key is destroyed, NIST SP
   * 800-57 Part 1 §8.3.4), without reopening W5. The device opens `order` with its `open` key
   * `channelKeyId` under the fixed AAD of `deleteOrder.ts` (AES-256-GCM, NIST SP 800-38D §7.2), checks
   * that it names this device's serial and `keyId`, and deletes the key (zeroised in flash at once).
   * The host cannot forge an order: its device refuses to `seal` under an `open` key.
   *
   * Only the admin→user key is an `open` key on a user device. On the admin device the `open` keys
   * are the user→admin ones, so a user could seal an order for the admin device; the admin's host
   * must therefore never pass user-supplied bytes here (it can delete directly with {@link deleteKey}).
   * @returns true when the key was deleted; false when there is no such key (a replayed order — KMS
   *   key IDs are never reused, so a replay cannot hit a newer key).
   * @throws DeviceError `UnknownKey` / `WrongKeyPurpose` (`channelKeyId` is not an `open` key),
   *   `AuthFailed` (forged, tampered, or sealed under another key), `BadOrder` (authentic but
   *   malformed, or for another device or another key). Nothing is deleted then.
   */
  deleteKeyByOrder(keyId: number, order: Uint8Array, channelKeyId: number): boolean {
    return this.#guard(() => {
      const { state, store } = this.#requireSession();
      checkKeyId(keyId);
      this.#usable(store, channelKeyId, ['open'], 'authenticate a delete order');
      const plaintext = this.#open(store, channelKeyId, 'open', order, deleteOrderAad());
      const decoded = decodeDeleteOrder(plaintext);
      if (decoded.serial !== state.serial) throw new DeviceError('BadOrder', 'the delete order is for another device');
      if (decoded.keyId !== keyId) throw new DeviceError('BadOrder', `the delete order names key ${decoded.keyId}, not key ${keyId}`);
      const purpose = this.#locate(store, keyId);
      if (purpose === undefined) return false;
      return store.delete(encodeStoreId(keyId, purpose));
    });
  }

  /** IDs of every stored key, ascending. */
  listKeyIds(): number[] {
    return this.#guard(() => {
      const { store } = this.#requireSession();
      return store
        .ids()
        .flatMap((sid) => {
          const decoded = decodeStoreId(sid);
          return decoded === undefined ? [] : [decoded.id];
        })
        .sort((a, b) => a - b);
    });
  }

  /** Purpose and size of a key (see `keyPurpose.ts` for what each purpose allows). */
  keyInfo(id: number): KeyInfo {
    return this.#guard(() => {
      const { store } = this.#requireSession();
      const purpose = this.#require(store, id);
      const bits = this.#withKey(store, id, purpose, (k) => k.length * 8);
      return { id, purpose, bits };
    });
  }

  // ---- AES-256-GCM by key ID -----------------------------------------------------------------

  /**
   * AES-GCM encryption under data key `keyId` (NIST SP 800-38D §7.1). The nonce must be 12 bytes;
   * without one the device draws a random 96-bit nonce (§8.2.2), fine for up to 2^32 messages per key
   * (§8.3). Only data keys: a caller-chosen nonce under a channel key could forge or break its messages.
   * @throws DeviceError `WrongKeyPurpose` for any other key.
   */
  encrypt(keyId: number, plaintext: Uint8Array, options: EncryptOptions = {}): EncryptResult {
    return this.#guard(() => {
      const { store } = this.#requireSession();
      this.#usable(store, keyId, DATA_ONLY, 'encrypt data');
      if (options.nonce !== undefined && options.nonce.length !== GCM_NONCE_BYTES) throw new DeviceError('BadNonce', `AES-GCM nonces must be ${GCM_NONCE_BYTES} bytes`);
      const nonce = options.nonce?.slice() ?? this.#trng.randomBytes(GCM_NONCE_BYTES);
      const ciphertext = this.#withKey(store, keyId, 'data', (k) => aesGcmEncrypt(k, nonce, plaintext, options.aad ?? new Uint8Array(0), this.#meter));
      return { nonce, ciphertext };
    });
  }

  /**
   * AES-GCM decryption under data key `keyId` (NIST SP 800-38D §7.2).
   * @throws DeviceError `AuthFailed` when the tag does not verify; no plaintext is released.
   *   `WrongKeyPurpose` for a key other than a data key.
   */
  decrypt(keyId: number, nonce: Uint8Array, ciphertext: Uint8Array, aad: Uint8Array = new Uint8Array(0)): Uint8Array {
    return this.#guard(() => {
      const { store } = this.#requireSession();
      this.#usable(store, keyId, DATA_ONLY, 'decrypt data');
      return this.#withKey(store, keyId, 'data', (k) => aesGcmDecrypt(k, nonce, ciphertext, aad, this.#meter));
    });
  }

  /**
   * Re-protection: decrypts under data key `fromKeyId` and encrypts the result under data key
   * `toKeyId` with a fresh device nonce, all inside the device — the plaintext never reaches the
   * host and is wiped before returning. This is how data under a compromised key is rescued (NIST SP
   * 800-57 Pt 1 §7: a compromised key may only process in tightly controlled conditions; the
   * original SEkey's `secure_recrypt`). Whether the source key's state allows it is the caller's
   * (the KMS's) decision; the device only knows keys, not their life cycle.
   * @throws DeviceError `AuthFailed` when the source does not verify; nothing is encrypted then.
   */
  reencrypt(
    fromKeyId: number,
    nonce: Uint8Array,
    ciphertext: Uint8Array,
    fromAad: Uint8Array,
    toKeyId: number,
    toAad: Uint8Array,
  ): EncryptResult {
    return this.#guard(() => {
      const { store } = this.#requireSession();
      this.#usable(store, fromKeyId, DATA_ONLY, 'decrypt data');
      this.#usable(store, toKeyId, DATA_ONLY, 'encrypt data');
      const plaintext = this.#withKey(store, fromKeyId, 'data', (k) => aesGcmDecrypt(k, nonce, ciphertext, fromAad, this.#meter));
      try {
        const fresh = this.#trng.randomBytes(GCM_NONCE_BYTES);
        const out = this.#withKey(store, toKeyId, 'data', (k) => aesGcmEncrypt(k, fresh, plaintext, toAad, this.#meter));
        return { nonce: fresh, ciphertext: out };
      } finally {
        wipe(plaintext);
      }
    });
  }

  /**
   * Seals `plaintext` under key `keyId` (a `data` or `seal` key) with `aad`: nonce ‖ ciphertext ‖
   * tag, with a TRNG nonce (NIST SP 800-38D §8.2.2).
   * @throws DeviceError `WrongKeyPurpose` for an `open`, `wrap` or `unwrap` key: in particular a
   *   user device cannot seal under the admin→user key.
   */
  seal(keyId: number, plaintext: Uint8Array, aad: Uint8Array): Uint8Array {
    return this.#guard(() => {
      const { store } = this.#requireSession();
      const purpose = this.#usable(store, keyId, SEALERS, 'seal');
      const nonce = this.#trng.randomBytes(GCM_NONCE_BYTES);
      const ciphertext = this.#withKey(store, keyId, purpose, (k) => aesGcmEncrypt(k, nonce, plaintext, aad, this.#meter));
      return concatBytes(nonce, ciphertext);
    });
  }

  /**
   * Opens what {@link seal} produced, under key `keyId` (a `data` or `open` key).
   * @throws DeviceError `AuthFailed` when it was altered, sealed under another key, or `aad` differs;
   *   `WrongKeyPurpose` for a `seal`, `wrap` or `unwrap` key.
   */
  open(keyId: number, sealed: Uint8Array, aad: Uint8Array): Uint8Array {
    return this.#guard(() => {
      const { store } = this.#requireSession();
      const purpose = this.#usable(store, keyId, OPENERS, 'open');
      return this.#open(store, keyId, purpose, sealed, aad);
    });
  }

  #open(store: KeyStore, keyId: number, purpose: KeyPurpose, sealed: Uint8Array, aad: Uint8Array): Uint8Array {
    if (sealed.length < GCM_NONCE_BYTES) throw new DeviceError('AuthFailed', 'sealed message too short');
    const nonce = sealed.subarray(0, GCM_NONCE_BYTES);
    return this.#withKey(store, keyId, purpose, (k) => aesGcmDecrypt(k, nonce, sealed.subarray(GCM_NONCE_BYTES), aad, this.#meter));
  }

  // ---- wrapping ------------------------------------------------------------------------------

  /**
   * Admin only: exports data key `keyId` wrapped with AES-KW (RFC 3394 §2.2.1) under `wrap` key
   * `wrappingKeyId`. Only data keys are ever exported, and only under a `wrap` key (W4).
   * @returns the wrapped blob only (8 bytes longer than the key).
   * @throws DeviceError `AccessDenied` outside an admin session; `WrongKeyPurpose` when
   *   `wrappingKeyId` is not a `wrap` key or `keyId` not a `data` key.
   */
  exportWrapped(keyId: number, wrappingKeyId: number): { blob: Uint8Array } {
    return this.#guard(() => {
      const { store } = this.#requireSession(['admin']);
      this.#usable(store, wrappingKeyId, ['wrap'], 'wrap keys for export');
      this.#usable(store, keyId, DATA_ONLY, 'be exported');
      const blob = this.#withKey(store, wrappingKeyId, 'wrap', (kek) => this.#withKey(store, keyId, 'data', (k) => aesKeyWrap(kek, k, this.#meter)));
      return { blob };
    });
  }

  /**
   * Unwraps `blob` (RFC 3394 §2.2.2, integrity-checked per §2.2.3) under `unwrap` key
   * `unwrappingKeyId` and stores the result as data key `keyId`. The key is never returned. User or
   * admin session; only an admin may replace an existing key.
   * AES-KW has no associated data, so the blob is not bound to `keyId` (W9): the sealed update file
   * that carries it authenticates the pair.
   * @throws DeviceError `UnwrapFailed` when the blob was not wrapped under that key or was altered;
   *   `WrongKeyPurpose` when `unwrappingKeyId` is not an `unwrap` key.
   */
  importWrapped(keyId: number, blob: Uint8Array, unwrappingKeyId: number, options: { readonly replace?: boolean } = {}): KeyInfo {
    return this.#guard(() => {
      const { store, level } = this.#requireSession();
      checkKeyId(keyId);
      this.#usable(store, unwrappingKeyId, ['unwrap'], 'import wrapped keys');
      this.#checkPut(store, level, keyId, 'data', options.replace === true);
      const key = this.#withKey(store, unwrappingKeyId, 'unwrap', (kek) => aesKeyUnwrap(kek, blob, this.#meter));
      try {
        if (key.length !== 16 && key.length !== 24 && key.length !== 32) throw new DeviceError('UnwrapFailed', 'unwrapped key is not 16, 24 or 32 bytes');
        this.#put(store, level, keyId, key, 'data', options.replace === true);
        return { id: keyId, purpose: 'data', bits: key.length * 8 };
      } finally {
        wipe(key);
      }
    });
  }

  // ---- monotonic counters --------------------------------------------------------------------

  #checkCounterName(name: string): void {
    const bytes = new TextEncoder().encode(name);
    if (bytes.length < 1 || bytes.length > MAX_COUNTER_NAME_BYTES) throw new DeviceError('BadArgument', `counter names are 1..${MAX_COUNTER_NAME_BYTES} UTF-8 bytes`);
  }

  /** Value of monotonic counter `name` (0 when never advanced). */
  counterRead(name: string): number {
    return this.#guard(() => {
      const { state } = this.#requireSession();
      this.#checkCounterName(name);
      return state.counters.get(name) ?? 0;
    });
  }

  /**
   * Moves counter `name` forward to `to` (persisted in flash before this returns). Equal is a no-op.
   * @throws DeviceError `CounterRollback` when `to` is below the current value.
   */
  counterAdvance(name: string, to: number): number {
    return this.#guard(() => {
      const { state } = this.#requireSession();
      this.#checkCounterName(name);
      if (!Number.isSafeInteger(to) || to < 0) throw new DeviceError('BadArgument', 'counter values are safe integers ≥ 0');
      const current = state.counters.get(name) ?? 0;
      if (to < current) throw new DeviceError('CounterRollback', `counter '${name}' is at ${current}; it cannot go back to ${to}`);
      if (to === current) return current;
      if (!state.counters.has(name) && state.counters.size >= MAX_COUNTERS) throw new DeviceError('StoreFull', `at most ${MAX_COUNTERS} counters`);
      const counters = new Map(state.counters);
      counters.set(name, to);
      this.#save({ ...state, counters });
      return to;
    });
  }

  // ---- provisioning --------------------------------------------------------------------------

  /**
   * Admin session: derives the three keys shared with `peer` and stores them under the given IDs,
   * each with the purpose of this side (see {@link ProvisioningKeyIds}).
   *
   * shared = X25519(own identity secret, peer public key) (RFC 7748 §6.1); then for each key
   * K = HKDF-SHA256(IKM = shared, no salt, info = label ‖ 0x00 ‖ admin serial ‖ admin public key ‖
   * user serial ‖ user public key, L = 32) (RFC 5869 §2.2–2.3; no salt per §3.1), with the labels
   * `SEkey-TS provisioning v2 admin-to-user channel`, `… user-to-admin channel` and `… wrapping`
   * (§3.2: distinct info, independent keys). Serials (32 characters) and public keys (32 bytes) have
   * fixed lengths, so the info is unambiguous. Both sides compute the same bytes; nothing secret
   * crosses the host.
   *
   * Before anything is derived, the peer's certificate must verify (Ed25519, RFC 8032 §5.1.7) against
   * this device's root of trust for exactly (peer serial, peer public key): only an identity key made
   * inside a genuine device of the same manufacturer is accepted, never a key pair a host made (whose
   * secret it would know, and so the wrapping key).
   *
   * Every check (IDs, peer, certificate, existing keys) runs before the first write, so a refused
   * request changes nothing. The three keys are three flash commits; a power cut between them leaves a subset, and
   * rerunning with `replace` installs the very same keys.
   * @throws DeviceError `AccessDenied` outside an admin session, `BadArgument` (IDs not distinct,
   *   bad peer serial or public key, the device's own serial, an existing key of another purpose),
   *   `KeyExists` (without `replace`), `UntrustedPeer` (the peer's certificate does not verify),
   *   `NoRootOfTrust` (this device has none).
   */
  installProvisionedKeys(request: ProvisioningRequest): void {
    this.#guard(() => {
      const { state, store, level } = this.#requireSession(['admin']);
      const ids = { adminToUser: request.adminToUserKeyId, userToAdmin: request.userToAdminKeyId, wrapping: request.wrappingKeyId };
      for (const id of Object.values(ids)) checkKeyId(id);
      if (new Set(Object.values(ids)).size !== 3) throw new DeviceError('BadArgument', 'the three provisioned keys need distinct IDs');
      if (request.role !== 'admin' && request.role !== 'user') throw new DeviceError('BadArgument', `role must be admin or user, got ${String(request.role)}`);
      // Fixed-length ASCII serials keep the HKDF info unambiguous.
      if (request.peer.serial.length !== SERIAL_LENGTH || [...request.peer.serial].some((ch) => !SERIAL_ALPHABET.includes(ch))) {
        throw new DeviceError('BadArgument', `peer serial must be ${SERIAL_LENGTH} characters of ${SERIAL_ALPHABET}`);
      }
      // Paired with itself, a device would hold both the seal and the open side of one channel.
      if (request.peer.serial === state.serial) throw new DeviceError('BadArgument', 'a device cannot be provisioned with itself');
      if (!(request.peer.publicKey instanceof Uint8Array) || request.peer.publicKey.length !== 32) throw new DeviceError('BadArgument', 'an X25519 public key is 32 bytes (RFC 7748 §5)');
      const { rootOfTrust } = this.#attestation();
      // Modelled as two scalar multiplications: an Ed25519 verification is one double-base scalar
      // multiplication [S]B − [k]A (RFC 8032 §5.1.7 step 3), bounded by two variable-base ones.
      this.#meter?.charge('x25519.scalarMult', 2);
      const certificate: unknown = request.peer.certificate;
      if (!(certificate instanceof Uint8Array) || !verifyIdentity(rootOfTrust, request.peer.serial, request.peer.publicKey, certificate)) {
        throw new DeviceError('UntrustedPeer', `the identity key of peer ${request.peer.serial} is not certified by this device's manufacturer`);
      }
      const purposes = PROVISIONED_PURPOSES[request.role];
      const replace = request.replace === true;
      const names = ['adminToUser', 'userToAdmin', 'wrapping'] as const;
      for (const name of names) this.#checkPut(store, level, ids[name], purposes[name], replace);
      const own = { serial: state.serial, publicKey: this.#ownPublicKey() };
      const [adminSide, userSide] = request.role === 'admin' ? [own, request.peer] : [request.peer, own];
      const enc = new TextEncoder();
      const transcript = concatBytes(enc.encode(adminSide.serial), adminSide.publicKey, enc.encode(userSide.serial), userSide.publicKey);
      const shared = x25519SharedSecret(state.identitySecret, request.peer.publicKey, this.#meter);
      try {
        for (const name of names) {
          const info = concatBytes(enc.encode(PROVISIONING_LABELS[name]), Uint8Array.of(0), transcript);
          const key = hkdfSha256(shared, undefined, info, AES256_KEY_BYTES, this.#meter);
          try {
            this.#put(store, level, ids[name], key, purposes[name], replace);
          } finally {
            wipe(key);
          }
        }
      } finally {
        wipe(shared);
      }
    });
  }

  // ---- presentation: never any secret --------------------------------------------------------

  #summary(): { serial: string | null; powered: boolean; session: SessionState | null; keys: number | null } {
    const on = this.#powered;
    const pinValue = on ? this.#pin?.value : undefined;
    return {
      serial: this.#state?.serial ?? null,
      powered: on,
      session: pinValue === undefined ? null : pinValue === 'checking' ? 'loggedOut' : pinValue,
      keys: on && this.#store !== undefined && !this.#storeNeedsMount ? this.#store.size : null,
    };
  }

  /** Serial, power, session and key count; never key material. */
  toString(): string {
    const s = this.#summary();
    return `SecubeDevice(serial=${s.serial ?? 'uninitialized'}, ${s.powered ? 'on' : 'off'}, session=${s.session ?? '-'}, keys=${s.keys ?? '-'})`;
  }

  /** The same summary for `JSON.stringify`. */
  toJSON(): { serial: string | null; powered: boolean; session: SessionState | null; keys: number | null } {
    return this.#summary();
  }

  /** The same summary for `util.inspect` / `console.log`. */
  [INSPECT](): string {
    return this.toString();
  }

  // ---- test hooks ----------------------------------------------------------------------------

  #makeTestHooks(): SecubeTestHooks {
    const hooks: SecubeTestHooks = {
      importPlainKey: (id, key, purpose) => {
        this.#guard(() => {
          const { store, level } = this.#requireSession(['admin']);
          checkKeyId(id);
          if (key.length !== 16 && key.length !== 24 && key.length !== 32) throw new DeviceError('BadArgument', 'key length must be 16, 24 or 32 bytes');
          this.#put(store, level, id, key, purpose, false);
        });
      },
      readKey: (id) => {
        const { store } = this.#requireInit();
        const purpose = this.#require(store, id);
        return readKeyMaterialForDevice(store, encodeStoreId(id, purpose));
      },
      readIdentitySecret: () => this.#requireInit().state.identitySecret.slice(),
      onTrySpent: undefined,
    };
    return hooks;
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
