/**
 * Typed errors of SEkey operations that are not rule violations of the KMS model (those are the
 * model's `KmsError`, with the same codes in the model and here, so the two can be compared).
 * @module
 */
import { CodedError } from '../../model/codedError.ts';

/** Codes of operational errors. */
export const SEKEY_ERROR_CODES = [
  /** A key's state does not allow this use (NIST SP 800-57 Pt 1 §7 usage table). */
  'UsageNotAllowed',
  /** The device holds no such key (destroyed, or never delivered). */
  'KeyUnavailable',
  /** A message is not a well-formed SEkey message. */
  'MalformedMessage',
  /** The user has no device provisioned for it yet. */
  'NotProvisioned',
] as const;
/** An operational error code. */
export type SekeyErrorCode = (typeof SEKEY_ERROR_CODES)[number];

/** An SEkey operation was refused; nothing changed. */
export class SekeyError extends CodedError<SekeyErrorCode> {
  constructor(code: SekeyErrorCode, message: string) {
    super('SekeyError', code, message);
  }
}
