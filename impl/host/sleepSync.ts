/**
 * A pause that does not return to the event loop: for code that waits inside synchronous work (the
 * home lock taken before a session, the standard streams read and written synchronously).
 * @module
 */

/** Sleeps `ms` milliseconds, blocking this thread. */
export function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}
