/**
 * A campaign shard that has run every seed it owns (`shardBatchIndex` returns null: after some 4,300
 * batches of a campaign split a million ways; here after two, `seeds.ts` mocked) ends as a budget
 * does: a failure whose shrinking was cut is shrunk on, and `summary.json` says why it stopped.
 * vitest's batches are stood in for (`runBatch` mocked).
 */
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, expect, test, vi } from 'vitest';
import { parseRunnerArgs } from './args.ts';
import { countOf } from './fixtures.testkit.ts';
import type { Batch, BatchResult } from './runBatch.ts';

const h = vi.hoisted(() => ({ batches: [] as Batch[] }));

vi.mock('./seeds.ts', async (importOriginal) => {
  const seeds = await importOriginal<typeof import('./seeds.ts')>();
  return {
    ...seeds,
    shardBatchIndex: (shard: { index: number; count: number }, k: number) =>
      k >= 2 ? null : seeds.shardBatchIndex(shard, k),
  };
});

vi.mock('./runBatch.ts', async (importOriginal) => ({
  ...(await importOriginal<typeof import('./runBatch.ts')>()),
  runBatch: async (batch: Batch, _onLines: unknown, onActive: (active: null) => void): Promise<BatchResult> => {
    h.batches.push(batch);
    const shrinkingOn = batch.shrink === true;
    const c = countOf('kms', { failures: shrinkingOn ? 0 : 1, runs: 4 });
    // The first batch finds a counterexample and the budget's end (here: the seeds') cuts its shrinking.
    if (!shrinkingOn && h.batches.length === 1)
      c.counterexamples.push({
        kind: 'done',
        suite: 'kms',
        test: 'D > first',
        runs: 4,
        operations: 10,
        cpuMicros: 1,
        failed: true,
        interrupted: true,
        seed: batch.seed ?? 0,
        path: '3:1',
        counterexample: '[[long]]',
        error: 'boom',
        reproduction: null,
      });
    onActive(null);
    return { counts: new Map([['kms', c]]), errors: [], unrunnable: [], statistics: {} };
  },
}));

const { runCampaign } = await import('./campaign.ts');

const folders: string[] = [];
afterEach(() => {
  for (const f of folders.splice(0)) rmSync(f, { recursive: true, force: true });
});

test('a shard out of seeds shrinks on what it found, and its summary on disk says why it stopped', async () => {
  h.batches.length = 0;
  const { summary } = await runCampaign(
    parseRunnerArgs(['--suite', 'kms', '--time', '60s', '--campaign', 'seeds-end']),
  );
  folders.push(summary.folder);
  expect(h.batches.filter((b) => b.shrink !== true)).toHaveLength(2);
  // Shrunk on after the seeds, as after a budget (before, the stop left it cut, with most of the budget left).
  expect(h.batches.filter((b) => b.shrink === true)).toHaveLength(1);
  expect(summary.stoppedEarly).toBe('shard 1/1 ran every seed it owns');
  const onDisk = JSON.parse(readFileSync(join(summary.folder, 'summary.json'), 'utf8')) as typeof summary;
  expect(onDisk.stoppedEarly).toBe(summary.stoppedEarly);
  expect(onDisk.endedAt).toBe(summary.endedAt);
});
