/**
 * The shape of a `sekey admin …` command. A command first reads its arguments (`prepare`), before
 * any device is touched, so a wrong command line never opens an HSM or spends a PIN try; what it
 * returns then runs inside an admin session.
 * @module
 */
import type { AdminChanges } from '../kms/adminChanges.ts';
import type { AdminSession, Installation } from '../host/installation.ts';
import type { Args } from './args.ts';
import type { AfterShareLine } from './announce.ts';
import type { CliIo } from './cliIo.ts';

/** What a prepared admin command runs with. */
export interface AdminContext {
  readonly io: CliIo;
  readonly session: AdminSession;
  readonly installation: Installation;
  /** The admin PIN the session logged in with (`change-pin` refuses it as the new one). */
  readonly pin: string;
  /** Hands over what an admin operation did; a mutating command's key lines are printed from it. */
  readonly report: (changes: AdminChanges) => void;
  /** Says what the command did besides key changes (the IDs it created or changed), for `--json`. */
  readonly did: (fields: Readonly<Record<string, unknown>>) => void;
  /**
   * Asks for confirmation of a destructive step (`destructive` commands): passes with `--yes`, asks
   * on a terminal, else refuses (a usage error: `--yes` is missing).
   */
  readonly confirm: (question: string) => Promise<void>;
  /**
   * Prints a line rendered once the session's files went to the share, as it took them (a
   * `published:` line); nothing where `io` prints nothing (`--json` of a command without its own).
   */
  readonly afterShare: (line: AfterShareLine) => void;
}

/**
 * The work of a prepared command; may return an exit code (default 0). A destructive command's work
 * also says the question it will ask ({@link asking}).
 */
// biome-ignore lint/suspicious/noConfusingVoidType: a command that ends normally returns nothing (exit 0)
export type AdminWork = ((ctx: AdminContext) => Promise<number | void>) & {
  /**
   * The confirmation the work will ask for, judged from the installation's files before any session
   * (null: none is needed). Without a terminal and `--yes` the command is refused then, before the
   * admin PIN is asked for, not once the admin has typed it.
   */
  readonly confirmation?: (installation: Installation) => string | null;
};

/** `work`, which asks `question` (see {@link AdminWork}`.confirmation`). */
export function asking(
  question: (installation: Installation) => string | null,
  work: (ctx: AdminContext) => ReturnType<AdminWork>,
): AdminWork {
  return Object.assign(work, { confirmation: question });
}

/** One `sekey admin` subcommand. */
export interface AdminCommand {
  readonly name: string;
  /** Argument synopsis after the name, e.g. `U NAME`. */
  readonly args: string;
  readonly summary: string;
  /** More lines of help, if the summary is not enough. */
  readonly help?: string;
  /** Command lines that show it at work, run in order on the demo's installation (`commandExamples.ts`). */
  readonly examples: readonly string[];
  /**
   * Whether it changes the KMS: then the key changes are reported and, unless `--no-publish`,
   * update files are published afterwards.
   */
  readonly mutates: boolean;
  /** Whether it prints its own `--json` form (otherwise `--json` prints what it did). */
  readonly lists?: boolean;
  /** Whether it destroys something (asks on a terminal; `--yes` otherwise). */
  readonly destructive?: boolean;
  /**
   * Reads the command line (`json` already taken) and returns the work; `terminal`: whether the
   * work can ask (`CliIo.prompt`), for a command that refuses, before any session, what it cannot ask.
   */
  readonly prepare: (
    args: Args,
    options: { readonly json: boolean; readonly cwd: string; readonly env: CliIo['env']; readonly terminal: boolean },
  ) => AdminWork;
}
