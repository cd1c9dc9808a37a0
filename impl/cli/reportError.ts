/**
 * How a failed command ends. A wrong command line is a usage error (exit 2); a refusal with a stable
 * `code` — `KmsError`, `SekeyError`, `DatabaseError`, `DeviceError`, `InstallationError`,
 * `CliError`, or a file-system error — prints `code: message` (exit 1) and, under it, what to
 * do: the error's own `remedy` where the place that threw it knew the situation
 * (`model/codedError.ts`), else the code's general remedy in `docs/errors.md`; anything else is a
 * bug: one line saying so (exit 3), its stack only with `--debug`. With `--json` the error is also
 * printed on standard output as `{"error": {code, message, exit, remedy}}` (`remedy`, the same as
 * printed, only where there is one).
 * `ShareNotWritten` is no refusal: the change was made, saved and printed as done (`announce.ts`),
 * only its files did not all reach the share; it exits 4, so that a script tells it from a refusal
 * (and does not make the change again), and with `--json` standard output keeps the one object the
 * command printed, with a `warning` saying so (`announce.ts`). So does
 * `ImagesNotSaved`: the change is in effect (a checkpoint holds it), only the last save failed. And
 * `CheckpointNotSaved` after steps whose change was saved (`changed`): exit 4 with its error object,
 * as the command stopped before printing one of its own; without such steps it is a refusal (exit 1).
 * @module
 */
import { UsageError } from './args.ts';
import type { CliIo } from './cliIo.ts';
import { remedyOf, systemRemedy } from './errorRemedy.ts';
import { json } from './format.ts';

/** Exit codes of the `sekey` command. */
export const EXIT = { ok: 0, refused: 1, usage: 2, internal: 3, notPublished: 4 } as const;

/** The stable code of an error, if it has one. */
export function errorCode(error: unknown): string | null {
  if (!(error instanceof Error)) return null;
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && code !== '' ? code : null;
}

/**
 * The way out of the situation `error` was thrown in, where its thrower said (a `remedy` of one or
 * more words, as `CodedError` carries): it fits better than the code's general remedy.
 */
export function situationRemedy(error: unknown): string | null {
  if (!(error instanceof Error)) return null;
  const remedy = (error as { remedy?: unknown }).remedy;
  return typeof remedy === 'string' && remedy.trim() !== '' ? remedy.replace(/`([^`]*)`/g, '$1') : null;
}

/** How `--json` and `--debug` change the report. */
export interface ReportOptions {
  readonly json?: boolean;
  readonly debug?: boolean;
}

/** Prints `error` for the command `prefix` (e.g. `sekey admin add-user`); returns the exit code. */
export function reportError(prefix: string, error: unknown, io: CliIo, options: ReportOptions = {}): number {
  const asJson = (code: string, message: string, exit: number, remedy: string | null = null): number => {
    if (options.json === true) io.out(json({ error: { code, message, exit, ...(remedy === null ? {} : { remedy }) } }));
    return exit;
  };
  if (error instanceof UsageError) {
    const command = error.usage ?? prefix;
    io.err(`${command}: ${error.message}`);
    io.err(`(${command} --help shows the usage)`);
    return asJson('Usage', error.message, EXIT.usage);
  }
  const code = errorCode(error);
  if (code !== null && error instanceof Error) {
    // DeviceError messages already start with their code.
    const message = error.message.startsWith(`${code}: `) ? error.message.slice(code.length + 2) : error.message;
    io.err(`${prefix}: ${code}: ${message}`);
    const remedy = situationRemedy(error) ?? remedyOf(error.name, code) ?? systemRemedy(error);
    if (remedy !== null) io.err(`  what to do: ${remedy}`);
    if (code === 'ShareNotWritten' || code === 'ImagesNotSaved') return EXIT.notPublished;
    // Stopped at a checkpoint after steps whose change is saved: not all done, but not nothing either.
    // The command printed no object of its own (its work failed), so the error object is printed.
    if (code === 'CheckpointNotSaved' && (error as { changed?: unknown }).changed === true)
      return asJson(code, message, EXIT.notPublished, remedy);
    return asJson(code, message, EXIT.refused, remedy);
  }
  const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  const oneLine = message.split('\n')[0] ?? message;
  if (options.debug === true && error instanceof Error && error.stack !== undefined) {
    io.err(`${prefix}: internal error: ${error.stack}`);
  } else {
    io.err(`${prefix}: internal error (a bug; --debug shows where): ${oneLine}`);
  }
  return asJson('Internal', oneLine, EXIT.internal);
}
