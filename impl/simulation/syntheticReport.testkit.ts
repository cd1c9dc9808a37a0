/**
 * A synthetic `report.json` for testing the renderer without the engine: deterministic for a seed,
 * every field of the schema filled with plausible, mutually consistent figures (totals are the sums
 * of the days, the wear is the sum of the daily erases, the maximum is the maximum), optionally with
 * violations on some days and with hostile names (markup, ampersands, control characters) in every
 * free-text field a renderer shows.
 *
 * It is a test kit: it imitates the shape of a run, not its behaviour. The engine's real reports are
 * tested against the same renderer in `impl/cli/simulate.e2e.test.ts`. Every report it makes passes
 * `validateSimulationReport`, hostile names included (the schema allows any string).
 */
import { SeededPrng } from '../../device/seededPrng.ts';
import { KEY_STATES, type KeyState } from '../../model/keyLifecycle.ts';
import { DEFAULT_SIMULATION_CONFIG } from './runSimulation.ts';
import {
  SIMULATION_INVARIANTS,
  SIMULATION_REPORT_SCHEMA,
  type DeviceWear,
  type SimulationConfig,
  type SimulationDay,
  type SimulationInvariant,
  type SimulationReport,
  type UpdateTraffic,
  type ViolationDetail,
} from './simulationReport.ts';

/** Which report. */
export interface SyntheticOptions {
  readonly config?: Partial<SimulationConfig>;
  /** Record violations on a few days (the run that failed). */
  readonly violations?: boolean;
  /** Put markup, `&` and a control character in device names, reasons, operations and details. */
  readonly hostileNames?: boolean;
}

/** What a hostile name looks like: every character an HTML page must not take as markup. */
export const HOSTILE = {
  device: '<script>alert("dev")</script>&amp;',
  reason: "R&D <b>bold</b> \u0007 'quoted'",
  operation: 'attack:<img src=x onerror=alert(1)>',
  detail: '</li></ol><script>alert(1)</script> & "done"',
} as const;

const SECTORS = 24;
/** The state journal's sectors and the key store's (`device/secubeCore.ts`, `device/keyStore.ts`). */
const STATE_SECTORS = [12, 13];
const STORE_SECTORS = [17, 18, 19, 20, 21, 22, 23];
const CLOCK_HZ = 168_000_000;

/** Cycles per operation of each kind, roughly the cost model's order of magnitude. */
const CYCLES: Readonly<Record<string, number>> = {
  encrypt: 210_000,
  decrypt: 190_000,
  sync: 2_400_000,
  publish: 380_000,
  'add-key': 1_900_000,
  'activate-key': 900_000,
  'retire-key': 850_000,
  'destroy-key': 1_200_000,
  'add-member': 1_100_000,
  'remove-member': 2_300_000,
  reprotect: 450_000,
  'replace-device': 12_000_000,
  'attack:replay': 160_000,
  'attack:forge': 150_000,
  'attack:sd-rollback': 4_000_000,
  'power-cut': 3_000_000,
};

const REASONS = ['KeyUnavailable', 'UsageNotAllowed', 'UpdateReplayed', 'UpdateForged', 'RolledBack', 'NotMember'];

function addInto(target: Record<string, number>, key: string, n: number): void {
  if (n > 0) target[key] = (target[key] ?? 0) + n;
}

function sumTraffic(days: readonly SimulationDay[]): UpdateTraffic {
  return days.reduce(
    (t, d) => ({
      filesPublished: t.filesPublished + d.updates.filesPublished,
      bytesPublished: t.bytesPublished + d.updates.bytesPublished,
      filesApplied: t.filesApplied + d.updates.filesApplied,
      bytesApplied: t.bytesApplied + d.updates.bytesApplied,
    }),
    { filesPublished: 0, bytesPublished: 0, filesApplied: 0, bytesApplied: 0 },
  );
}

/** A deterministic synthetic report for `options` (same options, same report). */
export function syntheticReport(options: SyntheticOptions = {}): SimulationReport {
  const config: SimulationConfig = { ...DEFAULT_SIMULATION_CONFIG, ...options.config };
  const rng = new SeededPrng(config.seed);
  const hostile = options.hostileNames === true;
  const attacks = config.profile === 'hostile';
  const devices: { name: string; role: 'admin' | 'user' }[] = [
    { name: 'admin', role: 'admin' },
    ...Array.from({ length: config.users }, (_, i) => ({ name: `U${i + 1}`, role: 'user' as const })),
  ];
  if (hostile) devices.push({ name: HOSTILE.device, role: 'user' });
  const wear = new Map(devices.map((d) => [d.name, Array.from({ length: SECTORS }, () => 0)]));
  // The key population: each group starts with an active key; cryptoperiods of about a month.
  const keys: Record<KeyState, number> = Object.fromEntries(KEY_STATES.map((s) => [s, 0])) as Record<KeyState, number>;
  keys.active = config.groups;
  const violationDays =
    options.violations === true ? new Set([Math.ceil(config.days / 5), Math.ceil(config.days / 2)]) : new Set<number>();
  const details: ViolationDetail[] = [];
  const days: SimulationDay[] = [];
  const startMs = Date.parse(config.start);
  for (let day = 1; day <= config.days; day++) {
    const date = new Date(startMs + (day - 1) * 86_400_000).toISOString().slice(0, 10);
    const operations: Record<string, number> = {};
    const refusals: Record<string, number> = {};
    const hsmCycles: Record<string, number> = {};
    const flashErases: Record<string, number[]> = {};
    addInto(operations, 'encrypt', 20 + rng.int(30));
    addInto(operations, 'decrypt', 30 + rng.int(50));
    addInto(operations, 'sync', config.users - rng.int(Math.max(1, Math.ceil(config.users / 3))));
    // Rotation: about one group a week reaches the end of its cryptoperiod.
    let changes = 0;
    if (rng.int(7) === 0 || day % 30 === 0) {
      addInto(operations, 'add-key', 1);
      addInto(operations, 'activate-key', 1);
      addInto(operations, 'retire-key', 1);
      keys.deactivated += 1;
      changes += 3;
    }
    if (keys.deactivated > 2 && rng.int(10) === 0) {
      keys.deactivated -= 1;
      keys.destroyed += 1;
      addInto(operations, 'destroy-key', 1);
      changes += 1;
    }
    keys.preActivation = rng.int(3) === 0 ? 1 : 0;
    keys.suspended = day % 40 > 35 ? 1 : 0;
    if (rng.int(45) === 0) {
      keys.compromised += 1;
      addInto(operations, 'reprotect', 3 + rng.int(5));
      changes += 2;
    }
    if (keys.compromised > 0 && rng.int(20) === 0) {
      keys.compromised -= 1;
      keys.destroyedCompromised += 1;
    }
    if (rng.int(6) === 0) {
      addInto(operations, rng.int(2) === 0 ? 'add-member' : 'remove-member', 1);
      changes += 2;
    }
    if (rng.int(30) === 0) addInto(operations, 'replace-device', 1);
    if (attacks) {
      addInto(operations, 'attack:replay', rng.int(4));
      addInto(operations, 'attack:forge', rng.int(3));
      addInto(operations, 'attack:sd-rollback', rng.int(5) === 0 ? 1 : 0);
      addInto(operations, 'power-cut', rng.int(4) === 0 ? 1 : 0);
      addInto(refusals, 'UpdateReplayed', operations['attack:replay'] ?? 0);
      addInto(refusals, 'UpdateForged', operations['attack:forge'] ?? 0);
      addInto(refusals, 'RolledBack', operations['attack:sd-rollback'] ?? 0);
    }
    if (hostile) addInto(operations, HOSTILE.operation, 1);
    const published = changes * Math.max(1, Math.ceil(config.users / config.groups));
    addInto(operations, 'publish', published > 0 ? 1 : 0);
    const applied = Math.max(0, published - rng.int(3));
    const updates: UpdateTraffic = {
      filesPublished: published,
      bytesPublished: published * (420 + rng.int(900)),
      filesApplied: applied,
      bytesApplied: applied * (420 + rng.int(900)),
    };
    addInto(refusals, REASONS[rng.int(2)] as string, rng.int(4));
    if (rng.int(8) === 0) addInto(refusals, 'NotMember', 1);
    if (hostile) addInto(refusals, HOSTILE.reason, 1);
    for (const [kind, n] of Object.entries(operations)) addInto(hsmCycles, kind, n * (CYCLES[kind] ?? 100_000));
    for (const d of devices) {
      const erases = Array.from({ length: SECTORS }, () => 0);
      const busy = d.role === 'admin' ? 3 : 1;
      for (const s of STATE_SECTORS) erases[s] = rng.int(2 * busy + 1);
      if (rng.int(d.role === 'admin' ? 3 : 12) === 0)
        erases[STORE_SECTORS[rng.int(STORE_SECTORS.length)] as number] = 1;
      if (erases.some((e) => e > 0)) flashErases[d.name] = erases;
      const total = wear.get(d.name) as number[];
      erases.forEach((e, i) => (total[i] = (total[i] as number) + e));
    }
    const violations = violationDays.has(day) ? 1 + (day % 2) : 0;
    for (let v = 0; v < violations; v++) {
      const invariant = SIMULATION_INVARIANTS[(day + v) % SIMULATION_INVARIANTS.length] as SimulationInvariant;
      details.push({
        day,
        date,
        operation: hostile ? HOSTILE.operation : `U${1 + (day % config.users)} sync`,
        invariant,
        detail: hostile
          ? HOSTILE.detail
          : `U${1 + (day % config.users)} holds a key of a group it left on day ${day - 1}`,
      });
    }
    days.push({
      day,
      date,
      keysByState: { ...keys },
      operations,
      updates,
      refusals,
      staleUsers: Math.min(config.users, rng.int(4) === 0 ? 1 + rng.int(3) : 0),
      hsmCycles,
      flashErases,
      violations,
    });
  }
  const sumRecords = (pick: (d: SimulationDay) => Readonly<Record<string, number>>): Record<string, number> => {
    const out: Record<string, number> = {};
    for (const d of days) for (const [k, n] of Object.entries(pick(d))) addInto(out, k, n);
    return out;
  };
  const operationsByKind = sumRecords((d) => d.operations);
  const hsmCycles = sumRecords((d) => d.hsmCycles);
  // Not drawn from the generator, so that every other figure stays what it was before schema 2.
  const flashWear: DeviceWear[] = devices.map((d, i) => ({
    device: d.name,
    role: d.role,
    sectorErases: wear.get(d.name) as number[],
    sdSectorsWritten: (d.role === 'admin' ? 64 : 8 + (i % 5)) * config.days,
  }));
  const invariants = Object.fromEntries(
    SIMULATION_INVARIANTS.map((name) => [
      name,
      { checks: config.days, violations: details.filter((v) => v.invariant === name).length },
    ]),
  ) as Record<SimulationInvariant, { checks: number; violations: number }>;
  return {
    schema: SIMULATION_REPORT_SCHEMA,
    tool: 'sekey simulate',
    version: '0.1.0',
    config,
    host: { startedAt: '2026-12-02T12:00:00.000Z', wallSeconds: 61.4 },
    totals: {
      operations: Object.values(operationsByKind).reduce((a, b) => a + b, 0),
      operationsByKind,
      updates: sumTraffic(days),
      refusals: sumRecords((d) => d.refusals),
      hsmCycles,
      hsmSeconds: Object.values(hsmCycles).reduce((a, b) => a + b, 0) / CLOCK_HZ,
      clockHz: CLOCK_HZ,
      maxSectorErases: Math.max(0, ...flashWear.flatMap((w) => w.sectorErases)),
      keysByState: { ...(days.at(-1)?.keysByState ?? keys) },
    },
    days,
    flashWear,
    invariants,
    // Not drawn from the generator either (since schema 3): every smallest-group check ran to the end.
    protectionsJudged: { synced: Math.max(0, config.days - 1), behind: Math.min(1, config.days), heartbeatOnly: 0 },
    violations: details.length,
    violationDetails: details,
    stoppedEarly: null,
  };
}
