import { describe, expect, test } from 'vitest';
import { formatTable, rate, tableRow, thousands } from './table.ts';
import { countOf } from './fixtures.testkit.ts';

const failedEnd = {
  kind: 'done',
  suite: 'kms',
  test: 't',
  runs: 0,
  operations: 0,
  cpuMicros: 1,
  failed: true,
  interrupted: false,
  seed: 1,
  path: '0',
  counterexample: null,
  error: null,
  reproduction: null,
} as const;

describe('the closing table', () => {
  test('thousands separators', () => {
    expect(thousands(0)).toBe('0');
    expect(thousands(999)).toBe('999');
    expect(thousands(1000)).toBe('1,000');
    expect(thousands(1234567)).toBe('1,234,567');
    expect(thousands(12345.6)).toBe('12,345.6');
    expect(thousands('1234567.50')).toBe('1,234,567.50');
  });

  test('rates keep one decimal, so that a column lines up at the point', () => {
    expect(rate(5011)).toBe('5,011.0');
    expect(rate(12115.5)).toBe('12,115.5');
    expect(rate(0)).toBe('0.0');
    expect(rate(999.96)).toBe('1,000.0');
  });

  test('a row: runs, operations, operations per CPU-second, failures, statistics report', () => {
    const row = tableRow(countOf('deployment', { runs: 51, operations: 3000, cpuMicros: 40_000_000, failures: 1 }));
    expect(row).toEqual(['deployment', '51', '3,000', '75.0', '1', 'reports/properties.json']);
    expect(tableRow(countOf('kms'))).toEqual(['kms', '0', '0', '0.0', '0', '-']);
    // Stopped (Ctrl-C) before vitest gave its verdicts: a property that ended with a counterexample is a failure.
    const stopped = countOf('kms');
    stopped.counterexamples.push({
      kind: 'done',
      suite: 'kms',
      test: 't',
      runs: 1,
      operations: 1,
      cpuMicros: 1,
      failed: true,
      interrupted: true,
      seed: 1,
      path: '0',
      counterexample: null,
      error: null,
      reproduction: null,
    });
    expect(tableRow(stopped)[4]).toBe('1');
  });

  test('a suite that made runs and counted no operation shows none, not a rate of 0.0', () => {
    // A failing replay of updateAttacks: one run, failed before the suite counted its operations.
    const replay = countOf('updateAttacks', { runs: 1, cpuMicros: 900_000, failures: 1 });
    expect(tableRow(replay, 'replay').slice(1, 4)).toEqual(['1', '—', '—']);
    // A counterexample found before any run was counted (stopped before vitest's verdicts).
    const found = countOf('restoredAdmin');
    found.counterexamples.push({ ...failedEnd, suite: 'restoredAdmin', operations: 0 });
    expect(tableRow(found).slice(1, 4)).toEqual(['0', '—', '—']);
    // No run at all (a fixed test alone): nothing was left uncounted.
    expect(tableRow(countOf('updateAttacks', { tests: 1 })).slice(1, 4)).toEqual(['0', '0', '0.0']);
  });

  test('columns are aligned: names to the left, figures to the right', () => {
    const table = formatTable([
      countOf('kms', { runs: 1500, operations: 45_000, cpuMicros: 9_000_000 }),
      countOf('deployment', { runs: 51, operations: 2_600, cpuMicros: 38_000_000, failures: 2 }),
    ]);
    expect(table).toBe(
      [
        'suite        runs  operations  ops/CPU-s  failures  statistics',
        '----------  -----  ----------  ---------  --------  -----------------------',
        'kms         1,500      45,000    5,000.0         0  -',
        'deployment     51       2,600       68.4         2  reports/properties.json',
      ].join('\n'),
    );
  });
});
