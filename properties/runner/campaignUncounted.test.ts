/**
 * A campaign whose suite counted no operation for its runs (updateAttacks and restoredAdmin count a
 * run's operations once it passed) says so as its table does, with `—`: its closing line said "0
 * operations" under a table of `—`, and summary.json and --json gave 0 operations at 0.0 per CPU-second.
 * vitest's batch is stood in for (`runBatch` mocked): one updateAttacks run that failed, and no operation.
 */
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, expect, test, vi } from 'vitest';
import type { Batch, BatchResult } from './runBatch.ts';
import type { CampaignSummary } from './campaign.ts';

const TEST = 'update files delivered under any names > every file present applies in one sync';

vi.mock('./runBatch.ts', async (original) => ({
  ...(await original<typeof import('./runBatch.ts')>()),
  runBatch: async (batch: Batch): Promise<BatchResult> => {
    const { countOf, counterexampleOf } = await import('./fixtures.testkit.ts');
    const c = countOf('updateAttacks', { tests: 1, failures: 1, runs: 1, properties: 1, cpuMicros: 1000 });
    c.counterexamples.push(counterexampleOf('updateAttacks', TEST, { seed: batch.seed ?? 0, operations: 0 }));
    return { counts: new Map([['updateAttacks', c]]), errors: [], unrunnable: [], statistics: {} };
  },
}));

const { main } = await import('./main.ts');
const { sink } = await import('./fixtures.testkit.ts');

const folders: string[] = [];
afterEach(() => {
  for (const f of folders.splice(0)) rmSync(f, { recursive: true, force: true });
});

/** Runs a one-batch campaign of updateAttacks; its output and its folder (removed after the test). */
async function campaign(json: boolean): Promise<{ text: string; folder: string }> {
  const [stdout, stderr] = [sink(), sink()];
  const args = ['--suite', 'updateAttacks', '--time', '10s', '--stop-at-failure', ...(json ? ['--json'] : [])];
  expect(await main(args, { stdout, stderr })).toBe(1);
  const text = stdout.text();
  const folder = json
    ? (JSON.parse(text) as CampaignSummary).folder
    : (/failure saved in (\S+)\/ \(summary\.json\)/.exec(text)?.[1] as string);
  folders.push(folder);
  return { text, folder };
}

test("a campaign's closing line and summary.json give none to a suite that counted no operation", async () => {
  const { text, folder } = await campaign(false);
  expect(text).toMatch(/^updateAttacks +1 +— +— +1 +-$/m);
  expect(text).toMatch(/, 1 run, operations not counted \(updateAttacks\) in /);
  expect(text).not.toMatch(/0 operations/);
  const summary = JSON.parse(readFileSync(join(folder, 'summary.json'), 'utf8')) as CampaignSummary;
  expect(summary.suites['updateAttacks']).toMatchObject({ runs: 1, operations: null, opsPerCpuSecond: null });
  expect(summary.batches.map((b) => [b.runs, b.operations])).toEqual([[1, null]]);
});

test("--json's rows of a campaign give a suite that counted no operation none, as the table", async () => {
  const { text } = await campaign(true);
  const out = JSON.parse(text) as { suites: Array<Record<string, unknown>> };
  expect(out.suites).toEqual([expect.objectContaining({ suite: 'updateAttacks', operations: null })]);
  expect(out.suites[0]?.['opsPerCpuSecond']).toBeNull();
});
