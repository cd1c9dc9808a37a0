/**
 * The runner's closing table: one row per suite with its runs, operations, operations per
 * CPU-second, failures and where its statistics report is, aligned for a terminal.
 * @module
 */
import { count } from '../../impl/simulation/chartScale.ts';
import { statisticsOf } from './statistics.ts';
import type { StatisticsPlace } from './statistics.ts';
import { SUITES } from './suites.ts';
import { failuresOf, opsPerCpuSecond } from './tally.ts';
import type { SuiteCount } from './tally.ts';

const HEADER = ['suite', 'runs', 'operations', 'ops/CPU-s', 'failures', 'statistics'] as const;
/** Columns aligned right (numbers). */
const RIGHT = new Set([1, 2, 3, 4]);

/** `n` with thousands separators: `12,345` (a string: a number already written out, `12345.60`). */
export function thousands(n: number | string): string {
  const [whole, fraction] = String(n).split('.');
  const grouped = (whole as string).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return fraction === undefined ? grouped : `${grouped}.${fraction}`;
}

/** A rate to one decimal, always written (`5,011.0`), so that a column of rates lines up at the point. */
export function rate(n: number): string {
  return thousands(n.toFixed(1));
}

/**
 * Whether `c`'s operations went uncounted: it made runs, or failed, and counted no operation. Some
 * suites count a run's operations only once it passed (updateAttacks, restoredAdmin: a fixed number per
 * run), so a failing replay, one run, would read `0` operations at `0.0` per CPU-second.
 */
export function operationsUncounted(c: SuiteCount): boolean {
  return c.operations === 0 && (c.runs > 0 || c.counterexamples.length > 0);
}

/**
 * `c`'s operations and operations per CPU-second as the table shows them, for `--json` and a campaign's
 * `summary.json`: null where the table shows `—` ({@link operationsUncounted}), not a count of 0.
 */
export function operationFigures(c: SuiteCount): { operations: number | null; opsPerCpuSecond: number | null } {
  return operationsUncounted(c)
    ? { operations: null, opsPerCpuSecond: null }
    : { operations: c.operations, opsPerCpuSecond: opsPerCpuSecond(c) };
}

/**
 * The operations of `counts` in words, as a campaign's closing line says them beside the table: the
 * counted ones (`36,000 operations`), and the suites whose row shows `—` named apart (`36,000 operations
 * (not counted: updateAttacks)`, or `operations not counted (updateAttacks)` when none was), never a
 * `0 operations` the table does not show.
 */
export function operationsText(counts: readonly SuiteCount[]): string {
  const uncounted = counts.filter(operationsUncounted).map((c) => c.suite);
  const operations = counts.reduce((a, c) => a + c.operations, 0);
  if (uncounted.length === 0) return count(operations, 'operation');
  if (operations === 0) return `operations not counted (${uncounted.join(', ')})`;
  return `${count(operations, 'operation')} (not counted: ${uncounted.join(', ')})`;
}

/** The row of one suite; a campaign's statistics are in its folder, a replay keeps none (`statistics.ts`). */
export function tableRow(c: SuiteCount, place: StatisticsPlace = 'pass'): string[] {
  const suite = SUITES.find((s) => s.name === c.suite);
  const statistics = (suite && statisticsOf(suite, place, c.runs)) ?? '-';
  const uncounted = operationsUncounted(c);
  return [
    c.suite,
    thousands(c.runs),
    uncounted ? '—' : thousands(c.operations),
    uncounted ? '—' : rate(opsPerCpuSecond(c)),
    String(failuresOf(c)),
    statistics,
  ];
}

/** The table of `counts`, a header, a rule, and one row per suite. */
export function formatTable(counts: readonly SuiteCount[], place: StatisticsPlace = 'pass'): string {
  const rows = [[...HEADER], ...counts.map((c) => tableRow(c, place))];
  const widths = HEADER.map((_, i) => Math.max(...rows.map((r) => (r[i] as string).length)));
  const line = (r: readonly string[]) =>
    r
      .map((cell, i) => (RIGHT.has(i) ? cell.padStart(widths[i] as number) : cell.padEnd(widths[i] as number)))
      .join('  ')
      .trimEnd();
  return [line(rows[0] as string[]), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(line)].join(
    '\n',
  );
}
