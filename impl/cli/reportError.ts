/**
 * How a failed command ends: a wrong command line is a usage error (exit 2); a refusal with a
 * stable `code` — `KmsError`, `SekeyError`, `DatabaseError`, `DeviceError`, `InstallationError`, or a
 * file-system error — prints `code: message` (exit 1); anything else is a bug and prints its stack.
 * @module
 */
import { UsageError } from './args.ts';
import type { CliIo } from './cliIo.ts';

/** Exit codes of the `sekey` command. */
export const EXIT = { ok: 0, refused: 1, usage: 2 } as const;

/** The stable code of an error, if it has one. */
export function errorCode(error: unknown): string | null {
  if (!(error instanceof Error)) return null;
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && code !== '' ? code : null;
}

/** Prints `error` for the command `prefix` (e.g. `sekey admin add-user`); returns the exit code. */
export function reportError(prefix: string, error: unknown, io: CliIo): number {
  if (error instanceof UsageError) {
    io.err(`${prefix}: ${error.message}`);
    io.err(`(${prefix} --help shows the usage)`);
    return EXIT.usage;
  }
  const code = errorCode(error);
  if (code !== null && error instanceof Error) {
    // DeviceError messages already start with their code.
    const message = error.message.startsWith(`${code}: `) ? error.message.slice(code.length + 2) : error.message;
    io.err(`${prefix}: ${code}: ${message}`);
    return EXIT.refused;
  }
  io.err(`${prefix}: internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  return EXIT.refused;
}
