/**
 * Throughput of the property engine: operations of the property suites per CPU-second, for the
 * model-against-implementation suite (`kmsImpl`, KMS operations) and the deployment suite
 * (`deployment`, commands), with today's engine and the reference engine in the same run.
 *
 * How it measures, and why this way: the suites and their runners are test code (properties/,
 * `*.testkit.ts`), which the build (and so this bench, run from dist/) does not contain, and a
 * second copy of their drivers here would drift from what CI runs. So the bench runs each suite
 * itself, through vitest, at the CI seed (`CI=1`) and a fixed number of runs (`SEKEY_RUNS`), and
 * reads what the suite recorded in `reports/properties.json`: operations (or commands) applied and
 * the CPU time of the property in its worker (`process.cpuUsage()`: user + system, so neither
 * vitest's start-up and transform time nor waiting for a shared CPU counts).
 *
 * Engines: `host` is the default device (symmetric crypto through node:crypto); `noble` runs the
 * same suites with `SEKEY_CRYPTO=noble`, the @noble reference backend the device computed with
 * before. Runs alternate engine and suite within each repetition (interleaved), so that a busy
 * machine slows both alike; each figure is the spread over the repetitions.
 * @module
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BenchContext, BenchModule, BenchOutput } from './benchModule.ts';
import { spread } from './provenance.ts';
import type { Spread } from './provenance.ts';
import { repositoryRoot } from './results.ts';

/** A property suite the bench runs, and where it records its figures. */
export interface ThroughputSuite {
  /** Key in `throughput.opsPerCpuSecond`, and the suite's entry in `reports/properties.json`. */
  readonly name: 'kmsImpl' | 'deployment';
  readonly file: string;
  /** `vitest -t` filter selecting the property (not the coverage checks that need CI size). */
  readonly test: string;
  /** Field of the report entry that counts operations. */
  readonly operationsField: string;
  /** Runs at CI size (the suite's own `propertyParams` default) and in a `--quick` run. */
  readonly runs: { readonly full: number; readonly quick: number };
}

/** The two suites whose throughput issue 12 asks for. */
export const THROUGHPUT_SUITES: readonly ThroughputSuite[] = [
  {
    name: 'kmsImpl',
    file: 'properties/kmsImpl.properties.test.ts',
    test: 'agree after every step',
    operationsField: 'operations',
    runs: { full: 200, quick: 20 },
  },
  {
    name: 'deployment',
    file: 'properties/deployment/deployment.properties.test.ts',
    test: 'every invariant holds',
    operationsField: 'commands',
    runs: { full: 40, quick: 5 },
  },
];

/** Device crypto backends compared (`SEKEY_CRYPTO`): today's first, then the reference. */
export const ENGINES = ['host', 'noble'] as const;
/** A device crypto backend. */
export type Engine = (typeof ENGINES)[number];

/** One run of one suite. */
export interface SuiteMeasurement {
  readonly operations: number;
  readonly cpuSeconds: number;
  readonly opsPerCpuSecond: number;
}

/**
 * Reads a suite's entry from a `reports/properties.json` text.
 * @throws Error when the entry or its figures are missing (the suite did not run to the end).
 */
export function readMeasurement(reportText: string, suite: ThroughputSuite): SuiteMeasurement {
  const entry = (JSON.parse(reportText) as Record<string, Record<string, unknown> | undefined>)[suite.name];
  const operations = entry?.[suite.operationsField];
  const cpuSeconds = entry?.['cpuSeconds'];
  if (typeof operations !== 'number' || typeof cpuSeconds !== 'number' || !(cpuSeconds > 0))
    throw new Error(`reports/properties.json has no figures for ${suite.name}`);
  return { operations, cpuSeconds, opsPerCpuSecond: operations / cpuSeconds };
}

/** Runs `suite` once under `engine` with `runs` runs at the CI seed; returns what it recorded. */
function runSuite(root: string, suite: ThroughputSuite, engine: Engine, runs: number): SuiteMeasurement {
  const env: NodeJS.ProcessEnv = { ...process.env, CI: '1', SEKEY_RUNS: String(runs), SEKEY_CRYPTO: engine };
  delete env['SEKEY_SEED'];
  delete env['SEKEY_PATH'];
  const vitest = join(root, 'node_modules', 'vitest', 'vitest.mjs');
  const result = spawnSync(process.execPath, [vitest, 'run', suite.file, '-t', suite.test, '--reporter=dot'], {
    cwd: root,
    env,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  if (result.status !== 0)
    throw new Error(`${suite.name} (${engine}) failed:\n${result.stdout.slice(-4000)}\n${result.stderr.slice(-4000)}`);
  return readMeasurement(readFileSync(join(root, 'reports', 'properties.json'), 'utf8'), suite);
}

const round1 = (x: number): number => Math.round(x * 10) / 10;
const rounded = (s: Spread): Spread => ({ ...s, min: round1(s.min), median: round1(s.median), max: round1(s.max) });

/** The throughput bench (`throughput` section). */
export const throughputBench: BenchModule = {
  name: 'throughput',
  section: 'throughput',
  async run(context: BenchContext): Promise<BenchOutput> {
    const root = repositoryRoot();
    // Three repetitions in either mode: a spread needs them, and --quick shrinks the runs instead.
    const repetitions = 3;
    const samples = new Map<string, number[]>();
    const operations = new Map<string, number>();
    for (let rep = 1; rep <= repetitions; rep++) {
      for (const suite of THROUGHPUT_SUITES) {
        const runs = context.quick ? suite.runs.quick : suite.runs.full;
        // Alternate which engine goes first, so neither always runs on the busier half of a repetition.
        const order = rep % 2 === 1 ? ENGINES : [...ENGINES].reverse();
        for (const engine of order) {
          context.progress(`repetition ${rep}/${repetitions}: ${suite.name}, ${runs} runs, ${engine} crypto`);
          const m = runSuite(root, suite, engine, runs);
          const key = engine === 'host' ? suite.name : `${suite.name}Baseline`;
          samples.set(key, [...(samples.get(key) ?? []), m.opsPerCpuSecond]);
          operations.set(key, m.operations);
          context.progress(`  ${m.operations} operations in ${m.cpuSeconds} CPU-s: ${round1(m.opsPerCpuSecond)}/CPU-s`);
        }
      }
    }
    const opsPerCpuSecond = Object.fromEntries([...samples].map(([k, v]) => [k, rounded(spread(v))]));
    const speedup = Object.fromEntries(
      THROUGHPUT_SUITES.map((s) => [
        s.name,
        round1((opsPerCpuSecond[s.name] as Spread).median / (opsPerCpuSecond[`${s.name}Baseline`] as Spread).median),
      ]),
    );
    return {
      data: {
        opsPerCpuSecond,
        speedup,
        operationsPerMeasurement: Object.fromEntries(operations),
        runs: Object.fromEntries(THROUGHPUT_SUITES.map((s) => [s.name, context.quick ? s.runs.quick : s.runs.full])),
        method:
          'each suite run through vitest at the CI seed (CI=1) with SEKEY_RUNS runs (the first runs of the CI ' +
          'sequence when fewer than CI size); operations applied and the ' +
          "property's CPU time (process.cpuUsage, user + system, its worker only) as the suite records them in " +
          'reports/properties.json; `X` = host crypto (node:crypto), `XBaseline` = SEKEY_CRYPTO=noble (the @noble ' +
          'reference the device used before); engines and suites interleaved in every repetition',
      },
      columns: ['suite', 'engine', 'ops/CPU-s (median)', 'min', 'max', 'speedup'],
      table: THROUGHPUT_SUITES.flatMap((s) =>
        (['', 'Baseline'] as const).map((suffix) => {
          const f = opsPerCpuSecond[`${s.name}${suffix}`] as Spread;
          return [
            s.name,
            suffix === '' ? 'host' : 'noble',
            String(f.median),
            String(f.min),
            String(f.max),
            suffix === '' ? `${speedup[s.name]}×` : '',
          ];
        }),
      ),
    };
  },
};
