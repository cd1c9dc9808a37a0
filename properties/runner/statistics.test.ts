import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { addStatistics, mergeStatistics, statisticsOf } from './statistics.ts';
import type { Suite } from './suites.ts';

describe("a campaign's statistics", () => {
  test('counts add, lists keep what both list, rates are recomputed, the seed goes, the rest is the later', () => {
    const a = {
      runs: 41,
      seed: 7,
      commands: 2000,
      cpuSeconds: 10,
      commandsPerCpuSecond: 200,
      exercised: { faultPoints: { 'publish:sd:before': 2 }, errorCodes: { ok: 5 } },
      missingEdges: { pin: ['a', 'b'], key: [] },
      writtenAt: '2026-12-03T07:00:00.000Z',
    };
    const b = {
      runs: 41,
      seed: 9,
      commands: 1000,
      cpuSeconds: 2.5,
      commandsPerCpuSecond: 400,
      exercised: { faultPoints: { 'publish:sd:after': 1 }, errorCodes: { ok: 1 } },
      missingEdges: { pin: ['b', 'c'], key: [] },
      writtenAt: '2026-12-03T07:01:00.000Z',
    };
    expect(addStatistics(a, b)).toEqual({
      runs: 82,
      commands: 3000,
      cpuSeconds: 12.5,
      commandsPerCpuSecond: 240,
      exercised: { faultPoints: { 'publish:sd:before': 2, 'publish:sd:after': 1 }, errorCodes: { ok: 6 } },
      missingEdges: { pin: ['b'], key: [] },
      writtenAt: '2026-12-03T07:01:00.000Z',
    });
    // The first batch's report stands alone (without its seed).
    const { seed: _, ...first } = a;
    expect(addStatistics({}, a)).toEqual(first);
  });

  test('each batch is added once: a report older than the batch (it was stopped before writing) is not', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sekey-statistics-'));
    try {
      const report = join(dir, 'properties.json');
      const folder = join(dir, 'campaign');
      const suite = { name: 'deployment', statistics: report } as Suite;
      const quiet = { name: 'kms', statistics: null } as Suite;
      const write = (runs: number, at: number) =>
        writeFileSync(report, JSON.stringify({ deployment: { runs, writtenAt: new Date(at).toISOString() } }));
      const t0 = Date.parse('2026-12-03T07:00:00Z');
      mkdirSync(folder);
      write(10, t0 + 5);
      mergeStatistics(folder, [suite, quiet], t0);
      write(7, t0 + 65);
      mergeStatistics(folder, [suite, quiet], t0 + 60);
      // Stopped before the suite wrote: the file still holds the last batch's.
      mergeStatistics(folder, [suite, quiet], t0 + 120);
      const campaign = JSON.parse(readFileSync(join(folder, 'properties.json'), 'utf8'));
      expect(campaign).toEqual({ deployment: { runs: 17, writtenAt: new Date(t0 + 65).toISOString() } });
      expect(statisticsOf(suite, folder)).toBe(join(folder, 'properties.json'));
      expect(statisticsOf(suite)).toBe(report);
      expect(statisticsOf(quiet, folder)).toBeNull();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
