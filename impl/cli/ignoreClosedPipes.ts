/**
 * Output that cannot be delivered. `sekey … | head -1` closes the pipe after one line, and Node
 * reports the next write as an `EPIPE` error event on the stream
 * (https://nodejs.org/api/errors.html#common-system-errors); unheard, it kills the process with a
 * stack trace, in the middle of whatever the command was doing (a commit, a publication, a
 * campaign's summary). What a command does must not depend on whether anyone still reads what it
 * prints: once the reader is gone, the output is dropped and the command finishes, with its own
 * exit code.
 *
 * Output that fails otherwise (`--json > file` on a full disk: ENOSPC; EIO) is dropped the same way,
 * so that the command's work is not cut short either, but it is not silent: the failure is kept
 * ({@link outputFailure}), and `sekey` says so on standard error at the end and exits 4 ("done, but
 * not all of it reached the disk") where it would have exited 0, as a script reading that output
 * must not take it as whole.
 * @module
 */

/** Codes of a write to a pipe whose reader closed it, and of the writes after it (the stream is then destroyed). */
const CLOSED = new Set(['EPIPE', 'ERR_STREAM_DESTROYED']);

let failure: NodeJS.ErrnoException | null = null;

/** From now on, writes to `streams` that fail are dropped instead of killing the process. */
export function ignoreClosedPipes(...streams: NodeJS.WritableStream[]): void {
  for (const stream of streams) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (!CLOSED.has(error.code ?? '')) failure ??= error;
    });
  }
}

/** The first failure to write output, other than a reader that left; null if there was none. */
export function outputFailure(): NodeJS.ErrnoException | null {
  return failure;
}
