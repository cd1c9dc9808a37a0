/**
 * A campaign's statistics. A suite that keeps statistics writes them for one pass (its `statistics`
 * file, `reports/properties.json`), so each batch of a campaign replaces the last; the runner adds
 * every batch's into the campaign folder's own `properties.json`, which then covers the campaign.
 *
 * How two reports add up: counts add; a list keeps what both list (an edge is missing from the
 * campaign only when no batch reached it); a rate per CPU-second is recomputed from the sums (the
 * key it is a rate of, over `cpuSeconds`); the seed is dropped (`summary.json` lists every batch's);
 * any other value is the later report's.
 * @module
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Suite } from './suites.ts';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

function isRecord(v: Json | undefined): v is { [key: string]: Json } {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const RATE = /^(.+)PerCpuSecond$/;

/** `into` and `more`, added up (see the module's rules). */
export function addStatistics(into: Json | undefined, more: Json): Json {
  if (typeof into === 'number' && typeof more === 'number') return Math.round((into + more) * 100) / 100;
  if (Array.isArray(into) && Array.isArray(more)) {
    const later = new Set(more.map((v) => JSON.stringify(v)));
    return into.filter((v) => later.has(JSON.stringify(v)));
  }
  if (!isRecord(into) || !isRecord(more)) return more;
  const out: { [key: string]: Json } = {};
  for (const key of new Set([...Object.keys(into), ...Object.keys(more)])) {
    if (key === 'seed') continue;
    const a = into[key];
    const b = more[key];
    out[key] = b === undefined ? (a as Json) : a === undefined ? b : addStatistics(a, b);
  }
  for (const key of Object.keys(out)) {
    const of = RATE.exec(key)?.[1];
    const count = of === undefined ? undefined : out[of];
    const cpu = out['cpuSeconds'];
    if (typeof count === 'number' && typeof cpu === 'number')
      out[key] = cpu > 0 ? Math.round((count / cpu) * 10) / 10 : 0;
  }
  return out;
}

/**
 * The statistics report in `path`, per suite (a batch's own file, see {@link STATISTICS_FILE_ENV},
 * or the campaign's), or an empty one (missing, or not JSON).
 */
export function readStatistics(path: string): { [suite: string]: Json } {
  if (!existsSync(path)) return {};
  try {
    const value = JSON.parse(readFileSync(path, 'utf8')) as Json;
    return isRecord(value) ? value : {};
  } catch {
    return {};
  }
}

/**
 * The variable that points a suite's statistics elsewhere: each batch of a campaign has the suites
 * write them to a file of its own, so that shards or runs sharing a working directory do not mix
 * theirs (`reports/properties.json` holds one pass, whoever wrote last).
 */
export const STATISTICS_FILE_ENV = 'SEKEY_STATISTICS_FILE';

/** Adds to `<folder>/properties.json` the statistics of `suites` (each of their entries) in a batch's `statistics`. */
export function mergeStatistics(
  folder: string,
  suites: readonly Suite[],
  statistics: { readonly [entry: string]: Json },
): void {
  const target = join(folder, 'properties.json');
  const campaign = readStatistics(target);
  let changed = false;
  for (const suite of suites) {
    if (suite.statistics === null) continue;
    for (const name of suite.statisticsEntries ?? [suite.name]) {
      const entry = statistics[name];
      if (!isRecord(entry)) continue;
      campaign[name] = addStatistics(campaign[name] ?? {}, entry);
      changed = true;
    }
  }
  if (!changed) return;
  writeFileSync(`${target}.tmp`, `${JSON.stringify(campaign, null, 2)}\n`);
  renameSync(`${target}.tmp`, target);
}

/**
 * Where a run keeps the suites' statistics: one pass writes each suite's own file; a campaign adds
 * every batch's into its folder's; a replay (`--path`) keeps none, so that replaying one case does
 * not replace the report of the last pass with the figures of a single run.
 */
export type StatisticsPlace = 'pass' | 'replay' | { readonly campaign: string };

/**
 * Where the statistics of `suite` are after a run of that kind in which it made `runs` runs; null where
 * none are kept, and when it made none: no property of it ended, so none wrote (the file named would be
 * another run's, or missing).
 */
export function statisticsOf(suite: Suite, place: StatisticsPlace, runs: number): string | null {
  if (suite.statistics === null || place === 'replay' || runs === 0) return null;
  return place === 'pass' ? suite.statistics : join(place.campaign, 'properties.json');
}
