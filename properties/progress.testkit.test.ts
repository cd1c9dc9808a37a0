/**
 * A property made `stoppable` ends, once the runner asks while it shrinks a counterexample, at its
 * next run with what it shrank so far: fast-check's interruption, the path of that case replaying it.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { PropertyProgress, errorText } from './progress.testkit.ts';
import { propertyParams } from '../testing/runConfig.ts';
import { PROGRESS_FILE_ENV, STOP_FILE_ENV, parseProgress } from './runner/progressLine.ts';
import { addLine } from './runner/tally.ts';
import type { SuiteCount } from './runner/tally.ts';

/**
 * `progress.params(100, text)` for a fixture property. `params` starts the property, which under the
 * runner (a progress file named) installs the worker's signal listeners: this worker's own are left
 * as they were, the ones it installed taken off again.
 */
function paramsKeepingListeners(progress: PropertyProgress, text?: (values: [number]) => string) {
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
  const before = signals.map((signal) => process.listeners(signal));
  const params = progress.params<[number]>(100, text);
  signals.forEach((signal, i) => {
    for (const l of process.listeners(signal)) if (!before[i]?.includes(l)) process.off(signal, l);
  });
  return params;
}
describe('a property the runner stops while it shrinks', () => {
  let dir = '';
  let stopFile = '';
  let progressFile = '';
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'sekey-stoppable-'));
    stopFile = join(dir, 'stop');
    progressFile = join(dir, 'progress.jsonl');
    vi.stubEnv(PROGRESS_FILE_ENV, progressFile);
    vi.stubEnv(STOP_FILE_ENV, stopFile);
  });
  afterEach(() => {
    vi.unstubAllEnvs();
    rmSync(dir, { recursive: true, force: true });
  });

  /** The lines written besides run lines (every run writes one). */
  const kinds = () =>
    parseProgress(readFileSync(progressFile, 'utf8'))
      .lines.map((l) => l.kind)
      .filter((k) => k !== 'run');

  /** Fails for n ≥ 1000 (minimal counterexample: 1000); the stop is asked at the third failure. */
  function failingAbove(onFailure: (failures: number) => void) {
    let failures = 0;
    return (n: number) => {
      if (n < 1000) return true;
      failures += 1;
      onFailure(failures);
      return false;
    };
  }

  test('ends at its next run with the counterexample shrunk so far, whose path replays it', () => {
    const predicate = failingAbove((failures) => {
      if (failures === 3) writeFileSync(stopFile, '');
    });
    const property = fc.property(fc.integer({ min: 0, max: 1_000_000 }), predicate);
    const out = fc.check(new PropertyProgress('fixture').stoppable(property), { seed: 42, numRuns: 100 });
    expect([out.failed, out.interrupted]).toEqual([true, true]);
    const found = out.counterexample?.[0] as number;
    // Cut short: a case of the shrinking under way, not the minimal one.
    expect(found).toBeGreaterThan(1000);
    const withoutStop = fc.check(property, { seed: 42, numRuns: 100 });
    expect(withoutStop.counterexample).toEqual([1000]);
    // Its path leads to that case: what `--path` replays and `--shrink` goes on from.
    const replayed = fc.check(property, { seed: 42, path: out.counterexamplePath ?? '', endOnFailure: true });
    expect(replayed.counterexample).toEqual([found]);
    // One shrinking line, however many failures the shrinking met.
    expect(kinds()).toEqual(['shrinking']);
  });

  test("a run the suite did not count (it failed first) is a run line all the same: the table's runs", () => {
    // As restoredAdmin and encryptedDatabase count: a run's line once its checks passed.
    const progress = new PropertyProgress('fixture');
    const property = fc.property(fc.integer({ min: 0, max: 1_000_000 }), (n) => {
      if (n >= 1000) return false;
      progress.ran(1);
      return true;
    });
    const out = fc.check(progress.stoppable(property), { seed: 42, numRuns: 100 });
    expect(out.failed).toBe(true);
    const counts = new Map<string, SuiteCount>();
    for (const line of parseProgress(readFileSync(progressFile, 'utf8')).lines) addLine(counts, line);
    const c = counts.get('fixture') as SuiteCount;
    expect(c.runsSeen - c.shrinkingRunsSeen).toBe(out.numRuns);
    expect(c.shrinkingRunsSeen).toBeGreaterThan(0);
  });

  test('an asynchronous property the same', async () => {
    const predicate = failingAbove((failures) => {
      if (failures === 2) writeFileSync(stopFile, '');
    });
    const property = fc.asyncProperty(fc.integer({ min: 0, max: 1_000_000 }), async (n) => predicate(n));
    const out = await fc.check(new PropertyProgress('fixture').stoppable(property), { seed: 7, numRuns: 100 });
    expect([out.failed, out.interrupted]).toEqual([true, true]);
    expect(out.counterexample?.[0]).toBeGreaterThan(1000);
    expect(kinds()).toEqual(['shrinking']);
  });

  test('a stop before any counterexample changes nothing: the runner waits only for those shrinking', () => {
    writeFileSync(stopFile, '');
    const held = fc.check(new PropertyProgress('fixture').stoppable(fc.property(fc.nat(), () => true)), {
      seed: 1,
      numRuns: 50,
    });
    expect([held.failed, held.interrupted, held.numRuns]).toEqual([false, false, 50]);
    // Found with the stop already asked: reported as found, unshrunk (its next run is the stop).
    const property = fc.property(
      fc.integer({ min: 0, max: 1_000_000 }),
      failingAbove(() => {}),
    );
    const out = fc.check(new PropertyProgress('fixture').stoppable(property), { seed: 42, numRuns: 100 });
    expect([out.failed, out.interrupted, out.counterexamplePath?.includes(':')]).toEqual([true, true, false]);
    expect(kinds()).toEqual(['shrinking']);
  });

  test("past a campaign's deadline, the one run it still makes ends on its counterexample, unshrunk", () => {
    // A property that started after the budget: one run, and no time limit to cut its shrinking, which
    // ran on for as long as it took (2m45s for a kmsImpl live case at --scale 4): the campaign shrinks it on.
    vi.stubEnv('SEKEY_DEADLINE', String(Date.now() - 1));
    const params = propertyParams<[number]>(100);
    expect([params.numRuns, params.interruptAfterTimeLimit]).toEqual([1, undefined]);
    const property = fc.property(
      fc.integer({ min: 0, max: 1_000_000 }),
      failingAbove(() => {}),
    );
    // Seed 1 fails in its first run (a value far above the minimal 1000).
    const out = fc.check(new PropertyProgress('fixture').stoppable(property), { ...params, seed: 1 });
    expect([out.failed, out.interrupted, out.numRuns]).toEqual([true, true, 1]);
    const found = out.counterexample?.[0] as number;
    expect(found).toBeGreaterThan(1000);
    // Its path replays it, and shrinking on from it (the campaign's --shrink replay) reaches the minimal case.
    const path = out.counterexamplePath ?? '';
    expect(fc.check(property, { seed: 1, path, endOnFailure: true }).counterexample).toEqual([found]);
    expect(fc.check(property, { seed: 1, path }).counterexample).toEqual([1000]);
    // Before the deadline, the same property shrinks to the end.
    vi.stubEnv('SEKEY_DEADLINE', String(Date.now() + 600_000));
    const before = fc.check(new PropertyProgress('fixture').stoppable(property), { seed: 1, numRuns: 1 });
    expect([before.failed, before.interrupted, before.counterexample]).toEqual([true, false, [1000]]);
  });

  test('without the runner (no stop file named), it shrinks to the end and says nothing', () => {
    vi.stubEnv(STOP_FILE_ENV, '');
    vi.stubEnv(PROGRESS_FILE_ENV, '');
    const property = fc.property(
      fc.integer({ min: 0, max: 1_000_000 }),
      failingAbove(() => {}),
    );
    const out = fc.check(new PropertyProgress('fixture').stoppable(property), { seed: 42, numRuns: 100 });
    expect([out.failed, out.interrupted, out.counterexample]).toEqual([true, false, [1000]]);
  });

  test("a counterexample in words keeps fast-check's own print beside it, for programs", () => {
    const progress = new PropertyProgress('fixture');
    const params = paramsKeepingListeners(progress, ([n]) => `the number ${n}`);
    const property = fc.property(fc.integer({ min: 0, max: 1_000_000 }), (n) => n < 1000);
    expect(() => progress.assert(property, { ...params, seed: 42 })).toThrow(/In words:\n {2}the number 1000/);
    const done = parseProgress(readFileSync(progressFile, 'utf8')).lines.find((l) => l.kind === 'done');
    expect(done).toMatchObject({ failed: true, counterexample: 'the number 1000', value: '[1000]' });
  });

  test('an assertion that compared two values keeps where they differ, which its message elides', () => {
    const progress = new PropertyProgress('fixture');
    const params = paramsKeepingListeners(progress);
    const report = (n: number) => ({
      created: [],
      steps: n < 3 ? [] : [{ keyId: 'K2000', to: 'deactivated' }],
      a: 1,
      b: 2,
    });
    const property = fc.property(fc.integer({ min: 0, max: 10 }), (n) => {
      expect(report(n), 'change report').toEqual(report(0));
    });
    expect(() => progress.assert(property, { ...params, seed: 42 })).toThrow();
    const done = parseProgress(readFileSync(progressFile, 'utf8')).lines.find((l) => l.kind === 'done');
    expect(done?.error).toMatch(/^AssertionError: change report: expected \{[^\n]*…/);
    expect(done?.error?.split('\n').slice(1)).toEqual([
      '  differs at steps: actual [{"keyId":"K2000","to":"deactivated"}], expected []',
    ]);
  });

  test('two plain values get no such line: the message says it all', () => {
    expect(errorText(Object.assign(new Error('expected false to be true'), { actual: false, expected: true }))).toBe(
      'Error: expected false to be true',
    );
    expect(errorText(Object.assign(new Error('x'), { actual: { a: 1 }, expected: { a: 2 } }))).toBe(
      'Error: x\n  differs at a: actual 1, expected 2',
    );
  });
});

describe('a replay that ends on its case (SEKEY_PATH without SEKEY_SHRINK)', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  /** A property that holds, and the values it was run on. */
  function holding(skipFirst = false) {
    const seen: number[] = [];
    const property = fc.property(fc.nat(), (n) => {
      seen.push(n);
      // A case this code skips: a path it no longer fits.
      fc.pre(!skipFirst || seen.length > 1);
      return true;
    });
    return { seen, property };
  }

  test('runs its one case when it passes, where fast-check alone goes on from it', () => {
    for (const path of ['3', '0:0']) {
      vi.stubEnv('SEKEY_PATH', path);
      const { seen, property } = holding();
      const out = fc.check(new PropertyProgress('fixture').stoppable(property), { seed: 42, numRuns: 20, path });
      expect([out.failed, out.numRuns, seen.length], path).toEqual([false, 1, 1]);
      // Shrinking on from it (SEKEY_SHRINK), fast-check's own walk: the cases after it too.
      vi.stubEnv('SEKEY_SHRINK', '1');
      const on = holding();
      expect(
        fc.check(new PropertyProgress('fixture').stoppable(on.property), { seed: 42, numRuns: 20, path }).numRuns,
      ).toBeGreaterThan(1);
      vi.stubEnv('SEKEY_SHRINK', '');
    }
  });

  test('a case the property skips is no run: it goes on to the next, not to a failure of no run', () => {
    vi.stubEnv('SEKEY_PATH', '3');
    const { seen, property } = holding(true);
    const out = fc.check(new PropertyProgress('fixture').stoppable(property), { seed: 42, numRuns: 20, path: '3' });
    expect([out.failed, out.numRuns, out.numSkips, seen.length]).toEqual([false, 1, 1, 2]);
  });
});
