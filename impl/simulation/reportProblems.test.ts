import { describe, expect, test } from 'vitest';
import { reportProblems } from './reportProblems.testkit.ts';
import type { SimulationReport } from './simulationReport.ts';
import { syntheticReport } from './syntheticReport.testkit.ts';

describe('the report checks (test kit), on the synthetic reports (test kit)', () => {
  test.each([
    ['default', {}],
    ['with violations', { violations: true }],
    ['hostile, a year', { config: { profile: 'hostile', days: 365, seed: 5 } }],
    ['one day', { config: { days: 1, users: 1, groups: 1 } }],
  ] as const)('%s: sound, and the same for the same options', (_name, options) => {
    const report = syntheticReport(options);
    expect(reportProblems(JSON.parse(JSON.stringify(report)))).toEqual([]);
    expect(syntheticReport(options)).toEqual(report);
  });

  test('every kind of inconsistency is caught', () => {
    const good = syntheticReport({ violations: true, config: { days: 20 } });
    const [first, ...rest] = good.days as [SimulationReport['days'][number], ...SimulationReport['days']];
    const broken: ReadonlyArray<readonly [string, unknown, RegExp]> = [
      ['not an object', 'report', /not an object/],
      ['schema', { ...good, schema: 2 }, /schema is 2/],
      ['missing day', { ...good, days: rest }, /19 days for config.days 20/],
      ['renumbered', { ...good, days: [{ ...first, day: 2 }, ...rest] }, /day 1 is numbered 2/],
      ['wrong date', { ...good, days: [{ ...first, date: '2025-12-31' }, ...rest] }, /day 1 has date 2025-12-31/],
      [
        'a state missing',
        { ...good, days: [{ ...first, keysByState: { active: 1 } }, ...rest] },
        /keysByState lacks a state/,
      ],
      [
        'operations',
        { ...good, totals: { ...good.totals, operations: good.totals.operations + 1 } },
        /not the sum of operationsByKind/,
      ],
      [
        'traffic',
        { ...good, totals: { ...good.totals, updates: { ...good.totals.updates, bytesApplied: 1 } } },
        /bytesApplied is not the sum/,
      ],
      [
        'hsm seconds',
        { ...good, totals: { ...good.totals, hsmSeconds: good.totals.hsmSeconds * 2 } },
        /hsmSeconds is not cycles/,
      ],
      [
        'max erases',
        { ...good, totals: { ...good.totals, maxSectorErases: 1 } },
        /maxSectorErases 1 is not the highest/,
      ],
      [
        'details',
        { ...good, violationDetails: good.violationDetails.slice(1) },
        /violations is not the number of details/,
      ],
      [
        'invariant',
        { ...good, invariants: { ...good.invariants, integrity: undefined } },
        /invariant integrity malformed/,
      ],
    ];
    for (const [name, report, problem] of broken) {
      expect(reportProblems(report).join('\n'), name).toMatch(problem);
    }
  });
});
