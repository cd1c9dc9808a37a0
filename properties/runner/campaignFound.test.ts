/**
 * A campaign saves a failure as its property ends, not when its batch does: a batch of every suite
 * runs on for minutes after a counterexample, and a hang-up or a kill in that time lost the failure
 * (the folder held an empty summary, the reproduction stayed in reports/). vitest's batch is stood in
 * for (`runBatch` mocked): it reports a counterexample through its progress callback, looks at the
 * campaign folder while it is still running, then ends with the same counterexample in its counts.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, test, vi } from 'vitest';
import { parseRunnerArgs } from './args.ts';
import type { RunnerOptions } from './args.ts';
import type { DoneLine } from './progressLine.ts';
import type { ActiveBatch, Batch, BatchResult } from './runBatch.ts';
import type { SuiteCount } from './tally.ts';

const h = vi.hoisted(() => ({
  /** The campaign folder's files while the batch still ran, after the counterexample was reported. */
  seenWhileRunning: [] as string[],
  /** The reproduction the suite wrote (in a temporary folder standing in for reports/). */
  reproduction: '',
  /** The campaign's folder, as its first batch starts. */
  folder: '',
  /** Runs as the counterexample is reported, and after the look at the folder. */
  before: (_folder: string) => {},
  after: (_folder: string) => {},
}));

vi.mock('./runBatch.ts', () => ({
  runBatch: async (
    batch: Batch,
    onLines: (counts: ReadonlyMap<string, SuiteCount>) => void,
    onActive: (active: ActiveBatch | null) => void,
  ): Promise<BatchResult> => {
    const { countOf: count } = await import('./fixtures.testkit.ts');
    const { readdirSync: files } = await import('node:fs');
    const c = count('deployment');
    const counts = new Map([['deployment', c]]);
    onActive({ counts: () => counts, statistics: () => ({}), cleanUp: () => {}, settle: () => null });
    const done: DoneLine = {
      kind: 'done',
      suite: 'deployment',
      test: 'D > every invariant holds',
      runs: 3,
      operations: 30,
      cpuMicros: 1,
      failed: true,
      interrupted: false,
      seed: batch.seed ?? 0,
      path: '2:0@AB:C',
      counterexample: '22. U2 syncs',
      error: 'invariant smallest-group: step 22 (U2 syncs)',
      reproduction: h.reproduction,
    };
    c.counterexamples.push(done);
    h.before(h.folder);
    onLines(counts);
    // The property ended; the batch has other suites to run: what the folder holds by now.
    h.seenWhileRunning = files(h.folder).sort();
    h.after(h.folder);
    // The budget ends during the batch: one batch only.
    const deadline = batch.deadline ?? Date.now();
    while (Date.now() <= deadline) await new Promise((resolve) => setTimeout(resolve, deadline + 1 - Date.now()));
    // vitest's verdict on the same test, at the batch's end.
    c.failures = 1;
    c.tests = 1;
    c.failedTests.push({ suite: 'deployment', test: done.test, message: done.error ?? '' });
    onLines(counts);
    onActive(null);
    return { counts, errors: [], unrunnable: [], statistics: {} };
  },
}));

const { runCampaign } = await import('./campaign.ts');

// A budget of 300 ms (room for the campaign to start its first batch on a loaded machine): that batch outlasts it.
const OPTIONS: RunnerOptions = {
  ...parseRunnerArgs(['--suite', 'deployment', '--time', '1s', '--campaign', 'saved-as-found']),
  timeMs: 300,
};

const cleanUp: string[] = [];
afterEach(() => {
  for (const f of cleanUp.splice(0)) rmSync(f, { recursive: true, force: true });
  h.before = () => {};
  h.after = () => {};
});

test('a counterexample is saved with its reproduction as its property ends; the batch end saves it once', async () => {
  const reports = mkdtempSync(join(tmpdir(), 'sekey-found-'));
  cleanUp.push(reports);
  h.reproduction = join(reports, 'deployment-smallest-group.repro.test.ts');
  writeFileSync(h.reproduction, "import { replayScenario } from '../properties/deployment/runner.testkit.ts';\n");
  const { summary, totals } = await runCampaign(OPTIONS, {
    onBatch: ({ folder }) => {
      h.folder = folder;
    },
  });
  cleanUp.push(summary.folder);
  // Saved while the batch still ran: the failure, its reproduction moved in, and the summary naming it.
  const copy = 'failure-1-deployment-smallest-group.repro.test.ts';
  expect(h.seenWhileRunning).toEqual([copy, 'failure-1.json', 'summary.json']);
  expect(existsSync(h.reproduction)).toBe(false);
  // Once only, counterexample and vitest's failed test alike, in the files, the summary and the counts.
  expect(
    readdirSync(summary.folder)
      .filter((f) => f.startsWith('failure-'))
      .sort(),
  ).toEqual([copy, 'failure-1.json']);
  const saved = JSON.parse(readFileSync(join(summary.folder, 'failure-1.json'), 'utf8'));
  expect(saved).toMatchObject({ test: 'D > every invariant holds', path: '2:0@AB:C', batch: 0 });
  expect(saved.reproduction).toBe(join(summary.folder, copy));
  const written = JSON.parse(readFileSync(join(summary.folder, 'summary.json'), 'utf8'));
  expect(written.failures).toEqual([saved]);
  expect(written.batches.map((b: { failures: number }) => b.failures)).toEqual([1]);
  expect(summary.failures).toHaveLength(1);
  const deployment = totals.find((c) => c.suite === 'deployment');
  expect(deployment?.counterexamples.map((d) => d.reproduction)).toEqual([join(summary.folder, copy)]);
});

test('a save that fails as the property ends (a full disk, the folder gone) is left to the batch end', async () => {
  const reports = mkdtempSync(join(tmpdir(), 'sekey-found-'));
  cleanUp.push(reports);
  h.reproduction = join(reports, 'deployment-smallest-group.repro.test.ts');
  writeFileSync(h.reproduction, "import { replayScenario } from '../properties/deployment/runner.testkit.ts';\n");
  const copy = 'failure-1-deployment-smallest-group.repro.test.ts';
  // A folder where the reproduction's copy goes: its write fails, as on a full disk. It runs in the
  // batch's polling timer, where a throw ended the runner at once, the batch's workers still running.
  h.before = (folder) => mkdirSync(join(folder, copy));
  h.after = (folder) => rmSync(join(folder, copy), { recursive: true });
  const { summary } = await runCampaign(OPTIONS, {
    onBatch: ({ folder }) => {
      h.folder = folder;
    },
  });
  cleanUp.push(summary.folder);
  expect(h.seenWhileRunning).toEqual([copy, 'summary.json']);
  // Saved at the batch end, once, with its reproduction (not counted saved when its save failed).
  expect(
    readdirSync(summary.folder)
      .filter((f) => f.startsWith('failure-'))
      .sort(),
  ).toEqual([copy, 'failure-1.json']);
  expect(existsSync(h.reproduction)).toBe(false);
  const saved = JSON.parse(readFileSync(join(summary.folder, 'failure-1.json'), 'utf8'));
  expect(saved).toMatchObject({ path: '2:0@AB:C', reproduction: join(summary.folder, copy) });
  expect(summary.failures).toEqual([saved]);
  expect(summary.batches.map((b) => b.failures)).toEqual([1]);
});
