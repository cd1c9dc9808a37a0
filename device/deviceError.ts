/**
 * Typed errors of the SEcube simulator.
 *
 * The original firmware answers with bare integer codes (and SEkey maps them to `sekey_error`);
 * here every refusal is a {@link DeviceError} with a stable string `code` that callers switch on.
 * Messages name key IDs and reasons only — never key bytes, PINs or plaintext.
 * @module
 */
import { CodedError } from '../model/codedError.ts';

/**
 * Every code a {@link DeviceError} can carry. Each code's doc comment says what it means and, after
 * `@remedy`, what the user should do: `docs/errors.md` is generated from them.
 */
export const DEVICE_ERROR_CODES = [
  /**
   * Factory init has not run yet.
   * @remedy The HSM's `flash.img` holds no device state: erased, or replaced by a blank image. Restore
   * its folder (`flash.img` with its `sd.img`) from one backup (it rolls the HSM back: README,
   * "Restoring an HSM's folder"); a user's HSM
   * can instead be replaced (`sekey admin provision U --user-pin PIN --device-admin-pin PIN --yes`,
   * then `sync`). `sekey admin init` sets up only the admin HSM of a new installation, in a new home.
   */
  'NotInitialized',
  /**
   * Factory init already ran (SEcube CMD0 1 answers SE3_ERR_STATE a second time).
   * @remedy Use the HSM as it is; only a factory reset starts it over, and erases its keys.
   */
  'AlreadyInitialized',
  /**
   * The call needs a PIN session.
   * @remedy Log in with the user or admin PIN (`--pin`, or `SEKEY_USER_PIN` / `SEKEY_ADMIN_PIN`).
   */
  'NotLoggedIn',
  /**
   * A session is already open (one session at a time, as on the SEcube).
   * @remedy Log out first.
   */
  'SessionActive',
  /**
   * The HSM is running another command: it runs one at a time, as the SEcube firmware does. Only a
   * host callback that runs inside a command (a flash write listener, say) can meet this.
   * @remedy Call the HSM again once the command in progress has returned; nothing was done.
   */
  'Busy',
  /**
   * The session's level may not do this (e.g. a user-level delete, W5 of the original).
   * @remedy Log in at the level the operation needs (admin for key management on the HSM).
   */
  'AccessDenied',
  /**
   * The PIN compared unequal; one try was spent.
   * @remedy Check the PIN and try again if the message says tries are left (with one left, a PIN from
   * `--pin` or the environment also needs `--last-try`). With none left the level is locked: a user
   * PIN is then set anew by the administrator (`sekey admin reset-user-pin U`); for an admin PIN, see
   * `DeviceLocked`.
   */
  'WrongPin',
  /**
   * The requested PIN level has no tries left.
   * @remedy A locked user PIN: the administrator sets a new one through the admin HSM
   * (`sekey admin reset-user-pin U`: a PIN reset order, no new HSM needed). For the admin PIN, see
   * `DeviceLocked`.
   */
  'PinLocked',
  /**
   * The admin level has no tries left: only a factory reset helps.
   * @remedy A user's HSM: provision the user a new one (`sekey admin provision U`); the keys come
   * back with the next `sync`. The administrator's HSM: a factory reset erases every key of the
   * installation, so there is no way back: guard that PIN.
   */
  'DeviceLocked',
  /**
   * No key with that ID.
   * @remedy Check the key ID; a key that was destroyed or never delivered is not on the HSM.
   */
  'UnknownKey',
  /**
   * A key with that ID already exists and may not be silently replaced.
   * @remedy Use another ID, or replace it explicitly at admin level.
   */
  'KeyExists',
  /**
   * The key's purpose does not allow this use (NIST SP 800-57 Part 1 §5.2: one key, one use), e.g.
   * encrypting under a wrapping key, sealing under an `open` key, importing under a `wrap` key.
   * @remedy A bug in the caller: use a key whose purpose allows the operation.
   */
  'WrongKeyPurpose',
  /**
   * An AES-GCM nonce that is not 12 bytes (NIST SP 800-38D §8.2 recommends 96 bits).
   * @remedy A bug in the caller, or a damaged message: nonces are 12 bytes.
   */
  'BadNonce',
  /**
   * An argument outside its domain (ID range, length, name, PIN size...).
   * @remedy Correct the argument as the message says.
   */
  'BadArgument',
  /**
   * AES-GCM authentication failed (NIST SP 800-38D §7.2 step 8: FAIL).
   * @remedy The data was altered, truncated, or protected under another key: get an intact copy.
   */
  'AuthFailed',
  /**
   * AES-KW integrity check failed (RFC 3394 §2.2.3).
   * @remedy The wrapped key was altered or wrapped for another HSM: ask the administrator for a
   * resync (`sekey admin resync U`), then `sync`.
   */
  'UnwrapFailed',
  /**
   * A delete order that authenticated but is malformed or names another device or key.
   * @remedy Ask the administrator for a resync (`sekey admin resync U`), then `sync`.
   */
  'BadOrder',
  /**
   * A delete order whose update file this HSM has recorded as applied: spent (`deleteOrder.ts`,
   * "Replay"). Its file's work was carried out before the record, so the key it names, if present,
   * came back with a later file; the order no longer reaches it. A user's sync skips such an order.
   * @remedy Nothing to do: the order was carried out when its file was applied. Offered by hand, it
   * is a replay, which the HSM refuses.
   */
  'SpentOrder',
  /**
   * Wrapped key material whose update file this HSM has recorded as applied: spent
   * (`secubeWrap.ts`, "Replay"). Its file's imports were carried out before the record; a key
   * erased since (a member removed, a key destroyed) cannot be brought back from the old blob.
   * @remedy Nothing to do for a sync: the key came with its file. Offered by hand, it is a replay,
   * which the HSM refuses; a key this HSM should hold again comes in a new update file (`sekey sync`).
   */
  'SpentKeyMaterial',
  /**
   * The HSM was asked to acknowledge an update sequence above its applied-update counter
   * (`updates.sequence`): it vouches only for updates recorded as applied.
   * @remedy Run `sync` so that the update is applied first; the acknowledgement is then sent with it.
   */
  'NotApplied',
  /**
   * The generic `counterAdvance` was asked to move a counter that only the HSM itself moves: the
   * applied-update counter `updates.sequence`, which `recordUpdateApplied` moves only to an update
   * the HSM authenticated (`openUpdate`), or a PIN reset counter (`pin-reset.issued`,
   * `pin-reset.accepted`), which moves only with an order issued or accepted.
   * @remedy A bug in, or tampering with, the host software: run `sync`, which records applied
   * updates through the HSM.
   */
  'ReservedCounter',
  /**
   * The generic `seal` or `open` was asked to use the AAD of PIN reset orders, which only the HSM's
   * own order functions use: sealing it would mint an order without advancing the order counter,
   * opening it would show the new PIN to the host.
   * @remedy A bug in, or tampering with, the host software: reset a PIN with
   * `sekey admin reset-user-pin U`.
   */
  'ReservedAad',
  /**
   * An authentic PIN reset order that is not newer than the last one this HSM accepted: a replay,
   * or an older order delivered late.
   * @remedy Nothing changed. If the user still cannot log in, the administrator issues a new order
   * (`sekey admin reset-user-pin U`).
   */
  'StaleOrder',
  /**
   * The HSM was asked to record as applied an update sequence that it has not authenticated
   * (`openUpdate`) since it was last powered on or logged in: it records only updates it has seen.
   * @remedy Run `sync`: it shows the HSM the last applied update file again, then records and
   * acknowledges it. If that file is gone from the share, the next update the administrator
   * publishes is recorded instead.
   */
  'UpdateNotAuthenticated',
  /**
   * An authentic update file or PIN reset order (sealed under this HSM's channel key) that names
   * another device serial.
   * @remedy Ask the administrator for a resync (`sekey admin resync U`), then `sync`; for a PIN
   * reset, a new order (`sekey admin reset-user-pin U`).
   */
  'NotForThisDevice',
  /**
   * A monotonic counter was asked to go backwards.
   * @remedy Something presented an older state than the HSM recorded: restore the newest copy of
   * the device's card, or ask the administrator for a resync.
   */
  'CounterRollback',
  /**
   * No room left in the key store or the record area.
   * @remedy Destroy keys that are no longer needed (the administrator's `destroy-key`), then retry.
   */
  'StoreFull',
  /**
   * The TRNG failed its health test: the same word three times in a row (NIST SP 800-90B §4.4.1
   * repetition count test), which a healthy noise source does once in 2^64 words.
   * @remedy Retry; if it keeps failing, the HSM's noise source is faulty: replace the HSM.
   */
  'TrngFailure',
  /**
   * Persistent device state is unreadable (no valid record in either copy).
   * @remedy Restore the HSM's folder (`flash.img` with its `sd.img`: a flash image alone from an older
   * backup no longer matches the card) from one backup (it rolls the HSM back: README, "Restoring an
   * HSM's folder"). A user's HSM can instead be replaced
   * (`sekey admin provision U --user-pin PIN --device-admin-pin PIN --yes`, then `sync`); the
   * administrator's has no other way back.
   */
  'StateCorrupt',
  /**
   * A provisioning peer's identity certificate does not verify against this device's root of trust
   * (RFC 8032 §5.1.7): the peer key was not certified by this device's manufacturer for that serial.
   * @remedy Provision with the factory that certified the admin HSM (`--factory DIR` or
   * `SEKEY_FACTORY`: the one `sekey admin init` used); pair only HSMs certified by the same
   * manufacturer. A device that still fails is not genuine.
   */
  'UntrustedPeer',
  /**
   * The device has no root of trust / certificate (a state record from before attestation).
   * @remedy Factory-reset the HSM with its manufacturer's key so that it is certified, then
   * provision it again.
   */
  'NoRootOfTrust',
  /**
   * A factory reset by a manufacturer other than the one whose key is burned into the device.
   * @remedy Use the manufacturer file of the HSM's own manufacturer.
   */
  'WrongManufacturer',
] as const;

/** A stable error code of the device. */
export type DeviceErrorCode = (typeof DEVICE_ERROR_CODES)[number];

/**
 * A refusal or failure of the simulated SEcube, with a stable {@link DeviceErrorCode}.
 * The message is for people; programs switch on `code`.
 */
export class DeviceError extends CodedError<DeviceErrorCode> {
  /** The message without its leading code: for a caller that words its own error around this one. */
  readonly detail: string;

  /** `remedy`: what to do in this situation, printed instead of the code's general remedy. */
  constructor(code: DeviceErrorCode, message: string, remedy?: string) {
    super('DeviceError', code, `${code}: ${message}`, remedy);
    this.detail = message;
  }
}

/** True when `error` is a {@link DeviceError}, optionally with the given code. */
export function isDeviceError(error: unknown, code?: DeviceErrorCode): error is DeviceError {
  return error instanceof DeviceError && (code === undefined || error.code === code);
}
