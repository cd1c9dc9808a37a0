/**
 * Typed errors of the encrypted metadata database. Each has a stable `code`; none carries key bytes
 * or plaintext page contents.
 * @module
 */
import { CodedError } from '../../model/codedError.ts';

/**
 * Every error code of the database layer. Each code's doc comment says what it means and, after
 * `@remedy`, what the user should do: `docs/errors.md` is generated from them.
 */
export const DATABASE_ERROR_CODES = [
  /**
   * A page or manifest fails authentication: modified, swapped or mixed.
   * @remedy The card (`sd.img`) or the HSM's flash (`flash.img`) was altered, or one of them replaced
   * by an older copy: restore the HSM's folder, both images from one backup (a card alone from an
   * older backup reads as `RolledBack`; a restore rolls the HSM back: README, "Restoring an HSM's
   * folder"). A user's device can instead be replaced: the administrator
   * provisions a new HSM (`sekey admin provision U --user-pin PIN --device-admin-pin PIN --yes`), then
   * `sync`.
   */
  'Tampered',
  /**
   * An authentic database older than the device's committed generation: a rollback.
   * @remedy The card is older than the HSM's flash: an old copy of `sd.img` was put back, or its
   * newest commit was damaged. Put the newest card back, or restore the HSM's folder (both images)
   * from one backup (it rolls the HSM back: README, "Restoring an HSM's folder"). A user's device can
   * instead be replaced (`sekey admin provision U --user-pin PIN --device-admin-pin PIN --yes`, then
   * `sync`).
   */
  'RolledBack',
  /**
   * Structurally unreadable: truncated, wrong magic, impossible sizes; or a database that must be
   * reopened after a commit failed half-way, or a second database created on a card that holds one.
   * @remedy When the message says the database must be reopened, run the command again. Otherwise the
   * card is damaged: restore the HSM's folder (both images) from one backup (it rolls the HSM back:
   * README, "Restoring an HSM's folder"); a user's device can
   * instead be replaced (`sekey admin provision U --user-pin PIN --device-admin-pin PIN --yes`, then
   * `sync`).
   */
  'Corrupt',
  /**
   * No database on this card.
   * @remedy Initialise the installation (`sekey admin init`) or provision the user
   * (`sekey admin provision U --user-pin PIN --device-admin-pin PIN`) first, or point at the right home (`--home`).
   */
  'NotFound',
  /**
   * Written by a newer schema.
   * @remedy Upgrade SEkey to the version that wrote the database.
   */
  'SchemaTooNew',
  /**
   * Upgrading the database to this version's schema failed; the migration was rolled back.
   * @remedy Keep using the previous SEkey version, which still opens the database, and report the
   * message as a bug.
   */
  'MigrationFailed',
  /**
   * The audit log's hash chain is broken.
   * @remedy An audit entry was removed or altered: treat the administrator's card as tampered with,
   * restore the admin HSM's folder (`admin/`: both images) from one backup and investigate (a restore
   * rolls the HSM back: resync every user after it; README, "Restoring an HSM's folder").
   */
  'AuditChainBroken',
  /**
   * The database does not fit on the card; the commit was refused and nothing changed. Also: one
   * commit was attempted 1,023 times without completing (each attempt cut short by a power loss or
   * a card failure between its intent in the HSM's flash and its manifest on the card): the HSM's
   * anti-rollback counter has no attempt left for it, and the database opens but commits no more.
   * @remedy Free space (destroy keys that are no longer needed, delete users who left), or move to
   * a larger card. When the message says the commit was attempted too often: fix the power supply or
   * the card; a user's device is then replaced (`sekey admin provision U --user-pin PIN
   * --device-admin-pin PIN`, then `sync`); for the administrator's HSM this version has no remedy
   * (the database can still be read, not changed).
   */
  'NoSpace',
] as const;
/** An error code of the database layer. */
export type DatabaseErrorCode = (typeof DATABASE_ERROR_CODES)[number];

/** A database operation failed; nothing was half applied. */
export class DatabaseError extends CodedError<DatabaseErrorCode> {
  /** `remedy`: what to do in this situation, printed instead of the code's general remedy. */
  constructor(code: DatabaseErrorCode, message: string, remedy?: string) {
    super('DatabaseError', code, message, remedy);
  }
}
