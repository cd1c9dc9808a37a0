/**
 * What a `sekey` command may touch besides the installation: its output streams, its environment,
 * its working directory and the host clock. Passed in rather than taken from `process`, so tests and
 * the demo run commands in-process with their own.
 * @module
 */
import type { Clock } from '../kms/clock.ts';
import type { DeviceReport } from '../host/installation.ts';

/** The world of one command run. */
export interface CliIo {
  /** A line on standard output. */
  out(line: string): void;
  /** A line on standard error. */
  err(line: string): void;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Relative paths (`--home`, files) resolve against this. */
  readonly cwd: string;
  /** The host clock; default the system clock. */
  readonly clock?: Clock;
  /** Receives each device's figures after a session saves it (the demo's numbers). */
  readonly onDeviceReport?: (report: DeviceReport) => void;
  /** Standard input as bytes (a file argument `-`); default none. */
  readonly readInput?: () => Uint8Array;
  /** Bytes on standard output (a file argument `-`); default: refused. */
  readonly writeOutput?: (bytes: Uint8Array) => void;
  /**
   * Present only on a terminal: asks `question` on it and returns the answer typed; `hidden` echoes
   * nothing (PINs). Confirmations and PIN prompts need it; without one, `--yes` and `--pin` do.
   */
  readonly prompt?: (question: string, options?: { readonly hidden?: boolean }) => Promise<string>;
}

/** The process's own console, environment and directory. */
export function processIo(): CliIo {
  return {
    out: (line) => console.log(line),
    err: (line) => console.error(line),
    env: process.env,
    cwd: process.cwd(),
  };
}
