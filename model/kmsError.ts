/**
 * Typed errors of the KMS model. Each has a stable `code`: callers branch on it, never on messages.
 * The original SEkey returns bare integer codes (`SEKEY_ERR_PARAMS`, `SEKEY_KEY_NOT_FOUND`, …) that
 * say neither which argument nor which rule was at fault; these say both.
 * @module
 */
import { CodedError } from './codedError.ts';
import { formatDuration } from './machineDescription.ts';

/**
 * Every error code of the KMS model. Each code's doc comment says what it means and, after
 * `@remedy`, what the user should do: `docs/errors.md` is generated from them.
 */
export const KMS_ERROR_CODES = [
  /**
   * A user or group ID of the wrong form: a user ID is `U`, a group ID `G`, followed by a number
   * from 1 with no leading zero (at most 11 characters in all).
   * @remedy Use an ID of that form, such as `U7` or `G12`.
   */
  'InvalidId',
  /**
   * A user, group or key name that is empty, blank (white space or invisible characters alone, such as a
   * zero-width space) or longer than 100 characters (Unicode code points).
   * @remedy Give a name of 1 to 100 characters, at least one of them visible.
   */
  'InvalidName',
  /**
   * A group policy out of its domain: `maxKeys` or the default cryptoperiod (in milliseconds) not an
   * integer from 1 to 2^53 − 1, a default cryptoperiod longer than 100 years (36,525 days), or an
   * algorithm SEkey does not know.
   * @remedy Give a positive number of keys, a positive cryptoperiod of at most 100 years (`30d`) and a
   *   supported algorithm.
   */
  'InvalidPolicy',
  /**
   * A key's cryptoperiod that is not an integer number of milliseconds from 1 to 2^53 − 1.
   * @remedy Give a positive duration, such as `30d` or `12h`.
   */
  'InvalidCryptoperiod',
  /**
   * A user with this ID already exists.
   * @remedy Choose another ID, or rename the existing user (`rename-user`).
   */
  'DuplicateUser',
  /**
   * A group with this ID exists or existed: group IDs are never reused, so that old keys stay
   * attributed to the group that owned them.
   * @remedy Choose a new group ID.
   */
  'DuplicateGroup',
  /**
   * No user with this ID; on a user's device, also a recipient who shares no group with the user.
   * @remedy Check the ID (`sekey admin users`; `sekey user U users` lists only those sharing a group
   * with U). A recipient outside the sender's groups needs a group with both: the administrator adds
   * them (`add-member`); once that is done, run `sync`, since a user's HSM learns of new members at its
   * next sync.
   */
  'UnknownUser',
  /**
   * No group with this ID; on a user's device, also a group the user is not a member of.
   * @remedy Check the ID (`sekey admin groups`; `sekey user U groups` lists only U's groups). A group
   * not made yet is made with `add-group`; a user who is not a member cannot use the group until the
   * administrator adds the user to it (`add-member`).
   */
  'UnknownGroup',
  /**
   * No key with this ID.
   * @remedy Check the ID (`sekey admin keys`).
   */
  'UnknownKey',
  /**
   * The user is already a member of the group.
   * @remedy Nothing: the membership is in place.
   */
  'AlreadyMember',
  /**
   * The user is not a member of the group.
   * @remedy Check the members (`sekey admin group-info G`).
   */
  'NotMember',
  /**
   * The group already holds its policy's maximum of live keys (pre-active, active or suspended).
   * @remedy Deactivate or destroy a key of the group first, or raise the limit (`set-max-keys`).
   */
  'MaxKeysReached',
  /**
   * A key's cryptoperiod longer than its group's default cryptoperiod.
   * @remedy Give a shorter cryptoperiod, or lengthen the group's (`set-cryptoperiod`).
   */
  'CryptoperiodTooLong',
  /**
   * A new group policy that the group's live keys break: more live keys than the new `maxKeys`, or
   * a live key with a longer cryptoperiod than the new default.
   * @remedy Deactivate or destroy the keys concerned first, or choose a policy they fit.
   */
  'PolicyConflict',
  /**
   * The key's life-cycle state does not allow this event (NIST SP 800-57 Pt 1 §7; the transitions are
   * in `docs/spec.md`), or the administrator's HSM is not logged in at admin level.
   * @remedy Check the key's state (`key-info K`) and take an allowed transition; a destroyed key
   * is gone for good.
   */
  'IllegalTransition',
  /**
   * An operation's time that is not a finite number of milliseconds within ±8,636,844,240,000,000
   * (what a Date holds, ±8.64e15, less the longest cryptoperiod of 100 years, so that every end of
   * cryptoperiod is a date too: about 273,690 years either side of 1970).
   * @remedy A bug in the caller: pass a finite time (on the command line, a valid `--at`).
   */
  'InvalidTime',
  /**
   * No group contains the sender and every recipient, so no key can protect the message for all.
   * @remedy Send to fewer recipients at a time, or ask the administrator for a group with all of you.
   */
  'NoCommonGroup',
  /**
   * No group containing everyone has an active key within its cryptoperiod (selection tries the
   * smallest such groups first, then the next smallest: the message names every group it tried).
   * @remedy Ask the administrator for an active key in one of the groups the message names
   * (`activate-key K` for a pre-active key, `resume-key K` for a suspended one, else `add-key G NAME`
   * first), then `sync`.
   */
  'NoUsableKey',
] as const;
/** An error code of the KMS model. */
export type KmsErrorCode = (typeof KMS_ERROR_CODES)[number];

/** An operation of the KMS was refused; the state it was applied to is unchanged. */
export class KmsError extends CodedError<KmsErrorCode> {
  /** `remedy`: what to do in this situation, printed instead of the code's general remedy. */
  constructor(code: KmsErrorCode, message: string, remedy?: string) {
    super('KmsError', code, message, remedy);
  }
}

/**
 * `CryptoperiodTooLong`: a new key's cryptoperiod is over its group's default. Durations in words
 * (`45 days`), as an administrator gave them, not in milliseconds.
 */
export function cryptoperiodTooLong(groupId: string, requestedMs: number, limitMs: number): KmsError {
  return new KmsError(
    'CryptoperiodTooLong',
    `a cryptoperiod of ${formatDuration(requestedMs)} exceeds group ${groupId}'s ${formatDuration(limitMs)}`,
  );
}

/** `PolicyConflict`: a live key's cryptoperiod is over the group's new default. */
export function liveKeyOutlastsPolicy(keyId: string, keyMs: number, limitMs: number): KmsError {
  return new KmsError(
    'PolicyConflict',
    `live key ${keyId} has a cryptoperiod of ${formatDuration(keyMs)}, longer than the new ${formatDuration(limitMs)}`,
  );
}
