/**
 * A single pass stopped while a property shrinks a counterexample, with vitest's batch stood in for
 * (`runBatch` mocked) and the signal raised by hand (`interrupt.ts` mocked): whether the wait ends
 * first or the batch does (its last property was the one shrinking), the run closes as stopped.
 */
import { expect, test, vi } from 'vitest';
import { countOf, sink } from './fixtures.testkit.ts';
import type { DoneLine } from './progressLine.ts';
import type { ActiveBatch, BatchResult } from './runBatch.ts';

const h = vi.hoisted(() => ({
  settle: null as null | ((signal: 'SIGINT') => Promise<void> | null),
}));

vi.mock('./interrupt.ts', () => ({
  onStopSignal: (_report: unknown, settle: (signal: 'SIGINT') => Promise<void> | null) => {
    h.settle = settle;
    return () => {
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
    _batch: unknown,
    _onLines: unknown,
    onActive: (active: ActiveBatch | null) => void,
  ): Promise<BatchResult> => {
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

const { main } = await import('./main.ts');

test('a stop that waited closes as stopped, with the signal’s code, when the batch ends first', async () => {
  const [stdout, stderr] = [sink(), sink()];
  expect(await main(['--suite', 'kms'], { stdout, stderr })).toBe(130);
  expect(stderr.text()).toMatch(/^SIGINT: keeping the counterexamples being shrunk \(kms: "first"\)/m);
  expect(stdout.text()).toMatch(/shrinking cut short/);
  expect(stdout.text()).toMatch(/^stopped by SIGINT \(/m);
  expect(stdout.text()).not.toMatch(/FAILED/);
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
