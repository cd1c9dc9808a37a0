/**
 * Typed errors of the SEcube simulator.
 *
 * The original firmware answers with bare integer codes (and SEkey maps them to `sekey_error`);
 * here every refusal is a {@link DeviceError} with a stable string `code` that callers switch on.
 * Messages name key IDs and reasons only — never key bytes, PINs or plaintext.
 * @module
 */
import { CodedError } from '../model/codedError.ts';

/** Every code a {@link DeviceError} can carry. */
export const DEVICE_ERROR_CODES = [
  /** Factory init has not run yet. */
  'NOT_INITIALIZED',
  /** Factory init already ran (SEcube CMD0 1 answers SE3_ERR_STATE a second time). */
  'ALREADY_INITIALIZED',
  /** The call needs a PIN session. */
  'NOT_LOGGED_IN',
  /** A session is already open (one session at a time, as on the SEcube). */
  'SESSION_ACTIVE',
  /** The session's level may not do this (e.g. a user-level delete, W5 of the original). */
  'ACCESS_DENIED',
  /** The PIN compared unequal; one try was spent. */
  'WRONG_PIN',
  /** The requested PIN level has no tries left. */
  'PIN_LOCKED',
  /** The admin level has no tries left: only a factory reset helps. */
  'DEVICE_LOCKED',
  /** No key with that ID. */
  'UNKNOWN_KEY',
  /** A key with that ID already exists and may not be silently replaced. */
  'KEY_EXISTS',
  /**
   * The key's purpose does not allow this use (NIST SP 800-57 Part 1 §5.2: one key, one use), e.g.
   * encrypting under a wrapping key, sealing under an `open` key, importing under a `wrap` key.
   */
  'WRONG_KEY_PURPOSE',
  /** An AES-GCM nonce that is not 12 bytes (NIST SP 800-38D §8.2 recommends 96 bits). */
  'BAD_NONCE',
  /** An argument outside its domain (ID range, length, name, PIN size...). */
  'BAD_ARGUMENT',
  /** AES-GCM authentication failed (NIST SP 800-38D §7.2 step 8: FAIL). */
  'AUTH_FAILED',
  /** AES-KW integrity check failed (RFC 3394 §2.2.3). */
  'UNWRAP_FAILED',
  /** A delete order that authenticated but is malformed or names another device or key. */
  'BAD_ORDER',
  /** A monotonic counter was asked to go backwards. */
  'COUNTER_ROLLBACK',
  /** The device is powered off: call `powerOn()`. */
  'POWERED_OFF',
  /** No room left in the key store or the record area. */
  'STORE_FULL',
  /** The TRNG failed its continuous test (FIPS 140-2 §4.9.2). */
  'TRNG_FAILURE',
  /** Persistent device state is unreadable (no valid record in either copy). */
  'STATE_CORRUPT',
  /**
   * A provisioning peer's identity certificate does not verify against this device's root of trust
   * (RFC 8032 §5.1.7): the peer key was not certified by this device's manufacturer for that serial.
   */
  'UNTRUSTED_PEER',
  /** The device has no root of trust / certificate (a state record from before attestation). */
  'NO_ROOT_OF_TRUST',
  /** A factory reset by a manufacturer other than the one whose key is burned into the device. */
  'WRONG_MANUFACTURER',
] as const;

/** A stable error code of the device. */
export type DeviceErrorCode = (typeof DEVICE_ERROR_CODES)[number];

/**
 * A refusal or failure of the simulated SEcube, with a stable {@link DeviceErrorCode}.
 * The message is for people; programs switch on `code`.
 */
export class DeviceError extends CodedError<DeviceErrorCode> {
  constructor(code: DeviceErrorCode, message: string) {
    super('DeviceError', code, `${code}: ${message}`);
  }
}

/** True when `error` is a {@link DeviceError}, optionally with the given code. */
export function isDeviceError(error: unknown, code?: DeviceErrorCode): error is DeviceError {
  return error instanceof DeviceError && (code === undefined || error.code === code);
}
