/**
 * A validator of `report.json` (`simulationReport.ts`'s schema): every field present with its type,
 * counts whole and non-negative, every key state and invariant named, and the report consistent with
 * itself (as many days as configured, totals equal to the sums of the days, `violations` equal to
 * the details). `sekey simulate` can check what it writes; the tests check what the engine returns.
 * @module
 */
import { KEY_STATES } from '../../model/keyLifecycle.ts';
import { SIMULATION_INVARIANTS, SIMULATION_PROFILES, SIMULATION_REPORT_SCHEMA } from './simulationReport.ts';

type Obj = Record<string, unknown>;

const isObj = (x: unknown): x is Obj => typeof x === 'object' && x !== null && !Array.isArray(x);
const isCount = (x: unknown): x is number => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
const isDate = (x: unknown): x is string => typeof x === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(x);

/** The problems of a would-be report, one line each; empty when it is a valid report. */
export function validateSimulationReport(x: unknown): string[] {
  const problems: string[] = [];
  const fail = (path: string, what: string) => problems.push(`${path}: ${what}`);
  const obj = (path: string, v: unknown): Obj | null => {
    if (isObj(v)) return v;
    fail(path, 'must be an object');
    return null;
  };
  const count = (path: string, v: unknown) => {
    if (!isCount(v)) fail(path, `must be a whole number >= 0, got ${JSON.stringify(v)}`);
  };
  const counts = (path: string, v: unknown): Obj | null => {
    const o = obj(path, v);
    if (o) for (const [k, n] of Object.entries(o)) count(`${path}.${k}`, n);
    return o;
  };
  const exactKeys = (path: string, o: Obj | null, keys: readonly string[]) => {
    if (!o) return;
    for (const k of keys) if (!(k in o)) fail(`${path}.${k}`, 'is missing');
    for (const k of Object.keys(o)) if (!keys.includes(k)) fail(`${path}.${k}`, 'is not expected');
  };
  const traffic = (path: string, v: unknown) => {
    const o = obj(path, v);
    exactKeys(path, o, ['filesPublished', 'bytesPublished', 'filesApplied', 'bytesApplied']);
    if (o) for (const [k, n] of Object.entries(o)) count(`${path}.${k}`, n);
  };
  const sum = (records: ReadonlyArray<unknown>, key: string): number =>
    records.reduce<number>((n, r) => n + (isObj(r) && typeof r[key] === 'number' ? (r[key] as number) : 0), 0);

  const r = obj('report', x);
  if (!r) return problems;
  if (r['schema'] !== SIMULATION_REPORT_SCHEMA) fail('schema', `must be ${SIMULATION_REPORT_SCHEMA}`);
  if (r['tool'] !== 'sekey simulate') fail('tool', "must be 'sekey simulate'");
  if (typeof r['version'] !== 'string') fail('version', 'must be a string');

  const config = obj('config', r['config']);
  exactKeys('config', config, ['users', 'groups', 'days', 'seed', 'profile', 'start']);
  if (config) {
    for (const k of ['users', 'groups', 'days', 'seed']) count(`config.${k}`, config[k]);
    if (!SIMULATION_PROFILES.includes(config['profile'] as never)) fail('config.profile', 'is not a profile');
    if (typeof config['start'] !== 'string' || !Number.isFinite(Date.parse(config['start'])))
      fail('config.start', 'must be an ISO 8601 date');
  }
  const host = obj('host', r['host']);
  if (host) {
    if (typeof host['startedAt'] !== 'string') fail('host.startedAt', 'must be a string');
    if (typeof host['wallSeconds'] !== 'number' || !(host['wallSeconds'] >= 0))
      fail('host.wallSeconds', 'must be a number >= 0');
  }

  const days = Array.isArray(r['days']) ? (r['days'] as unknown[]) : null;
  if (!days) fail('days', 'must be an array');
  else if (config && isCount(config['days']) && days.length !== config['days'])
    fail('days', `has ${days.length} days, config.days is ${String(config['days'])}`);
  (days ?? []).forEach((d, i) => {
    const p = `days[${i}]`;
    const day = obj(p, d);
    if (!day) return;
    if (day['day'] !== i + 1) fail(`${p}.day`, `must be ${i + 1}`);
    if (!isDate(day['date'])) fail(`${p}.date`, 'must be YYYY-MM-DD');
    exactKeys(`${p}.keysByState`, counts(`${p}.keysByState`, day['keysByState']), KEY_STATES);
    counts(`${p}.operations`, day['operations']);
    traffic(`${p}.updates`, day['updates']);
    counts(`${p}.refusals`, day['refusals']);
    count(`${p}.staleUsers`, day['staleUsers']);
    counts(`${p}.hsmCycles`, day['hsmCycles']);
    const erases = obj(`${p}.flashErases`, day['flashErases']);
    if (erases)
      for (const [device, sectors] of Object.entries(erases)) {
        if (!Array.isArray(sectors)) fail(`${p}.flashErases.${device}`, 'must be an array');
        else sectors.forEach((n, s) => count(`${p}.flashErases.${device}[${s}]`, n));
      }
    count(`${p}.violations`, day['violations']);
  });

  const totals = obj('totals', r['totals']);
  if (totals) {
    count('totals.operations', totals['operations']);
    const byKind = counts('totals.operationsByKind', totals['operationsByKind']);
    if (byKind && totals['operations'] !== Object.values(byKind).reduce<number>((a, b) => a + Number(b), 0))
      fail('totals.operations', 'is not the sum of totals.operationsByKind');
    traffic('totals.updates', totals['updates']);
    counts('totals.refusals', totals['refusals']);
    counts('totals.hsmCycles', totals['hsmCycles']);
    if (typeof totals['hsmSeconds'] !== 'number' || !(totals['hsmSeconds'] >= 0))
      fail('totals.hsmSeconds', 'must be a number >= 0');
    count('totals.clockHz', totals['clockHz']);
    count('totals.maxSectorErases', totals['maxSectorErases']);
    exactKeys('totals.keysByState', counts('totals.keysByState', totals['keysByState']), KEY_STATES);
    if (days && isObj(totals['updates'])) {
      const perDay = days.map((d) => (isObj(d) ? d['updates'] : null));
      for (const k of ['filesPublished', 'bytesPublished', 'filesApplied', 'bytesApplied'])
        if (totals['updates'][k] !== sum(perDay, k)) fail(`totals.updates.${k}`, 'is not the sum of the days');
    }
    if (days && byKind) {
      const perDay = days.reduce<number>(
        (n, d) =>
          n +
          (isObj(d) && isObj(d['operations'])
            ? Object.values(d['operations']).reduce<number>((a, b) => a + Number(b), 0)
            : 0),
        0,
      );
      if (perDay !== totals['operations']) fail('totals.operations', 'is not the sum of the days');
    }
  }

  const wear = Array.isArray(r['flashWear']) ? (r['flashWear'] as unknown[]) : null;
  if (!wear) fail('flashWear', 'must be an array');
  (wear ?? []).forEach((w, i) => {
    const p = `flashWear[${i}]`;
    const d = obj(p, w);
    if (!d) return;
    if (typeof d['device'] !== 'string' || !/^(admin|U[1-9][0-9]*(#[2-9][0-9]*|#1[0-9]+)?)$/.test(d['device']))
      fail(`${p}.device`, "must be 'admin' or a user ID, with '#n' for a replacement");
    if (d['role'] !== 'admin' && d['role'] !== 'user') fail(`${p}.role`, "must be 'admin' or 'user'");
    if (!Array.isArray(d['sectorErases'])) fail(`${p}.sectorErases`, 'must be an array');
    else d['sectorErases'].forEach((n, s) => count(`${p}.sectorErases[${s}]`, n));
  });

  const invariants = obj('invariants', r['invariants']);
  exactKeys('invariants', invariants, SIMULATION_INVARIANTS);
  if (invariants)
    for (const [name, v] of Object.entries(invariants)) {
      const o = obj(`invariants.${name}`, v);
      exactKeys(`invariants.${name}`, o, ['checks', 'violations']);
      if (o) for (const k of ['checks', 'violations']) count(`invariants.${name}.${k}`, o[k]);
    }

  count('violations', r['violations']);
  const details = Array.isArray(r['violationDetails']) ? (r['violationDetails'] as unknown[]) : null;
  if (!details) fail('violationDetails', 'must be an array');
  (details ?? []).forEach((v, i) => {
    const p = `violationDetails[${i}]`;
    const d = obj(p, v);
    if (!d) return;
    count(`${p}.day`, d['day']);
    if (!isDate(d['date'])) fail(`${p}.date`, 'must be YYYY-MM-DD');
    for (const k of ['operation', 'detail']) if (typeof d[k] !== 'string') fail(`${p}.${k}`, 'must be a string');
    if (!SIMULATION_INVARIANTS.includes(d['invariant'] as never)) fail(`${p}.invariant`, 'is not an invariant');
  });
  if (details && r['violations'] !== details.length)
    fail('violations', `is ${String(r['violations'])}, but violationDetails lists ${details.length}`);
  if (days && isCount(r['violations']) && sum(days, 'violations') !== r['violations'])
    fail('violations', 'is not the sum of the days');
  if (invariants && isCount(r['violations'])) {
    const perInvariant = Object.values(invariants).reduce<number>(
      (n, v) => n + (isObj(v) && typeof v['violations'] === 'number' ? v['violations'] : 0),
      0,
    );
    if (perInvariant !== r['violations']) fail('violations', 'is not the sum over the invariants');
  }
  return problems;
}
