/**
 * What a property suite tells the runner, one JSON object per line appended to the file named by
 * `SEKEY_PROGRESS_FILE` (written by `properties/progress.testkit.ts`, read by the runner while the
 * suites run): a property starts, a run of it ends, it found a counterexample and shrinks it, it
 * ends. A file of lines rather than a vitest reporter, so that the counts survive a worker that
 * crashes and need no vitest internals.
 * @module
 */
import { closeSync, openSync, readSync } from 'node:fs';

/** The environment variable that names the progress file. */
export const PROGRESS_FILE_ENV = 'SEKEY_PROGRESS_FILE';
/**
 * The environment variable that names the file the runner creates when it is stopped, asking the
 * properties that shrink a counterexample to end with what they shrank so far (`ShrinkingLine`).
 */
export const STOP_FILE_ENV = 'SEKEY_STOP_FILE';

/** A property starts with `planned` runs. */
export interface BeginLine {
  readonly kind: 'begin';
  readonly suite: string;
  readonly test: string;
  readonly planned: number;
  /**
   * The runs a pass at this size makes (`passRuns`), which `planned` is fewer than when a campaign's
   * deadline cut it (one run, for a property that starts after it); absent in lines from before it was
   * written, which then count `planned`.
   */
  readonly pass?: number;
}

/** One run of a property ended (shrinking runs included), having executed `operations`. */
export interface RunLine {
  readonly kind: 'run';
  readonly suite: string;
  readonly test: string;
  readonly operations: number;
}

/**
 * A property found a counterexample and shrinks it, until its `done` line. A stop (Ctrl-C, SIGTERM, a
 * hang-up) then waits for that line: the property ends at its next run and keeps what it shrank so far
 * (`progress.testkit.ts`), where ending at once would lose the counterexample.
 */
export interface ShrinkingLine {
  readonly kind: 'shrinking';
  readonly suite: string;
  readonly test: string;
}

/** A property ended: its runs, operations and CPU time, and its counterexample if it failed. */
export interface DoneLine {
  readonly kind: 'done';
  readonly suite: string;
  readonly test: string;
  readonly runs: number;
  readonly operations: number;
  readonly cpuMicros: number;
  readonly failed: boolean;
  readonly interrupted: boolean;
  /**
   * fast-check's seed; null for a failure in a fixed scenario that runs before any seeded run (the
   * deployment suite's warm-up), which every seed would meet again.
   */
  readonly seed: number | null;
  /** fast-check's replay path of the (shrunk) counterexample; empty when none. */
  readonly path: string;
  /** The shrunk counterexample, printed: in words where the suite gives them (`PropertyProgress.params`). */
  readonly counterexample: string | null;
  /**
   * fast-check's own print of it (`fc.stringify`) where `counterexample` gives it in words, for
   * programs that read the value; absent or null otherwise (a suite's lines from before words had none).
   */
  readonly value?: string | null;
  readonly error: string | null;
  /** A runnable reproduction the suite wrote, if it writes one. */
  readonly reproduction: string | null;
}

/** Any progress line. */
export type ProgressLine = BeginLine | RunLine | ShrinkingLine | DoneLine;

/** Parses the complete lines of `text` (a trailing partial line is left for the next read). */
export function parseProgress(text: string): { lines: ProgressLine[]; rest: string } {
  const parts = text.split('\n');
  const rest = parts.pop() ?? '';
  const lines: ProgressLine[] = [];
  for (const part of parts) {
    if (part.trim() === '') continue;
    const value = JSON.parse(part) as ProgressLine;
    if (value.kind === 'begin' || value.kind === 'run' || value.kind === 'shrinking' || value.kind === 'done')
      lines.push(value);
  }
  return { lines, rest };
}

/** Reads new lines of a progress file as it grows, from where the last read stopped. */
export class ProgressReader {
  private offset = 0;
  private rest: Buffer = Buffer.alloc(0);

  readonly file: string;

  constructor(file: string) {
    this.file = file;
  }

  /** Lines appended since the last call (none while the file does not exist). */
  read(): ProgressLine[] {
    let fd: number;
    try {
      fd = openSync(this.file, 'r');
    } catch {
      return [];
    }
    const chunks: Buffer[] = [];
    try {
      const buffer = Buffer.alloc(1 << 16);
      for (;;) {
        const n = readSync(fd, buffer, 0, buffer.length, this.offset);
        if (n === 0) break;
        chunks.push(Buffer.from(buffer.subarray(0, n)));
        this.offset += n;
      }
    } finally {
      closeSync(fd);
    }
    // Decoded only up to the last newline: a line (or a character) cut by a read waits for its end.
    const bytes = Buffer.concat([this.rest, ...chunks]);
    const end = bytes.lastIndexOf(0x0a) + 1;
    this.rest = Buffer.from(bytes.subarray(end));
    return parseProgress(bytes.subarray(0, end).toString('utf8')).lines;
  }
}
