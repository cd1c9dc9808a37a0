/**
 * The runner's forks pool against vitest's own, on a stand-in worker: a process the test writes as
 * vitest's worker entry point (`workers/forks.js` under the pool's `distPath`) that answers vitest's
 * `start` message, or ends itself first. And through real runs, with vitest's own workers: one killed as
 * it runs is named in its batch's errors; one killed as it starts (by a preload, before vitest's worker
 * code runs) ends its batch, or a run on `npm test`'s configuration, within moments, saying so. And a run
 * without isolation gives a worker file after file, as vitest's own pool does.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, describe, expect, test } from 'vitest';
import { ForksPoolWorker } from 'vitest/node';
import type { PoolOptions, PoolWorker, Reporter } from 'vitest/node';
import { runBatch } from './runBatch.ts';
import { SIGNAL_SAFE_FORKS, WORKER_KILLED, deathText, signalSafeForks } from './signalSafeForks.ts';
import type { WorkerDeath } from './signalSafeForks.ts';

const dist = mkdtempSync(join(tmpdir(), 'sekey-forks-'));
afterAll(() => rmSync(dist, { recursive: true, force: true }));
mkdirSync(join(dist, 'workers'));
// The stand-in for vitest's worker: started on vitest's `start` message, unless told to end first.
writeFileSync(
  join(dist, 'workers', 'forks.js'),
  `if (process.env.DIE === 'at start') process.kill(process.pid, 'SIGKILL');
if (process.env.DIE === 'exit at start') process.exit(3);
process.on('message', (m) => {
  if (m && m.type === 'start') process.send({ type: 'started', __vitest_worker_response__: true });
});
`,
);

/** Errors the pool reported to vitest (`vitest.state.catchError`), with their type. */
type Caught = Array<{ message: string; type: string }>;

/** Options as vitest's pool passes them, with only what a forks worker reads; `caught` gets its reports. */
function options(die: '' | 'at start' | 'exit at start', caught: Caught = []): PoolOptions {
  const logger = { outputStream: new PassThrough(), errorStream: new PassThrough() };
  const state = { catchError: (e: Error, type: string) => caught.push({ message: e.message, type }) };
  return {
    distPath: dist,
    project: { vitest: { logger, state } },
    method: 'run',
    environment: { name: 'node', options: null },
    env: { ...process.env, DIE: die },
    execArgv: [],
  } as unknown as PoolOptions;
}

/** Resolves with the worker's `exit` signal. Listened to once it has started, in the same tick (exit comes later). */
function exited(worker: PoolWorker): Promise<NodeJS.Signals | null> {
  return new Promise((resolve) =>
    worker.on('exit', ((_: number | null, signal: NodeJS.Signals | null) => resolve(signal)) as (arg: unknown) => void),
  );
}

/** The messages `worker` delivers to a listener of its own, as vitest's `PoolRunner` listens (`emitWorkerMessage`). */
function messagesOf(worker: PoolWorker): Array<{ type?: string; error?: Error }> {
  const messages: Array<{ type?: string; error?: Error }> = [];
  worker.on('message', (m) => messages.push(m));
  return messages;
}

/** Whether `promise` settles within `ms`. */
async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  const result = await Promise.race([promise.then(() => true as const), late]);
  clearTimeout(timer);
  return result;
}

describe('a test worker a signal kills before it starts', () => {
  test("vitest's own forks worker never finishes stopping it (the hang this pool exists for)", async () => {
    const worker = new ForksPoolWorker(options('at start'));
    await worker.start();
    const exit = exited(worker);
    expect(await exit).toBe('SIGKILL');
    expect(await settlesWithin(worker.stop(), 2_000)).toBe(false);
  });

  test("the runner's pool fails its start, stops it at once, and reports the death, not started", async () => {
    const deaths: WorkerDeath[] = [];
    const caught: Caught = [];
    const worker = signalSafeForks((d) => deaths.push(d)).createPoolWorker(options('at start', caught));
    await worker.start();
    const messages = messagesOf(worker);
    const exit = exited(worker);
    expect(await exit).toBe('SIGKILL');
    // The answer vitest's start awaits (`PoolRunner.waitForStart`), failed, as the process exits.
    expect(messages).toEqual([
      {
        __vitest_worker_response__: true,
        type: 'started',
        error: new Error("the test worker's process ended (SIGKILL) before it reported its start"),
      },
    ]);
    // Not a time limit: vitest's own stop never settles (above); this one settles at once.
    expect(await settlesWithin(worker.stop(), 30_000)).toBe(true);
    expect(deaths).toEqual([{ signal: 'SIGKILL', started: false }]);
    const text =
      'a test worker was ended by SIGKILL (exit code 137) as it started, before it reported to vitest: ' +
      'the test files given to it did not run';
    expect(deathText(deaths[0] as WorkerDeath)).toBe(text);
    expect(caught).toEqual([{ message: text, type: WORKER_KILLED }]);
  });

  test('one that exits with a code before it starts fails its start too, and is no death', async () => {
    const deaths: WorkerDeath[] = [];
    const caught: Caught = [];
    const worker = signalSafeForks((d) => deaths.push(d)).createPoolWorker(options('exit at start', caught));
    await worker.start();
    const messages = messagesOf(worker);
    expect(await exited(worker)).toBe(null);
    expect(messages.map((m) => [m.type, m.error?.message])).toEqual([
      ['started', "the test worker's process ended (exit code 3) before it reported its start"],
    ]);
    // vitest's own stop, which an exit code does not hang.
    expect(await settlesWithin(worker.stop(), 30_000)).toBe(true);
    expect([deaths, caught]).toEqual([[], []]);
  });
});

describe('a test worker that starts', () => {
  /** A worker of the runner's pool that has started (answered `start`), its deaths and its exit. */
  async function startedWorker() {
    const deaths: WorkerDeath[] = [];
    const caught: Caught = [];
    const worker = signalSafeForks((d) => deaths.push(d)).createPoolWorker(options('', caught));
    await worker.start();
    const messages = messagesOf(worker);
    const started = new Promise<void>((resolve) =>
      worker.on('message', (m: { type?: string }) => m.type === 'started' && resolve()),
    );
    const exit = exited(worker);
    worker.send({ type: 'start', __vitest_worker_request__: true } as never);
    await started;
    return { worker, deaths, caught, messages, exit };
  }

  test('a stop ends it by SIGTERM, as vitest does, and that is no death', async () => {
    const { worker, deaths, caught, messages, exit } = await startedWorker();
    // The pool's name: vitest reuses a worker without isolation only for a task of its name (`isEqualRunner`).
    expect(worker.name).toBe(SIGNAL_SAFE_FORKS);
    await worker.stop();
    expect(await exit).toBe('SIGTERM');
    expect([deaths, caught]).toEqual([[], []]);
    expect(messages).toEqual([{ type: 'started', __vitest_worker_response__: true }]);
  });

  test('killed as it runs: the death is reported as started, and its start stays as it was', async () => {
    const { worker, deaths, caught, messages, exit } = await startedWorker();
    // Ended from outside, as the out-of-memory killer would.
    process.kill((worker as unknown as { _fork: { pid: number } })._fork.pid, 'SIGKILL');
    expect(await exit).toBe('SIGKILL');
    expect(await settlesWithin(worker.stop(), 30_000)).toBe(true);
    expect(deaths).toEqual([{ signal: 'SIGKILL', started: true }]);
    expect(caught).toEqual([
      { message: 'a test worker was ended by SIGKILL (exit code 137) as it ran', type: WORKER_KILLED },
    ]);
    expect(messages).toEqual([{ type: 'started', __vitest_worker_response__: true }]);
  });
});

test('a batch whose worker is killed as it runs ends, and says so', async () => {
  const fixture = 'properties/runner/killed.fixture.ts';
  const result = await runBatch({
    suites: [{ name: 'fixture', file: fixture, operation: 'a run', statistics: null }],
    include: [fixture],
  });
  expect(result.errors).toContain('a test worker was ended by SIGKILL (exit code 137) as it ran');
  expect(result.errors.join('\n')).toContain(`Worker ${SIGNAL_SAFE_FORKS} emitted error`);
  expect(result.counts.get('fixture')?.failedTests.map((f) => f.test)).toEqual(['(unfinished)']);
}, 120_000);

/**
 * A preload that ends vitest's test workers by SIGKILL before vitest's worker code runs (the fixture's
 * file is never loaded), writing the time it did so to `stamp`; set through NODE_OPTIONS, which vitest's
 * workers inherit, for `run` only. Resolves with `run`'s result and how long after the death it ended.
 */
async function killedAtStart<T>(run: () => Promise<T>): Promise<{ result: T; afterDeathMs: number }> {
  const stamp = join(dist, 'killed-at');
  const preload = join(dist, 'kill-at-start.cjs');
  writeFileSync(
    preload,
    `if ((process.argv[1] ?? '').endsWith('/workers/forks.js')) {
  require('node:fs').writeFileSync(${JSON.stringify(stamp)}, String(Date.now()));
  process.kill(process.pid, 'SIGKILL');
}
`,
  );
  const saved = process.env.NODE_OPTIONS;
  process.env.NODE_OPTIONS = `${saved ?? ''} --require ${preload}`.trim();
  try {
    const result = await run();
    return { result, afterDeathMs: Date.now() - Number(readFileSync(stamp, 'utf8')) };
  } finally {
    if (saved === undefined) delete process.env.NODE_OPTIONS;
    else process.env.NODE_OPTIONS = saved;
  }
}

const KILLED_AT_START =
  'a test worker was ended by SIGKILL (exit code 137) as it started, before it reported to vitest: ' +
  'the test files given to it did not run';

// vitest's start timeout is a minute (`START_TIMEOUT`): a bound well under it, far over what it takes.
const WITHIN_MOMENTS_MS = 30_000;

test('a batch whose worker is killed as it starts ends within moments, and says so', async () => {
  const fixture = 'properties/runner/killed.fixture.ts';
  const { result, afterDeathMs } = await killedAtStart(() =>
    runBatch({
      suites: [{ name: 'fixture', file: fixture, operation: 'a run', statistics: null }],
      include: [fixture],
    }),
  );
  expect(afterDeathMs).toBeLessThan(WITHIN_MOMENTS_MS);
  // Once: said by the pool among vitest's errors, and not again from the batch's own list of deaths.
  expect(result.errors).toEqual([KILLED_AT_START, `[vitest-pool]: Worker ${SIGNAL_SAFE_FORKS} emitted error.`]);
  expect(result.counts.get('fixture')?.failedTests.map((f) => f.test)).toEqual(['(unfinished)']);
}, 120_000);

test("npm test's configuration runs on this pool: a worker killed as it starts fails the run at once", async () => {
  const fixture = 'properties/runner/killed.fixture.ts';
  const errors: Array<{ message: string; type?: string }> = [];
  const collector: Reporter = {
    onTestRunEnd(_modules, unhandledErrors) {
      for (const e of unhandledErrors) errors.push(e as { message: string; type?: string });
    },
  };
  const exitCode = process.exitCode;
  const { result: vitest, afterDeathMs } = await killedAtStart(async () => {
    const { startVitest } = await import('vitest/node');
    // vitest.config.ts, as `npm test` reads it, with only the fixture and the collector.
    return startVitest('test', [fixture], {
      run: true,
      watch: false,
      include: [fixture],
      reporters: [collector],
      coverage: { enabled: false },
    });
  });
  const failed = process.exitCode;
  process.exitCode = exitCode;
  expect(afterDeathMs).toBeLessThan(WITHIN_MOMENTS_MS);
  expect(vitest.config.pool).toBe(SIGNAL_SAFE_FORKS);
  expect(failed).toBe(1);
  expect(errors.map((e) => [e.type, e.message])).toContainEqual([WORKER_KILLED, KILLED_AT_START]);
}, 120_000);

test("without isolation, a worker runs file after file, as on vitest's own forks", async () => {
  // Four files on two workers: vitest's forks run them on at most two processes when not isolated.
  const root = mkdtempSync(join(tmpdir(), 'sekey-reuse-'));
  try {
    const pids = join(root, 'pids');
    const file = `import { appendFileSync } from 'node:fs';
test('pid', () => appendFileSync(${JSON.stringify(pids)}, process.pid + '\\n'));
`;
    for (const name of ['a', 'b', 'c', 'd']) writeFileSync(join(root, `${name}.test.mjs`), file);
    const { startVitest } = await import('vitest/node');
    const exitCode = process.exitCode;
    const vitest = await startVitest('test', [], {
      root,
      config: false,
      run: true,
      watch: false,
      globals: true,
      isolate: false,
      maxWorkers: 2,
      include: ['*.test.mjs'],
      reporters: [{}],
      pool: signalSafeForks(),
    });
    process.exitCode = exitCode;
    expect(vitest.state.getCountOfFailedTests()).toBe(0);
    const ran = readFileSync(pids, 'utf8').trim().split('\n');
    expect(ran).toHaveLength(4);
    expect(new Set(ran).size).toBeLessThanOrEqual(2);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}, 120_000);
