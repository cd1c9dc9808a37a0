/**
 * Typed errors of a persistent installation (the home directory the `sekey` command works in), as
 * opposed to refusals of the KMS (`KmsError`), of SEkey operations (`SekeyError`), of the database
 * (`DatabaseError`) or of an HSM (`DeviceError`).
 * @module
 */
import { CodedError } from '../../model/codedError.ts';

/** Codes of installation errors. */
export const INSTALLATION_ERROR_CODES = [
  /** No `installation.json` in the home directory: run `sekey admin init`. */
  'NotInitialized',
  /** `sekey admin init` on a home that already holds an installation. */
  'AlreadyInitialized',
  /** `installation.json` is unreadable or of an unknown format version. */
  'BadInstallation',
  /** The user has no HSM in this installation: run `sekey admin provision`. */
  'NoDevice',
  /** The requested or system time is before the last recorded time (the KMS needs monotonic time). */
  'ClockWentBack',
  /** Another `sekey` process holds the installation's lock. */
  'Busy',
  /** A device image (`flash.img`, `sd.img`) is not a well-formed, intact image: garbled or cut. */
  'Tampered',
  /** A folder of the share that the transport writes to is not a real directory (a link, a file). */
  'UnsafeShare',
  /** A factory folder inside the installation home: the manufacturer's key must live elsewhere. */
  'UnsafeFactory',
] as const;
/** An installation error code. */
export type InstallationErrorCode = (typeof INSTALLATION_ERROR_CODES)[number];

/** The installation could not be used as asked; nothing changed. */
export class InstallationError extends CodedError<InstallationErrorCode> {
  constructor(code: InstallationErrorCode, message: string) {
    super('InstallationError', code, message);
  }
}
