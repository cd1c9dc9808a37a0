/**
 * `--stop-at-failure`: a bug every batch finds again is saved once per batch, each shrunk anew (a
 * 2-minute campaign of one suite wrote seven files of one bug). With the option, the campaign ends
 * after the batch that saved a failure. vitest's batch is stood in for (`runBatch` mocked): each batch
 * ends at once with the same counterexample, so that without the option the budget runs several.
 */
import { rmSync } from 'node:fs';
import { afterEach, expect, test, vi } from 'vitest';
import { parseRunnerArgs } from './args.ts';
import type { Batch, BatchResult } from './runBatch.ts';

vi.mock('./runBatch.ts', async (original) => ({
  ...(await original<typeof import('./runBatch.ts')>()),
  runBatch: async (batch: Batch): Promise<BatchResult> => {
    const { countOf, counterexampleOf } = await import('./fixtures.testkit.ts');
    const c = countOf('kms', { tests: 1, failures: 1, runs: 3, properties: 1 });
    c.counterexamples.push(counterexampleOf('kms', 'K > a projection holds nothing', { seed: batch.seed ?? 0 }));
    // A moment per batch, so that the budget is not spent on thousands of them.
    await new Promise((resolve) => setTimeout(resolve, 20));
    return { counts: new Map([['kms', c]]), errors: [], unrunnable: [], statistics: {} };
  },
}));

const { runCampaign } = await import('./campaign.ts');

const folders: string[] = [];
afterEach(() => {
  for (const f of folders.splice(0)) rmSync(f, { recursive: true, force: true });
});

test('with --stop-at-failure a campaign ends after the batch that saved a failure; without, it goes on', async () => {
  const args = ['--suite', 'kms', '--time', '1s'];
  const on = await runCampaign({ ...parseRunnerArgs([...args, '--stop-at-failure']), timeMs: 600 }, {});
  folders.push(on.summary.folder);
  expect(on.summary.batches).toHaveLength(1);
  expect(on.summary.failures).toHaveLength(1);
  expect(on.summary.stoppedEarly).toBe('--stop-at-failure: batch 0 saved 1 failure');
  const off = await runCampaign({ ...parseRunnerArgs(args), timeMs: 600 }, {});
  folders.push(off.summary.folder);
  expect(off.summary.batches.length).toBeGreaterThan(1);
  expect(off.summary.failures).toHaveLength(off.summary.batches.length);
  expect(off.summary.stoppedEarly).toBeNull();
});

test('--stop-at-failure belongs to a campaign', () => {
  expect(() => parseRunnerArgs(['--stop-at-failure'])).toThrow(/--stop-at-failure ends a campaign: add --time/);
});
