/**
 * Typed errors of the KMS model. Each has a stable `code`: callers branch on it, never on messages.
 * The original SEkey returns bare integer codes (`SEKEY_ERR_PARAMS`, `SEKEY_KEY_NOT_FOUND`, …) that
 * say neither which argument nor which rule was at fault; these say both.
 * @module
 */
import { CodedError } from './codedError.ts';

/** Every error code of the KMS model. */
export const KMS_ERROR_CODES = [
  'InvalidId',
  'InvalidName',
  'InvalidPolicy',
  'InvalidCryptoperiod',
  'DuplicateUser',
  'DuplicateGroup',
  'UnknownUser',
  'UnknownGroup',
  'UnknownKey',
  'AlreadyMember',
  'NotMember',
  'MaxKeysReached',
  'CryptoperiodTooLong',
  'PolicyConflict',
  'IllegalTransition',
  'InvalidTime',
  'NoCommonGroup',
  'NoUsableKey',
] as const;
/** An error code of the KMS model. */
export type KmsErrorCode = (typeof KMS_ERROR_CODES)[number];

/** An operation of the KMS was refused; the state it was applied to is unchanged. */
export class KmsError extends CodedError<KmsErrorCode> {
  constructor(code: KmsErrorCode, message: string) {
    super('KmsError', code, message);
  }
}
