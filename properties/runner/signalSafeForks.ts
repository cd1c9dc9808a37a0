/**
 * vitest's forks pool, made to end at once the work of a test worker that dies as it starts. `npm test`
 * (`vitest.config.ts`) and the runner's batches (`runBatch.ts`) run on it, through vitest's documented
 * custom-pool interface (`pool` set to a `PoolRunnerInitializer`).
 *
 * vitest 4.1.12 (`node_modules/vitest/dist/chunks/cli-api.*.js`) handles a worker that exits before it
 * reports `started` badly, twice over:
 * - `PoolRunner.start` waits for that report a minute (`waitForStart` under `START_TIMEOUT`), and nothing
 *   ends the wait when the process exits: `emitUnexpectedExit` fails the worker's task, not its start.
 *   Meanwhile the worker's slot stays taken (`Pool.schedule` awaits the start), and vitest's close waits
 *   too (`PoolRunner.stop` awaits the start's `_operationLock`). The test files given to the worker never
 *   run, and vitest's counts leave them out: its summary reads as if they did not exist.
 * - Then vitest stops it, and `ForksPoolWorker.stop` waits for its `exit` event unless `exitCode` is set: a
 *   process a signal ended has a null `exitCode` (Node sets `signalCode` instead) and has emitted `exit`
 *   already. The stop never ends. A plain `vitest run` still ends once its event loop runs dry (70 s after
 *   the death, measured: the start's minute, then `teardownTimeout`'s ten seconds), exit code 1; the runner,
 *   whose timers keep its process alive, waits for ever: a campaign past its budget, its summary unwritten.
 * Any signal does it: the kernel's out-of-memory killer (SIGKILL), a hang-up or Ctrl-C in Node's own
 * start-up before the runner's preload is loaded (`workerSignals.ts`), a `kill` by hand. vitest's own
 * words for it are "Worker forks emitted error", caused by "Worker exited unexpectedly": no signal named.
 *
 * This pool's worker is vitest's `ForksPoolWorker`, named as the pool, but for three things. A process
 * that exits before it reported `started` fails its start at once, by the message vitest's worker sends
 * when its start fails (`{ type: 'started', error }`: the `start` handler in `dist/chunks/init.*.js`;
 * `waitForStart` awaits it): the batch, or `npm test`, goes on within moments. A process a signal ended
 * is not stopped again. And a death by a signal is reported to vitest (`vitest.state.catchError`, its
 * experimental State API: printed among the run's errors, and failing it) and to `onDeath`, naming the
 * signal and whether the worker had started. A worker that dies after its start is vitest's own case: it
 * marks it stopped as it exits, so its stop is skipped (the fix of vitest-dev/vitest#10543, which left the
 * start-up case as it was); only the report is this pool's.
 * @module
 */
import { constants } from 'node:os';
import { ForksPoolWorker } from 'vitest/node';
import type { PoolOptions, PoolRunnerInitializer, WorkerResponse } from 'vitest/node';

/** A test worker's death by a signal, as the pool saw it. */
export interface WorkerDeath {
  readonly signal: NodeJS.Signals;
  /** Whether the worker had reported its start to vitest: false is the case vitest would hang on. */
  readonly started: boolean;
}

/** The name the pool goes by in vitest's configuration (`pool`): not `forks`, which vitest keeps for its own. */
export const SIGNAL_SAFE_FORKS = 'forks (signal-safe)';

/** The heading vitest prints over a death the pool reports (`Logger.printUnhandledErrors`: the error's `type`). */
export const WORKER_KILLED = 'Test Worker Killed';

/** vitest's message a worker sends once it has started (`PoolRunner.waitForStart`). */
function isStarted(message: unknown): boolean {
  return typeof message === 'object' && message !== null && (message as { type?: unknown }).type === 'started';
}

type Listener = (arg: unknown) => void;

/** A forks worker whose start ends with its process, and whose `stop` does not wait for an exit come and gone. */
class SignalSafeForksPoolWorker extends ForksPoolWorker {
  /**
   * The pool's name, not `forks`: vitest gives a worker that ran a file without isolation (`isolate: false`)
   * the next such file only when its name is the task's pool (`isEqualRunner`); under `forks` every file
   * had a process of its own. vitest's worker hears it only as the name of its pool (`TestRunner.pool`).
   */
  override readonly name = SIGNAL_SAFE_FORKS;
  readonly #onDeath: (death: WorkerDeath) => void;
  readonly #options: PoolOptions;
  /** Who listens to the worker's messages through `on`: vitest's `PoolRunner` (`emitWorkerMessage`). */
  readonly #messageListeners = new Set<Listener>();
  #endedBySignal = false;
  #stopping = false;

  constructor(options: PoolOptions, onDeath: (death: WorkerDeath) => void) {
    super(options);
    this.#options = options;
    this.#onDeath = onDeath;
  }

  override on(event: string, callback: Listener): void {
    super.on(event, callback);
    if (event === 'message') this.#messageListeners.add(callback);
  }

  override off(event: string, callback: Listener): void {
    super.off(event, callback);
    if (event === 'message') this.#messageListeners.delete(callback);
  }

  override async start(): Promise<void> {
    await super.start();
    let started = false;
    const onMessage = (message: unknown) => {
      if (isStarted(message)) started = true;
    };
    this.on('message', onMessage);
    // Listened to from the fork's creation on, before anything awaits: `exit` cannot come unseen. And
    // before vitest's own listeners (`PoolRunner.start` adds them once this start has resolved, in the
    // same turn of the event loop, where no process event can come between): `waitForStart` is listening.
    this.on('exit', ((code: number | null, signal: NodeJS.Signals | null) => {
      this.off('message', onMessage);
      if (signal !== null) this.#endedBySignal = true;
      // vitest's own stop ends the worker by SIGTERM: not a death.
      if (this.#stopping) return;
      if (signal !== null) this.#reportDeath({ signal, started });
      if (!started) this.#failStart(signal === null ? `exit code ${code}` : signal);
    }) as Listener);
  }

  override async stop(): Promise<void> {
    // A worker a signal ended has nothing left to stop, and vitest's stop would wait for its exit for
    // ever. What that stop also does, un-pipe the worker's output, its streams' end has done.
    if (this.#endedBySignal) return;
    this.#stopping = true;
    await super.stop();
  }

  /**
   * Answers vitest's pending start as the worker would if its start had failed (vitest's worker sends
   * `started` with the error), where vitest would wait its start timeout out: its process is gone, and no
   * `started` can come. Should the worker's own `started` be still unread as its `exit` comes, it finds
   * the start over (`waitForStart` listens for the first only): the process is gone all the same.
   */
  #failStart(how: string): void {
    const error = new Error(`the test worker's process ended (${how}) before it reported its start`);
    const failed: WorkerResponse = { __vitest_worker_response__: true, type: 'started', error };
    for (const listener of [...this.#messageListeners]) listener(failed);
  }

  #reportDeath(death: WorkerDeath): void {
    const error = new Error(deathText(death));
    // Its stack is this pool's exit listener: nothing a reader of the run's errors needs.
    error.stack = `Error: ${error.message}`;
    this.#options.project.vitest.state.catchError(error, WORKER_KILLED);
    this.#onDeath(death);
  }
}

/**
 * vitest's forks, with a test worker that dies as it starts ending at once, each death by a signal
 * among the run's errors, and `onDeath` told of it (the runner counts the batch's suites unfinished).
 */
export function signalSafeForks(onDeath: (death: WorkerDeath) => void = () => {}): PoolRunnerInitializer {
  return {
    name: SIGNAL_SAFE_FORKS,
    createPoolWorker: (options) => new SignalSafeForksPoolWorker(options, onDeath),
  };
}

/** What is said of a worker's death (its exit code as a shell reports it: 128 plus the signal's number). */
export function deathText(death: WorkerDeath): string {
  const code = 128 + (constants.signals[death.signal] ?? 0);
  const when = death.started
    ? 'as it ran'
    : 'as it started, before it reported to vitest: the test files given to it did not run';
  return `a test worker was ended by ${death.signal} (exit code ${code}) ${when}`;
}
