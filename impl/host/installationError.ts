/**
 * Typed errors of a persistent installation (the home directory the `sekey` command works in), as
 * opposed to refusals of the KMS (`KmsError`), of SEkey operations (`SekeyError`), of the database
 * (`DatabaseError`) or of an HSM (`DeviceError`).
 * @module
 */
import { CodedError } from '../../model/codedError.ts';

/**
 * Codes of installation errors. Each code's doc comment says what it means and, after `@remedy`,
 * what the user should do: `docs/errors.md` is generated from them.
 */
export const INSTALLATION_ERROR_CODES = [
  /**
   * No `installation.json` in the home directory: no installation there, or (when the home holds an
   * admin HSM, `admin/`) one whose `installation.json` was lost.
   * @remedy Point at the installation (`--home DIR` or `SEKEY_HOME`); with none, run `sekey admin init`.
   * With an admin HSM there, restore `installation.json` from a backup (then run an admin command,
   * such as `sekey admin users`, before the users' commands: it records each user's HSM, which an
   * older backup may not name): `admin init` refuses that home.
   */
  'NotInitialized',
  /**
   * `sekey admin init` on a home that already holds an installation, or `sekey factory init` on a
   * folder that already holds a factory.
   * @remedy Use what is there as it is, or choose another folder: another home (`--home DIR`) for
   * `sekey admin init`, another `--dir` for `sekey factory init`.
   */
  'AlreadyInitialized',
  /**
   * `installation.json` (or `manufacturer.json`) is unreadable or of an unknown format version, or
   * the admin HSM is not the one the installation was made with; or, at `admin init`, the home or
   * the share belongs to another installation (an admin HSM or user HSMs without
   * `installation.json`, unless an init cut short left them; a share that carries files, or whose
   * marker names another admin HSM), or `--home` or the share names a file or lies under one; or a
   * user's folder (`users/U1`) holds another HSM than the user's (another user's, one replaced since,
   * the admin's: its images copied or moved there), refused before any PIN reaches it where
   * `installation.json` records the user's.
   * @remedy `sekey` prints the way out of each case. In short: point `--home` at the installation
   * (`--factory` at a factory: `sekey factory init --dir DIR`); restore from a backup the file or
   * HSM folder the message names, or put a user's own HSM back in its folder; after restoring an
   * older `installation.json`, run `sekey admin users` first, and provision again an HSM whose
   * provisioning was cut short; upgrade SEkey for a newer format; at init, give the installation a
   * home and a share of its own.
   */
  'BadInstallation',
  /**
   * The user has no HSM in this installation.
   * @remedy Provision one (the administrator, after checking the ID with `sekey admin users`):
   * `sekey admin provision U --user-pin PIN --device-admin-pin PIN`. If the user's HSM folder
   * (`users/U`) lost its images, restore it from a backup, or provision a new HSM with `--yes` (it
   * replaces the one in service), then `sync`.
   */
  'NoDevice',
  /**
   * The requested or system time is before the last recorded time (the KMS needs monotonic time):
   * `installation.json`'s `lastTime`, or the last audited operation in the admin database (which an
   * edited or restored `installation.json` cannot set back).
   * @remedy Fix the system clock, or wait; with `--at`, give a time after the last recorded one.
   */
  'ClockWentBack',
  /**
   * `--at +DURATION` lands after the end of the year 9999 (the last year ISO 8601 writes in four
   * digits, and so the last time listings, reports and `--at` itself can name).
   * @remedy Give a shorter duration, or an absolute time up to 9999-12-31T23:59:59.999Z.
   */
  'TimeOutOfRange',
  /**
   * Another `sekey` process holds the installation's lock: here, or (the message says where) on
   * another host or in another PID namespace (a container), where this one cannot tell whether it runs.
   * @remedy Wait for it (`--wait SECONDS`) and retry; remove the lock file the message names only once
   * that process is gone.
   */
  'Busy',
  /**
   * A device image (`flash.img`, `sd.img`) is not a well-formed, intact image: garbled, cut or
   * missing.
   * @remedy Restore the device's folder (both images) from one backup (it rolls the HSM back: README,
   * "Restoring an HSM's folder"); a user's HSM can also be
   * replaced (`sekey admin provision U --user-pin PIN --device-admin-pin PIN --yes`, then `sync`).
   * Nothing was changed.
   */
  'Tampered',
  /**
   * The home, or a folder of HSM images in it (`admin/`, `users/`, `users/U`), is not its user's
   * alone to change: owned by another user, writable by its group or by others, or (inside the home)
   * a symbolic link. Whoever may change entries there can make a command write a copy of an HSM
   * into a file of theirs (`impl/host/privateFolder.ts`). Nothing was read or written.
   * @remedy Make the folder the message names yours and closed to others (`chmod go-w FOLDER`, and
   * `chown` it to yourself; a symbolic link: replace it with the folder itself); if someone else could
   * change it, move the installation to a new home of your own (copy it over, then check the HSMs'
   * folders hold only `flash.img`, `sd.img` and checkpoints of your own).
   */
  'UnsafeHome',
  /**
   * A folder of the share that the transport writes to is not a real directory (a link, a file), or
   * was swapped for another entry while the command entered it (someone is tampering with the share).
   * @remedy Remove the entry the message names from the share, or find who changes the share, then run
   *   the command again.
   */
  'UnsafeShare',
  /**
   * The command's change was made and saved (the HSM images hold it, and what it printed was
   * committed), but some of its files could not be written to the share (a folder there that is not
   * a real directory, a full share): the message names each one, and a `published:` line says which
   * of its files are not on the share. The `sekey` command exits 4 for it, not 1: it is no refusal.
   * Running a command that created something (a key, a user) again would create it twice.
   * @remedy Fix the share as the message says; the next `sekey admin publish` (for update files) or
   * the user's next `sync` (for acknowledgements) writes the missing files again.
   */
  'ShareNotWritten',
  /**
   * The command's change was made and is in effect: the HSM images' checkpoint, written as it went,
   * holds it, and the next command loads it. But the last save of the images, or of
   * `installation.json`, failed (a full disk, a read-only file), and its files, if it had some, were
   * not written to the share. The `sekey` command exits 4 for it, not 1: it is no refusal. Running a command that
   * created something (a key, a user) again would create it twice, and a PIN it changed is the new one.
   * @remedy Fix the cause the message names (free space, make the file writable); the next command on
   * the installation completes the save, and the next `sekey admin publish` (for update files) or the
   * user's next `sync` (for acknowledgements) writes the files.
   */
  'ImagesNotSaved',
  /**
   * Saving the HSM images (or `installation.json`) at a durable point failed mid-command (a full
   * disk, a file-size limit, `ulimit -f`): the device had just committed a counter to its flash (a
   * PIN try spent before the comparison, a database generation, an update sequence) that must be on
   * disk before it goes on. So the command stopped there, as a power cut would have stopped it:
   * nothing after that point is kept, and none of its files went to the share. The steps it
   * completed before (each with its checkpoint saved) are done: when there were some that changed
   * something, the `sekey` command exits 4 (the lines printed say what; with `--json` only this error
   * object is printed), else 1. A PIN try spent before the failure may stay spent; one whose own save
   * failed was never compared, and one a correct PIN gave back is saved at the end.
   * @remedy Free space, lift the file-size limit (`ulimit -f`), or fix the file the message names (a
   * checkpoint holds both images of an HSM at once). If it printed lines saying what it did (exit 4),
   * check what it did (`sekey admin keys`, `users`, `status`) before repeating anything: a command
   * that created something would create it twice; if it printed none (exit 1), run the command
   * again. After a provisioning that stopped so, run the provisioning again.
   */
  'CheckpointNotSaved',
  /**
   * The installation's share is not there: the folder is missing, or holds no `.sekey-share` naming
   * this installation's admin HSM (an empty mount point with the network share not mounted, a
   * synced folder moved or not synced yet, another installation's share, junk under the marker's
   * name), or cannot be read (a dead network mount), or, made before markers, cannot take its
   * marker (a share that cannot be written cannot take acknowledgements either). Nothing was read from it
   * or written to it; a change the command made before it met the share is saved, and then the
   * command ends with `ShareNotWritten` instead.
   * @remedy Mount the share (or restore the folder), or correct `share` in `installation.json`, then
   * run the command again. A share that is the right one but new and
   * empty (an installation made before markers, or one whose share was mounted after init) needs the
   * marker: the message gives the file and the line to put in it.
   */
  'ShareMissing',
  /**
   * A factory folder inside the installation home, overlapping its share, or one someone else may
   * change (another user's, or one its group or others may write to, or whose `manufacturer.json`
   * they may); at `sekey factory init`, also a folder that is or lies in any installation's home or
   * share: the manufacturer's key must live elsewhere, never where the share's readers could take it
   * nor where another could replace it.
   * @remedy Keep the factory outside the home and the share, in a folder only you can change
   * (`sekey factory init --dir DIR`), and pass `--factory DIR`.
   */
  'UnsafeFactory',
  /**
   * A share that is the installation home, holds it, or lies inside the admin HSM's or the user HSMs'
   * folders; or, at `admin init`, does so to another installation's home (a folder holding
   * `installation.json`, `.init-pending` or HSM images), or a home that is or lies in a share (a
   * folder holding `.sekey-share`): whoever reads or writes the share (every user, the network) would
   * reach the HSM images and the installation's files.
   * @remedy Give the share a folder of its own (`--share DIR`), outside the home or in a new folder
   * of it (the default is `share` in the home), away from every other installation's home; give the
   * home a folder outside every share.
   */
  'ShareOverlapsHome',
] as const;
/** An installation error code. */
export type InstallationErrorCode = (typeof INSTALLATION_ERROR_CODES)[number];

/** The installation could not be used as asked; nothing changed (but after `ShareNotWritten`: see there). */
export class InstallationError extends CodedError<InstallationErrorCode> {
  /** `remedy`: what to do in this situation, printed instead of the code's general remedy. */
  constructor(code: InstallationErrorCode, message: string, remedy?: string) {
    super('InstallationError', code, message, remedy);
  }
}
