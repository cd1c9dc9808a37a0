/**
 * One batch: the chosen suites run once through vitest's Node API (`startVitest`), with the run-size
 * knobs of `testing/runConfig.ts` set in the environment the test workers inherit, while the
 * suites' progress lines are read as they come. vitest's own reporters are replaced by one that
 * collects the verdicts, so the runner's output is its progress line and its table alone.
 * @module
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Reporter, TestModule } from 'vitest/node';
import { formatElapsed } from '../../impl/cli/progressView.ts';
import { STOP_SIGNALS } from './interrupt.ts';
import type { StopSignal } from './interrupt.ts';
import { PROGRESS_FILE_ENV, ProgressReader, STOP_FILE_ENV } from './progressLine.ts';
import { STATISTICS_FILE_ENV, readStatistics } from './statistics.ts';
import type { Json } from './statistics.ts';
import { ownName } from './replayCommand.ts';
import type { Suite } from './suites.ts';
import { addLine, emptyCount, shrinkingIn } from './tally.ts';
import type { SuiteCount } from './tally.ts';
import { workerSignalsExecArgv } from './workerSignals.ts';
import { deathText, signalSafeForks } from './signalSafeForks.ts';
import type { WorkerDeath } from './signalSafeForks.ts';

/** What a batch runs. */
export interface Batch {
  readonly suites: readonly Suite[];
  readonly runs?: number | undefined;
  readonly seed?: number | undefined;
  readonly path?: string | undefined;
  /** With `path`: go on shrinking from that case instead of ending on it (`SEKEY_SHRINK`). */
  readonly shrink?: boolean | undefined;
  readonly scale?: number | undefined;
  /** Only tests whose name matches (vitest's `testNamePattern`). */
  readonly testPattern?: string | undefined;
  /** Properties stop drawing runs at this time (ms since the epoch). */
  readonly deadline?: number | undefined;
  /**
   * The suites write their statistics to a file of the batch's own, returned as
   * `BatchResult.statistics`, not to `reports/properties.json` (a campaign's batches: `statistics.ts`).
   */
  readonly ownStatistics?: boolean | undefined;
  /** Test files beyond those vitest's configuration includes: the runner's own tests' fixture suite. */
  readonly include?: readonly string[] | undefined;
}

/** The signals that stop a run (`interrupt.ts`). */
const STOP_SIGNAL_NAMES = Object.keys(STOP_SIGNALS) as Array<keyof typeof STOP_SIGNALS>;

/** How often the progress file is read while the suites run. */
const POLL_MS = 250;

/** The knob values of a batch, as environment variables (undefined: unset, so the CI size applies). */
export function batchEnvironment(
  batch: Batch,
  progressFile: string,
  statisticsFile = '',
  stopFile = '',
): Record<string, string | undefined> {
  const text = (v: number | string | undefined) => (v === undefined ? undefined : String(v));
  return {
    [PROGRESS_FILE_ENV]: progressFile,
    [STOP_FILE_ENV]: stopFile === '' ? undefined : stopFile,
    [STATISTICS_FILE_ENV]: statisticsFile === '' ? undefined : statisticsFile,
    SEKEY_RUNS: text(batch.runs),
    SEKEY_SEED: text(batch.seed),
    SEKEY_PATH: batch.path,
    SEKEY_SHRINK: batch.shrink === true ? '1' : undefined,
    SEKEY_SCALE: text(batch.scale),
    SEKEY_DEADLINE: text(batch.deadline),
  };
}

/** Sets `env` on `process.env` (deleting undefined ones); returns a function that restores it. */
function withEnvironment(env: Record<string, string | undefined>): () => void {
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  const set = (values: Record<string, string | undefined>) => {
    for (const [k, v] of Object.entries(values)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  };
  set(env);
  return () => set(saved);
}

/** The name a failure of a test file outside any of its tests (failing to load, a hook) is counted under. */
export const OUTSIDE_ANY_TEST = '(outside any test)';

/** The test name of a suite that vitest stopped before it finished (a crashed worker): one failure, no test's. */
export const UNFINISHED = '(unfinished)';

/**
 * Vitest's verdicts: the tests run and failed of each suite, and errors outside any test. A chosen
 * suite whose file vitest did not run, or a batch in which no test ran at all (a `--test` that
 * matched nothing), is an error: "every property held" must mean that properties ran. Not when
 * vitest reported `crash` errors (a worker killed, out of memory): they say what happened, and the
 * next batch may run. A chosen suite that such a batch left unfinished (its file never reported, or
 * still pending: vitest then has no result for any of its tests, not even those that passed) counts
 * one failure in its own row, with the crash's error, so that its row does not read as clean.
 */
export function verdicts(
  modules: ReadonlyArray<TestModule>,
  suites: readonly Suite[],
  counts: Map<string, SuiteCount>,
  crash: readonly string[] = [],
): string[] {
  const errors: string[] = [];
  const crashed = crash.length > 0;
  const countOf = (suite: Suite) => {
    const c = counts.get(suite.name) ?? emptyCount(suite.name);
    counts.set(suite.name, c);
    return c;
  };
  for (const suite of crashed ? [] : suites) {
    if (!modules.some((m) => resolve(m.moduleId) === resolve(suite.file)))
      errors.push(`suite ${suite.name}: its file ${suite.file} did not run (missing, or not a test file)`);
  }
  for (const module of modules) {
    const suite = suites.find((s) => resolve(s.file) === resolve(module.moduleId));
    if (!suite) continue;
    const c = countOf(suite);
    const failed = [...module.children.allTests('failed')];
    c.tests += [...module.children.allTests('passed')].length + failed.length;
    for (const test of failed) {
      c.failures += 1;
      c.failedTests.push({ suite: suite.name, test: test.fullName, message: test.result().errors?.[0]?.message ?? '' });
    }
    // A file that fails to load or throws outside a test: one failure, with its error.
    for (const error of module.errors()) {
      c.failures += 1;
      c.failedTests.push({ suite: suite.name, test: OUTSIDE_ANY_TEST, message: error.message });
    }
  }
  for (const suite of crashed ? suites : []) {
    const state = modules.find((m) => resolve(m.moduleId) === resolve(suite.file))?.state();
    if (state !== undefined && state !== 'pending' && state !== 'queued') continue;
    const c = countOf(suite);
    c.failures += 1;
    c.failedTests.push({
      suite: suite.name,
      test: UNFINISHED,
      message: `vitest stopped before this suite finished: ${crash.join('; ')}`,
    });
  }
  if (!crashed && errors.length === 0 && [...counts.values()].every((c) => c.tests === 0 && c.failures === 0))
    errors.push('no test ran: the --test pattern matched no test of the chosen suites');
  return errors;
}

/**
 * How long a stop waits for the properties shrinking a counterexample to end at their next run. A
 * minute for Ctrl-C: a person, who can press it again. Five seconds for SIGTERM: how CI systems and
 * batch schedulers stop a job before they kill it (SIGKILL after 7.5 to 30 seconds on GitHub Actions,
 * Kubernetes, Slurm), and a SIGKILL in the wait would lose the summary of the batch as well. A
 * minute after a hang-up that stops the run (its terminal closed, `interrupt.ts`): no kill follows
 * one, and no one is there to wait.
 */
export const SETTLE_MS: Readonly<Record<StopSignal, number>> = { SIGINT: 60_000, SIGTERM: 5_000, SIGHUP: 60_000 };

/** A property shrinking a counterexample. */
export interface Shrinking {
  readonly suite: string;
  readonly test: string;
}

/**
 * What a stop that waits for `shrinking` says (Ctrl-C again, or another signal, ends the wait). In a
 * `replaying` run (`--path` without `--shrink`) they are the replayed counterexample, which ends on its
 * case and shrinks nothing: the wait is for its report, and "being shrunk" would say otherwise.
 */
export function settleMessage(shrinking: readonly Shrinking[], signal: StopSignal, replaying = false): string {
  const which = shrinking.map((s) => `${s.suite}: "${ownName(s.test)}"`).join('; ');
  const again = signal === 'SIGINT' ? 'Ctrl-C again' : 'another signal';
  const most = `at most ${formatElapsed(SETTLE_MS[signal])}`;
  if (replaying)
    return (
      `${signal}: waiting for the report of the counterexample replayed (${which}): a replay ends on its case and ` +
      `shrinks nothing (${most}; ${again} stops at once and loses it)`
    );
  return (
    `${signal}: keeping the counterexamples being shrunk (${which}): each property ends at its next run ` +
    `with what it shrank so far (${most}; ${again} stops at once and loses them)`
  );
}

/**
 * A batch while it runs, for a stop by signal (`interrupt.ts`): what it counted so far (the
 * properties that ended, with their counterexamples), and its clean-up, both synchronous; and the
 * wait that keeps the counterexamples being shrunk.
 */
export interface ActiveBatch {
  counts(): ReadonlyMap<string, SuiteCount>;
  /**
   * Asks the properties shrinking a counterexample to end at their next run, keeping what they shrank
   * so far (`progress.testkit.ts`: `stoppable`), and resolves once each has ended (its `done` line is
   * in {@link counts}), the batch is over, or after `waitMs`; null, asking nothing, when none shrinks.
   * A run under way ends first: a deployment's runs take seconds, the other suites' less.
   */
  settle(waitMs: number): { readonly shrinking: readonly Shrinking[]; readonly ended: Promise<void> } | null;
  /** The statistics the suites wrote so far (with `Batch.ownStatistics`; none otherwise). */
  statistics(): BatchResult['statistics'];
  cleanUp(): void;
}

/** What a batch found. */
export interface BatchResult {
  readonly counts: Map<string, SuiteCount>;
  /** vitest's errors outside any suite, and those of `verdicts`. */
  readonly errors: string[];
  /** Those of `verdicts`: no later batch would run better. */
  readonly unrunnable: string[];
  /** With `Batch.ownStatistics`: the statistics the suites wrote, per suite. */
  readonly statistics: { readonly [suite: string]: Json };
}

/**
 * Runs one batch; `onLines` sees the counts whenever new progress lines arrive, `onActive` the batch
 * as it starts (and null once it is over), before anything that awaits.
 */
export async function runBatch(
  batch: Batch,
  onLines: (counts: ReadonlyMap<string, SuiteCount>) => void = () => {},
  onActive: (active: ActiveBatch | null) => void = () => {},
): Promise<BatchResult> {
  const dir = mkdtempSync(join(tmpdir(), 'sekey-properties-'));
  const reader = new ProgressReader(join(dir, 'progress.jsonl'));
  const statisticsFile = join(dir, 'properties.json');
  const counts = new Map<string, SuiteCount>(batch.suites.map((s) => [s.name, emptyCount(s.name)]));
  const errors: string[] = [];
  const drain = () => {
    const lines = reader.read();
    for (const line of lines) addLine(counts, line);
    if (lines.length > 0) onLines(counts);
  };
  let modules: ReadonlyArray<TestModule> = [];
  // Whether vitest reported the run's end, with its errors: not when it failed before the run.
  let reported = false;
  const ours = new Map(STOP_SIGNAL_NAMES.map((signal) => [signal, process.listeners(signal)]));
  const collector: Reporter = {
    // vitest's logger ends the process 1 ms after SIGINT or SIGTERM (its cleanup listeners, added as
    // vitest starts). The runner's own listeners (`interrupt.ts`) end it themselves, having first
    // waited for the counterexamples being shrunk (`settle`), which vitest's would cut short: the
    // listeners vitest added are removed as it starts its run (its close removes them again, a no-op).
    onInit() {
      for (const [signal, before] of ours) {
        for (const listener of process.listeners(signal)) if (!before.includes(listener)) process.off(signal, listener);
      }
    },
    onTestRunEnd(testModules, unhandledErrors) {
      reported = true;
      modules = testModules;
      for (const e of unhandledErrors) errors.push(e.message);
    },
  };
  const stopFile = join(dir, 'stop');
  const deaths: WorkerDeath[] = [];
  const restore = withEnvironment(
    batchEnvironment(batch, reader.file, batch.ownStatistics ? statisticsFile : '', stopFile),
  );
  const timer = setInterval(drain, POLL_MS);
  let statistics: BatchResult['statistics'] = {};
  // Once the batch is over, a wait under way ends: a property that never wrote its `done` line (its
  // worker killed) would otherwise hold the process for the rest of the wait after the run closed.
  let over = false;
  const shrinkingNow = (): Shrinking[] => {
    drain();
    return shrinkingIn(counts.values());
  };
  onActive({
    counts: () => {
      drain();
      return counts;
    },
    settle: (waitMs) => {
      const shrinking = shrinkingNow();
      if (shrinking.length === 0) return null;
      writeFileSync(stopFile, '');
      const until = Date.now() + waitMs;
      const ended = new Promise<void>((resolve) => {
        const poll = setInterval(() => {
          if (!over && shrinkingNow().length > 0 && Date.now() < until) return;
          clearInterval(poll);
          resolve();
        }, POLL_MS);
      });
      return { shrinking, ended };
    },
    statistics: () => (batch.ownStatistics ? readStatistics(statisticsFile) : {}),
    cleanUp: () => {
      clearInterval(timer);
      rmSync(dir, { recursive: true, force: true });
    },
  });
  try {
    const { startVitest } = await import('vitest/node');
    const vitest = await startVitest(
      'test',
      batch.suites.map((s) => s.file),
      {
        run: true,
        watch: false,
        reporters: [collector],
        coverage: { enabled: false },
        // No time limit per test: the runner is for runs deeper than CI's, on machines of any speed
        // (at --runs 50 on a loaded two-core machine, CI's two minutes failed three sound properties).
        // Tests that set their own (kmsImpl, deployment: 15 minutes) drop it once --runs, --scale or
        // --time sizes the run (`sizedTimeout`, testing/runConfig.ts).
        testTimeout: 0,
        // The workers leave Ctrl-C and hang-ups to the runner from their start (`workerSignals.ts`).
        execArgv: workerSignalsExecArgv(dir),
        // A worker killed as it starts ends its batch at once (vitest's own pool: never; `signalSafeForks.ts`).
        pool: signalSafeForks((death) => deaths.push(death)),
        ...(batch.testPattern === undefined ? {} : { testNamePattern: batch.testPattern }),
        ...(batch.include === undefined ? {} : { include: [...batch.include] }),
      },
    );
    // startVitest reports a failed run through process.exitCode; the runner sets its own at the end.
    process.exitCode = 0;
    // Not whether modules came: a run whose one worker died as it started has none, and reported its errors.
    if (!reported) errors.push(...vitest.state.getUnhandledErrors().map((e) => String(e)));
    // What vitest says of such a death is "Worker forks emitted error": the signal says why. The pool
    // puts it among vitest's errors (above), unless it came after vitest had reported them.
    for (const text of deaths.map(deathText)) if (!errors.includes(text)) errors.push(text);
  } finally {
    over = true;
    onActive(null);
    clearInterval(timer);
    restore();
    drain();
    if (batch.ownStatistics) statistics = readStatistics(statisticsFile);
    rmSync(dir, { recursive: true, force: true });
  }
  const unrunnable = verdicts(modules, batch.suites, counts, errors);
  errors.push(...unrunnable);
  return { counts, errors, unrunnable, statistics };
}
