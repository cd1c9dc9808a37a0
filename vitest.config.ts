import { defineConfig } from 'vitest/config';
import { signalSafeForks } from './properties/runner/signalSafeForks.ts';
import { sizedTimeout } from './testing/runConfig.ts';

/**
 * One runner for unit tests (beside the file they test) and property suites (properties/).
 * Coverage thresholds only ever go up: raise them when coverage rises, never lower them.
 */
export default defineConfig({
  test: {
    include: [
      'testing/**/*.test.ts',
      'model/**/*.test.ts',
      'device/**/*.test.ts',
      'impl/**/*.test.ts',
      'properties/**/*.test.ts',
      'bench/**/*.test.ts',
    ],
    // The JSON report lets .ci/run print a plain "N passed, N failed" closing line.
    reporters: ['default', 'json'],
    outputFile: { json: 'reports/vitest.json' },
    // Both cores: vitest's default keeps one free for the main thread, which here mostly waits, and
    // the property suites are CPU-bound; two workers nearly halve the wall time of npm test.
    maxWorkers: 2,
    // vitest's forks, but a test worker that dies as it starts (the out-of-memory killer, a stray signal)
    // fails its files at once, its signal among the run's errors, where vitest's own pool waits a minute
    // for it and then names no signal (properties/runner/signalSafeForks.ts).
    pool: signalSafeForks(),
    // CI size: two minutes a test. A run sized by the knobs (SEKEY_RUNS, SEKEY_SCALE,
    // SEKEY_DEADLINE) has no limit: its size bounds it (testing/runConfig.ts).
    testTimeout: sizedTimeout(120_000),
    hookTimeout: 120_000,
    coverage: {
      provider: 'v8',
      include: ['model/**/*.ts', 'device/**/*.ts', 'impl/**/*.ts'],
      exclude: ['**/*.test.ts', '**/*.testkit.ts', 'impl/cli/sekey.ts'],
      reporter: ['text-summary', 'json-summary'],
      reportsDirectory: 'coverage',
      thresholds: {
        'model/**/*.ts': { lines: 99.5, branches: 97.5, functions: 100, statements: 99.5 },
        'device/**/*.ts': { lines: 98.5, branches: 90, functions: 99, statements: 97 },
        'impl/**/*.ts': { lines: 97, branches: 88, functions: 98, statements: 95.5 },
      },
    },
  },
});
