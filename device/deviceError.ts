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
  'NotInitialized',
  /** Factory init already ran (SEcube CMD0 1 answers SE3_ERR_STATE a second time). */
  'AlreadyInitialized',
  /** The call needs a PIN session. */
  'NotLoggedIn',
  /** A session is already open (one session at a time, as on the SEcube). */
  'SessionActive',
  /** The session's level may not do this (e.g. a user-level delete, W5 of the original). */
  'AccessDenied',
  /** The PIN compared unequal; one try was spent. */
  'WrongPin',
  /** The requested PIN level has no tries left. */
  'PinLocked',
  /** The admin level has no tries left: only a factory reset helps. */
  'DeviceLocked',
  /** No key with that ID. */
  'UnknownKey',
  /** A key with that ID already exists and may not be silently replaced. */
  'KeyExists',
  /**
   * The key's purpose does not allow this use (NIST SP 800-57 Part 1 §5.2: one key, one use), e.g.
   * encrypting under a wrapping key, sealing under an `open` key, importing under a `wrap` key.
   */
  'WrongKeyPurpose',
  /** An AES-GCM nonce that is not 12 bytes (NIST SP 800-38D §8.2 recommends 96 bits). */
  'BadNonce',
  /** An argument outside its domain (ID range, length, name, PIN size...). */
  'BadArgument',
  /** AES-GCM authentication failed (NIST SP 800-38D §7.2 step 8: FAIL). */
  'AuthFailed',
  /** AES-KW integrity check failed (RFC 3394 §2.2.3). */
  'UnwrapFailed',
  /** A delete order that authenticated but is malformed or names another device or key. */
  'BadOrder',
  /** A monotonic counter was asked to go backwards. */
  'CounterRollback',
  /** No room left in the key store or the record area. */
  'StoreFull',
  /** The TRNG failed its continuous test (FIPS 140-2 §4.9.2). */
  'TrngFailure',
  /** Persistent device state is unreadable (no valid record in either copy). */
  'StateCorrupt',
  /**
   * A provisioning peer's identity certificate does not verify against this device's root of trust
   * (RFC 8032 §5.1.7): the peer key was not certified by this device's manufacturer for that serial.
   */
  'UntrustedPeer',
  /** The device has no root of trust / certificate (a state record from before attestation). */
  'NoRootOfTrust',
  /** A factory reset by a manufacturer other than the one whose key is burned into the device. */
  'WrongManufacturer',
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
