import { describe, expect, test } from 'vitest';
import type { Transport } from '../protocol/transport.ts';
import { BEFORE_FIRST_OPERATION } from './deviceMeters.ts';
import { runSimulation } from './runSimulation.ts';
import type { SimulationConfig, SimulationReport } from './simulationReport.ts';
import { validateSimulationReport } from './validateSimulationReport.ts';

/** Small enough to be quick, long enough for a rotation (cryptoperiods are staggered from one day). */
const SMALL: SimulationConfig = {
  users: 4,
  groups: 2,
  days: 4,
  seed: 7,
  profile: 'default',
  start: '2026-03-01T00:00:00.000Z',
};

const withoutHost = (r: SimulationReport) => JSON.stringify({ ...r, host: null });

describe('runSimulation', () => {
  test('a small default run: a valid report, no violation, and the same report for the same seed', async () => {
    const first = await runSimulation(SMALL);
    expect(validateSimulationReport(first)).toEqual([]);
    expect(first.violationDetails).toEqual([]);
    expect(first.violations).toBe(0);
    expect(first.days).toHaveLength(SMALL.days);
    expect(first.totals.operationsByKind['encrypt']).toBeGreaterThan(0);
    expect(first.totals.updates.filesApplied).toBeGreaterThan(0);
    expect(first.flashWear.map((d) => d.device)).toContain('admin');
    for (const invariant of Object.values(first.invariants)) expect(invariant.checks).toBeGreaterThan(0);
    // Without a violation, every smallest-group check is counted by how it judged; senders synced at least.
    const { synced, behind, heartbeatOnly } = first.protectionsJudged;
    expect(synced + behind + heartbeatOnly).toBe(first.invariants['smallest-group'].checks);
    expect(synced).toBeGreaterThan(0);
    // HSM time is charged to the organisation's operations (and the admin HSM's set-up), not to cost rows.
    const charged = Object.keys(first.totals.hsmCycles);
    expect(charged.filter((k) => k !== BEFORE_FIRST_OPERATION && !(k in first.totals.operationsByKind))).toEqual([]);
    for (const kind of ['sync', 'encrypt', 'decrypt', 'publish', BEFORE_FIRST_OPERATION])
      expect(first.totals.hsmCycles[kind], kind).toBeGreaterThan(0);
    // The admin HSM's set-up, before the first operation, is on day 1 only.
    expect(first.days[0]?.hsmCycles[BEFORE_FIRST_OPERATION]).toBe(first.totals.hsmCycles[BEFORE_FIRST_OPERATION]);
    for (const day of first.days)
      for (const kind of Object.keys(day.hsmCycles))
        if (kind !== BEFORE_FIRST_OPERATION) expect(day.operations[kind], `day ${day.day} ${kind}`).toBeGreaterThan(0);
    // Every device's SD card took the commits it made; the admin's, which takes every admin commit, the most.
    const sd = new Map(first.flashWear.map((w) => [w.device, w.sdSectorsWritten]));
    for (const [device, sectors] of sd) expect(sectors, device).toBeGreaterThan(0);
    expect(Math.max(...sd.values())).toBe(sd.get('admin'));
    // A day lists only the devices that erased something that day.
    for (const day of first.days)
      for (const [device, erases] of Object.entries(day.flashErases))
        expect(
          erases.some((n) => n > 0),
          `day ${day.day} ${device}`,
        ).toBe(true);
    // Every erase is some day's, the admin HSM's set-up's on day 1: the days add up to the lifetime wear.
    for (const { device, sectorErases } of first.flashWear) {
      const daily = sectorErases.map((_, i) => first.days.reduce((a, d) => a + (d.flashErases[device]?.[i] ?? 0), 0));
      expect(daily, device).toEqual(sectorErases);
    }
    // Progress within each day, at every step: the same report (a turn of the event loop changes nothing).
    const progress: Array<{ day: number; during?: string }> = [];
    const second = await runSimulation(SMALL, { progressEveryMs: 0, onDay: (p) => progress.push(p) });
    expect(withoutHost(second)).toBe(withoutHost(first));
    expect(progress.filter((p) => p.during?.startsWith('provisioning')).map((p) => [p.day, p.during])).toEqual(
      [1, 2, 3, 4].map((i) => [0, `provisioning ${i}/4 users`]),
    );
    expect(progress.filter((p) => p.during === undefined).map((p) => p.day)).toEqual([1, 2, 3, 4]);
    expect(progress.some((p) => p.day === 3 && p.during?.startsWith('syncs 0/'))).toBe(true);
    const other = await runSimulation({ ...SMALL, seed: 8 });
    expect(withoutHost(other)).not.toBe(withoutHost(first));
    // Stopped after day 2 (a Ctrl-C in `sekey simulate`): a valid report of the whole run's first two
    // days, its wear theirs; asked after each day but the last, and never again once stopped.
    let asked = 0;
    const stopped = await runSimulation(SMALL, { stopRequested: () => (++asked >= 2 ? 'SIGINT' : null) });
    expect(asked).toBe(2);
    expect(validateSimulationReport(stopped)).toEqual([]);
    expect(stopped.stoppedEarly).toEqual({ by: 'SIGINT', afterDay: 2 });
    expect(stopped.days).toEqual(first.days.slice(0, 2));
    expect(stopped.config).toEqual(SMALL);
    for (const { device, sectorErases } of stopped.flashWear)
      expect(
        sectorErases.map((_, i) => first.days.slice(0, 2).reduce((a, d) => a + (d.flashErases[device]?.[i] ?? 0), 0)),
        device,
      ).toEqual(sectorErases);
    // Never asked after the last day: a stop there would leave nothing out.
    let lastAsked = 0;
    const whole = await runSimulation({ ...SMALL, days: 1 }, { stopRequested: () => `asked ${++lastAsked}` });
    expect([lastAsked, whole.stoppedEarly]).toEqual([0, null]);
  }, 900_000);

  test('a small hostile run: attacks and power cuts refused or survived, no violation', async () => {
    // Seed 8: its draws include attacks on acknowledgements other than replays.
    const report = await runSimulation({ ...SMALL, profile: 'hostile', days: 6, seed: 8 });
    expect(validateSimulationReport(report)).toEqual([]);
    expect(report.violationDetails).toEqual([]);
    const kinds = Object.keys(report.totals.operationsByKind);
    expect(kinds.some((k) => k.startsWith('attack:'))).toBe(true);
    expect(Object.keys(report.totals.refusals).length).toBeGreaterThan(0);
    // Attacks on acknowledgements act in a hostile run: an attack counts as its kind only when it
    // found something to attack (simulationWorld.test.ts), and a replay needs only an old recording, so
    // another kind must show. (That they wait for the acknowledgements of the 09:00 syncs is not
    // pinned here: acknowledgements left from earlier days lie on the share at 08:30 too.)
    const ran = new Set(
      report.days.flatMap((d) => Object.keys(d.operations)).filter((k) => k.startsWith('attack:ack')),
    );
    expect([...ran].filter((k) => k !== 'attack:ackReplay').length, [...ran].join(', ')).toBeGreaterThan(0);
    expect(report.violationDetails).toEqual([]);
  }, 900_000);

  test('a planted fault (a key leaked into the share on day 2) is recorded with its day; the run goes on', async () => {
    let leaking = false;
    const leak = (inner: Transport, secrets: { latest(): Uint8Array | undefined }): Transport => ({
      list: (s) => inner.list(s),
      read: (s, n) => inner.read(s, n),
      remove: (s, n) => inner.remove(s, n),
      write: (s, n, bytes) => {
        const secret = secrets.latest();
        if (!leaking || secret === undefined) return inner.write(s, n, bytes);
        const out = new Uint8Array(bytes.length + secret.length);
        out.set(bytes);
        out.set(secret, bytes.length);
        return inner.write(s, n, out);
      },
    });
    const report = await runSimulation(SMALL, {
      deploymentHooks: { transport: leak },
      onDay: ({ day }) => {
        leaking = day === 1;
      },
    });
    expect(report.days).toHaveLength(SMALL.days);
    const leaks = report.violationDetails.filter((v) => v.invariant === 'key-secrecy');
    expect(leaks.length).toBeGreaterThan(0);
    expect(leaks[0]).toMatchObject({ day: 2, date: '2026-03-02' });
    expect(leaks[0]?.detail).toMatch(/^invariant key-secrecy: .* found in /);
    expect(report.violations).toBe(report.violationDetails.length);
    expect(report.days[1]?.violations).toBeGreaterThan(0);
    expect(validateSimulationReport(report)).toEqual([]);
  }, 900_000);
  test.each([
    ['churn', ['add-user', 'delete-user', 'remove-member', 'replace-device', 'hand-back-device']],
    ['rotation-heavy', ['add-key', 'activate-key', 'destroy-key']],
    ['hostile', ['power-cut:sync', 'power-cut:publish']],
  ] as const)(
    'a month of %s: a valid report, no violation, and the profile’s own operations',
    async (profile, kinds) => {
      const report = await runSimulation({ ...SMALL, users: 8, days: 30, profile });
      expect(validateSimulationReport(report)).toEqual([]);
      expect(report.violationDetails).toEqual([]);
      for (const kind of kinds) expect(report.totals.operationsByKind[kind], kind).toBeGreaterThan(0);
      // A device is handed back once, after its user was deleted.
      const count = (kind: string) => report.totals.operationsByKind[kind] ?? 0;
      expect(count('hand-back-device')).toBeLessThanOrEqual(count('delete-user'));
      // Each file is applied once at most, so never more applied than published: files a power cut
      // left committed but unwritten count as published too (the hostile README run applied 3,426
      // files of 3,386 counted before they did).
      const { updates } = report.totals;
      expect(updates.filesApplied).toBeLessThanOrEqual(updates.filesPublished);
      expect(updates.bytesApplied).toBeLessThanOrEqual(updates.bytesPublished);
      // A month leaves some senders behind the model (a day without a sync, withheld files, churn):
      // their protections are judged over their replicas' state, not only by the heartbeat rule.
      expect(report.protectionsJudged.behind).toBeGreaterThan(0);
    },
    900_000,
  );
});
