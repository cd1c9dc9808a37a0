import { describe, expect, test } from 'vitest';
import type { TestModule } from 'vitest/node';
import { settleMessage, verdicts } from './runBatch.ts';
import type { Suite } from './suites.ts';
import type { SuiteCount } from './tally.ts';

const suite = (name: string): Suite => ({ name, file: `properties/${name}.test.ts`, operation: 'x', statistics: null });
const [kms, other] = [suite('kms'), suite('other')];

/** What vitest reports of a test file, in the shape `verdicts` reads: its state, tests and errors. */
function moduleOf(
  s: Suite,
  state: string,
  tests: ReadonlyArray<readonly [string, 'passed' | 'failed' | 'pending']> = [],
  errors: string[] = [],
): TestModule {
  const all = tests.map(([fullName, result]) => ({
    fullName,
    result: () => ({ state: result, errors: result === 'failed' ? [{ message: `${fullName} broke` }] : [] }),
    state: result,
  }));
  return {
    moduleId: s.file,
    state: () => state,
    errors: () => errors.map((message) => ({ message })),
    children: {
      *allTests(wanted?: string) {
        yield* all.filter((t) => wanted === undefined || t.state === wanted);
      },
    },
  } as unknown as TestModule;
}

describe("vitest's verdicts on a batch", () => {
  test('counts the tests run and each failure, in and outside tests', () => {
    const counts = new Map<string, SuiteCount>();
    const errors = verdicts(
      [
        moduleOf(
          kms,
          'failed',
          [
            ['a', 'passed'],
            ['b', 'failed'],
          ],
          ['load error'],
        ),
      ],
      [kms],
      counts,
    );
    expect(errors).toEqual([]);
    expect(counts.get('kms')).toMatchObject({ tests: 2, failures: 2 });
    expect(counts.get('kms')?.failedTests.map((t) => [t.test, t.message])).toEqual([
      ['b', 'b broke'],
      ['(outside any test)', 'load error'],
    ]);
  });

  test('a chosen suite that did not run, or a batch where no test ran, is an error', () => {
    expect(verdicts([moduleOf(kms, 'passed', [['a', 'passed']])], [kms, other], new Map())).toEqual([
      `suite other: its file ${other.file} did not run (missing, or not a test file)`,
    ]);
    expect(verdicts([moduleOf(kms, 'skipped')], [kms], new Map())).toEqual([
      'no test ran: the --test pattern matched no test of the chosen suites',
    ]);
  });

  test('a crash counts one failure for each suite it left unfinished, none for a suite that finished', () => {
    const counts = new Map<string, SuiteCount>();
    const crash = ['[vitest-pool]: Worker forks emitted error.'];
    // vitest's report of a crashed worker's file: still pending, no test with a result, even those run.
    const errors = verdicts(
      [moduleOf(kms, 'passed', [['a', 'passed']]), moduleOf(other, 'pending', [['c', 'pending']])],
      [kms, other],
      counts,
      crash,
    );
    expect(errors).toEqual([]);
    expect(counts.get('kms')).toMatchObject({ tests: 1, failures: 0 });
    expect(counts.get('other')).toMatchObject({ tests: 0, failures: 1 });
    expect(counts.get('other')?.failedTests).toEqual([
      { suite: 'other', test: '(unfinished)', message: `vitest stopped before this suite finished: ${crash[0]}` },
    ]);
    // A crash before vitest reported a file at all: that suite is unfinished too, and not "missing".
    const none = new Map<string, SuiteCount>();
    expect(verdicts([], [kms], none, crash)).toEqual([]);
    expect(none.get('kms')?.failures).toBe(1);
  });
});

describe('what a stop that waits says', () => {
  const shrinking = [{ suite: 'kms', test: 'D > first' }];

  test('while counterexamples shrink: each ends at its next run with what it shrank so far', () => {
    expect(settleMessage(shrinking, 'SIGINT')).toBe(
      'SIGINT: keeping the counterexamples being shrunk (kms: "first"): each property ends at its next run with ' +
        'what it shrank so far (at most 1m00s; Ctrl-C again stops at once and loses them)',
    );
  });

  test('in a replay (--path without --shrink): the case replayed is reported, nothing was being shrunk', () => {
    expect(settleMessage(shrinking, 'SIGINT', true)).toBe(
      'SIGINT: waiting for the report of the counterexample replayed (kms: "first"): a replay ends on its case and ' +
        'shrinks nothing (at most 1m00s; Ctrl-C again stops at once and loses it)',
    );
    expect(settleMessage(shrinking, 'SIGTERM', true)).toMatch(/\(at most 5s; another signal stops at once/);
  });
});
