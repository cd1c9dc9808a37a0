/**
 * Typed errors of the encrypted metadata database. Each has a stable `code`; none carries key bytes
 * or plaintext page contents.
 * @module
 */
import { CodedError } from '../../model/codedError.ts';

/** Every error code of the database layer. */
export const DATABASE_ERROR_CODES = [
  /** A page or manifest fails authentication: modified, swapped or mixed. */
  'Tampered',
  /** An authentic database older than the device's committed generation: a rollback. */
  'RolledBack',
  /** Structurally unreadable: truncated, wrong magic, impossible sizes. */
  'Corrupt',
  /** No database on this card. */
  'NotFound',
  /** Written by a newer schema. */
  'SchemaTooNew',
  'MigrationFailed',
  /** The audit log's hash chain is broken. */
  'AuditChainBroken',
  /** The database does not fit on the card. */
  'NoSpace',
] as const;
/** An error code of the database layer. */
export type DatabaseErrorCode = (typeof DATABASE_ERROR_CODES)[number];

/** A database operation failed; nothing was half applied. */
export class DatabaseError extends CodedError<DatabaseErrorCode> {
  constructor(code: DatabaseErrorCode, message: string) {
    super('DatabaseError', code, message);
  }
}
