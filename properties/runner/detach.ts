/**
 * A run whose output goes to files (`nohup`, `> campaign.log`) outlives the terminal it was started
 * from, as nohup means, by running in a process group of its own: out of the shell's job, which a
 * closed terminal's SIGHUP reaches whole. Staying in the job is not enough. Node resets an ignored
 * SIGHUP to its default at start-up (`ResetSignalHandlers` in Node's src/node.cc), so nohup alone
 * does not hold for Node; the runner takes the hang-up itself (`interrupt.ts`), and so do vitest's
 * workers, but only once their preload has run (`workerSignals.ts`): a worker the hang-up reaches in
 * Node's own start-up, which takes up to a second on a loaded machine, dies, and its batch ends at
 * once with its suites unfinished (`signalSafeForks.ts`; vitest's own pool waits for such a worker
 * for ever): a batch lost, and with it any counterexample being shrunk.
 *
 * So this process, the one the shell started, starts the run again in a new process group (the same
 * script and arguments, `detached`, output to the same files) and stays in the job as its stand-in:
 * it says the hang-up and goes on, passes Ctrl-C and SIGTERM on to the run (which stops as ever:
 * counterexamples being shrunk kept, summary written), and ends with the run's exit code. A run
 * whose stand-in is gone (killed by SIGKILL, as `timeout -s KILL` does to the job) stops as by
 * SIGTERM: it would otherwise go on alone, a campaign no job shows. A run writing to a terminal
 * stays in the job: the terminal's hang-up stops it there (`hangupStops`).
 * @module
 */
import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { HANGUP_IGNORED } from './interrupt.ts';

/** Set in the run's environment by its stand-in, to its process id: the run runs detached already. */
export const DETACHED_ENV = 'SEKEY_RUNNER_DETACHED';

/** How often a detached run checks that its stand-in is still there. */
const STAND_IN_POLL_MS = 1_000;

/**
 * Whether this process should start the run detached and stand in for it: its output goes to files
 * (`writesToTerminal` false) and it is not the detached run itself. Not on Windows, which has no
 * SIGHUP and no process groups; nor under a debugger (`--inspect…`), which is for the run's code:
 * the stand-in would hold the debugger's port and the run, started with the same flags, fail to.
 */
export function shouldDetach(
  env: NodeJS.ProcessEnv,
  writesToTerminal: boolean,
  platform: NodeJS.Platform = process.platform,
  execArgv: readonly string[] = process.execArgv,
): boolean {
  const debugged = execArgv.some((flag) => flag.startsWith('--inspect'));
  return env[DETACHED_ENV] === undefined && !writesToTerminal && platform !== 'win32' && !debugged;
}

/** The exit code of a process that ended with `code` or by `signal`, as a shell reports it. */
export function exitCodeOf(code: number | null, signal: NodeJS.Signals | null): number {
  if (code !== null) return code;
  return 128 + (signal === null ? 0 : (constants.signals[signal] ?? 0));
}

/**
 * Starts `script` with `args` in a process group of its own and stands in for it (see the module's
 * comment); resolves with its exit code (3 when it could not be started).
 */
export function runDetached(script: string, args: readonly string[]): Promise<number> {
  const run = spawn(process.execPath, [...process.execArgv, script, ...args], {
    detached: true,
    // Not the terminal's input: a process outside the terminal's foreground group that read it would be stopped.
    stdio: ['ignore', 'inherit', 'inherit'],
    env: { ...process.env, [DETACHED_ENV]: String(process.pid) },
  });
  const pass = (signal: 'SIGINT' | 'SIGTERM') => () => {
    run.kill(signal);
  };
  process.on('SIGINT', pass('SIGINT'));
  process.on('SIGTERM', pass('SIGTERM'));
  process.on('SIGHUP', () => process.stderr.write(`${HANGUP_IGNORED}\n`));
  return new Promise((resolve) => {
    run.on('error', (error) => {
      process.stderr.write(`could not start the run: ${error.message}\n`);
      resolve(3);
    });
    run.on('exit', (code, signal) => resolve(exitCodeOf(code, signal)));
  });
}

/**
 * In the detached run: once its stand-in (process `standIn`, from {@link DETACHED_ENV}) is no longer
 * its parent, stops as by SIGTERM, once. The stand-in is named, not taken as the parent found at
 * start-up: one killed during the run's start-up would leave a run that never sees it go. And the
 * SIGTERM is sent once: a second one during the stop's wait for counterexamples being shrunk would
 * end the run at once, losing them. The check does not keep the process alive.
 */
export function stopWithoutStandIn(
  standIn: number,
  parent: () => number = () => process.ppid,
  stop: () => void = () => process.kill(process.pid, 'SIGTERM'),
  every: number = STAND_IN_POLL_MS,
): void {
  const poll = setInterval(() => {
    if (parent() === standIn) return;
    clearInterval(poll);
    stop();
  }, every);
  poll.unref();
}
