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
  // Runs seen when the shrinking began: the stop waits for three more, so that the case it keeps has
  // shrink steps (a shrink candidate passes, the next fails, …); a stop at once would keep the first.
  let found = -1;
  const result = await runBatch(
    {
      suites: [{ name: 'fixture', file: FIXTURE, operation: 'a run', statistics: null }],
      seed: 42,
      include: [FIXTURE],
    },
    (counts: ReadonlyMap<string, SuiteCount>) => {
      const c = counts.get('fixture');
      if (settled !== null || c === undefined || c.shrinking.length === 0) return;
      if (found < 0) found = c.runsSeen;
      if (c.runsSeen < found + 3) return;
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
  const kept = fixture.counterexamples[0];
  expect(kept).toMatchObject({ failed: true, interrupted: true, seed: 42 });
  // A case of the shrinking under way: its path has shrink steps, but it is not the minimal 1000.
  expect(kept?.path).toMatch(/^\d+:\d+/);
  expect(kept?.counterexample).not.toBe('[1000]');
  expect(fixture.shrinking).toEqual([]);
  // vitest's verdict: the test failed (with the counterexample), nothing crashed.
  expect([fixture.failures, result.errors]).toEqual([1, []]);
}, 120_000);

test('a SIGTERM to the whole process group while a property shrinks: the workers take it as the stop', async () => {
  let signalled = 0;
  const result = await runBatch(
    {
      suites: [{ name: 'fixture', file: FIXTURE, operation: 'a run', statistics: null }],
      seed: 42,
      include: [FIXTURE],
    },
    (counts: ReadonlyMap<string, SuiteCount>) => {
      if (signalled > 0 || (counts.get('fixture')?.shrinking.length ?? 0) === 0) return;
      // `kill -TERM -- -PGID`, GNU timeout, systemd: the workers hear it too, before the runner has asked.
      for (const pid of workers()) {
        process.kill(pid, 'SIGTERM');
        signalled += 1;
      }
    },
  );
  expect(signalled).toBeGreaterThan(0);
  const fixture = result.counts.get('fixture') as SuiteCount;
  expect(fixture.counterexamples).toHaveLength(1);
  expect(fixture.counterexamples[0]).toMatchObject({ failed: true, interrupted: true, seed: 42 });
  expect(fixture.counterexamples[0]?.counterexample).not.toBe('[1000]');
  // The worker was not killed: vitest's verdict, no crash.
  expect([fixture.failures, result.errors]).toEqual([1, []]);
}, 120_000);

test('a wait for a property whose worker is killed ends with the batch, not a minute later', async () => {
  let settled: Promise<void> | null = null;
  let active: ActiveBatch | null = null;
  const result = await runBatch(
    {
      suites: [{ name: 'fixture', file: FIXTURE, operation: 'a run', statistics: null }],
      seed: 42,
      include: [FIXTURE],
    },
    (counts: ReadonlyMap<string, SuiteCount>) => {
      if (settled !== null || (counts.get('fixture')?.shrinking.length ?? 0) === 0) return;
      settled = active?.settle(60_000)?.ended ?? null;
      // Its `done` line never comes (out of memory, a SIGKILL).
      for (const pid of workers()) process.kill(pid, 'SIGKILL');
    },
    (now) => {
      active = now;
    },
  );
  expect(settled).not.toBeNull();
  expect(result.errors.length).toBeGreaterThan(0);
  const t0 = Date.now();
  await settled;
  expect(Date.now() - t0).toBeLessThan(5_000);
}, 120_000);
