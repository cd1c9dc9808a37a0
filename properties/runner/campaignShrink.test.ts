/**
 * A campaign's shrink phase, with vitest's batches stood in for (`runBatch` mocked: each batch finds
 * two failures whose shrinking the budget cut; each shrink replay returns a smaller case) and the
 * stop signal raised by hand (`interrupt.ts` mocked): what the summary, the failure files and the
 * --json output say once the failures are shrunk on, or when a stop comes in the middle.
 */
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, expect, test, vi } from 'vitest';
import { parseRunnerArgs } from './args.ts';
import type { RunnerOptions } from './args.ts';
import { countOf, sink } from './fixtures.testkit.ts';
import type { DoneLine } from './progressLine.ts';
import type { ActiveBatch, Batch, BatchResult } from './runBatch.ts';

const h = vi.hoisted(() => ({
  stop: null as null | ((signal: 'SIGINT') => void),
  settle: null as null | ((signal: 'SIGINT') => Promise<void> | null),
  /** Raise SIGINT in the first batch, while a property shrinks: the batch then ends by itself. */
  stopWhileShrinking: false,
  waited: null as Promise<void> | null,
  /** Raise SIGINT while the second failure is shrunk on. */
  stopInSecondShrink: false,
  /** Raise SIGINT while the second failure is shrunk on, its property ending at its next run as the stop waits. */
  waitInSecondShrink: false,
  /** Raise SIGINT while the first failure is shrunk on; its replay then ends by itself, before the wait does. */
  waitInFirstShrink: false,
  /** End the first batch by a stop while a property shrinks, without the wait (Ctrl-C again): it is lost. */
  loseWhileShrinking: false,
  /** The first batch also fails in a fixed scenario (no seed), which ends the campaign early. */
  fixedToo: false,
  batches: [] as Batch[],
}));

vi.mock('./interrupt.ts', () => ({
  onStopSignal: (report: (signal: 'SIGINT') => void, settle: (signal: 'SIGINT') => Promise<void> | null) => {
    h.stop = report;
    h.settle = settle;
    return () => {
      h.stop = null;
      h.settle = null;
    };
  },
  STOP_SIGNALS: { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 },
}));

const found = (test: string, seed: number): DoneLine => ({
  kind: 'done',
  suite: 'kms',
  test,
  runs: 4,
  operations: 10,
  cpuMicros: 1,
  failed: true,
  interrupted: true,
  seed,
  path: '3:1',
  counterexample: '[[long]]',
  error: 'boom',
  reproduction: null,
});

vi.mock('./runBatch.ts', async (importOriginal) => ({
  ...(await importOriginal<typeof import('./runBatch.ts')>()),
  runBatch: async (
    batch: Batch,
    _onLines: unknown,
    onActive: (active: ActiveBatch | null) => void,
  ): Promise<BatchResult> => {
    h.batches.push(batch);
    const c = countOf('kms', { failures: 2, runs: 4 });
    const shrinking = [{ suite: 'kms', test: 'D > first' }];
    onActive({
      counts: () => new Map(),
      statistics: () => ({}),
      cleanUp: () => {},
      settle: () => (h.stopWhileShrinking ? { shrinking, ended: new Promise<void>(() => {}) } : null),
    });
    const seed = batch.seed ?? 0;
    if (h.loseWhileShrinking) {
      onActive({
        counts: () => new Map([['kms', countOf('kms', { runs: 2, shrinking: ['D > first'] })]]),
        statistics: () => ({}),
        cleanUp: () => {},
        settle: () => null,
      });
      h.stop?.('SIGINT');
      // The process ends in the stop (`onStopSignal`): the batch never returns.
      return new Promise<BatchResult>(() => {});
    }
    if (h.stopWhileShrinking) {
      h.waited = h.settle?.('SIGINT') ?? null;
      c.counterexamples.push(found('D > first', seed));
    } else if (batch.shrink !== true) {
      c.counterexamples.push(found('D > first', seed), found('D > second', seed));
      if (h.fixedToo) c.counterexamples.push({ ...found('D > warm-up', 0), seed: null, path: '', interrupted: false });
      // The budget ends during the batch, however late it started on a busy machine: one batch only.
      const deadline = batch.deadline ?? Date.now();
      while (Date.now() <= deadline) await new Promise((resolve) => setTimeout(resolve, deadline + 1 - Date.now()));
    } else if (h.waitInFirstShrink && /first/.test(batch.testPattern ?? '')) {
      onActive({
        counts: () => new Map(),
        statistics: () => ({}),
        cleanUp: () => {},
        settle: () => ({ shrinking: [{ suite: 'kms', test: 'D > first' }], ended: new Promise<void>(() => {}) }),
      });
      h.waited = h.settle?.('SIGINT') ?? null;
      c.counterexamples.push({ ...found('D > first', seed), path: '3:1:0', counterexample: '[[shorter]]' });
    } else if (h.waitInSecondShrink && /second/.test(batch.testPattern ?? '')) {
      // The stop asks the property to end at its next run; it does, with the case shrunk so far.
      const reached = { ...found('D > second', seed), path: '3:1:0', counterexample: '[[shorter]]' };
      onActive({
        counts: () => new Map([['kms', { ...countOf('kms', { failures: 1, runs: 1 }), counterexamples: [reached] }]]),
        statistics: () => ({}),
        cleanUp: () => {},
        settle: () => ({ shrinking: [{ suite: 'kms', test: 'D > second' }], ended: Promise.resolve() }),
      });
      h.waited = h.settle?.('SIGINT') ?? null;
      await h.waited;
      // What the stop's listener does once the wait is over (`onStopSignal`): the process then ends.
      h.stop?.('SIGINT');
    } else if (/first/.test(batch.testPattern ?? '') || !h.stopInSecondShrink) {
      const test = /first/.test(batch.testPattern ?? '') ? 'D > first' : 'D > second';
      c.counterexamples.push({
        ...found(test, seed),
        path: '3:1:0:0',
        counterexample: '[[short]]',
        interrupted: false,
      });
    } else {
      h.stop?.('SIGINT');
    }
    onActive(null);
    return { counts: new Map([['kms', c]]), errors: [], unrunnable: [], statistics: {} };
  },
}));

const { runCampaign } = await import('./campaign.ts');
const { main } = await import('./main.ts');

// A budget of 300 ms (room for the campaign to start its first batch on a loaded machine): that batch outlasts it.
const OPTIONS: RunnerOptions = {
  ...parseRunnerArgs(['--suite', 'kms', '--time', '1s', '--campaign', 'shrink-test']),
  timeMs: 300,
};

const folders: string[] = [];
afterEach(() => {
  for (const f of folders.splice(0)) rmSync(f, { recursive: true, force: true });
  h.stopInSecondShrink = false;
  h.waitInSecondShrink = false;
  h.waitInFirstShrink = false;
  h.stopWhileShrinking = false;
  h.loseWhileShrinking = false;
  h.fixedToo = false;
  h.waited = null;
  h.batches.length = 0;
});

const readJson = (path: string) => JSON.parse(readFileSync(path, 'utf8'));

test('after the budget both failures are shrunk on: files, summary and the replay agree', async () => {
  const { summary } = await runCampaign(OPTIONS);
  folders.push(summary.folder);
  const shrinks = h.batches.filter((b) => b.shrink === true);
  expect(shrinks.map((b) => [b.path, b.testPattern])).toEqual([
    ['3:1', 'first$'],
    ['3:1', 'second$'],
  ]);
  for (const n of [1, 2]) {
    const file = readJson(join(summary.folder, `failure-${n}.json`));
    expect(file).toMatchObject({ path: '3:1:0:0', counterexample: '[[short]]', shrinkCut: false });
    expect(readJson(join(summary.folder, 'summary.json')).failures[n - 1]).toEqual(file);
  }
  expect(summary.stoppedEarly).toBeNull();
});

test('a failure in a fixed scenario ends the campaign early; the failures the budget cut are shrunk on', async () => {
  h.fixedToo = true;
  const { summary } = await runCampaign(OPTIONS);
  folders.push(summary.folder);
  expect(summary.stoppedEarly).toMatch(/"D > warm-up" failed in a fixed scenario/);
  expect(h.batches.filter((b) => b.shrink === true).map((b) => b.testPattern)).toEqual(['first$', 'second$']);
  for (const n of [1, 2])
    expect(readJson(join(summary.folder, `failure-${n}.json`))).toMatchObject({ path: '3:1:0:0', shrinkCut: false });
});

test('--json: the failures and the suite rows give the same, shrunk, replay', async () => {
  const [stdout, stderr] = [sink(), sink()];
  await main(['--suite', 'kms', '--time', '1s', '--campaign', 'shrink-json', '--json'], { stdout, stderr });
  const out = JSON.parse(stdout.text());
  folders.push(out.folder);
  expect(out.failures.map((f: { replay: string }) => f.replay)).toEqual(
    out.suites[0].counterexamples.map((d: { replay: string }) => d.replay),
  );
  expect(out.failures[0].replay).toMatch(/--path "3:1:0:0"/);
  expect(stderr.text()).toMatch(/budget over: failure 1 \(kms: "D > first"\) was found as it ran out/);
});

test('a stop that ends a property as it shrinks (Ctrl-C again): its counterexample lost, named by seed', async () => {
  h.loseWhileShrinking = true;
  const [stdout, stderr] = [sink(), sink()];
  void main(['--suite', 'kms', '--runs', '7', '--time', '1s', '--campaign', 'shrink-lost'], { stdout, stderr });
  while (!/coverage per suite/.test(stdout.text())) await new Promise((resolve) => setTimeout(resolve, 10));
  const seed = h.batches[0]?.seed as number;
  const folder = /in (reports\/campaign-\S+)\/summary\.json/.exec(stdout.text())?.[1] as string;
  folders.push(folder);
  const rerun = `npm run properties -- --suite kms --seed=${seed} --test "first\\$" --runs 7`;
  expect(readJson(join(folder, 'summary.json')).lost).toEqual([
    { suite: 'kms', test: 'D > first', batch: 0, seed, rerun },
  ]);
  expect(stdout.text()).toContain(
    `lost: kms: "D > first" had found a counterexample in batch 0 and was shrinking it when the stop ended it; ` +
      `its seed finds it again: ${rerun}\n`,
  );
  expect(stdout.text()).toMatch(/^no counterexample saved; 1 counterexample lost \(above\); coverage per suite/m);
});

test('a stop while the second shrinks: the summary holds the first shrunk, says it stopped, and why', async () => {
  h.stopInSecondShrink = true;
  const stops: Array<{ stoppedEarly: string | null; failures: Array<{ path: string | null; shrinkCut: boolean }> }> =
    [];
  const { summary } = await runCampaign(OPTIONS, {
    onStop: (s) => {
      stops.push(readJson(join(s.folder, 'summary.json')));
    },
  });
  folders.push(summary.folder);
  expect(stops).toHaveLength(1);
  const written = stops[0] as (typeof stops)[number];
  expect(written.stoppedEarly).toMatch(/^stopped by SIGINT while shrinking on after the budget/);
  expect(written.failures.map((f) => [f.path, f.shrinkCut])).toEqual([
    ['3:1:0:0', false],
    ['3:1', true],
  ]);
  expect(readJson(join(summary.folder, 'failure-1.json')).path).toBe('3:1:0:0');
});

test('a stop while a failure is shrunk on after the budget waits for it, and saves the case it reached', async () => {
  h.waitInSecondShrink = true;
  const said: string[] = [];
  const stops: Array<{ stoppedEarly: string | null; failures: Array<{ path: string | null; shrinkCut: boolean }> }> =
    [];
  const { summary } = await runCampaign(OPTIONS, {
    onSettle: (message) => said.push(message),
    onStop: (s) => {
      stops.push(readJson(join(s.folder, 'summary.json')));
    },
  });
  folders.push(summary.folder);
  expect(h.waited).not.toBeNull();
  expect(said).toEqual([
    'SIGINT: keeping the counterexamples being shrunk (kms: "second"): each property ends at its next run with ' +
      'what it shrank so far (at most 1m00s; Ctrl-C again stops at once and loses them)',
  ]);
  expect(stops).toHaveLength(1);
  const written = stops[0] as (typeof stops)[number];
  expect(written.stoppedEarly).toMatch(/^stopped by SIGINT while shrinking on after the budget/);
  // The second keeps the case its shrinking on reached, not the one the budget cut (3:1); still cut short.
  expect(written.failures.map((f) => [f.path, f.shrinkCut])).toEqual([
    ['3:1:0:0', false],
    ['3:1:0', true],
  ]);
  expect(readJson(join(summary.folder, 'failure-2.json'))).toMatchObject({
    path: '3:1:0',
    counterexample: '[[shorter]]',
    shrinkCut: true,
  });
  expect(readJson(join(summary.folder, 'failure-2.json')).replay).toMatch(/--path "3:1:0" /);
});

test('a stop waiting for a failure shrunk on, whose replay ends by itself: saved, and no other is begun', async () => {
  h.waitInFirstShrink = true;
  const { summary, stopped } = await runCampaign(OPTIONS);
  folders.push(summary.folder);
  expect(stopped).toBe('SIGINT');
  expect(h.batches.filter((b) => b.shrink === true).map((b) => b.testPattern)).toEqual(['first$']);
  expect(summary.stoppedEarly).toMatch(/^stopped by SIGINT while shrinking on after the budget/);
  expect(summary.failures.map((f) => [f.path, f.shrinkCut])).toEqual([
    ['3:1:0', true],
    ['3:1', true],
  ]);
  expect(readJson(join(summary.folder, 'summary.json'))).toEqual(JSON.parse(JSON.stringify(summary)));
});

test('a stop waiting for a counterexample being shrunk: a batch ending meanwhile is the last', async () => {
  h.stopWhileShrinking = true;
  const said: string[] = [];
  const { summary, stopped } = await runCampaign(
    { ...OPTIONS, timeMs: 60_000 },
    {
      onSettle: (message) => said.push(message),
    },
  );
  folders.push(summary.folder);
  expect(h.waited).not.toBeNull();
  expect(said).toEqual([
    'SIGINT: keeping the counterexamples being shrunk (kms: "first"): each property ends at its next run with ' +
      'what it shrank so far (at most 1m00s; Ctrl-C again stops at once and loses them)',
  ]);
  // No batch after the stop, however much budget was left; no shrink phase for the failure it cut.
  expect(h.batches).toHaveLength(1);
  expect(stopped).toBe('SIGINT');
  expect(summary.stoppedEarly).toMatch(/^stopped by SIGINT after batch 0, which ended while the stop waited/);
  expect(summary.failures.map((f) => f.shrinkCut)).toEqual([true]);
  expect(readJson(join(summary.folder, 'summary.json')).stoppedEarly).toBe(summary.stoppedEarly);
});
