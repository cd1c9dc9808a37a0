/**
 * Typed errors of SEkey operations that are not rule violations of the KMS model (those are the
 * model's `KmsError`, with the same codes in the model and here, so the two can be compared).
 * @module
 */
import { CodedError } from '../../model/codedError.ts';

/**
 * Codes of operational errors. Each code's doc comment says what it means and, after `@remedy`,
 * what the user should do: `docs/errors.md` is generated from them.
 */
export const SEKEY_ERROR_CODES = [
  /**
   * A key's state does not allow this use (NIST SP 800-57 Pt 1 §7 usage table): a compromised key
   * does not decrypt, a destroyed one does nothing.
   * @remedy Under a compromised key, rescue the data with `reprotect`; otherwise check the key's
   * state (`key-info K`).
   */
  'UsageNotAllowed',
  /**
   * The device holds no such key (destroyed, or never delivered), or its HSM does not have the
   * material of a key the replica lists (the HSM refused the import: a full key store, say).
   * @remedy Run `sync` to receive new keys; if the message says the HSM refused the key, fix that
   * cause first (`status` shows pending HSM work; a full key store needs keys erased); if the key
   * was destroyed or you left its group, the data under it can no longer be read on this device.
   */
  'KeyUnavailable',
  /**
   * A message is not a well-formed SEkey message.
   * @remedy Get an intact copy of the message; check that the file is an SEkey message at all.
   */
  'MalformedMessage',
  /**
   * The user has no device provisioned for it yet; or a device's card holds no identity of the role
   * opening it (a user's card opened as the administrator's, or a setup that never completed).
   * @remedy Check the user ID (`sekey admin users`), then provision its HSM: `sekey admin provision U
   * --user-pin PIN --device-admin-pin PIN`. For the administrator's card, point at the right home
   * (`--home`).
   */
  'NotProvisioned',
  /**
   * The latest update applied from the administrator is older than its freshness window (TUF's
   * timestamp role): updates may be withheld, so new data is not encrypted, nor old data
   * re-protected, until a sync. Decrypting still works, and so does re-protecting data under a
   * compromised key (the rescue path). Also when that update was dated more than the window ahead
   * of this device's clock when it came: one of the clocks is wrong.
   * @remedy Run `sync`; if nothing new arrives, the share may be withholding updates: ask the
   * administrator (who runs `sekey admin publish` at least once per heartbeat interval). A date
   * ahead: have the administrator's host clock and this one checked.
   */
  'NotFresh',
  /**
   * The HSM to provision is not new: it is in service for another user, it holds KMS keys, or the
   * administrator retired it (replaced it, or deleted its user) and it still holds a key. An HSM
   * serves one user, and a used one would keep keys its new user's view never orders erased.
   * @remedy Use a new HSM (`sekey admin provision` initialises one). To reuse this one, retire it
   * first if it is in service (provision a replacement for its user, or delete that user), then
   * factory-reset it, which erases its keys.
   */
  'DeviceInUse',
  /**
   * `forget-hsm` named an HSM the administrator has no record of: no HSM with this serial was ever
   * provisioned here, or the user ID names no retired HSM (none, or one that was provisioned again).
   * @remedy Check the serial (`sekey admin provision` printed it; `sekey admin users` shows a deleted
   * user's retired HSM once the ID is added again) or name the HSM by the user ID it served.
   */
  'UnknownHsm',
  /**
   * `forget-hsm` named an HSM in service for a user: only a retired HSM (replaced, or its user
   * deleted) can be forgotten.
   * @remedy Retire it first: provision a replacement for its user, or delete that user; then forget it.
   */
  'HsmInService',
  /**
   * `forget-hsm` named an HSM the administrator forgot already: as lost (the keys it may hold were
   * compromised then), or as destroyed and named as destroyed again. Running the command again after
   * a power cut lands here when the first run was saved.
   * @remedy Nothing: the HSM is forgotten. `sekey admin audit` shows when, and what was compromised. One
   * forgotten as destroyed that turns out lost (found, or offered for sale) is forgotten again with
   * `sekey admin forget-hsm SERIAL --lost`: the keys it may hold, recorded when it was forgotten, are
   * compromised then.
   */
  'AlreadyForgotten',
  /**
   * `forget-hsm` named a user ID that served more than one retired HSM (replaced ones, and the one a
   * deletion retired): the message lists their serials.
   * @remedy Name the HSM by its serial.
   */
  'AmbiguousHsm',
] as const;
/** An operational error code. */
export type SekeyErrorCode = (typeof SEKEY_ERROR_CODES)[number];

/** An SEkey operation was refused; nothing changed. */
export class SekeyError extends CodedError<SekeyErrorCode> {
  /** `remedy`: what to do in this situation, printed instead of the code's general remedy. */
  constructor(code: SekeyErrorCode, message: string, remedy?: string) {
    super('SekeyError', code, message, remedy);
  }
}
