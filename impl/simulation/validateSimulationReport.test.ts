import { describe, expect, test } from 'vitest';
import { KEY_STATES } from '../../model/keyLifecycle.ts';
import { SIMULATION_INVARIANTS } from './simulationReport.ts';
import type { SimulationReport } from './simulationReport.ts';
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
    schema: 1,
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
      { device: 'admin', role: 'admin', sectorErases: [0, 1, 0] },
      { device: 'U1', role: 'user', sectorErases: [0, 0, 0] },
      { device: 'U1#2', role: 'user', sectorErases: [0, 0, 0] },
    ],
    invariants: Object.fromEntries(
      SIMULATION_INVARIANTS.map((i) => [i, { checks: 3, violations: i === 'integrity' ? 1 : 0 }]),
    ) as SimulationReport['invariants'],
    violations: 1,
    violationDetails: [
      { day: 2, date: '2026-01-02', operation: 'day 2 18:00 checks', invariant: 'integrity', detail: 'x' },
    ],
  };
}

/** A copy of the valid report with `change` applied to it. */
// biome-ignore lint/suspicious/noExplicitAny: the test edits the JSON freely, field by field
function broken(change: (r: Record<string, any>) => void): unknown {
  const r = JSON.parse(JSON.stringify(valid()));
  change(r);
  return r;
}

describe('validateSimulationReport', () => {
  test('accepts a valid report', () => {
    expect(validateSimulationReport(valid())).toEqual([]);
  });

  test.each([
    ['not an object', () => 42, /report: must be an object/],
    ['a missing field', () => broken((r) => delete r['totals']), /totals: must be an object/],
    ['a negative count', () => broken((r) => (r['days'][0]['staleUsers'] = -1)), /days\[0\]\.staleUsers/],
    ['a fractional count', () => broken((r) => (r['totals']['hsmCycles']['x'] = 1.5)), /totals\.hsmCycles\.x/],
    ['a wrong schema', () => broken((r) => (r['schema'] = 2)), /^schema/],
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
      /totals\.updates\.bytesApplied: is not the sum/,
    ],
    [
      'operations not their kinds',
      () => broken((r) => (r['totals']['operations'] = 7)),
      /totals\.operations: is not the sum of totals\.operationsByKind/,
    ],
    ['a bad device name', () => broken((r) => (r['flashWear'][0]['device'] = 'bob')), /flashWear\[0\]\.device/],
    ['a bad date', () => broken((r) => (r['days'][0]['date'] = 'Jan 1')), /days\[0\]\.date/],
  ])('rejects %s', (_, make, problem) => {
    const problems = validateSimulationReport(make());
    expect(problems.length).toBeGreaterThan(0);
    expect(
      problems.some((p) => problem.test(p)),
      problems.join('\n'),
    ).toBe(true);
  });
});
