/**
 * A single pass stopped while a property shrinks a counterexample, with vitest's batch stood in for
 * (`runBatch` mocked) and the signal raised by hand (`interrupt.ts` mocked): whether the wait ends
 * first or the batch does (its last property was the one shrinking), the run closes as stopped.
 */
import { expect, test, vi } from 'vitest';
import { countOf, sink } from './fixtures.testkit.ts';
import type { DoneLine } from './progressLine.ts';
import { CI_SEED } from '../../testing/runConfig.ts';
import type { ActiveBatch, BatchResult } from './runBatch.ts';

const h = vi.hoisted(() => ({
  report: null as null | ((signal: 'SIGINT') => void),
  settle: null as null | ((signal: 'SIGINT') => Promise<void> | null),
  /** The stop ends the property as it shrinks, without the wait (Ctrl-C again): it is lost. */
  lose: false,
  seeds: [] as Array<number | undefined>,
}));

vi.mock('./interrupt.ts', () => ({
  onStopSignal: (report: (signal: 'SIGINT') => void, settle: (signal: 'SIGINT') => Promise<void> | null) => {
    h.report = report;
    h.settle = settle;
    return () => {
      h.report = null;
      h.settle = null;
    };
  },
  STOP_SIGNALS: { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 },
}));

const cut: DoneLine = {
  kind: 'done',
  suite: 'kms',
  test: 'D > first',
  runs: 4,
  operations: 40,
  cpuMicros: 1000,
  failed: true,
  interrupted: true,
  seed: 42,
  path: '3:1',
  counterexample: '[[long]]',
  error: 'Error: expected',
  reproduction: null,
};

vi.mock('./runBatch.ts', async (importOriginal) => ({
  ...(await importOriginal<typeof import('./runBatch.ts')>()),
  runBatch: async (
    batch: { readonly seed?: number },
    _onLines: unknown,
    onActive: (active: ActiveBatch | null) => void,
  ): Promise<BatchResult> => {
    h.seeds.push(batch.seed);
    if (h.lose) {
      onActive({
        counts: () => new Map([['kms', countOf('kms', { runs: 2, shrinking: ['D > first'] })]]),
        statistics: () => ({}),
        cleanUp: () => {},
        settle: () => null,
      });
      h.report?.('SIGINT');
      // The process ends in the stop (`onStopSignal`): the batch never returns.
      return new Promise<BatchResult>(() => {});
    }
    onActive({
      counts: () => new Map(),
      statistics: () => ({}),
      cleanUp: () => {},
      settle: () => ({ shrinking: [{ suite: 'kms', test: 'D > first' }], ended: new Promise<void>(() => {}) }),
    });
    // Ctrl-C while it shrinks; the property ends at its next run and the batch with it, before the wait.
    h.settle?.('SIGINT');
    const c = countOf('kms', { failures: 1, runs: 4, tests: 1 });
    c.counterexamples.push(cut);
    onActive(null);
    return { counts: new Map([['kms', c]]), errors: [], unrunnable: [], statistics: {} };
  },
}));

const { main, passSeed } = await import('./main.ts');

test('a stop that waited closes as stopped, with the signal’s code, when the batch ends first', async () => {
  const [stdout, stderr] = [sink(), sink()];
  expect(await main(['--suite', 'kms'], { stdout, stderr })).toBe(130);
  expect(stderr.text()).toMatch(/^SIGINT: keeping the counterexamples being shrunk \(kms: "first"\)/m);
  expect(stdout.text()).toMatch(/shrinking cut short/);
  expect(stdout.text()).toMatch(/^stopped by SIGINT \(/m);
  expect(stdout.text()).not.toMatch(/FAILED/);
});

test('with --json, the counterexample whose shrinking the stop cut says so, and how to shrink on', async () => {
  const [stdout, stderr] = [sink(), sink()];
  expect(await main(['--suite', 'kms', '--json'], { stdout, stderr })).toBe(130);
  const report = JSON.parse(stdout.text()) as {
    suites: Array<{ counterexamples: Array<{ replay: string; shrinkCut: boolean; shrinkOn: string | null }> }>;
  };
  const [found] = report.suites[0]?.counterexamples ?? [];
  expect(found?.shrinkCut).toBe(true);
  expect(found?.shrinkOn).toBe(`${found?.replay} --shrink`);
  expect(found?.replay).toMatch(/--seed[= ]42 .*--path[= ]"?3:1/);
});

test('a replay stopped while its case is reported says it waits for that report, not for a shrink', async () => {
  const [stdout, stderr] = [sink(), sink()];
  const replay = ['--suite', 'kms', '--seed', '42', '--path', '3:1', '--test', 'first'];
  expect(await main(replay, { stdout, stderr })).toBe(130);
  expect(stderr.text()).toMatch(/^SIGINT: waiting for the report of the counterexample replayed \(kms: "first"\)/m);
  expect(stderr.text()).not.toMatch(/being shrunk/);
  // With --shrink, the replay shrinks on from its case: what it waits for is being shrunk.
  const [out2, err2] = [sink(), sink()];
  expect(await main([...replay, '--shrink'], { stdout: out2, stderr: err2 })).toBe(130);
  expect(err2.text()).toMatch(/^SIGINT: keeping the counterexamples being shrunk \(kms: "first"\)/m);
});

test('a stop that ends a property as it shrinks (Ctrl-C again) names it lost, with the seed to find it', async () => {
  h.lose = true;
  try {
    const [stdout, stderr] = [sink(), sink()];
    void main(['--suite', 'kms', '--scale', '2'], { stdout, stderr });
    while (!/^stopped by SIGINT/m.test(stdout.text())) await new Promise((resolve) => setTimeout(resolve, 10));
    // No --seed, no CI: one drawn for the pass, which every property ran at and the closing lines name.
    const seed = h.seeds.at(-1) as number;
    expect(Number.isSafeInteger(seed)).toBe(true);
    expect(stdout.text()).toContain(
      `lost: kms: "D > first" had found a counterexample and was shrinking it when the stop ended it; its seed ` +
        `finds it again: npm run properties -- --suite kms --seed=${seed} --scale 2 --test "first\\$"\n`,
    );
    expect(stdout.text()).toMatch(new RegExp(`^stopped by SIGINT \\([^,]+, seed ${seed}\\)`, 'm'));
  } finally {
    h.lose = false;
  }
});

test('the seed of a pass: the one given, CI’s, or one drawn as fast-check draws it', () => {
  expect(passSeed(-5, true)).toBe(-5);
  expect(passSeed(undefined, true)).toBe(CI_SEED);
  expect(passSeed(undefined, false, () => 77)).toBe(77);
  const drawn = passSeed(undefined, false);
  expect(Number.isSafeInteger(drawn) && drawn >= -(2 ** 31) && drawn < 2 ** 31).toBe(true);
});
