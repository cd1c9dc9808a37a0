/**
 * `sekey simulate`'s command line: options, usage errors, help, and what it writes and prints. The
 * engine is a stand-in here (the synthetic report test kit, with progress reported day by day), so
 * that the command is tested whatever the engine does; `simulate.e2e.test.ts` runs the real one.
 */
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeEach, describe, expect, test, vi } from 'vitest';
import { FilesPartlyReplacedError } from '../host/atomicFile.ts';
import { parseMarkup } from '../simulation/parseMarkup.testkit.ts';
import { DEFAULT_SIMULATION_CONFIG, runSimulation } from '../simulation/runSimulation.ts';
import { SIMULATION_PROFILES } from '../simulation/simulationReport.ts';
import type { SimulationConfig, SimulationReport } from '../simulation/simulationReport.ts';
import { syntheticReport } from '../simulation/syntheticReport.testkit.ts';
import { rerunCommand } from '../simulation/reportHtml.ts';
import { validateSimulationReport } from '../simulation/validateSimulationReport.ts';
import { workloadSummary } from '../simulation/workloadSummary.ts';
import { guardedIo } from './cliIo.ts';
import type { CliIo } from './cliIo.ts';
import { guardInterrupts } from './interrupts.ts';
import { main } from './sekeyCommand.ts';
import {
  InvalidReport,
  parseSimulateArgs,
  reportNotWritten,
  runSimulate,
  SIMULATION_BOUNDS,
  VIOLATIONS_SHOWN,
  violationLine,
  violationLines,
} from './simulateCommand.ts';
import { progressBar, simulationProgressText } from './simulationProgress.ts';
import { removeTempDirs, sekey, tempDir } from './sekeyRun.testkit.ts';

/** Seed of the stand-in run that finds violations. */
const FAILING_SEED = 666;
/** Seed of the stand-in run whose report is broken (an engine bug): its operations do not add up. */
const BROKEN_SEED = 777;

vi.mock('../simulation/runSimulation.ts', async (importOriginal) => {
  const original = await importOriginal<typeof import('../simulation/runSimulation.ts')>();
  return {
    ...original,
    runSimulation: vi.fn(
      async (
        config: SimulationConfig,
        options?: { onDay?: (p: object) => void; version?: string; stopRequested?: () => string | null },
      ) => {
        for (let day = 1; day <= config.days; day++) {
          options?.onDay?.({ day, days: config.days, operations: day * 40 });
          // As the engine: asked after each day but the last; a stopped run reports the days done.
          const by = day < config.days ? (options?.stopRequested?.() ?? null) : null;
          if (by !== null) {
            const done = syntheticReport({ config: { ...config, days: day } });
            return { ...done, config, stoppedEarly: { by, afterDay: day } } satisfies SimulationReport;
          }
        }
        const report = syntheticReport({ config, violations: config.seed === FAILING_SEED });
        const totals =
          config.seed === BROKEN_SEED ? { ...report.totals, operations: report.totals.operations + 1 } : report.totals;
        return { ...report, totals, version: options?.version ?? report.version } satisfies SimulationReport;
      },
    ),
  };
});

afterAll(removeTempDirs);
beforeEach(() => {
  vi.mocked(runSimulation).mockClear();
});

describe('sekey simulate: the command line', () => {
  test('without options: the engine defaults and ./sekey-report', () => {
    expect(parseSimulateArgs([], '/work')).toEqual({ config: DEFAULT_SIMULATION_CONFIG, out: '/work/sekey-report' });
  });

  test('every option, at its bounds', () => {
    const argv = [
      '--users',
      '1000',
      '--groups=1',
      '--days',
      '3650',
      '--seed',
      '4294967295',
      '--profile',
      'churn',
      '--out',
      'r',
    ];
    expect(parseSimulateArgs(argv, '/w')).toEqual({
      config: { ...DEFAULT_SIMULATION_CONFIG, users: 1000, groups: 1, days: 3650, seed: 4294967295, profile: 'churn' },
      out: '/w/r',
    });
    expect(parseSimulateArgs(['--seed', '0', '--out', '/abs'], '/w')).toMatchObject({
      config: { seed: 0 },
      out: '/abs',
    });
    expect(SIMULATION_BOUNDS.seed.max).toBe(2 ** 32 - 1);
  });

  test("the report's rerun command parses back to the report's settings", () => {
    const config = {
      ...DEFAULT_SIMULATION_CONFIG,
      users: 40,
      groups: 3,
      days: 9,
      seed: 77,
      profile: 'hostile' as const,
    };
    const rerun = rerunCommand({ config } as SimulationReport);
    expect(rerun).toBe('sekey simulate --users 40 --groups 3 --days 9 --seed 77 --profile hostile');
    expect(parseSimulateArgs(rerun.split(' ').slice(2), '/w').config).toEqual(config);
    expect(rerunCommand({ config: { ...config, start: '2027-01-01T00:00:00.000Z' } } as SimulationReport)).toMatch(
      /--profile hostile \(from runSimulation with start 2027-01-01T00:00:00\.000Z\)$/,
    );
  });

  const wrong: ReadonlyArray<readonly [string[], RegExp]> = [
    [['--users', '1'], /--users takes a whole number from 2 to 1000, not '1'/],
    [['--users', '1001'], /--users takes a whole number from 2 to 1000, not '1001'/],
    [['--groups', '2.5'], /--groups takes a whole number from 1 to 1000, not '2.5'/],
    [['--days', '3651'], /--days takes a whole number from 1 to 3650/],
    [['--days', 'ninety'], /--days takes a whole number .* not 'ninety'/],
    [['--days', '1e2'], /--days takes a whole number .* not '1e2'/],
    [['--days', ' 9'], /--days takes a whole number .* not ' 9'/],
    [['--seed', '4294967296'], /--seed takes a whole number from 0 to 4294967295/],
    [['--seed', '99999999999999999999'], /--seed takes a whole number/],
    [['--users=-3'], /--users takes a whole number from 2 to 1000, not '-3'/],
    // Before, --users took the next option for its value and called it no number; --out said it needed one.
    [['--users', '--out', 'x'], /--users needs a value \(one starting with '-': --users=-…\)/],
    [['--profile', '--days', '3'], /--profile needs a value/],
    [['--days'], /--days needs a value/],
    [
      ['--profile', 'hostle'],
      /unknown profile 'hostle' \(did you mean 'hostile'\?\); profiles: default, rotation-heavy, churn, hostile/,
    ],
    [['--profile', 'rotation'], /unknown profile 'rotation'; profiles:/],
    [['--user', '4'], /unknown option '--user' \(did you mean '--users'\?\)/],
    [['--days', '5', '--days', '6'], /--days given twice/],
    [['extra'], /unexpected argument 'extra'/],
  ];

  test.each(wrong)('%j is a usage error: exit 2, the engine never runs, nothing is written', async (argv, message) => {
    const cwd = tempDir();
    const r = await sekey(['simulate', ...argv], { cwd });
    expect(r.code).toBe(2);
    expect(r.err).toMatch(message);
    expect(r.err).toMatch(/\(sekey simulate --help shows the usage\)/);
    expect(r.out).toBe('');
    expect(runSimulation).not.toHaveBeenCalled();
    expect(readdirSync(cwd)).toEqual([]);
  });

  test('with --json a usage error is also a JSON error on standard output', async () => {
    const r = await sekey(['simulate', '--profile', 'hostle', '--json'], { cwd: tempDir() });
    expect(r.code).toBe(2);
    expect(JSON.parse(r.out)).toEqual({
      error: { code: 'Usage', message: expect.stringMatching(/did you mean 'hostile'/), exit: 2 },
    });
  });

  test('--help: what it does, every option with its default, every profile, exit codes and an example', async () => {
    for (const argv of [
      ['simulate', '--help'],
      ['simulate', '-h'],
      ['--help', 'simulate'],
    ]) {
      const r = await sekey(argv);
      expect(r.code).toBe(0);
      expect(r.err).toBe('');
      const d = DEFAULT_SIMULATION_CONFIG;
      expect(r.out).toMatch(
        new RegExp(
          '^usage: sekey simulate \\[--users N\\] \\[--groups N\\] \\[--days N\\] \\[--seed S\\] \\[--profile P\\] ' +
            '\\[--out DIR\\]\n {22}\\[--json\\]\n',
        ),
      );
      for (const line of [
        `--users N      users, each with an HSM (default ${d.users}; 2 to 1000)`,
        `--groups N     groups (default ${d.groups}; 1 to 1000)`,
        `--days N       simulated days from ${d.start.slice(0, 10)} (default ${d.days}; 1 to 3650)`,
        `--seed S       the seed of the workload (default ${d.seed}; 0 to 4294967295)`,
        `--profile P    the workload (default ${d.profile}): default, rotation-heavy, churn, hostile`,
        '--out DIR      where the report goes, created if needed (default ./sekey-report)',
        '--json         print only the summary as JSON on standard output (no progress line)',
      ]) {
        expect(r.out).toContain(line);
      }
      for (const profile of ['default', 'rotation-heavy', 'churn', 'hostile'])
        expect(r.out).toMatch(new RegExp(`^  ${profile} +\\w`, 'm'));
      expect(r.out).toMatch(/Exit codes: 0 no invariant violated, 1 violations found/);
      expect(r.out).toMatch(
        /Example: .*\n {2}sekey simulate --users 20 --groups 6 --days 180 --profile hostile --out \.\/hostile-report\n/,
      );
      expect(r.out.split('\n').every((line) => line.length <= 100)).toBe(true);
      expect(runSimulation).not.toHaveBeenCalled();
    }
  });

  test("each profile's line, from workload.ts's rates, in --help and the README (which links the docs)", async () => {
    const help = (await sekey(['simulate', '--help'])).out;
    // The help wraps each line under its profile's name: joined again, it is the whole line.
    const unwrapped = help.replace(/\n {18}/g, ' ');
    const readme = readFileSync(join(import.meta.dirname, '..', '..', 'README.md'), 'utf8');
    for (const profile of SIMULATION_PROFILES) {
      const line = workloadSummary(profile);
      expect(unwrapped).toContain(`  ${profile.padEnd(14)}  ${line}\n`);
      expect(readme).toContain(`\n- \`${profile}\`: ${line}\n`);
    }
    expect(workloadSummary('rotation-heavy')).toMatch(/7-day cryptoperiods/);
    expect(workloadSummary('hostile')).toMatch(/2 attacks a day, 0\.5 power cuts armed a day/);
    const section = readme.slice(readme.indexOf('## Simulating a deployment'), readme.indexOf('## Commands'));
    expect(section).toContain('[docs/simulation.md](docs/simulation.md)');
  });

  test('sekey --help lists simulate as what npm start runs; demo stays a command', async () => {
    const r = await sekey(['--help']);
    expect(r.out).toMatch(
      new RegExp(
        '^ {2}simulate +a deployment over simulated months: ' +
          'report\\.json, report\\.html \\(what `npm start` runs\\)$',
        'm',
      ),
    );
    expect(r.out).toMatch(/^ {2}demo +a scripted story/m);
    expect((await sekey(['simulat'])).err).toMatch(/unknown command 'simulat' \(did you mean 'simulate'\?\)/);
  });
});

describe('sekey simulate: what it writes and prints (stand-in engine)', () => {
  test('writes both files into a new folder, prints a summary and the page path; progress on a terminal', async () => {
    const cwd = tempDir();
    const status: (string | null)[] = [];
    const r = await sekey(['simulate', '--days', '12', '--out', 'deep/report'], {
      cwd,
      status: (l) => void status.push(l),
    });
    expect(r.code).toBe(0);
    const dir = join(cwd, 'deep', 'report');
    expect(readdirSync(dir).sort()).toEqual(['report.html', 'report.json']);
    const text = readFileSync(join(dir, 'report.json'), 'utf8');
    const report = JSON.parse(text) as SimulationReport;
    expect(text).toBe(`${JSON.stringify(report, null, 2)}\n`);
    expect(report.config).toEqual({ ...DEFAULT_SIMULATION_CONFIG, days: 12 });
    expect(report.version).toMatch(/^\d+\.\d+\.\d+/);
    const page = parseMarkup(readFileSync(join(dir, 'report.html'), 'utf8'));
    expect(page.errors).toEqual([]);
    expect(r.out.split('\n')).toEqual([
      `Simulated 12 days: ${DEFAULT_SIMULATION_CONFIG.users} users, ${DEFAULT_SIMULATION_CONFIG.groups} groups, ` +
        'profile default, seed 1.',
      expect.stringMatching(/^ {2}operations: {8}[\d,]+$/),
      expect.stringMatching(/^ {2}files published: {3}[\d,]+ \([\d.,]+ (B|KiB|MiB)\), [\d,]+ applied$/),
      expect.stringMatching(/^ {2}HSM time: {10}[\d.,]+ (s|ms) \(modelled, all devices\)$/),
      expect.stringMatching(/^ {2}max sector erases: [\d,]+$/),
      expect.stringMatching(
        /^ {2}smallest-group: {4}[\d,]+ protections judged: [\d,]+ synced, [\d,]+ behind the model, [\d,]+ by the/,
      ),
      '  violations:        0: every invariant held',
      '  wall time:         61.4 s',
      `Report: ${join(dir, 'report.html')}`,
    ]);
    expect(r.err).toBe('');
    expect(status.slice(0, -1)).toHaveLength(12);
    for (const line of status.slice(0, -1)) {
      expect(line).toMatch(/^simulating [█░]{16} day \d+\/12 · [\d,]+ ops\/s · \d+s left$/);
    }
    expect(status[11]).toMatch(/█{16} day 12\/12 · [\d,]+ ops\/s · 0s left/);
    expect(status.at(-1)).toBeNull();
  });

  test('--json: the summary alone on standard output, no progress line even on a terminal', async () => {
    const cwd = tempDir();
    const status: (string | null)[] = [];
    const r = await sekey(
      ['simulate', '--json', '--users', '5', '--days', '7', '--profile', 'hostile', '--seed', '3'],
      {
        cwd,
        status: (l) => void status.push(l),
      },
    );
    expect(r.code).toBe(0);
    expect(status).toEqual([]);
    const summary = JSON.parse(r.out) as Record<string, unknown>;
    const report = JSON.parse(readFileSync(join(cwd, 'sekey-report', 'report.json'), 'utf8')) as SimulationReport;
    expect(Object.keys(summary).sort()).toEqual(
      [
        'config',
        'days',
        'firstViolations',
        'host',
        'invariants',
        'paths',
        'protectionsJudged',
        'schema',
        'stoppedEarly',
        'tool',
        'totals',
        'version',
        'violations',
      ].sort(),
    );
    expect(summary).toEqual({
      schema: report.schema,
      tool: 'sekey simulate',
      version: report.version,
      config: { ...DEFAULT_SIMULATION_CONFIG, users: 5, days: 7, profile: 'hostile', seed: 3 },
      host: report.host,
      totals: report.totals,
      invariants: report.invariants,
      protectionsJudged: report.protectionsJudged,
      violations: 0,
      stoppedEarly: null,
      days: 7,
      firstViolations: [],
      paths: { json: join(cwd, 'sekey-report', 'report.json'), html: join(cwd, 'sekey-report', 'report.html') },
    });
  });

  test('violations: exit 1, said on standard error, the report written all the same', async () => {
    const cwd = tempDir();
    const r = await sekey(['simulate', '--seed', String(FAILING_SEED), '--days', '10', '--json'], { cwd });
    expect(r.code).toBe(1);
    const summary = JSON.parse(r.out) as { violations: number; firstViolations: unknown[] };
    expect(summary.violations).toBeGreaterThan(0);
    const report = JSON.parse(readFileSync(join(cwd, 'sekey-report', 'report.json'), 'utf8')) as SimulationReport;
    expect(report.violationDetails).toHaveLength(summary.violations);
    // Each named on standard error too, printable (the stand-in's details hold control characters).
    expect(summary.firstViolations).toEqual(report.violationDetails);
    expect(r.err.split('\n')).toEqual([
      `sekey simulate: ${summary.violations} invariant violations: see ${join(cwd, 'sekey-report', 'report.html')}`,
      ...report.violationDetails.map((v) => `  ${violationLine(v)}`),
    ]);
    expect(r.err).toContain(`day ${report.violationDetails[0]?.day} (`);
    expect(readFileSync(join(cwd, 'sekey-report', 'report.html'), 'utf8')).toContain('data-verdict="fail"');
  });

  test('standard error names the first violations, one a line, printable, and how many more the report holds', () => {
    const base = syntheticReport({ violations: true });
    const one = base.violationDetails[0];
    if (one === undefined) throw new Error('the stand-in report has no violation');
    const details = Array.from({ length: VIOLATIONS_SHOWN + 2 }, (_, i) => ({
      ...one,
      day: i + 1,
      detail: i === 0 ? 'U1 holds K2001\u001b[2J\nforged line' : `detail ${i}`,
    }));
    const report = { ...base, violations: details.length, violationDetails: details };
    const paths = { json: '/r/report.json', html: '/r/report.html' };
    const lines = violationLines(report, paths);
    expect(lines[0]).toBe(`sekey simulate: ${VIOLATIONS_SHOWN + 2} invariant violations: see /r/report.html`);
    expect(lines[1]).toBe(
      `  day 1 (${one.date}), ${one.invariant}, after ${one.operation}: U1 holds K2001\\u{1b}[2J\\nforged line`,
    );
    expect(lines).toHaveLength(1 + VIOLATIONS_SHOWN + 1);
    expect(lines.at(-1)).toBe('  and 2 more in /r/report.json');
    const single = violationLines({ ...report, violations: 1, violationDetails: details.slice(1, 2) }, paths);
    expect(single).toEqual([
      'sekey simulate: 1 invariant violation: see /r/report.html',
      `  ${violationLine(details[1] as (typeof details)[number])}`,
    ]);
  });

  test('every report written is valid: the stand-in reports read back pass validateSimulationReport', async () => {
    for (const argv of [
      ['--days', '9'],
      ['--seed', String(FAILING_SEED), '--days', '10', '--profile', 'hostile'],
    ]) {
      const cwd = tempDir();
      await sekey(['simulate', ...argv], { cwd });
      const report: unknown = JSON.parse(readFileSync(join(cwd, 'sekey-report', 'report.json'), 'utf8'));
      expect(validateSimulationReport(report)).toEqual([]);
    }
  });

  test('a report failing validation is an internal error (exit 3) naming its problems; nothing written', async () => {
    const cwd = tempDir();
    const r = await sekey(['simulate', '--seed', String(BROKEN_SEED), '--days', '5'], { cwd });
    expect(r.code).toBe(3);
    expect(r.err).toBe(
      'sekey simulate: internal error (a bug; --debug shows where): InvalidReport: ' +
        "the simulation's report fails validation, not written (1 problem): " +
        'totals.operations: is not the sum of totals.operationsByKind',
    );
    // Nor the folder it made for the report (a fresh-eyes review: left behind, empty).
    expect(existsSync(join(cwd, 'sekey-report'))).toBe(false);
    const json = await sekey(['simulate', '--seed', String(BROKEN_SEED), '--days', '5', '--json'], { cwd: tempDir() });
    expect(json.code).toBe(3);
    expect(JSON.parse(json.out)).toEqual({
      error: { code: 'Internal', message: expect.stringMatching(/^InvalidReport: .*totals\.operations: /), exit: 3 },
    });
  });

  test('Ctrl-C after the last day, while the report is rendered: exit 130, and the folder made is gone', async () => {
    // A fresh-eyes review: the clean-up was given up before the changes began, and a signal that came
    // while the report was rendered (synchronous work, handled when changes begin) left the folder.
    const cwd = tempDir();
    const said: string[] = [];
    const exits: number[] = [];
    class Exited extends Error {}
    const guard = guardInterrupts(
      (line) => said.push(line),
      (code) => {
        exits.push(code);
        throw new Exited();
      },
    );
    try {
      const io: CliIo = {
        out: () => {},
        err: (line) => said.push(line),
        env: {},
        cwd,
        readInput: async () => new Uint8Array(),
        writeOutput: () => {},
        beginChanges: async () => {
          process.emit('SIGINT', 'SIGINT');
          await guard.beginChanges();
        },
        onAbandon: guard.onAbandon,
      };
      const flags = { json: false, lastTry: false, debug: false, help: false, version: false };
      const run = runSimulate(['--days', '2', '--out', 'made/report'], io, flags, 'test');
      await expect(run).rejects.toThrow(Exited);
      expect(exits).toEqual([130]);
      expect(said).toEqual(['sekey: interrupted (SIGINT) before anything was changed']);
      expect(existsSync(join(cwd, 'made'))).toBe(false);
    } finally {
      guard.release();
    }
  });

  test("an invalid report's problems: the first ten named, the rest counted", () => {
    const problems = Array.from({ length: 12 }, (_, i) => `p${i}: wrong`);
    expect(new InvalidReport(problems).message).toBe(
      "the simulation's report fails validation, not written (12 problems): " +
        `${problems.slice(0, 10).join('; ')}; and 2 more`,
    );
  });

  test('a second run replaces the report whole, leaving no temporary file', async () => {
    const cwd = tempDir();
    expect((await sekey(['simulate', '--days', '3'], { cwd })).code).toBe(0);
    expect((await sekey(['simulate', '--days', '4'], { cwd })).code).toBe(0);
    const dir = join(cwd, 'sekey-report');
    expect(readdirSync(dir).sort()).toEqual(['report.html', 'report.json']);
    expect((JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')) as SimulationReport).days).toHaveLength(4);
  });

  test('an --out that cannot be a folder is a usage error (exit 2, never 1: violations), before the run', async () => {
    const cwd = tempDir();
    writeFileSync(join(cwd, 'taken'), 'a file');
    const r = await sekey(['simulate', '--out', 'taken'], { cwd });
    expect(r.code).toBe(2);
    const taken = join(cwd, 'taken');
    expect(r.err.split('\n')[0]).toBe(
      `sekey simulate: --out ${taken}: ${taken} is a file, not a folder: name a folder, or one to make`,
    );
    const under = await sekey(['simulate', '--out', join('taken', 'report')], { cwd });
    expect(under.code).toBe(2);
    expect(under.err).toMatch(
      /^sekey simulate: --out .*taken\/report: .*taken is a file, not a folder \(on the way to .*taken\/report\)/,
    );
    expect(runSimulation).not.toHaveBeenCalled();
    expect(existsSync(join(cwd, 'sekey-report'))).toBe(false);
  });

  test('an --out folder that may not be written in is a usage error before the run, not after it', async () => {
    // Found after the run, as it was, the run (hours, for a large one) was lost. Root writes through
    // a folder's mode bits, so the folder it cannot write in is one of /proc's; others see a mode 555 one too.
    const unwritable = ['/proc/self'].filter((f) => existsSync(f));
    if (process.getuid?.() !== 0) {
      const locked = join(tempDir(), 'locked');
      mkdirSync(locked);
      chmodSync(locked, 0o555);
      unwritable.push(locked);
    }
    expect(unwritable.length).toBeGreaterThan(0);
    for (const out of unwritable) {
      const r = await sekey(['simulate', '--out', out], { cwd: tempDir() });
      expect(r.code, out).toBe(2);
      expect(r.err.split('\n')[0]).toMatch(
        new RegExp(
          `^sekey simulate: --out ${out}: cannot write in the folder \\(E[A-Z]+\\): name a folder you may write in$`,
        ),
      );
    }
    expect(runSimulation).not.toHaveBeenCalled();
  });

  test('a report that cannot be written after the run names its files, says the old ones stand (exit 1)', async () => {
    const cwd = tempDir();
    const dir = join(cwd, 'sekey-report');
    const standIn = vi.mocked(runSimulation).getMockImplementation();
    // The folder goes while the engine runs: the write that follows fails with the system's bare message.
    vi.mocked(runSimulation).mockImplementationOnce(async (config, options) => {
      rmSync(dir, { recursive: true });
      return (standIn as typeof runSimulation)(config, options);
    });
    const r = await sekey(['simulate', '--days', '2', '--json'], { cwd });
    expect(r.code).toBe(1);
    const { error } = JSON.parse(r.out) as { error: { code: string; message: string } };
    expect(error.code).toBe('CannotWrite');
    expect(
      error.message.startsWith(`cannot write the report (${join(dir, 'report.json')}, ${join(dir, 'report.html')}): `),
    ).toBe(true);
    // The file asked for, its temporary name after it (e53d82d: not the temporary name alone).
    expect(error.message).toMatch(
      /\): ENOENT: no such file or directory, open '.*report\.json' \(\.tmp-report\.json-[0-9a-f]+\); /,
    );
    expect(error.message).toMatch(/; the report files there before, if any, are unchanged$/);
  });

  test('a report half replaced (a rename failed after the other succeeded) says which file is which run', () => {
    const paths = { json: '/r/report.json', html: '/r/report.html' };
    const cause = new Error("EISDIR: illegal operation on a directory, rename '/r/.tmp-x' -> '/r/report.html'");
    const error = reportNotWritten(paths, new FilesPartlyReplacedError([paths.json], [paths.html], cause));
    expect([error.code, error.message, error.remedy]).toEqual([
      'CannotWrite',
      `cannot write the report (/r/report.json, /r/report.html): ${cause.message}; /r/report.json is this ` +
        "run's, /r/report.html an earlier run's",
      'Free space or lift the file-size limit (`ulimit -f`), or give another `--out`; then run it again (the same ' +
        'seed gives the same report).',
    ]);
  });
});

/**
 * A stand-in engine that stops as the real one does: `onDay` at the end of each day, then a turn of the
 * event loop (where a signal is handled: SIGINT at the end of day `signalAfterDay`), then `stopRequested`.
 * `beforeReturn` runs as the engine returns (to make the write fail).
 */
function stoppingEngine(signalAfterDay: number, beforeReturn: () => void = () => {}): typeof runSimulation {
  return async (config, options) => {
    for (let day = 1; day <= config.days; day++) {
      options?.onDay?.({ day, days: config.days, operations: day * 40 });
      if (day === signalAfterDay) process.emit('SIGINT', 'SIGINT');
      const by = day < config.days ? (options?.stopRequested?.() ?? null) : null;
      if (by !== null) {
        const done = syntheticReport({ config: { ...config, days: day } });
        beforeReturn();
        return { ...done, config, stoppedEarly: { by, afterDay: day } };
      }
    }
    beforeReturn();
    return syntheticReport({ config });
  };
}

/** An io whose signals go through a real interruption guard (as `processIo`'s), its lines recorded. */
function recordedGuardedIo(cwd: string) {
  const out: string[] = [];
  const err: string[] = [];
  const guard = guardInterrupts(
    (line) => err.push(line),
    (code) => {
      throw new Error(`exit ${code}`);
    },
  );
  const io: CliIo = {
    out: (line) => out.push(line),
    err: (line) => err.push(line),
    env: {},
    cwd,
    readInput: async () => new Uint8Array(),
    writeOutput: () => {},
    ...guardedIo(guard),
  };
  return { io, out, err, guard };
}

describe('sekey simulate stopped by a signal (stand-in engine)', () => {
  test('a Ctrl-C handled between two days: the day it says it stops after is the one it stops after', async () => {
    const cwd = tempDir();
    vi.mocked(runSimulation).mockImplementationOnce(stoppingEngine(2));
    const { io, out, err, guard } = recordedGuardedIo(cwd);
    try {
      expect(await main(['simulate', '--days', '5'], io)).toBe(130);
    } finally {
      guard.release();
    }
    const report = JSON.parse(readFileSync(join(cwd, 'sekey-report', 'report.json'), 'utf8')) as SimulationReport;
    expect(report.stoppedEarly).toEqual({ by: 'SIGINT', afterDay: 2 });
    expect(out).toContain(
      'Stopped early (SIGINT) after day 2 of 5: the report covers the days simulated, without the ' +
        'closing convergence of every device after the last day.',
    );
    expect(err[0]).toMatch(/^sekey: SIGINT received: stopping after day 2 of 5, /);
  });

  test('stopped early, then the report cannot be written: nothing said saved, the error stands', async () => {
    const cwd = tempDir();
    const dir = join(cwd, 'sekey-report');
    vi.mocked(runSimulation).mockImplementationOnce(stoppingEngine(1, () => rmSync(dir, { recursive: true })));
    const { io, err, guard } = recordedGuardedIo(cwd);
    try {
      expect(await main(['simulate', '--days', '5'], io)).toBe(130);
    } finally {
      guard.release();
    }
    expect(err.join('\n')).toContain('CannotWrite: cannot write the report');
    expect(existsSync(join(dir, 'report.json'))).toBe(false);
    expect(err.at(-1)).not.toMatch(/saved and reported above/);
    expect(err.at(-1)).toBe(
      'sekey: interrupted (SIGINT): the command ended with the error above; what it saved is whole',
    );
  });

  test('Ctrl-C after the last day, while the report is checked and rendered: the whole report written', async () => {
    // A fresh-eyes review: the stop request was given up as the run returned, so a Ctrl-C in the second
    // or so of checking and rendering a long run's report (handled when the changes begin) threw it away.
    const cwd = tempDir();
    const { io, out, err, guard } = recordedGuardedIo(cwd);
    const begin = io.beginChanges as () => Promise<void>;
    try {
      const late: CliIo = {
        ...io,
        beginChanges: async () => {
          process.emit('SIGINT', 'SIGINT');
          await begin();
        },
      };
      expect(await main(['simulate', '--days', '3'], late)).toBe(130);
    } finally {
      guard.release();
    }
    const report = JSON.parse(readFileSync(join(cwd, 'sekey-report', 'report.json'), 'utf8')) as SimulationReport;
    expect([report.days.length, report.stoppedEarly]).toEqual([3, null]);
    expect(out.join('\n')).not.toContain('Stopped early');
    expect(err).toEqual([
      'sekey: SIGINT received: the run has ended; writing its whole report (Ctrl-C again: stop at once, no report)',
      'sekey: interrupted (SIGINT): stopped as asked, once the work under way was done; what was done is saved ' +
        'and reported above',
    ]);
  });
});

describe('the progress line', () => {
  test('a bar of sixteen cells, operations per second, time left at the pace so far; within 80 columns', () => {
    expect(progressBar(0, 90)).toBe('░'.repeat(16));
    expect(progressBar(45, 90)).toBe(`${'█'.repeat(8)}${'░'.repeat(8)}`);
    expect(progressBar(90, 90)).toBe('█'.repeat(16));
    expect(simulationProgressText({ day: 30, days: 90, operations: 12_000 }, 20_000)).toBe(
      `simulating ${'█'.repeat(5)}${'░'.repeat(11)} day 30/90 · 600 ops/s · 40s left`,
    );
    expect(simulationProgressText({ day: 0, days: 1000, operations: 0 }, 0)).toBe(
      `simulating ${'░'.repeat(16)} day 0/1,000 · 0 ops/s · time left unknown`,
    );
    // From within a day (a large installation's first day takes minutes): what that day is doing.
    expect(
      simulationProgressText({ day: 0, days: 2, operations: 40, during: 'provisioning 340/1000 users' }, 2_000),
    ).toBe(`simulating ${'░'.repeat(16)} day 0/2 · 20 ops/s · time left unknown · day 1: provisioning 340/1000 users`);
    const widest = simulationProgressText({ day: 3649, days: 3650, operations: 123_456_789 }, 99_000);
    expect([...widest].length).toBeLessThanOrEqual(79);
  });
});
