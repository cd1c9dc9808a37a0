import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { STATISTICS_FILE_ENV, addStatistics, mergeStatistics, readStatistics, statisticsOf } from './statistics.ts';
import { mergeSuiteReport, propertiesReport } from '../deployment/stats.testkit.ts';
import { suiteNamed } from './suites.ts';
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

  test("each batch's own statistics are added to the campaign's; a suite that keeps none is left out", () => {
    const dir = mkdtempSync(join(tmpdir(), 'sekey-statistics-'));
    try {
      const suite = { name: 'deployment', statistics: 'reports/properties.json' } as Suite;
      const quiet = { name: 'kms', statistics: null } as Suite;
      const batch = (runs: number) => ({ deployment: { runs, commands: runs * 50 }, kms: { runs: 1 } });
      mergeStatistics(dir, [suite, quiet], batch(10));
      // A batch stopped before its suites wrote: nothing to add.
      mergeStatistics(dir, [suite, quiet], {});
      mergeStatistics(dir, [suite, quiet], batch(7));
      const campaign = JSON.parse(readFileSync(join(dir, 'properties.json'), 'utf8'));
      expect(campaign).toEqual({ deployment: { runs: 17, commands: 850 } });
      expect(statisticsOf(suite, { campaign: dir }, 17)).toBe(join(dir, 'properties.json'));
      expect(statisticsOf(suite, 'replay', 1)).toBeNull();
      expect(statisticsOf(suite, 'pass', 17)).toBe('reports/properties.json');
      expect(statisticsOf(quiet, { campaign: dir }, 2)).toBeNull();
      // No run ended, so none wrote: the file would be another run's, or missing.
      expect(statisticsOf(suite, 'pass', 0)).toBeNull();
      expect(statisticsOf(suite, { campaign: dir }, 0)).toBeNull();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a suite that writes several entries has each of them added up', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sekey-statistics-'));
    try {
      const kmsImpl = suiteNamed('kmsImpl') as Suite;
      const batch = (runs: number) => ({
        kmsImpl: { runs, operations: runs * 30, cpuSeconds: 1, operationsPerCpuSecond: runs * 30 },
        kmsImplLive: { runs: 1, selections: { checked: 5, chosen: 1, decidedBySize: runs } },
        stray: { runs: 1 },
      });
      mergeStatistics(dir, [kmsImpl], batch(10));
      mergeStatistics(dir, [kmsImpl], batch(2));
      expect(JSON.parse(readFileSync(join(dir, 'properties.json'), 'utf8'))).toEqual({
        kmsImpl: { runs: 12, operations: 360, cpuSeconds: 2, operationsPerCpuSecond: 180 },
        kmsImplLive: { runs: 2, selections: { checked: 10, chosen: 2, decidedBySize: 12 } },
      });
      // The table points at them too.
      expect(statisticsOf(kmsImpl, 'pass', 12)).toBe('reports/properties.json');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('the suites write to the file the runner names, each batch to its own', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sekey-statistics-'));
    const saved = process.env[STATISTICS_FILE_ENV];
    try {
      const file = join(dir, 'batch.json');
      process.env[STATISTICS_FILE_ENV] = file;
      mergeSuiteReport('deployment', { runs: 3 });
      expect(readStatistics(file)['deployment']).toMatchObject({ runs: 3 });
      // A replay under plain vitest (SEKEY_PATH, no file named) writes nowhere; one the runner makes,
      // to the file it names (which it then drops).
      const savedPath = process.env['SEKEY_PATH'];
      process.env['SEKEY_PATH'] = '0:1';
      try {
        mergeSuiteReport('deployment', { runs: 4 });
        expect(readStatistics(file)['deployment']).toMatchObject({ runs: 4 });
        delete process.env[STATISTICS_FILE_ENV];
        expect(propertiesReport()).toBeNull();
        delete process.env['SEKEY_PATH'];
        expect(propertiesReport()).toBe('reports/properties.json');
      } finally {
        if (savedPath === undefined) delete process.env['SEKEY_PATH'];
        else process.env['SEKEY_PATH'] = savedPath;
      }
    } finally {
      if (saved === undefined) delete process.env[STATISTICS_FILE_ENV];
      else process.env[STATISTICS_FILE_ENV] = saved;
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
