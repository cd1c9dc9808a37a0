/**
 * Stopping a run by hand or by a CI system's time limit (SIGINT from Ctrl-C, SIGTERM from `kill` or
 * a job runner, SIGHUP from a closed terminal) must still say what the run covered and end with a
 * failing exit code: a cancelled
 * campaign that exits 0 with no output reads as a green one. vitest, which the runner hosts, ends the
 * process on these signals with whatever exit code is already set (0 after a batch), so the runner's
 * listeners go first and end the process themselves. vitest's test workers are child processes that
 * would otherwise go on running their property after the runner ended: they are stopped first.
 * @module
 */
import { execFileSync } from 'node:child_process';

/** The signals that stop a run, with the exit code a shell reports for each (128 + its number). */
export const STOP_SIGNALS = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 } as const;
/** A signal that stops a run. */
export type StopSignal = keyof typeof STOP_SIGNALS;

/**
 * Whether a hang-up (SIGHUP: the terminal or ssh session closed) stops the run: yes while its output
 * goes to a terminal, which is gone; no once it goes to files, as under `nohup`, which is what nohup
 * asks. nohup alone cannot ask it of Node: Node resets the signals it inherits as ignored to their
 * default at start-up, SIGHUP's default ending the process (`ResetSignalHandlers` in Node's
 * src/node.cc), so `nohup node …` ended at the hang-up, and with it a long campaign's last batch. Such
 * a run goes on in a process group of its own (`detach.ts`): a hang-up reaches it only if sent to it.
 */
export function hangupStops(): boolean {
  return process.stdout.isTTY === true || process.stderr.isTTY === true;
}

/** What the runner says when a hang-up does not stop it (its output goes to files: it can say it). */
export const HANGUP_IGNORED =
  'SIGHUP: the terminal hung up; this run writes to files, so it goes on (as under nohup). ' +
  'Stop it with SIGINT or SIGTERM.';

/**
 * Sends SIGKILL to this process's child processes (vitest's workers), found with `pgrep -P` (procps
 * on Linux, and macOS). Where there is no `pgrep`, nothing is sent: a worker then ends when it next
 * reports to the runner that is gone. SIGKILL, not SIGTERM: a worker whose property shrinks takes a
 * SIGTERM as a stop at its next run (`progress.testkit.ts`), and a synchronous property does not even
 * hear it before its end; the runner, ending, has what it reports.
 */
export function stopChildProcesses(): void {
  let pids: number[];
  try {
    pids = execFileSync('pgrep', ['-P', String(process.pid)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map(Number);
  } catch {
    return; // no pgrep, or no child (pgrep exits 1)
  }
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

/**
 * How long after the signal that began a stop's wait the same signal again is that same stop, not a
 * second one (Ctrl-C again). A terminal's Ctrl-C reaches every process of its foreground job: under
 * `npm run properties`, npm gets it as well as the runner, and npm's run-script passes the signals it
 * gets on to the script it runs (`@npmcli/run-script`'s signal-manager, npm 11), so the runner (or its
 * stand-in, which passes both on: `detach.ts`) gets one Ctrl-C twice. The second came 0.4 s after the
 * first on a loaded machine, and ended the wait it began: the counterexample being shrunk was lost. A
 * person who reads the message and presses Ctrl-C again takes longer than this.
 */
export const SAME_STOP_MS = 1_000;

/**
 * Until the returned function is called, SIGINT, SIGTERM and SIGHUP call `report` (which must write
 * what it has to say synchronously: the process ends right after), stop the child processes, and end
 * the process with the signal's exit code. Listeners are prepended, so they run before vitest's.
 * A SIGHUP that {@link hangupStops} says does not stop the run is only noted (`note`), even during a
 * stop's wait. One that does leaves a terminal that is gone: writing to it fails (EIO), in an `error`
 * event that would end the process before its report; such errors are dropped from then on. A hang-up
 * is no one asking to hurry: during a stop's wait it does not cut the wait short (a second SIGINT or
 * SIGTERM does), and the run ends with the code of the signal that stopped it.
 *
 * First, `settle` may return a wait: the counterexamples being shrunk, each ending at its next run
 * with what it shrank so far (`runBatch.ts`), which ending at once would lose. The process ends when
 * the wait does, or at once on a second signal (Ctrl-C again; the same signal within
 * {@link SAME_STOP_MS} of the first is the first delivered twice, and ignored); not at all if the
 * returned function is called first (the run ended by itself meanwhile). A `settle` that throws waits
 * for nothing. `now` is the clock of that rule, in milliseconds.
 */
export function onStopSignal(
  report: (signal: StopSignal) => void,
  settle: (signal: StopSignal) => Promise<void> | null = () => null,
  exit: (code: number) => never = process.exit,
  stopChildren: () => void = stopChildProcesses,
  hangup: { readonly stops: () => boolean; readonly note: (line: string) => void } = {
    stops: hangupStops,
    note: (line) => process.stderr.write(`${line}\n`),
  },
  now: () => number = () => performance.now(),
) {
  let settling = false;
  // The signal that began the wait, and when.
  let began: { readonly signal: StopSignal; readonly at: number } | null = null;
  let released = false;
  // Write errors on the terminal that hung up are dropped (once: a hang-up may come more than once).
  let deaf = false;
  const listeners = (Object.keys(STOP_SIGNALS) as StopSignal[]).map((signal) => {
    const end = () => {
      // The run ended by itself during the wait (its last property was the one shrinking): it has
      // closed as a run does, with that counterexample.
      if (released) return;
      try {
        report(signal);
      } catch (error) {
        // The exit below swallows the error: said here, or a stopped run would end with no report and
        // no word of why (standard output empty under --json).
        try {
          process.stderr.write(`${signal}: the closing report failed: ${String(error)}\n`);
        } catch {
          // A terminal that hung up: nothing to say it on.
        }
      } finally {
        stopChildren();
        exit(STOP_SIGNALS[signal]);
      }
    };
    const listener = () => {
      if (signal === 'SIGHUP') {
        if (!hangup.stops()) return hangup.note(HANGUP_IGNORED);
        if (!deaf) for (const stream of [process.stdout, process.stderr]) stream.on('error', () => {});
        deaf = true;
        // No one asks to hurry: a stop already waiting for its counterexamples waits on, with its own code.
        if (settling) return;
      }
      if (settling) {
        if (began?.signal === signal && now() - began.at < SAME_STOP_MS) return;
        return end();
      }
      let wait: Promise<void> | null = null;
      try {
        wait = settle(signal);
      } catch {
        // Nothing to wait for, then: end as without a settle.
      }
      if (wait === null) return end();
      settling = true;
      began = { signal, at: now() };
      wait.then(end, end);
    };
    process.prependListener(signal, listener);
    return [signal, listener] as const;
  });
  return (): void => {
    released = true;
    for (const [signal, listener] of listeners) process.off(signal, listener);
  };
}
