/**
 * Keeps SIGUSR1 from opening Node's inspector in the `sekey` process. By default Node answers
 * SIGUSR1 by starting its debugger on 127.0.0.1:9229, without authentication
 * (https://nodejs.org/docs/latest-v20.x/api/debugger.html#advanced-usage): any local user could
 * then attach and run code inside a command that holds PINs and HSM images (a prompt waiting, or
 * `--wait`), once anyone with the right to signal it sent SIGUSR1 (an operations script, a
 * `pkill -USR1 node`). A listener replaces that default. Imported first by `sekey.ts`, so that the
 * window before it is only Node's own start-up (`--disable-sigusr1`, Node 22.14+, would close that
 * too).
 * @module
 */

/** Ignores SIGUSR1 in this process from now on (Windows has no such signal: nothing to do). */
export function refuseInspectorSignal(): void {
  if (process.platform !== 'win32') process.on('SIGUSR1', () => undefined);
}

refuseInspectorSignal();
