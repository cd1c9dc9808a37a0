import { describe, expect, test } from 'vitest';
import { KEY_STATES } from '../../model/keyLifecycle.ts';
import { SIMULATION_INVARIANTS } from './simulationReport.ts';
import type { SimulationReport } from './simulationReport.ts';
import { HOSTILE, syntheticReport } from './syntheticReport.testkit.ts';
import { validateSimulationReport } from './validateSimulationReport.ts';

const states = (n: number) => Object.fromEntries(KEY_STATES.map((s) => [s, s === 'active' ? n : 0]));
const traffic = { filesPublished: 2, bytesPublished: 300, filesApplied: 1, bytesApplied: 150 };

/** A hand-made valid report of two days with one violation. */
function valid(): SimulationReport {
  const day = (d: number, violations: number) => ({
    day: d,
    date: `2026-01-0${d}`,
    keysByState: states(2),
    operations: { publish: 1, sync: 2 },
    updates: { ...traffic },
    refusals: { NotFresh: 1 },
    staleUsers: 0,
    hsmCycles: { 'aes256.byte': 1000 },
    flashErases: { admin: [0, 1, 0], U1: [0, 0, 0] },
    violations,
  });
  return {
    schema: 4,
    tool: 'sekey simulate',
    version: 'test',
    config: { users: 2, groups: 1, days: 2, seed: 1, profile: 'default', start: '2026-01-01T00:00:00.000Z' },
    host: { startedAt: '2026-12-02T00:00:00.000Z', wallSeconds: 1.5 },
    totals: {
      operations: 6,
      operationsByKind: { publish: 2, sync: 4 },
      updates: { filesPublished: 4, bytesPublished: 600, filesApplied: 2, bytesApplied: 300 },
      refusals: { NotFresh: 2 },
      hsmCycles: { 'aes256.byte': 2000 },
      hsmSeconds: 2000 / 168e6,
      clockHz: 168_000_000,
      maxSectorErases: 1,
      keysByState: states(2) as SimulationReport['totals']['keysByState'],
    },
    days: [day(1, 0), day(2, 1)] as unknown as SimulationReport['days'],
    flashWear: [
      { device: 'admin', role: 'admin', sectorErases: [0, 1, 0], sdSectorsWritten: 120 },
      { device: 'U1', role: 'user', sectorErases: [0, 0, 0], sdSectorsWritten: 30 },
      { device: 'U1#2', role: 'user', sectorErases: [0, 0, 0], sdSectorsWritten: 0 },
    ],
    invariants: Object.fromEntries(
      SIMULATION_INVARIANTS.map((i) => [i, { checks: 3, violations: i === 'integrity' ? 1 : 0 }]),
    ) as SimulationReport['invariants'],
    protectionsJudged: { synced: 1, behind: 1, heartbeatOnly: 1 },
    violations: 1,
    violationDetails: [
      { day: 2, date: '2026-01-02', operation: 'day 2 18:00 checks', invariant: 'integrity', detail: 'x' },
    ],
    stoppedEarly: null,
  };
}

/** A copy of the valid report with `change` applied to it. */
// biome-ignore lint/suspicious/noExplicitAny: the test edits the JSON freely, field by field
function broken(change: (r: Record<string, any>) => void): unknown {
  const r = JSON.parse(JSON.stringify(valid()));
  change(r);
  return r;
}

describe('validateSimulationReport on a hand-made report', () => {
  test('accepts a valid report', () => {
    expect(validateSimulationReport(valid())).toEqual([]);
  });

  test('accepts a run stopped early: its days are those up to the stop', () => {
    const stopped = broken((r) => {
      r['config']['days'] = 5;
      r['stoppedEarly'] = { by: 'SIGINT', afterDay: 2 };
    });
    expect(validateSimulationReport(stopped)).toEqual([]);
  });

  test.each([
    ['not an object', () => 42, /report: must be an object/],
    ['a missing field', () => broken((r) => delete r['totals']), /totals: must be an object/],
    ['a negative count', () => broken((r) => (r['days'][0]['staleUsers'] = -1)), /days\[0\]\.staleUsers/],
    ['a fractional count', () => broken((r) => (r['totals']['hsmCycles']['x'] = 1.5)), /totals\.hsmCycles\.x/],
    ['a wrong schema', () => broken((r) => (r['schema'] = 1)), /^schema/],
    ['an unknown profile', () => broken((r) => (r['config']['profile'] = 'lazy')), /config\.profile/],
    ['too few days', () => broken((r) => r['days'].pop()), /days: has 1 days, config\.days is 2/],
    ['a day out of order', () => broken((r) => (r['days'][1]['day'] = 3)), /days\[1\]\.day: must be 2/],
    [
      'a missing key state',
      () => broken((r) => delete r['days'][0]['keysByState']['destroyed']),
      /keysByState\.destroyed: is missing/,
    ],
    [
      'a missing invariant',
      () => broken((r) => delete r['invariants']['convergence']),
      /invariants\.convergence: is missing/,
    ],
    [
      'an unknown invariant',
      () => broken((r) => (r['violationDetails'][0]['invariant'] = 'liveness')),
      /violationDetails\[0\]\.invariant/,
    ],
    [
      'violations not the details',
      () => broken((r) => (r['violations'] = 0)),
      /violations: is 0, but violationDetails lists 1/,
    ],
    [
      'totals not the days',
      () => broken((r) => (r['totals']['updates']['bytesApplied'] = 1)),
      /totals\.updates: is not the sum of the days \(at bytesApplied\)/,
    ],
    [
      'operations not their kinds',
      () => broken((r) => (r['totals']['operations'] = 7)),
      /totals\.operations: is not the sum of totals\.operationsByKind/,
    ],
    ['an empty device name', () => broken((r) => (r['flashWear'][1]['device'] = '')), /flashWear\[1\]\.device/],
    [
      'SD writes that are no count',
      () => broken((r) => (r['flashWear'][1]['sdSectorsWritten'] = -1)),
      /flashWear\[1\]\.sdSectorsWritten/,
    ],
    [
      'a device without its SD writes (schema 1)',
      () => broken((r) => delete r['flashWear'][0]['sdSectorsWritten']),
      /flashWear\[0\]/,
    ],
    ['a bad date', () => broken((r) => (r['days'][0]['date'] = 'Jan 1')), /days\[0\]\.date: must be YYYY-MM-DD/],
    [
      'a date off the calendar',
      () => broken((r) => (r['days'][1]['date'] = '2026-01-03')),
      /days\[1\]\.date: must be 2026-01-02 \(config\.start \+ 1 days\)/,
    ],
    ['a field not in the schema', () => broken((r) => (r['totals']['extra'] = 1)), /totals\.extra: is not expected/],
    [
      'a kind of operation not the days',
      () => broken((r) => (r['totals']['operationsByKind'] = { publish: 1, sync: 5 })),
      /totals\.operationsByKind: is not the sum of the days \(at publish, sync\)/,
    ],
    [
      'refusals not the days',
      () => broken((r) => (r['totals']['refusals']['NotFresh'] = 3)),
      /totals\.refusals: is not the sum of the days \(at NotFresh\)/,
    ],
    [
      'HSM cycles not the days',
      () => broken((r) => (r['days'][0]['hsmCycles']['sync'] = 5)),
      /totals\.hsmCycles: is not the sum of the days \(at sync\)/,
    ],
    [
      'HSM seconds not cycles over the clock',
      () => broken((r) => (r['totals']['hsmSeconds'] *= 2)),
      /totals\.hsmSeconds: is not the cycles over totals\.clockHz/,
    ],
    ['a clock of 0 Hz', () => broken((r) => (r['totals']['clockHz'] = 0)), /totals\.clockHz: must be more than 0/],
    [
      "final key states not the last day's",
      () => broken((r) => (r['totals']['keysByState']['destroyed'] = 1)),
      /totals\.keysByState: is not the last day's/,
    ],
    [
      'an erase maximum not the wear table',
      () => broken((r) => (r['totals']['maxSectorErases'] = 5)),
      /totals\.maxSectorErases: is 5, the wear table's highest count is 1/,
    ],
    ['two admin devices', () => broken((r) => (r['flashWear'][1]['role'] = 'admin')), /flashWear: lists 2 admin/],
    [
      'a device listed twice',
      () => broken((r) => (r['flashWear'][2]['device'] = 'U1')),
      /flashWear\[2\]\.device: "U1" is listed twice/,
    ],
    [
      'daily erases of an unknown device',
      () => broken((r) => (r['days'][0]['flashErases']['U9'] = [0, 0, 0])),
      /days\[0\]\.flashErases: names "U9", not in flashWear/,
    ],
    [
      'daily erases with too few sectors',
      () => broken((r) => (r['days'][0]['flashErases']['U1'] = [0])),
      /days\[0\]\.flashErases: has 1 sectors of "U1", flashWear 3/,
    ],
    [
      'more stale users than user devices',
      () => broken((r) => (r['days'][1]['staleUsers'] = 3)),
      /days\[1\]\.staleUsers: is 3, more than the 2 user devices/,
    ],
    [
      "an invariant's violations not its details",
      () =>
        broken((r) => {
          r['invariants']['integrity']['violations'] = 0;
          r['invariants']['convergence']['violations'] = 1;
        }),
      /invariants\.integrity\.violations: is 0, violationDetails lists 1/,
    ],
    [
      "a day's violations not its details",
      () =>
        broken((r) => {
          r['days'][1]['violations'] = 0;
          r['days'][0]['violations'] = 1;
        }),
      /days\[1\]\.violations: is 0, violationDetails lists 1/,
    ],
    [
      'a report of schema 2 (no protectionsJudged)',
      () =>
        broken((r) => {
          r['schema'] = 2;
          delete r['protectionsJudged'];
        }),
      /^protectionsJudged: must be an object/,
    ],
    [
      'protections judged that are no count',
      () => broken((r) => (r['protectionsJudged']['behind'] = 0.5)),
      /protectionsJudged\.behind: must be a whole number/,
    ],
    [
      'more protections judged than smallest-group checks',
      () => broken((r) => (r['protectionsJudged']['synced'] = 2)),
      /protectionsJudged: counts 4 protections judged, invariants\.smallest-group 3 checks with 0 violations/,
    ],
    [
      'fewer protections judged than checks without a violation',
      () => broken((r) => (r['protectionsJudged']['heartbeatOnly'] = 0)),
      /protectionsJudged: counts 2 protections judged, invariants\.smallest-group 3 checks with 0 violations/,
    ],
    ['no stoppedEarly (schema 3)', () => broken((r) => delete r['stoppedEarly']), /^report\.stoppedEarly: is missing$/],
    [
      'a stop after the last day',
      () => broken((r) => (r['stoppedEarly'] = { by: 'SIGINT', afterDay: 2 })),
      /^stoppedEarly\.afterDay: is 2, not from 1 to config\.days - 1 \(1\)/,
    ],
    [
      'a stop that is not where the days end',
      () =>
        broken((r) => {
          r['config']['days'] = 5;
          r['stoppedEarly'] = { by: 'SIGINT', afterDay: 3 };
        }),
      /^days: has 2 days, stoppedEarly\.afterDay is 3$/,
    ],
    [
      'a stop by nothing named',
      () =>
        broken((r) => {
          r['config']['days'] = 5;
          r['stoppedEarly'] = { by: '', afterDay: 2 };
        }),
      /^stoppedEarly\.by: must be a non-empty string$/,
    ],
    [
      'a stop without its signal',
      () =>
        broken((r) => {
          r['config']['days'] = 5;
          r['stoppedEarly'] = { afterDay: 2 };
        }),
      /^stoppedEarly\.by: is missing/,
    ],
    [
      'a violation after the last day',
      () => broken((r) => (r['violationDetails'][0]['day'] = 3)),
      /violationDetails\[0\]\.day: is not a day of the run \(1 to 2\)/,
    ],
    [
      'a violation dated off its day',
      () => broken((r) => (r['violationDetails'][0]['date'] = '2026-01-01')),
      /violationDetails\[0\]\.date: must be day 2's date, 2026-01-02/,
    ],
  ])('rejects %s', (_, make, problem) => {
    const problems = validateSimulationReport(make());
    expect(problems.length).toBeGreaterThan(0);
    expect(
      problems.some((p) => problem.test(p)),
      problems.join('\n'),
    ).toBe(true);
  });
});

describe('validateSimulationReport on the synthetic reports (test kit)', () => {
  test.each([
    ['default', {}],
    ['with violations', { violations: true }],
    ['hostile names with violations', { violations: true, hostileNames: true }],
    ['hostile, a year', { config: { profile: 'hostile', days: 365, seed: 5 } }],
    ['one day', { config: { days: 1, users: 1, groups: 1 } }],
    ['a year, 60 users', { config: { days: 365, users: 60, groups: 20, seed: 3 } }],
  ] as const)('%s: valid as read back from JSON, and the same for the same options', (_name, options) => {
    const report = syntheticReport(options);
    expect(validateSimulationReport(JSON.parse(JSON.stringify(report)))).toEqual([]);
    expect(syntheticReport(options)).toEqual(report);
  });

  test("any device name is accepted (escaping it is the renderer's job)", () => {
    const report = syntheticReport({ hostileNames: true });
    expect(report.flashWear.map((w) => w.device)).toContain(HOSTILE.device);
    expect(validateSimulationReport(report)).toEqual([]);
  });

  test('the inconsistencies of a long report are caught', () => {
    const good = syntheticReport({ violations: true, config: { days: 20 } });
    const [first, ...rest] = good.days as [SimulationReport['days'][number], ...SimulationReport['days']];
    const broken: ReadonlyArray<readonly [string, unknown, RegExp]> = [
      ['not an object', 'report', /^report: must be an object$/],
      ['schema', { ...good, schema: 2 }, /^schema: must be 4$/],
      ['missing day', { ...good, days: rest }, /^days: has 19 days, config\.days is 20$/],
      ['renumbered', { ...good, days: [{ ...first, day: 2 }, ...rest] }, /^days\[0\]\.day: must be 1$/],
      ['wrong date', { ...good, days: [{ ...first, date: '2025-12-31' }, ...rest] }, /^days\[0\]\.date: must be/],
      [
        'a state missing',
        { ...good, days: [{ ...first, keysByState: { active: 1 } }, ...rest] },
        /^days\[0\]\.keysByState\.preActivation: is missing$/,
      ],
      [
        'traffic',
        { ...good, totals: { ...good.totals, updates: { ...good.totals.updates, bytesApplied: 1 } } },
        /^totals\.updates: is not the sum of the days \(at bytesApplied\)$/,
      ],
      [
        'details',
        { ...good, violationDetails: good.violationDetails.slice(1) },
        /^violations: is \d+, but violationDetails lists \d+$/,
      ],
      [
        'invariant',
        { ...good, invariants: { ...good.invariants, integrity: undefined } },
        /^invariants\.integrity: is missing$/,
      ],
    ];
    for (const [name, report, problem] of broken) {
      const problems = validateSimulationReport(JSON.parse(JSON.stringify(report)));
      expect(
        problems.some((p) => problem.test(p)),
        `${name}:\n${problems.join('\n')}`,
      ).toBe(true);
    }
  });
});
