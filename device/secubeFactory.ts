/**
 * DEVICE-INTERNAL. Factory initialisation, factory reset and the device's identity: the TRNG serial
 * (the original's is epoch-prefixed and predictable, W10), the X25519 identity key pair made inside
 * (RFC 7748 §6.1), and its attestation — the manufacturer's Ed25519 public key burned in as the
 * root of trust and the manufacturer's certificate of (serial, identity public key) (RFC 8032
 * §5.1.6, `attestation.ts`).
 * @module
 */
import { initialTransition } from '../model/pureTransition.ts';
import { pinSessionMachine } from '../model/pinSession.ts';
import type { Manufacturer } from './attestation.ts';
import { DeviceError } from './deviceError.ts';
import { IDENTITY_SECRET_BYTES, SERIAL_ALPHABET, SERIAL_LENGTH } from './deviceState.ts';
import type { DeviceAttestation, DeviceState } from './deviceState.ts';
import { KeyStore } from './keyStore.ts';
import { x25519PublicKey } from './meteredCrypto.ts';
import type { Pin } from './pinHash.ts';
import type { DeviceCore } from './secubeCore.ts';
import { feedPin, newPinVerifier } from './secubePin.ts';

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

/** What factory init reports: public values only. */
export interface FactoryInitResult {
  readonly serial: string;
  /** X25519 identity public key (RFC 7748 §6.1). */
  readonly identityPublicKey: Uint8Array;
  /** The manufacturer's certificate of (serial, identity public key) (`attestation.ts`). */
  readonly certificate: Uint8Array;
}

/** Most tries per PIN level (the counters are persisted as bytes). */
const MAX_PIN_RETRIES = 100;

/**
 * Root of trust and certificate of an initialised device.
 * @throws DeviceError `NoRootOfTrust` on a device whose state predates attestation.
 */
export function attestationOf(core: DeviceCore): DeviceAttestation {
  const { state } = core.requireInit();
  if (state.attestation === null)
    throw new DeviceError(
      'NoRootOfTrust',
      'this device has no root of trust or certificate: factory-reset it with its manufacturer',
    );
  return state.attestation;
}

/** The identity public key X25519(secret, 9) (RFC 7748 §6.1), computed once per boot. */
export function ownPublicKey(core: DeviceCore): Uint8Array {
  const { state } = core.requireInit();
  core.identityPublic ??= x25519PublicKey(state.identitySecret, core.meter);
  return core.identityPublic;
}

/** A uniform serial of {@link SERIAL_LENGTH} characters of {@link SERIAL_ALPHABET} from the TRNG. */
function newSerial(core: DeviceCore): string {
  // Rejection sampling keeps every character uniform: 252 = 7·36 is the largest multiple below 256.
  let serial = '';
  while (serial.length < SERIAL_LENGTH) {
    for (const b of core.trng.randomBytes(SERIAL_LENGTH)) {
      if (b < 252 && serial.length < SERIAL_LENGTH) serial += SERIAL_ALPHABET[b % SERIAL_ALPHABET.length];
    }
  }
  return serial;
}

/**
 * A fresh X25519 identity made inside, and the certificate the factory station issues for it: the
 * device hands the manufacturer only its serial and public key.
 */
function newIdentity(
  core: DeviceCore,
  serial: string,
  manufacturer: Manufacturer,
): { secret: Uint8Array; publicKey: Uint8Array; certificate: Uint8Array } {
  const secret = core.trng.randomBytes(IDENTITY_SECRET_BYTES);
  const publicKey = x25519PublicKey(secret, core.meter);
  return { secret, publicKey, certificate: manufacturer.certify(serial, publicKey) };
}

/**
 * Factory initialisation (SEcube CMD0 1, run once): serial, identity, root of trust and certificate,
 * the two PIN verifiers, an empty key store. Atomic: the state record is written last.
 * @throws DeviceError `AlreadyInitialized`, `BadArgument` (`maxRetries` outside 1..100).
 */
export function factoryInit(core: DeviceCore, options: FactoryInitOptions): FactoryInitResult {
  core.requirePower();
  // A boot that failed left no state in RAM, but the flash holds one: the device is not blank.
  core.requireBooted();
  if (core.state !== undefined) throw new DeviceError('AlreadyInitialized', 'factory init already ran');
  const { maxRetries } = options;
  if (
    maxRetries !== undefined &&
    (!Number.isSafeInteger(maxRetries) || maxRetries < 1 || maxRetries > MAX_PIN_RETRIES)
  ) {
    throw new DeviceError('BadArgument', `maxRetries must be an integer in 1..${MAX_PIN_RETRIES}`);
  }
  const [pin] = initialTransition(
    pinSessionMachine,
    options.maxRetries === undefined ? {} : { maxRetries: options.maxRetries },
  );
  const serial = newSerial(core);
  const pins = { user: newPinVerifier(core, options.userPin), admin: newPinVerifier(core, options.adminPin) };
  const identity = newIdentity(core, serial, options.manufacturer);
  const state: DeviceState = {
    serial,
    maxRetries: pin.context.maxRetries,
    retriesLeft: pin.context.retriesLeft,
    pins,
    counters: new Map(),
    identitySecret: identity.secret,
    attestation: { rootOfTrust: options.manufacturer.publicKey, certificate: identity.certificate },
  };
  const store = KeyStore.format(core.flash, core.keyStoreOptions);
  core.save(state);
  core.store = store;
  core.pin = pin;
  core.identityPublic = identity.publicKey;
  return { serial, identityPublicKey: identity.publicKey.slice(), certificate: identity.certificate.slice() };
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/**
 * Factory reset, when the PIN machine allows it: on its `eraseAllKeys` action the whole key store is
 * erased first; then new PINs, full tries, no counters and a fresh, re-certified identity (so old
 * provisioning keys cannot be re-derived) are saved. The serial and the root of trust stay.
 * @throws DeviceError `WrongManufacturer` (another manufacturer's key is burned in), `AccessDenied`.
 */
export function factoryReset(core: DeviceCore, options: FactoryResetOptions): void {
  const { state, pin } = core.requireInit();
  if (!pin.can({ type: 'FACTORY_RESET' }))
    throw new DeviceError('AccessDenied', 'a user session cannot factory-reset the device');
  const root = state.attestation?.rootOfTrust ?? options.manufacturer.publicKey;
  if (!equalBytes(root, options.manufacturer.publicKey))
    throw new DeviceError(
      'WrongManufacturer',
      'this device was made by another manufacturer: only its own can re-certify it',
    );
  const { next, eraseAllKeys } = feedPin(core, { type: 'FACTORY_RESET' });
  const users = newPinVerifier(core, options.userPin);
  const admins = newPinVerifier(core, options.adminPin);
  const identity = newIdentity(core, state.serial, options.manufacturer);
  if (eraseAllKeys) {
    core.store = KeyStore.format(core.flash, core.keyStoreOptions);
    core.storeNeedsMount = false;
  }
  core.save({
    ...state,
    pins: { user: users, admin: admins },
    retriesLeft: { ...next.context.retriesLeft },
    counters: new Map(),
    identitySecret: identity.secret,
    attestation: { rootOfTrust: root, certificate: identity.certificate },
  });
  core.identityPublic = identity.publicKey;
  core.pin = next;
  core.authenticatedUpdate = undefined;
}
