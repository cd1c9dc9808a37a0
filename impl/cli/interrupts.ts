/**
 * Ctrl-C (SIGINT) and SIGTERM. Before a command starts changing an installation, an interruption
 * abandons it at once: nothing was changed. From then on it is finished first — a session is saved
 * whole or not at all, and its lines are printed only once saved (`announce.ts`) — and then the
 * command says that it was interrupted and that its change was finished. A kill -9 cannot be
 * caught; the durable points and the held output cover it (nothing announced was lost).
 * @module
 */

/** Exit status of a process ended by a signal, as shells report it (128 + the signal number). */
const SIGNAL_EXIT = { SIGINT: 130, SIGTERM: 143 } as const;

/** What the command's io needs from the interruption guard. */
export interface InterruptGuard {
  /** From now on an interruption finishes the command first. */
  beginChanges(): void;
  /** The signal received while changing, if any. */
  interrupted(): NodeJS.Signals | null;
  /** Stops catching the signals (their default action, ending the process, is back). */
  release(): void;
}

/** Catches SIGINT and SIGTERM for this process; `say` prints a line on standard error, `exit` ends the process. */
export function guardInterrupts(
  say: (line: string) => void,
  exit: (code: number) => void = (code) => process.exit(code),
): InterruptGuard {
  let changing = false;
  let received: NodeJS.Signals | null = null;
  const onSignal = (signal: 'SIGINT' | 'SIGTERM'): void => {
    if (!changing) {
      say(`sekey: interrupted (${signal}) before anything was changed`);
      exit(SIGNAL_EXIT[signal]);
      return;
    }
    if (received !== null) return;
    received = signal;
    say(`sekey: ${signal} received: finishing the change in progress first (saved whole, never half)`);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    beginChanges: () => {
      changing = true;
    },
    interrupted: () => received,
    release: () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}
