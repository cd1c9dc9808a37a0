/**
 * The runner's forks pool against vitest's own, on a stand-in worker: a process the test writes as
 * vitest's worker entry point (`workers/forks.js` under the pool's `distPath`) that answers vitest's
 * `start` message, or ends itself by SIGKILL first. And through a real batch: a worker killed as it
 * runs is named in the batch's errors.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, describe, expect, test } from 'vitest';
import { ForksPoolWorker } from 'vitest/node';
import type { PoolOptions, PoolWorker } from 'vitest/node';
import { runBatch } from './runBatch.ts';
import { SIGNAL_SAFE_FORKS, deathText, signalSafeForks } from './signalSafeForks.ts';
import type { WorkerDeath } from './signalSafeForks.ts';

const dist = mkdtempSync(join(tmpdir(), 'sekey-forks-'));
afterAll(() => rmSync(dist, { recursive: true, force: true }));
mkdirSync(join(dist, 'workers'));
// The stand-in for vitest's worker: started on vitest's `start` message, unless told to die first.
writeFileSync(
  join(dist, 'workers', 'forks.js'),
  `if (process.env.DIE === 'at start') process.kill(process.pid, 'SIGKILL');
process.on('message', (m) => {
  if (m && m.type === 'start') process.send({ type: 'started', __vitest_worker_response__: true });
});
`,
);

/** Options as vitest's pool passes them, with only what a forks worker reads. */
function options(die: boolean): PoolOptions {
  const logger = { outputStream: new PassThrough(), errorStream: new PassThrough() };
  return {
    distPath: dist,
    project: { vitest: { logger } },
    method: 'run',
    environment: { name: 'node', options: null },
    env: { ...process.env, DIE: die ? 'at start' : '' },
    execArgv: [],
  } as unknown as PoolOptions;
}

/** Resolves with the worker's `exit` signal. Listened to once it has started, in the same tick (exit comes later). */
function exited(worker: PoolWorker): Promise<NodeJS.Signals | null> {
  return new Promise((resolve) =>
    worker.on('exit', ((_: number | null, signal: NodeJS.Signals | null) => resolve(signal)) as (arg: unknown) => void),
  );
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
    const worker = new ForksPoolWorker(options(true));
    await worker.start();
    const exit = exited(worker);
    expect(await exit).toBe('SIGKILL');
    expect(await settlesWithin(worker.stop(), 2_000)).toBe(false);
  });

  test("the runner's pool stops it at once and reports the death, not started", async () => {
    const deaths: WorkerDeath[] = [];
    const worker = signalSafeForks((d) => deaths.push(d)).createPoolWorker(options(true));
    await worker.start();
    const exit = exited(worker);
    expect(await exit).toBe('SIGKILL');
    // Not a time limit: vitest's own stop never settles (above); this one settles at once.
    expect(await settlesWithin(worker.stop(), 30_000)).toBe(true);
    expect(deaths).toEqual([{ signal: 'SIGKILL', started: false }]);
    expect(deathText(deaths[0] as WorkerDeath)).toBe(
      'a test worker was ended by SIGKILL (exit code 137) as it started, before it reported to vitest',
    );
  });
});

describe('a test worker that starts', () => {
  /** A worker of the runner's pool that has started (answered `start`), its deaths and its exit. */
  async function startedWorker() {
    const deaths: WorkerDeath[] = [];
    const worker = signalSafeForks((d) => deaths.push(d)).createPoolWorker(options(false));
    await worker.start();
    const started = new Promise<void>((resolve) =>
      worker.on('message', (m: { type?: string }) => m.type === 'started' && resolve()),
    );
    const exit = exited(worker);
    worker.send({ type: 'start', __vitest_worker_request__: true } as never);
    await started;
    return { worker, deaths, exit };
  }

  test('a stop ends it by SIGTERM, as vitest does, and that is no death', async () => {
    const { worker, deaths, exit } = await startedWorker();
    expect(worker.name).toBe('forks');
    await worker.stop();
    expect(await exit).toBe('SIGTERM');
    expect(deaths).toEqual([]);
  });

  test('killed as it runs: the death is reported as started', async () => {
    const { worker, deaths, exit } = await startedWorker();
    // Ended from outside, as the out-of-memory killer would.
    process.kill((worker as unknown as { _fork: { pid: number } })._fork.pid, 'SIGKILL');
    expect(await exit).toBe('SIGKILL');
    expect(await settlesWithin(worker.stop(), 30_000)).toBe(true);
    expect(deaths).toEqual([{ signal: 'SIGKILL', started: true }]);
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
