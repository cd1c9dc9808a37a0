/**
 * Ctrl-C (SIGINT), SIGTERM and SIGHUP (the terminal closed). Before a command starts changing an
 * installation, an interruption abandons it at once: nothing was changed. From then on it is
 * finished first — a session is saved whole or not at all, and its lines are printed only once saved
 * (`announce.ts`) — and then the command says that it was interrupted and that its change was
 * finished, and exits as a process ended by that signal does (130 for SIGINT, 143 for SIGTERM, 129
 * for SIGHUP: 128 + the signal number, as shells report it), so a script sees the interruption even
 * though the work was done. A kill -9 cannot be caught; the durable points and the held output cover
 * it (nothing announced was lost).
 *
 * Deterministic by construction: the signal handler only records the signal; the exit code is
 * decided once, at the end, by {@link InterruptGuard.finish}. Node runs a signal's listeners from
 * the event loop, not at delivery: the signal handler of libuv writes to a pipe that the loop reads
 * in its poll phase. A command whose last steps run without reaching the poll phase (synchronous file
 * writes, promises already settled) would otherwise end before its listener ran, and exit 0 or 130
 * depending on timing. `finish` therefore lets the loop go round twice (`setImmediate` runs in the
 * check phase, after the poll phase: the second one after a poll phase that began after `finish`
 * was called), so every signal delivered before the end has been recorded when the code is decided;
 * a signal after that finds the command already decided and ending, and is ignored.
 * @module
 */
import { endProcess } from './endProcess.ts';
import { messageOf } from '../../model/codedError.ts';

/**
 * Exit status of a process ended by a signal, as shells report it (128 + the signal number). SIGHUP
 * is a closed terminal (an ssh session dropped): treated as Ctrl-C, so that a long command leaves no
 * temporary folder and no half change behind, while the command uses that terminal; see
 * {@link hangupEndsCommand}.
 */
export const SIGNAL_EXIT = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 } as const;

const SIGNALS = Object.keys(SIGNAL_EXIT) as CaughtSignal[];

/**
 * How soon after the signal that stopped a command early ({@link InterruptGuard.onStopRequest}) the
 * same signal is that one delivered twice, not Ctrl-C pressed again: a terminal's Ctrl-C reaches every
 * process of the foreground job, and under `npm start` npm passes on the one it got
 * (`@npmcli/run-script`'s signal manager), so sekey gets it twice, tenths of a second apart on a loaded
 * machine. Someone who reads the message and presses Ctrl-C again takes longer.
 */
export const SAME_SIGNAL_MS = 1_000;

/** The signals the guard catches. */
export type CaughtSignal = keyof typeof SIGNAL_EXIT;

/** What the command's io needs from the interruption guard. */
export interface InterruptGuard {
  /**
   * From now on an interruption finishes the command first. A signal delivered before (while the
   * command was blocked in a synchronous wait: reading standard input, waiting for the home's lock)
   * has not reached its listener yet, so the event loop first goes round (as in {@link finish}): such
   * a signal still abandons the command, which changed nothing.
   */
  beginChanges(): Promise<void>;
  /** The signal recorded so far while changing, if any (not final: see {@link finish}). */
  interrupted(): CaughtSignal | null;
  /** Whether the command began changing something ({@link beginChanges}). */
  changesBegun(): boolean;
  /**
   * The end of the command: waits until every signal delivered so far has reached the guard, then
   * returns the one that interrupted the change, if any. A signal that reaches the guard only now
   * (the command ran without giving the event loop a turn) no longer abandons anything: the command
   * is over and has printed what it did; it is returned too. Called once; later signals are ignored.
   */
  finish(): Promise<CaughtSignal | null>;
  /**
   * Registers `cleanup` to run, with the signal, when an interruption abandons the command, just
   * before the process ends (which skips every `finally`); returns the undoing. A cleanup that throws does not stop
   * the others, nor the exit.
   */
  onAbandon(cleanup: (signal: CaughtSignal) => void): () => void;
  /**
   * While registered, before any change, the first SIGINT or SIGTERM does not abandon the command: it
   * is recorded (the exit code will be the signal's) and `stop` is called, to end the work early and
   * keep what was done (`sekey simulate` reports the days simulated). A second signal abandons as
   * usual (the same signal within {@link SAME_SIGNAL_MS} is the first delivered twice, and ignored). A
   * hang-up still abandons at once: the terminal that would show the outcome is gone. One at a time;
   * returns the undoing.
   */
  onStopRequest(stop: (signal: CaughtSignal) => void): () => void;
  /** Whether a signal stopped the command early ({@link onStopRequest}) rather than abandoning it. */
  stoppedEarly(): boolean;
  /** Stops catching the signals (their default action, ending the process, is back). */
  release(): void;
}

/**
 * Whether a hang-up concerns this command: yes while it reads or writes the terminal that closed; no
 * once its standard input, output and error are all files, as under `nohup` (which also takes standard
 * input off the terminal), whose point is that the command goes on. nohup cannot ask it of Node by
 * itself: Node resets the signals it inherits as ignored to their default at start-up
 * (`ResetSignalHandlers` in Node's src/node.cc), and SIGHUP's default ends the process.
 */
export function hangupEndsCommand(): boolean {
  return process.stdin.isTTY === true || process.stdout.isTTY === true || process.stderr.isTTY === true;
}

/** What a command says of a hang-up that is not its own (it reaches files only: the line is kept). */
export const HANGUP_IGNORED =
  'sekey: SIGHUP: the terminal hung up; this command reads and writes files only, so it goes on (as under nohup)';

/** Resolves after the event loop has gone through a poll phase that started after this call. */
async function afterPollPhase(): Promise<void> {
  for (let turn = 0; turn < 2; turn++) await new Promise<void>((resolve) => setImmediate(resolve));
}

/**
 * Catches SIGINT, SIGTERM and SIGHUP for this process; `say` prints a line on standard error, `exit`
 * ends the process. A hang-up that {@link hangupEndsCommand} says is not the command's is only said.
 */
export function guardInterrupts(
  say: (line: string) => void,
  exit: (code: number) => void = endProcess,
  hangupEnds: () => boolean = hangupEndsCommand,
  now: () => number = () => performance.now(),
): InterruptGuard {
  let changing = false;
  /** Set when the command has ended (`finish`): its output is out, and there is nothing left to abandon. */
  let ending = false;
  let decided = false;
  let received: CaughtSignal | null = null;
  const cleanups = new Set<(signal: CaughtSignal) => void>();
  let stop: ((signal: CaughtSignal) => void) | null = null;
  let stopped = false;
  let stoppedAt = 0;
  const onSignal = (signal: CaughtSignal): void => {
    if (decided) return; // the exit code is set and the process is ending
    if (signal === 'SIGHUP' && !hangupEnds()) {
      say(HANGUP_IGNORED);
      return;
    }
    if (stop !== null && !stopped && signal !== 'SIGHUP' && !changing && !ending) {
      received = signal;
      stopped = true;
      stoppedAt = now();
      stop(signal);
      return;
    }
    // The stop's own Ctrl-C delivered twice (under `npm start`, npm passes on the Ctrl-C the
    // terminal sent to it as well): not a second request to stop at once.
    if (stopped && signal === received && now() - stoppedAt < SAME_SIGNAL_MS) return;
    if (!changing && !ending) {
      say(`sekey: interrupted (${signal}) before anything was changed`);
      for (const cleanup of cleanups) {
        try {
          cleanup(signal);
        } catch (error) {
          say(`sekey: could not clean up: ${messageOf(error)}`);
        }
      }
      exit(SIGNAL_EXIT[signal]);
      return;
    }
    if (received !== null) return;
    received = signal;
    // A command that changed nothing and has ended: the signal only sets the exit code. Its output (one
    // JSON object under --json) is out already, and an abandon's error object would have made it two.
    if (changing) say(`sekey: ${signal} received: finishing the change in progress first (saved whole, never half)`);
  };
  for (const signal of SIGNALS) process.on(signal, onSignal);
  return {
    beginChanges: async () => {
      if (changing) return;
      await afterPollPhase();
      changing = true;
    },
    interrupted: () => received,
    changesBegun: () => changing,
    finish: async () => {
      if (!decided) {
        ending = true;
        await afterPollPhase();
        decided = true;
      }
      return received;
    },
    onAbandon: (cleanup) => {
      cleanups.add(cleanup);
      return () => cleanups.delete(cleanup);
    },
    onStopRequest: (handler) => {
      stop = handler;
      return () => {
        if (stop === handler) stop = null;
      };
    },
    stoppedEarly: () => stopped,
    release: () => {
      for (const signal of SIGNALS) process.off(signal, onSignal);
    },
  };
}
