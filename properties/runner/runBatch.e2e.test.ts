/**
 * End to end through vitest's workers: a stop while a property shrinks a counterexample keeps what it
 * shrank so far. The workers outlive a Ctrl-C (the terminal sends SIGINT to them too), vitest's own
 * signal listeners are gone while the batch runs, the batch asks the shrinking property to end
 * (`settle`), and its counterexample arrives, marked interrupted.
 */
import { execFileSync } from 'node:child_process';
import { expect, test } from 'vitest';
import { runBatch } from './runBatch.ts';
import type { ActiveBatch } from './runBatch.ts';
import type { SuiteCount } from './tally.ts';

const FIXTURE = 'properties/runner/shrinking.fixture.ts';

/** This process's children: the batch's vitest workers. */
function workers(): number[] {
  try {
    return execFileSync('pgrep', ['-P', String(process.pid)], { encoding: 'utf8' })
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map(Number);
  } catch {
    return [];
  }
}

test('a stop while a property shrinks: the workers outlive SIGINT, the case shrunk so far is kept', async () => {
  let active: ActiveBatch | null = null;
  let settled: Promise<void> | null = null;
  let signalled = 0;
  // vitest's own listeners would end this process 1 ms after a signal, cutting the wait short.
  const listening = () => process.listenerCount('SIGINT') + process.listenerCount('SIGTERM');
  const before = listening();
  let during = -1;
  const result = await runBatch(
    {
      suites: [{ name: 'fixture', file: FIXTURE, operation: 'a run', statistics: null }],
      seed: 42,
      include: [FIXTURE],
    },
    (counts: ReadonlyMap<string, SuiteCount>) => {
      if (settled !== null || (counts.get('fixture')?.shrinking.length ?? 0) === 0) return;
      during = listening();
      // Ctrl-C as a terminal sends it: to the workers as well.
      for (const pid of workers()) {
        process.kill(pid, 'SIGINT');
        signalled += 1;
      }
      settled = active?.settle(60_000)?.ended ?? null;
    },
    (now) => {
      active = now;
    },
  );
  expect(signalled).toBeGreaterThan(0);
  expect(during).toBe(before);
  expect(settled).not.toBeNull();
  await settled;
  const fixture = result.counts.get('fixture') as SuiteCount;
  expect(fixture.counterexamples).toHaveLength(1);
  const found = fixture.counterexamples[0];
  expect(found).toMatchObject({ failed: true, interrupted: true, seed: 42 });
  // A case of the shrinking under way: its path has shrink steps, but it is not the minimal 1000.
  expect(found?.path).toMatch(/^\d+:\d+/);
  expect(found?.counterexample).not.toBe('[1000]');
  expect(fixture.shrinking).toEqual([]);
  // vitest's verdict: the test failed (with the counterexample), nothing crashed.
  expect([fixture.failures, result.errors]).toEqual([1, []]);
}, 120_000);
