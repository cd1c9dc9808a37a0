import { describe, expect, test } from 'vitest';
import { progressText } from './progressView.ts';
import { tableRow } from './table.ts';
import { addLine } from './tally.ts';
import type { SuiteCount } from './tally.ts';
import { countOf } from './fixtures.testkit.ts';

describe('the progress line', () => {
  const counts = [
    countOf('kms', { planned: 100, runsSeen: 40, operationsSeen: 1200 }),
    countOf('deployment', { planned: 41, runsSeen: 10, operationsSeen: 800 }),
  ];

  test('runs, operations per second, and the time the started properties still need (a lower bound)', () => {
    // 2,000 operations in the 8 s since the first run; 50 of 141 planned runs in those 8 s.
    expect(progressText(counts, 12_000, 8_000, null)).toBe(
      '50 runs · 2,000 ops, 250/s · 12s elapsed, ≥15s left · kms 40 · deployment 10',
    );
  });

  test('a property that ended on a counterexample is owed no more runs: its planned ones leave the estimate', () => {
    // The live kmsImpl property plans 80 runs, fails at its 3rd and shrinks in 16 more, then ends:
    // nothing is left to run, where the line said "≥45s left" (its 80 planned against the 19 seen).
    const live = new Map<string, SuiteCount>();
    addLine(live, { kind: 'begin', suite: 'kmsImpl', test: 'live', planned: 80 });
    const run = () => addLine(live, { kind: 'run', suite: 'kmsImpl', test: 'live', operations: 25 });
    for (let k = 0; k < 3; k++) run();
    // Its run line came first: the property says it shrinks once the failing run returned.
    addLine(live, { kind: 'shrinking', suite: 'kmsImpl', test: 'live' });
    for (let k = 0; k < 16; k++) run();
    // Its runs as fast-check and the table count them, the 16 shrinking runs apart (they read 19 runs).
    expect(progressText([...live.values()], 27_000, 13_000, null)).toMatch(
      /^kmsImpl: shrinking a counterexample · 3 runs \+16 shrinking · 475 ops, .* · kmsImpl 3$/,
    );
    addLine(live, {
      kind: 'done',
      suite: 'kmsImpl',
      test: 'live',
      runs: 3,
      operations: 475,
      cpuMicros: 1,
      failed: true,
      interrupted: false,
      seed: 1,
      path: '2:0',
      counterexample: null,
      error: 'boom',
      reproduction: null,
    });
    expect(progressText([...live.values()], 27_000, 13_000, null)).toMatch(/elapsed, ≥0s left ·/);
    // Ended, the line and the closing table give the same runs.
    const ended = live.get('kmsImpl') as SuiteCount;
    expect(progressText([ended], 27_000, 13_000, null)).toMatch(/^3 runs \+16 shrinking · .* · kmsImpl 3$/);
    expect(tableRow(ended)[1]).toBe('3');
    // Another property of the suite begun after it: only its own planned runs are to come.
    addLine(live, { kind: 'begin', suite: 'kmsImpl', test: 'next', planned: 19 });
    expect(progressText([...live.values()], 27_000, 13_000, null)).toMatch(/elapsed, ≥13s left ·/);
  });

  test('the suites shrinking a counterexample come first: runs then stand still, which is no hang', () => {
    const shrinking = [countOf('kms', { shrinking: ['a'] }), countOf('deployment', { shrinking: ['b', 'c'] })];
    expect(progressText(shrinking, 0, 0, null)).toBe(
      'kms, deployment: shrinking a counterexample · 0 runs · 0 ops, 0/s · 0s elapsed, time left unknown while ' +
        'shrinking · kms 0 · deployment 0',
    );
    // Runs made: the rate of the planned runs says nothing of when a shrinking ends.
    const started = [countOf('kmsImpl', { planned: 200, runsSeen: 7, operationsSeen: 240, shrinking: ['a'] })];
    expect(progressText(started, 20_000, 12_000, null)).toBe(
      'kmsImpl: shrinking a counterexample · 7 runs · 240 ops, 20/s · 20s elapsed, time left unknown while ' +
        'shrinking · kmsImpl 7',
    );
  });

  test('a replay (--path without --shrink) says it replays a counterexample, before its case fails and after', () => {
    // The property planned its CI runs (100); the replay runs one case, shrinks none: no time left to give.
    const replay = [countOf('kmsImpl', { planned: 100, runsSeen: 1, operationsSeen: 3 })];
    const failing = [countOf('kmsImpl', { planned: 100, runsSeen: 1, operationsSeen: 3, shrinking: ['a'] })];
    for (const counts of [replay, failing])
      expect(progressText(counts, 14_000, 2_000, null, 'replay')).toBe(
        'kmsImpl: replaying a counterexample · 1 run · 3 ops, 2/s · 14s elapsed · kmsImpl 1',
      );
  });

  test('a replay that shrinks on (--shrink) says it shrinks once its case failed, and gives no time left', () => {
    const replay = [countOf('kmsImpl', { planned: 100, runsSeen: 1, operationsSeen: 3 })];
    expect(progressText(replay, 14_000, 2_000, null, 'replayAndShrink')).toBe(
      '1 run · 3 ops, 2/s · 14s elapsed · kmsImpl 1',
    );
    const shrinking = [countOf('kmsImpl', { planned: 100, runsSeen: 9, operationsSeen: 30, shrinking: ['a'] })];
    expect(progressText(shrinking, 14_000, 2_000, null, 'replayAndShrink')).toBe(
      'kmsImpl: shrinking a counterexample · 9 runs · 30 ops, 15/s · 14s elapsed · kmsImpl 9',
    );
  });

  test('a campaign shows its budget left; nothing run yet shows no estimate', () => {
    expect(progressText(counts, 10_000, 5_000, { endsAt: 100_000, now: 40_000 })).toMatch(/elapsed, 1m00s left ·/);
    // Past the budget the batch is ending (its properties make their last runs): it says so, not "0s left".
    expect(progressText(counts, 110_000, 5_000, { endsAt: 100_000, now: 100_400 })).toMatch(
      /elapsed, budget spent, ending the batch ·/,
    );
    expect(progressText([countOf('kms')], 0, 0, null)).toBe(
      '0 runs · 0 ops, 0/s · 0s elapsed, time left unknown · kms 0',
    );
  });
});
