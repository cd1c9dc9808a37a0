/**
 * TEST KIT: what is wrong with a `report.json`, as a list of sentences (empty when nothing is):
 * every field of the schema present with the right type, and the figures consistent with each
 * other: days numbered from 1 on consecutive dates from the start, totals equal to the sums of the
 * days, HSM seconds equal to cycles over the clock, the wear maximum the maximum of the wear table,
 * violations counted the same three ways. A report read back from disk is checked as `unknown`.
 */
import { KEY_STATES } from '../../model/keyLifecycle.ts';
import { SIMULATION_INVARIANTS, SIMULATION_PROFILES, SIMULATION_REPORT_SCHEMA } from './simulationReport.ts';

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const counts = (v: unknown): v is Record<string, number> => isObject(v) && Object.values(v).every(isCount);
const sum = (values: readonly number[]): number => values.reduce((a, b) => a + b, 0);
const TRAFFIC = ['filesPublished', 'bytesPublished', 'filesApplied', 'bytesApplied'] as const;

/** Adds the counts of `records` key by key. */
function sumRecords(records: readonly Record<string, number>[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of records) for (const [k, n] of Object.entries(r)) out[k] = (out[k] ?? 0) + n;
  return out;
}

/** Records equal once zero counts are left out. */
function sameCounts(a: Record<string, number>, b: Record<string, number>): boolean {
  const nonZero = (r: Record<string, number>) =>
    Object.entries(r)
      .filter(([, n]) => n !== 0)
      .sort(([x], [y]) => (x < y ? -1 : 1));
  return JSON.stringify(nonZero(a)) === JSON.stringify(nonZero(b));
}

/** Every problem of `report`; none for a sound one. */
export function reportProblems(report: unknown): string[] {
  const problems: string[] = [];
  const need = (ok: boolean, what: string): boolean => {
    if (!ok) problems.push(what);
    return ok;
  };
  if (!need(isObject(report), 'the report is not an object')) return problems;
  const r = report as Json;
  need(r['schema'] === SIMULATION_REPORT_SCHEMA, `schema is ${String(r['schema'])}`);
  need(r['tool'] === 'sekey simulate', 'tool is not sekey simulate');
  need(typeof r['version'] === 'string' && r['version'] !== '', 'no version');
  if (!need(isObject(r['config']), 'no config')) return problems;
  const config = r['config'] as Json;
  for (const k of ['users', 'groups', 'days', 'seed'] as const) need(isCount(config[k]), `config.${k} is not a count`);
  need((SIMULATION_PROFILES as readonly unknown[]).includes(config['profile']), 'config.profile is unknown');
  need(typeof config['start'] === 'string' && !Number.isNaN(Date.parse(config['start'])), 'config.start is no date');
  const host = r['host'];
  need(
    isObject(host) && typeof host['startedAt'] === 'string' && typeof host['wallSeconds'] === 'number',
    'host is malformed',
  );

  if (!need(Array.isArray(r['days']), 'days is not a list')) return problems;
  const days = r['days'] as unknown[];
  need(days.length === config['days'], `${days.length} days for config.days ${String(config['days'])}`);
  const start = Date.parse(String(config['start']));
  days.forEach((day: unknown, i) => {
    if (!need(isObject(day), `day ${i + 1} is not an object`)) return;
    const d = day as Json;
    need(d['day'] === i + 1, `day ${i + 1} is numbered ${String(d['day'])}`);
    need(
      d['date'] === new Date(start + i * 86_400_000).toISOString().slice(0, 10),
      `day ${i + 1} has date ${String(d['date'])}`,
    );
    need(
      counts(d['keysByState']) && KEY_STATES.every((s) => isCount((d['keysByState'] as Json)[s])),
      `day ${i + 1}: keysByState lacks a state`,
    );
    for (const k of ['operations', 'refusals', 'hsmCycles'] as const)
      need(counts(d[k]), `day ${i + 1}: ${k} is not a record of counts`);
    need(
      isObject(d['updates']) && TRAFFIC.every((k) => isCount((d['updates'] as Json)[k])),
      `day ${i + 1}: updates malformed`,
    );
    need(
      isCount(d['staleUsers']) && (d['staleUsers'] as number) <= (config['users'] as number) * 2,
      `day ${i + 1}: staleUsers`,
    );
    need(
      isObject(d['flashErases']) && Object.values(d['flashErases']).every((v) => Array.isArray(v) && v.every(isCount)),
      `day ${i + 1}: flashErases malformed`,
    );
    need(isCount(d['violations']), `day ${i + 1}: violations is not a count`);
  });
  if (problems.length > 0) return problems;
  const dayList = days as Json[];

  if (!need(isObject(r['totals']), 'no totals')) return problems;
  const totals = r['totals'] as Json;
  const byKind = totals['operationsByKind'];
  if (need(counts(byKind), 'totals.operationsByKind malformed') && counts(byKind)) {
    need(
      sameCounts(byKind, sumRecords(dayList.map((d) => d['operations'] as Record<string, number>))),
      'operationsByKind is not the sum of the days',
    );
    need(totals['operations'] === sum(Object.values(byKind)), 'totals.operations is not the sum of operationsByKind');
  }
  const updates = totals['updates'];
  if (need(isObject(updates), 'totals.updates malformed') && isObject(updates)) {
    for (const k of TRAFFIC)
      need(
        updates[k] === sum(dayList.map((d) => (d['updates'] as Json)[k] as number)),
        `totals.updates.${k} is not the sum of the days`,
      );
  }
  for (const k of ['refusals', 'hsmCycles'] as const) {
    need(
      counts(totals[k]) && sameCounts(totals[k], sumRecords(dayList.map((d) => d[k] as Record<string, number>))),
      `totals.${k} is not the sum of the days`,
    );
  }
  const clockHz = totals['clockHz'];
  if (need(typeof clockHz === 'number' && clockHz > 0, 'totals.clockHz malformed') && counts(totals['hsmCycles'])) {
    const seconds = sum(Object.values(totals['hsmCycles'])) / (clockHz as number);
    need(
      typeof totals['hsmSeconds'] === 'number' &&
        Math.abs(totals['hsmSeconds'] - seconds) <= 1e-9 * Math.max(1, seconds),
      'hsmSeconds is not cycles / clockHz',
    );
  }
  need(
    JSON.stringify(totals['keysByState']) === JSON.stringify(dayList.at(-1)?.['keysByState']),
    'totals.keysByState is not the last day',
  );

  const wear = r['flashWear'];
  if (need(Array.isArray(wear), 'flashWear is not a list') && Array.isArray(wear)) {
    const ok = wear.every(
      (w: unknown) =>
        isObject(w) &&
        typeof w['device'] === 'string' &&
        ['admin', 'user'].includes(w['role'] as string) &&
        Array.isArray(w['sectorErases']) &&
        w['sectorErases'].every(isCount),
    );
    if (need(ok, 'flashWear malformed')) {
      const max = Math.max(0, ...wear.flatMap((w: Json) => w['sectorErases'] as number[]));
      need(
        totals['maxSectorErases'] === max,
        `maxSectorErases ${String(totals['maxSectorErases'])} is not the highest erase count ${max}`,
      );
      need(wear.filter((w: Json) => w['role'] === 'admin').length === 1, 'not exactly one admin device');
    }
  }

  const invariants = r['invariants'];
  if (need(isObject(invariants), 'no invariants') && isObject(invariants)) {
    for (const name of SIMULATION_INVARIANTS) {
      const t = invariants[name];
      need(isObject(t) && isCount(t['checks']) && isCount(t['violations']), `invariant ${name} malformed`);
    }
  }
  const details = r['violationDetails'];
  if (need(Array.isArray(details), 'violationDetails is not a list') && Array.isArray(details)) {
    need(r['violations'] === details.length, 'violations is not the number of details');
    need(
      r['violations'] === sum(dayList.map((d) => d['violations'] as number)),
      'violations is not the sum of the days',
    );
    if (isObject(invariants)) {
      need(
        r['violations'] ===
          sum(SIMULATION_INVARIANTS.map((n) => ((invariants[n] as Json | undefined)?.['violations'] as number) ?? 0)),
        'violations is not the sum over invariants',
      );
    }
    for (const v of details as unknown[]) {
      need(
        isObject(v) &&
          isCount(v['day']) &&
          typeof v['date'] === 'string' &&
          typeof v['operation'] === 'string' &&
          typeof v['detail'] === 'string' &&
          (SIMULATION_INVARIANTS as readonly unknown[]).includes(v['invariant']),
        'a violation detail is malformed',
      );
    }
  }
  return problems;
}
