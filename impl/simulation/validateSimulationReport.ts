/**
 * The validator of `report.json` (`simulationReport.ts`'s schema), the only one: `sekey simulate`
 * checks what it is about to write, and the tests check what the engine returns and what the
 * synthetic report kit makes. Two passes:
 * - shape: every field present with its type and no other, counts whole and non-negative, every key
 *   state and invariant named, the profile known, dates `YYYY-MM-DD`;
 * - consistency, once the shape is sound (so that a sum never reads a malformed field): as many
 *   days as configured (in a run stopped early, as its `stoppedEarly.afterDay`, fewer), numbered
 *   from 1 on consecutive dates from `config.start`; totals equal to the sums of the days
 *   (operations, traffic, refusals, HSM cycles; zero entries aside), HSM seconds equal to cycles
 *   over the clock, the final key states the last day's, the erase maximum the
 *   maximum of the wear table; one admin device, no device twice, daily erases only of devices in the
 *   wear table and with as many sectors; stale users no more than the user devices; violations
 *   counted the same four ways (details, days, invariants, each day's details); the protections
 *   judged, each a smallest-group check, counted here unless it found a violation.
 *
 * Names (devices, operations, refusal codes, details) may be any string, as the schema says:
 * escaping them is the renderer's job (`reportHtml.ts`), not a reason to refuse a report.
 *
 * Not checked, because the engine's reports do not satisfy it: that a device's lifetime wear is the
 * sum of its daily erases (the wear counts the provisioning before day 1, and an SD or flash image
 * put back after a refused attack carries its own counts: `deviceMeters.ts`).
 * @module
 */
import { KEY_STATES } from '../../model/keyLifecycle.ts';
import { SIMULATION_INVARIANTS, SIMULATION_PROFILES, SIMULATION_REPORT_SCHEMA } from './simulationReport.ts';
import type { SimulationReport } from './simulationReport.ts';
import { DAY_MS, isoDate } from './time.ts';

type Obj = Record<string, unknown>;

const isObj = (x: unknown): x is Obj => typeof x === 'object' && x !== null && !Array.isArray(x);
const isCount = (x: unknown): x is number => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
const isDate = (x: unknown): x is string => typeof x === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(x);
const TRAFFIC = ['filesPublished', 'bytesPublished', 'filesApplied', 'bytesApplied'] as const;

/** The problems of a would-be report, one line each (`path: what`); empty when it is a valid report. */
export function validateSimulationReport(x: unknown): string[] {
  const problems = shapeProblems(x);
  return problems.length > 0 ? problems : consistencyProblems(x as SimulationReport);
}

/** Every field present with its type, and nothing else. */
function shapeProblems(x: unknown): string[] {
  const problems: string[] = [];
  const fail = (path: string, what: string) => problems.push(`${path}: ${what}`);
  const obj = (path: string, v: unknown): Obj | null => {
    if (isObj(v)) return v;
    fail(path, 'must be an object');
    return null;
  };
  const list = (path: string, v: unknown): unknown[] | null => {
    if (Array.isArray(v)) return v;
    fail(path, 'must be an array');
    return null;
  };
  const count = (path: string, v: unknown) => {
    if (!isCount(v)) fail(path, `must be a whole number >= 0, got ${JSON.stringify(v)}`);
  };
  const seconds = (path: string, v: unknown) => {
    if (typeof v !== 'number' || !(v >= 0) || !Number.isFinite(v)) fail(path, 'must be a number >= 0');
  };
  const string = (path: string, v: unknown) => {
    if (typeof v !== 'string' || v === '') fail(path, 'must be a non-empty string');
  };
  const exactKeys = (path: string, o: Obj | null, keys: readonly string[]) => {
    if (!o) return;
    for (const k of keys) if (!(k in o)) fail(`${path}.${k}`, 'is missing');
    for (const k of Object.keys(o)) if (!keys.includes(k)) fail(`${path}.${k}`, 'is not expected');
  };
  const counts = (path: string, v: unknown): Obj | null => {
    const o = obj(path, v);
    if (o) for (const [k, n] of Object.entries(o)) count(`${path}.${k}`, n);
    return o;
  };
  const countsOf = (path: string, v: unknown, keys: readonly string[]) => exactKeys(path, counts(path, v), keys);
  const sectors = (path: string, v: unknown) => list(path, v)?.forEach((n, s) => count(`${path}[${s}]`, n));

  const r = obj('report', x);
  if (!r) return problems;
  exactKeys('report', r, [
    'schema',
    'tool',
    'version',
    'config',
    'host',
    'totals',
    'days',
    'flashWear',
    'invariants',
    'protectionsJudged',
    'violations',
    'violationDetails',
    'stoppedEarly',
  ]);
  if (r['schema'] !== SIMULATION_REPORT_SCHEMA) fail('schema', `must be ${SIMULATION_REPORT_SCHEMA}`);
  if (r['tool'] !== 'sekey simulate') fail('tool', "must be 'sekey simulate'");
  string('version', r['version']);

  const config = obj('config', r['config']);
  exactKeys('config', config, ['users', 'groups', 'days', 'seed', 'profile', 'start']);
  if (config) {
    for (const k of ['users', 'groups', 'days', 'seed']) count(`config.${k}`, config[k]);
    if (!SIMULATION_PROFILES.includes(config['profile'] as never)) fail('config.profile', 'is not a profile');
    if (typeof config['start'] !== 'string' || !Number.isFinite(Date.parse(config['start'])))
      fail('config.start', 'must be an ISO 8601 date');
  }
  const host = obj('host', r['host']);
  exactKeys('host', host, ['startedAt', 'wallSeconds']);
  if (host) {
    string('host.startedAt', host['startedAt']);
    seconds('host.wallSeconds', host['wallSeconds']);
  }

  list('days', r['days'])?.forEach((d, i) => {
    const p = `days[${i}]`;
    const day = obj(p, d);
    exactKeys(p, day, [
      'day',
      'date',
      'keysByState',
      'operations',
      'updates',
      'refusals',
      'staleUsers',
      'hsmCycles',
      'flashErases',
      'violations',
    ]);
    if (!day) return;
    count(`${p}.day`, day['day']);
    if (!isDate(day['date'])) fail(`${p}.date`, 'must be YYYY-MM-DD');
    countsOf(`${p}.keysByState`, day['keysByState'], KEY_STATES);
    counts(`${p}.operations`, day['operations']);
    countsOf(`${p}.updates`, day['updates'], TRAFFIC);
    counts(`${p}.refusals`, day['refusals']);
    count(`${p}.staleUsers`, day['staleUsers']);
    counts(`${p}.hsmCycles`, day['hsmCycles']);
    const erases = obj(`${p}.flashErases`, day['flashErases']);
    if (erases) for (const [device, s] of Object.entries(erases)) sectors(`${p}.flashErases.${device}`, s);
    count(`${p}.violations`, day['violations']);
  });

  const totals = obj('totals', r['totals']);
  exactKeys('totals', totals, [
    'operations',
    'operationsByKind',
    'updates',
    'refusals',
    'hsmCycles',
    'hsmSeconds',
    'clockHz',
    'maxSectorErases',
    'keysByState',
  ]);
  if (totals) {
    count('totals.operations', totals['operations']);
    counts('totals.operationsByKind', totals['operationsByKind']);
    countsOf('totals.updates', totals['updates'], TRAFFIC);
    counts('totals.refusals', totals['refusals']);
    counts('totals.hsmCycles', totals['hsmCycles']);
    seconds('totals.hsmSeconds', totals['hsmSeconds']);
    count('totals.clockHz', totals['clockHz']);
    if (totals['clockHz'] === 0) fail('totals.clockHz', 'must be more than 0');
    count('totals.maxSectorErases', totals['maxSectorErases']);
    countsOf('totals.keysByState', totals['keysByState'], KEY_STATES);
  }

  list('flashWear', r['flashWear'])?.forEach((w, i) => {
    const p = `flashWear[${i}]`;
    const d = obj(p, w);
    exactKeys(p, d, ['device', 'role', 'sectorErases', 'sdSectorsWritten']);
    if (!d) return;
    string(`${p}.device`, d['device']);
    if (d['role'] !== 'admin' && d['role'] !== 'user') fail(`${p}.role`, "must be 'admin' or 'user'");
    sectors(`${p}.sectorErases`, d['sectorErases']);
    count(`${p}.sdSectorsWritten`, d['sdSectorsWritten']);
  });

  const invariants = obj('invariants', r['invariants']);
  exactKeys('invariants', invariants, SIMULATION_INVARIANTS);
  if (invariants)
    for (const [name, v] of Object.entries(invariants)) countsOf(`invariants.${name}`, v, ['checks', 'violations']);
  countsOf('protectionsJudged', r['protectionsJudged'], ['synced', 'behind', 'heartbeatOnly']);

  count('violations', r['violations']);
  list('violationDetails', r['violationDetails'])?.forEach((v, i) => {
    const p = `violationDetails[${i}]`;
    const d = obj(p, v);
    exactKeys(p, d, ['day', 'date', 'operation', 'invariant', 'detail']);
    if (!d) return;
    count(`${p}.day`, d['day']);
    if (!isDate(d['date'])) fail(`${p}.date`, 'must be YYYY-MM-DD');
    for (const k of ['operation', 'detail']) if (typeof d[k] !== 'string') fail(`${p}.${k}`, 'must be a string');
    if (!SIMULATION_INVARIANTS.includes(d['invariant'] as never)) fail(`${p}.invariant`, 'is not an invariant');
  });
  if (r['stoppedEarly'] !== null && r['stoppedEarly'] !== undefined) {
    const stopped = obj('stoppedEarly', r['stoppedEarly']);
    exactKeys('stoppedEarly', stopped, ['by', 'afterDay']);
    if (stopped) {
      string('stoppedEarly.by', stopped['by']);
      count('stoppedEarly.afterDay', stopped['afterDay']);
    }
  }
  return problems;
}

const total = (values: Iterable<number>): number => {
  let n = 0;
  for (const v of values) n += v;
  return n;
};

/** Adds records of counts key by key. */
function sumRecords(records: Iterable<Readonly<Record<string, number>>>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of records) for (const [k, n] of Object.entries(r)) out[k] = (out[k] ?? 0) + n;
  return out;
}

/** The keys where two records of counts differ, zero entries counting as absent. */
function differingKeys(a: Readonly<Record<string, number>>, b: Readonly<Record<string, number>>): string[] {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys].filter((k) => (a[k] ?? 0) !== (b[k] ?? 0)).sort();
}

/** The figures of a well-shaped report agree with each other. */
function consistencyProblems(r: SimulationReport): string[] {
  const problems: string[] = [];
  const fail = (path: string, what: string) => problems.push(`${path}: ${what}`);
  const { config, days, totals, flashWear } = r;

  // A run stopped early has the days up to its stop, at least one and fewer than configured.
  const stop = r.stoppedEarly;
  if (stop === null) {
    if (days.length !== config.days) fail('days', `has ${days.length} days, config.days is ${config.days}`);
  } else {
    if (stop.afterDay < 1 || stop.afterDay >= config.days)
      fail('stoppedEarly.afterDay', `is ${stop.afterDay}, not from 1 to config.days - 1 (${config.days - 1})`);
    if (days.length !== stop.afterDay)
      fail('days', `has ${days.length} days, stoppedEarly.afterDay is ${stop.afterDay}`);
  }
  const start = Date.parse(config.start);
  days.forEach((d, i) => {
    if (d.day !== i + 1) fail(`days[${i}].day`, `must be ${i + 1}`);
    const date = isoDate(start + i * DAY_MS);
    if (d.date !== date) fail(`days[${i}].date`, `must be ${date} (config.start + ${i} days), is ${d.date}`);
  });

  const sumOfDays = (
    path: string,
    got: Readonly<Record<string, number>>,
    pick: (d: (typeof days)[number]) => Readonly<Record<string, number>>,
  ) => {
    const wrong = differingKeys(got, sumRecords(days.map(pick)));
    if (wrong.length > 0) fail(path, `is not the sum of the days (at ${wrong.join(', ')})`);
  };
  sumOfDays('totals.operationsByKind', totals.operationsByKind, (d) => d.operations);
  if (totals.operations !== total(Object.values(totals.operationsByKind)))
    fail('totals.operations', 'is not the sum of totals.operationsByKind');
  sumOfDays('totals.updates', { ...totals.updates }, (d) => ({ ...d.updates }));
  sumOfDays('totals.refusals', totals.refusals, (d) => d.refusals);
  sumOfDays('totals.hsmCycles', totals.hsmCycles, (d) => d.hsmCycles);
  const hsmSeconds = total(Object.values(totals.hsmCycles)) / totals.clockHz;
  if (Math.abs(totals.hsmSeconds - hsmSeconds) > 1e-9 * Math.max(1, hsmSeconds))
    fail('totals.hsmSeconds', `is not the cycles over totals.clockHz (${hsmSeconds})`);
  const last = days.at(-1);
  if (last && differingKeys(totals.keysByState, last.keysByState).length > 0)
    fail('totals.keysByState', "is not the last day's");

  // A fold, not `Math.max(...)`: a long run's wear table may have more counts than a call takes arguments.
  const maxErases = flashWear.reduce((m, w) => w.sectorErases.reduce((a, b) => Math.max(a, b), m), 0);
  if (totals.maxSectorErases !== maxErases)
    fail('totals.maxSectorErases', `is ${totals.maxSectorErases}, the wear table's highest count is ${maxErases}`);
  const admins = flashWear.filter((w) => w.role === 'admin').length;
  if (admins !== 1) fail('flashWear', `lists ${admins} admin devices, not 1`);
  const sectorsOf = new Map<string, number>();
  flashWear.forEach((w, i) => {
    if (sectorsOf.has(w.device)) fail(`flashWear[${i}].device`, `${JSON.stringify(w.device)} is listed twice`);
    sectorsOf.set(w.device, w.sectorErases.length);
  });
  const userDevices = flashWear.length - admins;
  days.forEach((d, i) => {
    if (d.staleUsers > userDevices)
      fail(`days[${i}].staleUsers`, `is ${d.staleUsers}, more than the ${userDevices} user devices`);
    for (const [device, erases] of Object.entries(d.flashErases)) {
      const n = sectorsOf.get(device);
      if (n === undefined) fail(`days[${i}].flashErases`, `names ${JSON.stringify(device)}, not in flashWear`);
      else if (erases.length !== n)
        fail(`days[${i}].flashErases`, `has ${erases.length} sectors of ${JSON.stringify(device)}, flashWear ${n}`);
    }
  });

  if (r.violations !== r.violationDetails.length)
    fail('violations', `is ${r.violations}, but violationDetails lists ${r.violationDetails.length}`);
  // With the two checks below (each invariant's and each day's count is its details'), `violations`
  // is also the sum over the invariants and the sum of the days.
  for (const name of SIMULATION_INVARIANTS) {
    const listed = r.violationDetails.filter((v) => v.invariant === name).length;
    if (r.invariants[name].violations !== listed)
      fail(`invariants.${name}.violations`, `is ${r.invariants[name].violations}, violationDetails lists ${listed}`);
  }
  // Every smallest-group check judged one protection, counted by how unless it found a violation.
  const { synced, behind, heartbeatOnly } = r.protectionsJudged;
  const judged = synced + behind + heartbeatOnly;
  const sg = r.invariants['smallest-group'];
  if (judged > sg.checks || judged < sg.checks - sg.violations)
    fail(
      'protectionsJudged',
      `counts ${judged} protections judged, invariants.smallest-group ${sg.checks} checks with ${sg.violations} ` +
        'violations (each check judges one protection, counted here unless it found a violation)',
    );
  r.violationDetails.forEach((v, i) => {
    const day = days[v.day - 1];
    if (day === undefined) fail(`violationDetails[${i}].day`, `is not a day of the run (1 to ${days.length})`);
    else if (v.date !== day.date) fail(`violationDetails[${i}].date`, `must be day ${v.day}'s date, ${day.date}`);
  });
  const perDay = new Map<number, number>();
  for (const v of r.violationDetails) perDay.set(v.day, (perDay.get(v.day) ?? 0) + 1);
  days.forEach((d, i) => {
    const listed = perDay.get(d.day) ?? 0;
    if (d.violations !== listed) fail(`days[${i}].violations`, `is ${d.violations}, violationDetails lists ${listed}`);
  });
  return problems;
}
