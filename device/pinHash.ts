/**
 * How a device keeps its PINs: never in clear (the original stores them as cleartext flash
 * records, W8), but as a salted, stretched hash — PBKDF2-HMAC-SHA256 (RFC 8018 §5.2) with a
 * per-PIN random salt — compared in constant time.
 * @module
 */
import { pbkdf2 } from '@noble/hashes/pbkdf2.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { DeviceError } from './deviceError.ts';
import { utf8 } from './binaryCodec.ts';

/** A PIN as the host hands it over: bytes, or a string taken as UTF-8. */
export type Pin = Uint8Array | string;

/** Salt length; RFC 8018 §4.1 asks for at least 64 bits, NIST SP 800-132 §5.1 for 128. */
export const PIN_SALT_BYTES = 16;
/** Length of the stored PIN hash (one SHA-256 output, RFC 8018 §5.2 dkLen). */
export const PIN_HASH_BYTES = 32;
/** Default PBKDF2 iteration count: costs the M4 tens of ms per login, which the retry counter caps anyway. */
export const DEFAULT_PIN_ITERATIONS = 1000;
/** PIN size bounds in bytes; the SEcube's PINs are up to 32 bytes (SE3_PIN_SIZE), we allow 64. */
export const PIN_MIN_BYTES = 4;
/** Upper PIN size bound in bytes. */
export const PIN_MAX_BYTES = 64;

/** A stored PIN verifier: salt, iteration count and PBKDF2 output. */
export interface PinVerifier {
  readonly salt: Uint8Array;
  readonly iterations: number;
  readonly hash: Uint8Array;
}

/**
 * The PIN's bytes, validated. Binary PINs are kept whole, with their length (the original loses
 * everything after a 0x00 byte, B5).
 */
export function pinBytes(pin: Pin): Uint8Array {
  const bytes = typeof pin === 'string' ? utf8(pin) : pin;
  if (bytes.length < PIN_MIN_BYTES || bytes.length > PIN_MAX_BYTES) {
    throw new DeviceError('BadArgument', `a PIN must be ${PIN_MIN_BYTES}..${PIN_MAX_BYTES} bytes long`);
  }
  return bytes;
}

/** PBKDF2-HMAC-SHA256(PIN, salt, c, 32) — RFC 8018 §5.2. */
export function pinHash(pin: Pin, salt: Uint8Array, iterations: number): Uint8Array {
  return pbkdf2(sha256, pinBytes(pin), salt, { c: iterations, dkLen: PIN_HASH_BYTES });
}

/** A fresh verifier for `pin` under `salt` (which the caller draws from the TRNG). */
export function makePinVerifier(pin: Pin, salt: Uint8Array, iterations: number = DEFAULT_PIN_ITERATIONS): PinVerifier {
  if (salt.length !== PIN_SALT_BYTES) throw new DeviceError('BadArgument', `PIN salt must be ${PIN_SALT_BYTES} bytes`);
  if (!Number.isSafeInteger(iterations) || iterations < 1 || iterations > 0xffff_ffff) {
    throw new DeviceError('BadArgument', 'PIN iteration count must be a positive 32-bit integer');
  }
  return { salt: salt.slice(), iterations, hash: pinHash(pin, salt, iterations) };
}

/**
 * Compares two byte strings in time that depends only on their lengths (no early exit), so the
 * comparison does not reveal how many leading bytes of a PIN hash matched.
 */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  let diff = a.length ^ b.length;
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) diff |= (a[i] ?? 0) ^ (b[i] ?? 0);
  return diff === 0;
}

/** True when `pin` matches `verifier` (hash recomputed, then compared in constant time). */
export function verifyPin(pin: Pin, verifier: PinVerifier): boolean {
  return constantTimeEqual(pinHash(pin, verifier.salt, verifier.iterations), verifier.hash);
}
