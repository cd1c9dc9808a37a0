/**
 * Typed refusals of the `sekey` command itself, as opposed to those of the installation
 * (`InstallationError`) or of the KMS below it: what a person asked of the command line that it
 * will not do as asked (overwrite a file, build a demo over a folder's contents, write a repository
 * document outside a repository).
 * @module
 */
import { CodedError } from '../../model/codedError.ts';

/**
 * Codes of command refusals. Each code's doc comment says what it means and, after `@remedy`, what
 * the user should do: `docs/errors.md` is generated from them.
 */
export const CLI_ERROR_CODES = [
  /**
   * The output file of `encrypt`, `decrypt` or `reprotect` exists already; nothing was written.
   * @remedy Choose another file, remove it, or pass `--force` to replace it (atomically).
   */
  'OutputExists',
  /**
   * `sekey demo --keep DIR` on a folder that is not empty, or on a file, or with `DIR-factory`, where
   * its simulated factory goes, taken; nothing was written.
   * @remedy Give a new or empty folder DIR, with nothing at DIR-factory beside it.
   */
  'NotEmpty',
  /**
   * `sekey spec` or `sekey errors` run outside a clone of SEkey-TS: they read its sources and write
   * its `docs/` folder (with `--check`, compare it).
   * @remedy Run them at the root of the clone, or give `--out FILE` (spec only).
   */
  'NotInRepository',
  /**
   * `--at` on an installation that follows the system clock: a time in the future would hold for
   * good (time never goes back), blocking every command until the clock caught up.
   * @remedy Leave out `--at`; simulations use an installation made with `--clock manual` (or `--at`)
   * at `sekey admin init`.
   */
  'SystemClock',
  /**
   * A destructive command (`destroy-key`, `delete-group`, `delete-user`, `forget-hsm`, provisioning a
   * user again) was not confirmed: it was answered no on the terminal, or a prompt (a confirmation, a PIN) was
   * left with Ctrl-C; or a new PIN typed twice differed. Nothing was changed.
   * @remedy Nothing to undo. To go ahead, run the command again and answer `yes` (or pass `--yes` where
   * no terminal asks); a new PIN must be typed the same both times.
   */
  'NotConfirmed',
  /**
   * One PIN try is left on the HSM, and the PIN came from `--pin` or the environment, not typed: it
   * is not spent, since a stale PIN in a script or cron job would lock the HSM without anyone
   * choosing to (a locked admin HSM loses the installation). Nothing was tried.
   * @remedy Type the PIN at the prompt on a terminal (without `--pin` and the PIN variable), or add
   * `--last-try` to spend the last try with it.
   */
  'LastPinTry',
  /**
   * An input file (of `encrypt`, `decrypt`, `reprotect` or `check-update`) does not exist, is a
   * folder, or cannot be read; no HSM was opened.
   * @remedy Check the path (relative to the working directory), or give `-` for standard input.
   */
  'CannotRead',
  /**
   * The output file of `encrypt`, `decrypt` or `reprotect` cannot be written where it was asked
   * for: its folder does not exist, or is not a folder, or the output itself is a folder; no HSM
   * was opened. Also an output of `spec` or `errors` that is a folder, lies under a file, or may not
   * be written, and a report of `simulate` that could not be written: a report file that is a folder,
   * or a write that failed (a full disk, a file-size limit); the report files there before stay as
   * they were (an `--out` folder that cannot be made or written in is a usage error: exit 2). And
   * standard output, for `OUT` given as `-`, that failed once the HSM had done the work (a full disk
   * under `> file`): what it holds is cut short.
   * @remedy Create the folder first, or name a file (not a folder), or give another path (for
   * `encrypt`, `decrypt` and `reprotect`, also `-` for standard output). For standard output, free
   * space where it is redirected, or give a file as `OUT`. For `simulate`, move away the folder in
   * the report's place, free space, or give another `--out`; then run it again (the same seed gives
   * the same report).
   */
  'CannotWrite',
  /**
   * The folder the command was started in cannot be read (deleted or moved away since, or its
   * permissions changed), and the command needs it: relative paths, the default home `./.sekey`
   * among them, are relative to it. Nothing was done.
   * @remedy `cd` into a folder that exists and run the command again, or give absolute paths
   * (`--home /path/to/home`).
   */
  'NoWorkingFolder',
] as const;
/** A command refusal code. */
export type CliErrorCode = (typeof CLI_ERROR_CODES)[number];

/** The command refused what it was asked; nothing changed. */
export class CliError extends CodedError<CliErrorCode> {
  /** `remedy`: what to do in this situation, printed instead of the code's general remedy. */
  constructor(code: CliErrorCode, message: string, remedy?: string) {
    super('CliError', code, message, remedy);
  }
}
