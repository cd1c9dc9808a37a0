import { describe, expect, test } from 'vitest';
import type { DoneLine } from './progressLine.ts';
import { addLine, cpuSecondsOf, emptyCount, madeText, mergeCount, opsPerCpuSecond, unfinishedIn } from './tally.ts';
import type { SuiteCount } from './tally.ts';

const done = (figures: Partial<DoneLine>): DoneLine => ({
  kind: 'done',
  suite: 'kms',
  test: 't',
  runs: 0,
  operations: 0,
  cpuMicros: 0,
  failed: false,
  interrupted: false,
  seed: 1,
  path: '',
  counterexample: null,
  error: null,
  reproduction: null,
  ...figures,
});

describe('counts per suite', () => {
  test('begin, run and done lines add up per suite', () => {
    const counts = new Map<string, SuiteCount>();
    addLine(counts, { kind: 'begin', suite: 'kms', test: 'a', planned: 10 });
    addLine(counts, { kind: 'run', suite: 'kms', test: 'a', operations: 4 });
    addLine(counts, { kind: 'run', suite: 'kms', test: 'a', operations: 6 });
    addLine(counts, done({ test: 'a', runs: 2, operations: 10, cpuMicros: 500_000 }));
    addLine(counts, { kind: 'begin', suite: 'deployment', test: 'b', planned: 3 });
    addLine(counts, done({ suite: 'deployment', test: 'b', runs: 1, operations: 5, failed: true, seed: 9, path: '0' }));
    const kms = counts.get('kms') as SuiteCount;
    // It ended after 2 of its 10 planned runs: 2 is all that is expected of it now.
    expect(kms).toMatchObject({ planned: 2, runsSeen: 2, operationsSeen: 10, runs: 2, operations: 10, properties: 1 });
    expect(kms.propertyTests).toEqual(['a']);
    expect(opsPerCpuSecond(kms)).toBe(20);
    const deployment = counts.get('deployment') as SuiteCount;
    expect(deployment.counterexamples.map((d) => d.seed)).toEqual([9]);
    expect(opsPerCpuSecond(deployment)).toBe(0);
  });

  test('the CPU seconds reported are fine enough to give the operations per CPU-second beside them', () => {
    // A short run: 757 operations in 86,812 µs. At 0.01 s steps its CPU time read 0.09 s, which gives 8,411 a
    // second beside the 8,720 reported.
    const c = { operations: 757, cpuMicros: 86_812 };
    expect(cpuSecondsOf(c)).toBe(0.087);
    expect(Math.abs(c.operations / cpuSecondsOf(c) - opsPerCpuSecond(c))).toBeLessThan(0.01 * opsPerCpuSecond(c));
  });

  test('what the properties begun and not ended made is kept apart, and said for a stop', () => {
    const counts = new Map<string, SuiteCount>();
    addLine(counts, { kind: 'begin', suite: 'kms', test: 'a', planned: 10 });
    addLine(counts, { kind: 'run', suite: 'kms', test: 'a', operations: 4 });
    addLine(counts, done({ test: 'a', runs: 1, operations: 4, cpuMicros: 100 }));
    addLine(counts, { kind: 'begin', suite: 'kms', test: 'b', planned: 10 });
    addLine(counts, { kind: 'run', suite: 'kms', test: 'b', operations: 5 });
    addLine(counts, { kind: 'run', suite: 'kms', test: 'b', operations: 7 });
    addLine(counts, { kind: 'begin', suite: 'updateAttacks', test: 'c', planned: 5 });
    const unfinished = unfinishedIn(counts.values());
    expect(unfinished).toEqual([
      { suite: 'kms', test: 'b', runs: 2, operations: 12 },
      { suite: 'updateAttacks', test: 'c', runs: 0, operations: 0 },
    ]);
    // The ended property's figures are the totals'; the unfinished one's are not in them.
    expect(counts.get('kms')).toMatchObject({ runs: 1, operations: 4, runsSeen: 3 });
    expect(madeText(unfinished.filter((u) => u.runs > 0))).toBe(
      ': they had made 2 runs, 12 operations (kms: "b" 2 runs)',
    );
    expect(madeText([])).toBe('');
    // A campaign's totals keep no live state.
    const total = emptyCount('kms');
    mergeCount(total, counts.get('kms') as SuiteCount);
    expect(total.running.size).toBe(0);
  });

  test("a property shrinks from its shrinking line to its done line; a campaign's totals keep none", () => {
    const counts = new Map<string, SuiteCount>();
    addLine(counts, { kind: 'begin', suite: 'kms', test: 'a', planned: 10 });
    addLine(counts, { kind: 'begin', suite: 'kms', test: 'b', planned: 10 });
    addLine(counts, { kind: 'shrinking', suite: 'kms', test: 'a' });
    addLine(counts, { kind: 'shrinking', suite: 'kms', test: 'b' });
    addLine(counts, { kind: 'shrinking', suite: 'kms', test: 'a' });
    const kms = counts.get('kms') as SuiteCount;
    expect(kms.shrinking).toEqual(['a', 'b']);
    addLine(counts, done({ test: 'a', failed: true, interrupted: true, path: '3:1' }));
    expect(kms.shrinking).toEqual(['b']);
    // Merged into a campaign's totals: not shrinking there (a crashed batch would leave it for good).
    const totals = emptyCount('kms');
    mergeCount(totals, kms);
    expect(totals.shrinking).toEqual([]);
    expect(totals.counterexamples.map((d) => d.path)).toEqual(['3:1']);
  });

  test('merging adds every figure and keeps each property test once', () => {
    const a = Object.assign(emptyCount('kms'), {
      runs: 1,
      operations: 2,
      cpuMicros: 3,
      failures: 1,
      propertyTests: ['x'],
    });
    const b = Object.assign(emptyCount('kms'), {
      runs: 10,
      runsSeen: 14,
      shrinkingRunsSeen: 4,
      operations: 20,
      cpuMicros: 30,
      propertyTests: ['x', 'y'],
    });
    b.counterexamples.push(done({ failed: true }));
    mergeCount(a, b);
    // a's failed test, and b's counterexample from a batch stopped before vitest's verdicts (failures 0).
    expect(a).toMatchObject({ runs: 11, operations: 22, cpuMicros: 33, failures: 2, propertyTests: ['x', 'y'] });
    expect(a).toMatchObject({ runsSeen: 14, shrinkingRunsSeen: 4 });
    expect(a.counterexamples).toHaveLength(1);
    // A finished batch's counterexample is also its failed test: counted once.
    const c = Object.assign(emptyCount('kms'), { failures: 1 });
    c.counterexamples.push(done({ failed: true }));
    mergeCount(a, c);
    expect(a.failures).toBe(3);
  });
});
