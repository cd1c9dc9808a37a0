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
import { DeviceError } from './deviceError.ts';
import { PIN_HASH_BYTES, PIN_SALT_BYTES } from './pinHash.ts';
import type { PinVerifier } from './pinHash.ts';

/** Length of a device serial number (SE3_SERIAL_SIZE). */
export const SERIAL_LENGTH = 32;
/** Alphabet of serial numbers. */
export const SERIAL_ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ';
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

class Writer {
  #parts: number[] = [];
  u8(v: number): void {
    this.#parts.push(v & 0xff);
  }
  u32(v: number): void {
    for (let i = 0; i < 4; i++) this.#parts.push((v >>> (8 * i)) & 0xff);
  }
  u64(v: number): void {
    this.u32(v % 2 ** 32);
    this.u32(Math.floor(v / 2 ** 32));
  }
  bytes(b: Uint8Array): void {
    for (const x of b) this.#parts.push(x);
  }
  lenBytes(b: Uint8Array): void {
    this.u8(b.length);
    this.bytes(b);
  }
  done(): Uint8Array {
    return Uint8Array.from(this.#parts);
  }
}

class Reader {
  #at = 0;
  readonly #b: Uint8Array;
  constructor(b: Uint8Array) {
    this.#b = b;
  }
  #need(n: number): void {
    if (this.#at + n > this.#b.length) throw new DeviceError('StateCorrupt', 'device state record is truncated');
  }
  u8(): number {
    this.#need(1);
    return this.#b[this.#at++] ?? 0;
  }
  u32(): number {
    this.#need(4);
    let v = 0;
    for (let i = 0; i < 4; i++) v += (this.#b[this.#at++] ?? 0) * 2 ** (8 * i);
    return v;
  }
  u64(): number {
    const lo = this.u32();
    const hi = this.u32();
    const v = hi * 2 ** 32 + lo;
    if (!Number.isSafeInteger(v)) throw new DeviceError('StateCorrupt', 'counter value is not a safe integer');
    return v;
  }
  bytes(n: number): Uint8Array {
    this.#need(n);
    const out = this.#b.slice(this.#at, this.#at + n);
    this.#at += n;
    return out;
  }
  lenBytes(): Uint8Array {
    return this.bytes(this.u8());
  }
  end(): void {
    if (this.#at !== this.#b.length) throw new DeviceError('StateCorrupt', 'trailing bytes in device state record');
  }
}

function writeVerifier(w: Writer, v: PinVerifier): void {
  w.bytes(v.salt);
  w.u32(v.iterations);
  w.bytes(v.hash);
}

function readVerifier(r: Reader): PinVerifier {
  const salt = r.bytes(PIN_SALT_BYTES);
  const iterations = r.u32();
  const hash = r.bytes(PIN_HASH_BYTES);
  return { salt, iterations, hash };
}

/** Encodes `state` for the record area (little-endian, versioned). */
export function encodeDeviceState(state: DeviceState): Uint8Array {
  const serial = new TextEncoder().encode(state.serial);
  if (serial.length !== SERIAL_LENGTH) throw new RangeError(`a serial is ${SERIAL_LENGTH} ASCII characters`);
  if (state.counters.size > MAX_COUNTERS) throw new RangeError(`at most ${MAX_COUNTERS} counters`);
  if (state.identitySecret.length !== IDENTITY_SECRET_BYTES) throw new RangeError(`identity secret must be ${IDENTITY_SECRET_BYTES} bytes`);
  const att = state.attestation;
  if (att !== null && (att.rootOfTrust.length !== MANUFACTURER_PUBLIC_KEY_BYTES || att.certificate.length !== CERTIFICATE_BYTES)) {
    throw new RangeError(`a root of trust is ${MANUFACTURER_PUBLIC_KEY_BYTES} bytes and a certificate ${CERTIFICATE_BYTES}`);
  }
  const w = new Writer();
  w.u8(FORMAT_VERSION);
  w.bytes(serial);
  w.u8(state.maxRetries);
  w.u8(state.retriesLeft.user);
  w.u8(state.retriesLeft.admin);
  writeVerifier(w, state.pins.user);
  writeVerifier(w, state.pins.admin);
  w.bytes(state.identitySecret);
  w.u8(att === null ? 0 : 1);
  if (att !== null) {
    w.bytes(att.rootOfTrust);
    w.bytes(att.certificate);
  }
  w.u8(state.counters.size);
  for (const [name, value] of [...state.counters].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const nameBytes = new TextEncoder().encode(name);
    if (nameBytes.length > MAX_COUNTER_NAME_BYTES) throw new RangeError(`counter names are at most ${MAX_COUNTER_NAME_BYTES} bytes`);
    w.lenBytes(nameBytes);
    w.u64(value);
  }
  return w.done();
}

/**
 * Decodes a record written by {@link encodeDeviceState}.
 * @throws DeviceError `StateCorrupt` when the bytes are not a valid state.
 */
export function decodeDeviceState(bytes: Uint8Array): DeviceState {
  const r = new Reader(bytes);
  const version = r.u8();
  if (version !== FORMAT_VERSION && version !== LEGACY_FORMAT_VERSION) throw new DeviceError('StateCorrupt', `unknown device state version ${version}`);
  const serial = new TextDecoder().decode(r.bytes(SERIAL_LENGTH));
  const maxRetries = r.u8();
  const retriesLeft = { user: r.u8(), admin: r.u8() };
  if (maxRetries < 1 || retriesLeft.user > maxRetries || retriesLeft.admin > maxRetries) {
    throw new DeviceError('StateCorrupt', 'retry counters out of range');
  }
  const pins = { user: readVerifier(r), admin: readVerifier(r) };
  const identitySecret = r.bytes(IDENTITY_SECRET_BYTES);
  let attestation: DeviceAttestation | null = null;
  if (version === FORMAT_VERSION) {
    const present = r.u8();
    if (present > 1) throw new DeviceError('StateCorrupt', 'bad attestation flag in device state record');
    if (present === 1) attestation = { rootOfTrust: r.bytes(MANUFACTURER_PUBLIC_KEY_BYTES), certificate: r.bytes(CERTIFICATE_BYTES) };
  }
  const counters = new Map<string, number>();
  const nCounters = r.u8();
  for (let i = 0; i < nCounters; i++) {
    const name = new TextDecoder().decode(r.lenBytes());
    counters.set(name, r.u64());
  }
  r.end();
  return { serial, maxRetries, pins, retriesLeft, counters, identitySecret, attestation };
}
