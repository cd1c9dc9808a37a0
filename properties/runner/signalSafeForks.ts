/**
 * vitest's forks pool, made to end a batch whose test worker a signal killed as it started.
 *
 * vitest 4.1.12 waits for ever for such a worker. A worker that dies before it reports `started`
 * fails its start a minute later (vitest's start timeout), and vitest then stops it:
 * `ForksPoolWorker.stop` waits for its `exit` event unless `exitCode` is set, and a process a signal
 * ended has a null `exitCode` (Node sets `signalCode` instead) and has already emitted `exit`. The
 * batch never ends, and a campaign with it: past its budget, its summary unwritten, the CI job held to
 * its hard limit. Any signal does it: the kernel's out-of-memory killer (SIGKILL), a hang-up or Ctrl-C
 * in Node's own start-up before the runner's preload is loaded (`workerSignals.ts`), a `kill` by hand.
 * A worker that dies after its start is not affected: vitest marks it stopped as it exits, so its stop
 * is skipped (the fix of vitest-dev/vitest#10543, which left the start-up case as it was).
 *
 * The runner's batches run on this pool instead (vitest's documented custom-pool interface,
 * `PoolRunnerInitializer`): a worker that already exited is stopped at once. The batch ends a minute
 * after the death, its unfinished suites counted as failures with the reason (`runBatch.ts`), and the
 * next batch runs. Everything else is vitest's own forks worker.
 * @module
 */
import { constants } from 'node:os';
import { ForksPoolWorker } from 'vitest/node';
import type { PoolOptions, PoolRunnerInitializer } from 'vitest/node';

/** A test worker's death by a signal, as the pool saw it. */
export interface WorkerDeath {
  readonly signal: NodeJS.Signals;
  /** Whether the worker had reported its start to vitest: false is the case vitest would hang on. */
  readonly started: boolean;
}

/** The name the pool goes by in vitest's configuration (`pool`): not `forks`, which vitest keeps for its own. */
export const SIGNAL_SAFE_FORKS = 'forks (signal-safe)';

/** vitest's message a worker sends once it has started (`PoolRunner.waitForStart`). */
function isStarted(message: unknown): boolean {
  return typeof message === 'object' && message !== null && (message as { type?: unknown }).type === 'started';
}

/** A forks worker whose `stop` does not wait for an exit that has come and gone. */
class SignalSafeForksPoolWorker extends ForksPoolWorker {
  readonly #onDeath: (death: WorkerDeath) => void;
  #endedBySignal = false;
  #stopping = false;

  constructor(options: PoolOptions, onDeath: (death: WorkerDeath) => void) {
    super(options);
    this.#onDeath = onDeath;
  }

  override async start(): Promise<void> {
    await super.start();
    let started = false;
    const onMessage = (message: unknown) => {
      if (isStarted(message)) started = true;
    };
    this.on('message', onMessage);
    // Listened to from the fork's creation on, before anything awaits: `exit` cannot come unseen.
    this.on('exit', ((_code: number | null, signal: NodeJS.Signals | null) => {
      this.off('message', onMessage);
      if (signal !== null) this.#endedBySignal = true;
      // vitest's own stop ends the worker by SIGTERM: not a death.
      if (signal !== null && !this.#stopping) this.#onDeath({ signal, started });
    }) as (arg: unknown) => void);
  }

  override async stop(): Promise<void> {
    // A worker a signal ended has nothing left to stop, and vitest's stop would wait for its exit for
    // ever. What that stop also does, un-pipe the worker's output, its streams' end has done.
    if (this.#endedBySignal) return;
    this.#stopping = true;
    await super.stop();
  }
}

/**
 * The pool the runner's batches use: vitest's forks, with `onDeath` told of each test worker a signal
 * ended (e.g. to say why a batch ended early: a death in start-up surfaces in vitest only as "Worker
 * forks emitted error").
 */
export function signalSafeForks(onDeath: (death: WorkerDeath) => void = () => {}): PoolRunnerInitializer {
  return {
    name: SIGNAL_SAFE_FORKS,
    createPoolWorker: (options) => new SignalSafeForksPoolWorker(options, onDeath),
  };
}

/** What a batch says of a worker's death (its exit code as a shell reports it: 128 plus the signal's number). */
export function deathText(death: WorkerDeath): string {
  const code = 128 + (constants.signals[death.signal] ?? 0);
  const when = death.started ? 'as it ran' : 'as it started, before it reported to vitest';
  return `a test worker was ended by ${death.signal} (exit code ${code}) ${when}`;
}
