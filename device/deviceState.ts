/**
 * The device state that must survive power loss, and its byte encoding for the flash record area:
 * serial, PIN verifiers, PIN retry counters (spent before every comparison), monotonic counters,
 * the X25519 identity secret, and the attestation: the manufacturer's public key burned in at factory
 * init (the root of trust) and the manufacturer's certificate of this device's identity
 * (`attestation.ts`). (Key attributes travel with the keys in the key store, so a key
 * and its purpose are written in one record and cannot diverge across a power cut.)
 *
 * It lives in device flash only; no host-visible API ever returns the encoding.
 * @module
 */
import { CERTIFICATE_BYTES, MANUFACTURER_PUBLIC_KEY_BYTES } from './attestation.ts';
import { type Reader, Writer, bytesEqual, decodeUtf8, mapCodecError, readAll, utf8 } from './binaryCodec.ts';
import { DeviceError } from './deviceError.ts';
import { PIN_HASH_BYTES, PIN_SALT_BYTES } from './pinHash.ts';
import type { PinVerifier } from './pinHash.ts';

/** Length of a device serial number (SE3_SERIAL_SIZE). */
export const SERIAL_LENGTH = 32;
/** Alphabet of serial numbers. */
export const SERIAL_ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ';

/** Whether `text` has the form of a serial number: {@link SERIAL_LENGTH} characters of {@link SERIAL_ALPHABET}. */
export function isSerial(text: string): boolean {
  return text.length === SERIAL_LENGTH && [...text].every((ch) => SERIAL_ALPHABET.includes(ch));
}
/** X25519 secret length (RFC 7748 §5: 32-byte scalars). */
export const IDENTITY_SECRET_BYTES = 32;
/** Most monotonic counters a device holds. */
export const MAX_COUNTERS = 64;
/** Longest counter name, in UTF-8 bytes. */
export const MAX_COUNTER_NAME_BYTES = 64;

/**
 * The device's attestation (`attestation.ts`): the manufacturer's Ed25519 public key (root of trust,
 * RFC 8032 §5.1.5), fixed at factory init, and the certificate of the current identity key.
 */
export interface DeviceAttestation {
  /** The manufacturer's public key: the root against which peers' certificates are checked. */
  readonly rootOfTrust: Uint8Array;
  /** The manufacturer's signature of (serial, identity public key), RFC 8032 §5.1.6. */
  readonly certificate: Uint8Array;
}

/** Persistent device state (decoded). Treat as immutable: updates build a new value. */
export interface DeviceState {
  readonly serial: string;
  readonly maxRetries: number;
  readonly pins: { readonly user: PinVerifier; readonly admin: PinVerifier };
  readonly retriesLeft: { readonly user: number; readonly admin: number };
  /** Monotonic counters by name; values are safe integers ≥ 0. */
  readonly counters: ReadonlyMap<string, number>;
  readonly identitySecret: Uint8Array;
  /**
   * Root of trust and identity certificate; `null` only for a record of format version 1, written
   * before attestation existed (such a device boots and works, but cannot be provisioned until a
   * factory reset gives it a root and a certificate).
   */
  readonly attestation: DeviceAttestation | null;
}

/**
 * Format 2 adds the attestation (a presence byte, then root and certificate) after the identity
 * secret. Format 1 records still decode, with `attestation: null`; every save writes format 2.
 */
const FORMAT_VERSION = 2;
const LEGACY_FORMAT_VERSION = 1;

function writeVerifier(w: Writer, v: PinVerifier): void {
  if (v.salt.length !== PIN_SALT_BYTES || v.hash.length !== PIN_HASH_BYTES)
    throw new RangeError(`a PIN verifier is a ${PIN_SALT_BYTES}-byte salt and a ${PIN_HASH_BYTES}-byte hash`);
  w.bytes(v.salt).u32le(v.iterations).bytes(v.hash);
}

function readVerifier(r: Reader): PinVerifier {
  const salt = r.bytes(PIN_SALT_BYTES);
  const iterations = r.u32le();
  const hash = r.bytes(PIN_HASH_BYTES);
  return { salt, iterations, hash };
}

function corrupt(why: string): never {
  throw new DeviceError('StateCorrupt', why);
}

/**
 * Encodes `state` for the record area (versioned; fixed-width integers little-endian, the STM32's
 * order; counts and name lengths as varints, `device/binaryCodec.ts`). Layout, format 2:
 * ```
 * u8 version = 2 | serial (32 bytes, UTF-8) | u8 maxRetries | u8 user tries left | u8 admin tries left
 * | user PIN verifier | admin PIN verifier          (each: salt 16 | u32le iterations | hash 32)
 * | identity secret (32) | u8 attestation present (0/1) | [root of trust (32) | certificate (64)]
 * | varint counter count (≤ 64) | per counter, in ascending name order:
 *     varint name length (≤ 64) | name (UTF-8) | u64le value
 * ```
 * Counts and name lengths never exceed 64, so each varint is one byte: the same bytes as the u8 the
 * first encoder of this format wrote.
 */
export function encodeDeviceState(state: DeviceState): Uint8Array {
  const serial = utf8(state.serial);
  if (serial.length !== SERIAL_LENGTH) throw new RangeError(`a serial is ${SERIAL_LENGTH} ASCII characters`);
  if (state.counters.size > MAX_COUNTERS) throw new RangeError(`at most ${MAX_COUNTERS} counters`);
  if (state.identitySecret.length !== IDENTITY_SECRET_BYTES)
    throw new RangeError(`identity secret must be ${IDENTITY_SECRET_BYTES} bytes`);
  const att = state.attestation;
  if (
    att !== null &&
    (att.rootOfTrust.length !== MANUFACTURER_PUBLIC_KEY_BYTES || att.certificate.length !== CERTIFICATE_BYTES)
  ) {
    throw new RangeError(
      `a root of trust is ${MANUFACTURER_PUBLIC_KEY_BYTES} bytes and a certificate ${CERTIFICATE_BYTES}`,
    );
  }
  const w = new Writer();
  w.u8(FORMAT_VERSION).bytes(serial).u8(state.maxRetries).u8(state.retriesLeft.user).u8(state.retriesLeft.admin);
  writeVerifier(w, state.pins.user);
  writeVerifier(w, state.pins.admin);
  w.bytes(state.identitySecret);
  w.u8(att === null ? 0 : 1);
  if (att !== null) w.bytes(att.rootOfTrust).bytes(att.certificate);
  w.varint(state.counters.size);
  for (const name of counterNames(state)) {
    const value = state.counters.get(name) ?? 0;
    const nameBytes = utf8(name);
    if (nameBytes.length > MAX_COUNTER_NAME_BYTES)
      throw new RangeError(`counter names are at most ${MAX_COUNTER_NAME_BYTES} bytes`);
    w.lenBytes(nameBytes).u64le(value);
  }
  return w.finish();
}

/**
 * The counter names of `state` in the order the record stores them (ascending by UTF-16 code
 * units); a name's position is also its index in the counter journal (`stateJournal.ts`).
 */
export function counterNames(state: DeviceState): string[] {
  return [...state.counters.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/**
 * Whether `after` replaces a secret `before` held: the identity secret (a factory reset) or a PIN
 * verifier (a PIN changed or reset; an old verifier is an offline guessing target for the old PIN,
 * which users tend to reuse). The record area then erases the previous base at once
 * (`RecordArea.save`'s `forgetPrevious`).
 */
export function supersedesSecret(before: DeviceState, after: DeviceState): boolean {
  const verifier = (a: PinVerifier, b: PinVerifier): boolean =>
    bytesEqual(a.salt, b.salt) && bytesEqual(a.hash, b.hash) && a.iterations === b.iterations;
  return (
    !bytesEqual(before.identitySecret, after.identitySecret) ||
    !verifier(before.pins.user, after.pins.user) ||
    !verifier(before.pins.admin, after.pins.admin)
  );
}

/**
 * Decodes a record written by {@link encodeDeviceState}, strictly: exact length, well-formed UTF-8,
 * counts and name lengths within their bounds.
 * @throws DeviceError `StateCorrupt` when the bytes are not a valid state.
 */
export function decodeDeviceState(bytes: Uint8Array): DeviceState {
  return mapCodecError(
    () => readAll(bytes, readState),
    (error) =>
      new DeviceError(
        'StateCorrupt',
        `device state record is ${error.code === 'Truncated' ? 'truncated' : 'malformed'}: ${error.message}`,
      ),
  );
}

function readState(r: Reader): DeviceState {
  const version = r.u8();
  if (version !== FORMAT_VERSION && version !== LEGACY_FORMAT_VERSION)
    corrupt(`unknown device state version ${version}`);
  const serial = decodeUtf8(r.bytes(SERIAL_LENGTH), 1);
  const maxRetries = r.u8();
  const retriesLeft = { user: r.u8(), admin: r.u8() };
  if (maxRetries < 1 || retriesLeft.user > maxRetries || retriesLeft.admin > maxRetries)
    corrupt('retry counters out of range');
  const pins = { user: readVerifier(r), admin: readVerifier(r) };
  const identitySecret = r.bytes(IDENTITY_SECRET_BYTES);
  let attestation: DeviceAttestation | null = null;
  if (version === FORMAT_VERSION) {
    const present = r.u8();
    if (present > 1) corrupt('bad attestation flag in device state record');
    if (present === 1)
      attestation = { rootOfTrust: r.bytes(MANUFACTURER_PUBLIC_KEY_BYTES), certificate: r.bytes(CERTIFICATE_BYTES) };
  }
  const counters = new Map<string, number>();
  const nCounters = r.varint();
  if (nCounters > MAX_COUNTERS) corrupt(`${nCounters} counters, more than ${MAX_COUNTERS}`);
  let previous: string | null = null;
  for (let i = 0; i < nCounters; i++) {
    const nameBytes = r.lenBytes();
    if (nameBytes.length > MAX_COUNTER_NAME_BYTES)
      corrupt(`a counter name of ${nameBytes.length} bytes, more than ${MAX_COUNTER_NAME_BYTES}`);
    const name = decodeUtf8(nameBytes);
    // Stored in strictly ascending order (counterNames): the journal indexes counters by position,
    // so a duplicate or a name out of place would credit journalled advances to another counter.
    if (previous !== null && !(previous < name)) corrupt('counter names not in strictly ascending order');
    previous = name;
    counters.set(name, r.u64le());
  }
  return { serial, maxRetries, pins, retriesLeft, counters, identitySecret, attestation };
}
