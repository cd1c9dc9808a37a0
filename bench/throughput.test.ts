import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { BASELINE_COMMIT, THROUGHPUT_SUITES, baselineTree, readMeasurement, throughputFigures } from './throughput.ts';
import type { SuiteMeasurement } from './throughput.ts';
import { repositoryRoot } from './results.ts';

const root = repositoryRoot();
const [kmsImpl, deployment] = THROUGHPUT_SUITES as [(typeof THROUGHPUT_SUITES)[0], (typeof THROUGHPUT_SUITES)[0]];

describe('throughput bench', () => {
  test('names suites that exist, and a -t filter that selects a property in each', () => {
    expect(THROUGHPUT_SUITES.map((s) => s.name)).toEqual(['kmsImpl', 'deployment']);
    for (const suite of THROUGHPUT_SUITES) {
      const text = readFileSync(join(root, suite.file), 'utf8');
      expect(text, suite.file).toMatch(new RegExp(`test\\(\\s*'[^']*${suite.test}`));
      expect(suite.runs.quick).toBeLessThan(suite.runs.full);
    }
  });

  test('full runs are the suites’ CI sizes', () => {
    for (const suite of THROUGHPUT_SUITES) {
      const text = readFileSync(join(root, suite.file), 'utf8');
      expect(text, suite.file).toMatch(
        new RegExp(`((propertyParams|progress\\.params)<[^(]*>\\(\\s*|ciRuns: |const CI_RUNS = )${suite.runs.full}\\b`),
      );
    }
  });

  test('reads operations per CPU-second from the suites’ report entries', () => {
    const report = JSON.stringify({
      kmsImpl: { runs: 20, operations: 880, cpuSeconds: 11, operationsPerCpuSecond: 80 },
      deployment: { runs: 5, commands: 250, cpuSeconds: 5, commandsPerCpuSecond: 50 },
    });
    expect(readMeasurement(report, kmsImpl)).toEqual({
      operations: 880,
      cpuSeconds: 11,
      opsPerCpuSecond: 80,
      runs: 20,
      cpuMsPerRun: 550,
    });
    expect(readMeasurement(report, deployment)).toEqual({
      operations: 250,
      cpuSeconds: 5,
      opsPerCpuSecond: 50,
      runs: 5,
      cpuMsPerRun: 1000,
    });
    expect(() => readMeasurement(JSON.stringify({ kmsImpl: { operations: 3 } }), kmsImpl)).toThrow(/kmsImpl/);
    // Without runs there is no figure per run: a report from a suite that recorded none is refused.
    expect(() => readMeasurement(JSON.stringify({ kmsImpl: { operations: 3, cpuSeconds: 1 } }), kmsImpl)).toThrow();
    expect(() => readMeasurement(JSON.stringify({ deployment: { commands: 1, cpuSeconds: 0 } }), deployment)).toThrow();
  });

  test('the baseline engine is the tree of its commit, with the suites and this checkout’s packages', () => {
    expect(baselineTree(root, '0'.repeat(40))).toBeNull();
    const dir = baselineTree(root);
    // A checkout without the history (shallow clone, archive) records the issue's figure instead.
    if (dir === null) return;
    try {
      for (const suite of THROUGHPUT_SUITES) expect(existsSync(join(dir, suite.file)), suite.file).toBe(true);
      expect(existsSync(join(dir, 'node_modules', 'vitest', 'vitest.mjs'))).toBe(true);
      expect(readFileSync(join(dir, 'impl', 'db', 'encryptedDatabase.ts'), 'utf8')).toMatch(/migrate\(db\);/);
      expect(BASELINE_COMMIT).toMatch(/^[0-9a-f]{40}$/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  /** A measurement of `ops` operations per CPU-second over 10 runs of 100 operations. */
  const at = (ops: number): SuiteMeasurement => {
    const cpuSeconds = 1000 / ops;
    return { operations: 1000, cpuSeconds, opsPerCpuSecond: ops, runs: 10, cpuMsPerRun: (cpuSeconds * 1000) / 10 };
  };

  test('a speedup pairs the two engines within each repetition, not the medians of different ones', () => {
    // Per repetition 1×, 4× and 1.5×: median 1.5×. The medians' ratio (200 / 100) would say 2×.
    const measured = new Map([
      ['kmsImpl', [at(100), at(200), at(300)]],
      ['kmsImplBaseline', [at(100), at(50), at(200)]],
      ['deployment', [at(30), at(30), at(30)]],
      ['deploymentBaseline', [at(20), at(20), at(20)]],
    ]);
    const figures = throughputFigures(measured, true);
    expect(figures.speedup.kmsImpl).toEqual({ min: 1, median: 1.5, max: 4, repetitions: 3 });
    expect(figures.speedup.deployment).toEqual({ min: 1.5, median: 1.5, max: 1.5, repetitions: 3 });
    // CPU per run, the baseline's over ours: the same pairs, so the same ratios here.
    expect(figures.speedup.perRun['kmsImpl']).toEqual({ min: 1, median: 1.5, max: 4, repetitions: 3 });
    expect(figures.speedup.kmsImplOverIssueFigure).toBe(2.9);
    expect(figures.opsPerCpuSecond['kmsImpl']).toEqual({ min: 100, median: 200, max: 300, repetitions: 3 });
    expect(figures.repetitions).toHaveLength(3);
    expect(figures.repetitions[1]?.['kmsImplBaseline']?.opsPerCpuSecond).toBe(50);
  });

  test('without the baseline tree, kmsImpl is divided by the issue figure in each repetition', () => {
    const figures = throughputFigures(
      new Map([
        ['kmsImpl', [at(136), at(204)]],
        ['deployment', [at(30), at(30)]],
      ]),
      false,
    );
    expect(figures.opsPerCpuSecond['kmsImplBaseline']).toBe(68);
    expect(figures.speedup.kmsImpl).toEqual({ min: 2, median: 2.5, max: 3, repetitions: 2 });
    expect(figures.speedup.deployment).toBeNull();
    expect(figures.speedup.perRun['kmsImpl']).toBeNull();
  });

  test('the results file holds throughput.opsPerCpuSecond for both suites and their baselines', () => {
    const path = join(root, 'bench', 'results', 'latest.json');
    expect(existsSync(path)).toBe(true);
    const results = JSON.parse(readFileSync(path, 'utf8')) as {
      throughput?: { opsPerCpuSecond?: Record<string, { median: number; repetitions: number }> };
    };
    const figures = results.throughput?.opsPerCpuSecond ?? {};
    for (const key of ['kmsImpl', 'kmsImplBaseline', 'deployment', 'deploymentBaseline']) {
      expect(figures[key]?.median, key).toBeGreaterThan(0);
      expect(figures[key]?.repetitions, key).toBeGreaterThanOrEqual(3);
    }
  });
});
