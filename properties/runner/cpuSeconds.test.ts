/**
 * The CPU seconds the runner writes out, at its two places (`--json`'s rows and a campaign's
 * summary.json), are to the millisecond, as `cpuSecondsOf` gives them: a run of 0.0123 s shows 0.012,
 * not 0.01 (tally.test.ts checks the function, not that they use it). vitest's batch is stood in for
 * (`runBatch` mocked): one kms property of 0.0123 CPU-seconds.
 */
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, expect, test, vi } from 'vitest';
import { parseRunnerArgs } from './args.ts';
import type { RunnerOptions } from './args.ts';
import type { ActiveBatch, Batch, BatchResult } from './runBatch.ts';
import type { SuiteCount } from './tally.ts';

vi.mock('./runBatch.ts', async (importOriginal) => ({
  ...(await importOriginal<typeof import('./runBatch.ts')>()),
  runBatch: async (
    batch: Batch,
    _onLines: (counts: ReadonlyMap<string, SuiteCount>) => void,
    onActive: (active: ActiveBatch | null) => void,
  ): Promise<BatchResult> => {
    const { countOf } = await import('./fixtures.testkit.ts');
    const counts = new Map([['kms', countOf('kms', { runs: 2, operations: 123, cpuMicros: 12_300, properties: 1 })]]);
    onActive(null);
    // A campaign's batch lasts its budget: one batch only.
    const deadline = batch.deadline ?? Date.now();
    while (Date.now() <= deadline) await new Promise((resolve) => setTimeout(resolve, deadline + 1 - Date.now()));
    return { counts, errors: [], unrunnable: [], statistics: {} };
  },
}));

const { main } = await import('./main.ts');
const { runCampaign } = await import('./campaign.ts');
const { sink } = await import('./fixtures.testkit.ts');

const folders: string[] = [];
afterEach(() => {
  for (const f of folders.splice(0)) rmSync(f, { recursive: true, force: true });
});

test("--json's rows give the CPU seconds to the millisecond", async () => {
  const [stdout, stderr] = [sink(), sink()];
  expect(await main(['--suite', 'kms', '--seed', '1', '--json'], { stdout, stderr })).toBe(0);
  const out = JSON.parse(stdout.text()) as { suites: Array<{ cpuSeconds: number; opsPerCpuSecond: number }> };
  expect(out.suites.map((s) => s.cpuSeconds)).toEqual([0.012]);
  expect(out.suites[0]?.opsPerCpuSecond).toBe(10_000);
});

test("a campaign's summary.json gives the CPU seconds to the millisecond", async () => {
  // A budget of 300 ms: the one batch outlasts it.
  const options: RunnerOptions = {
    ...parseRunnerArgs(['--suite', 'kms', '--time', '1s', '--campaign', 'cpu-seconds']),
    timeMs: 300,
  };
  const { summary } = await runCampaign(options);
  folders.push(summary.folder);
  const onDisk = JSON.parse(readFileSync(join(summary.folder, 'summary.json'), 'utf8')) as typeof summary;
  expect(onDisk.suites['kms']?.cpuSeconds).toBe(0.012);
});
