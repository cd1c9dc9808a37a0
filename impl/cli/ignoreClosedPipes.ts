/**
 * Output to a reader that went away. `sekey … | head -1` closes the pipe after one line, and Node
 * reports the next write as an `EPIPE` error event on the stream
 * (https://nodejs.org/api/errors.html#common-system-errors); unheard, it kills the process with a
 * stack trace, in the middle of whatever the command was doing (a commit, a publication, a
 * campaign's summary). What a command does must not depend on whether anyone still reads what it
 * prints: once the reader is gone, the output is dropped and the command finishes, with its own
 * exit code. Any other error on the stream is thrown, as before.
 * @module
 */

/** Codes of a write to a pipe whose reader closed it, and of the writes after it (the stream is then destroyed). */
const CLOSED = new Set(['EPIPE', 'ERR_STREAM_DESTROYED']);

/** From now on, writes to `streams` after their reader left are dropped instead of killing the process. */
export function ignoreClosedPipes(...streams: NodeJS.WritableStream[]): void {
  for (const stream of streams) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (!CLOSED.has(error.code ?? '')) throw error;
    });
  }
}
