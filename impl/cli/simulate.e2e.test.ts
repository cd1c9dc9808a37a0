/**
 * `sekey simulate` end to end, on the REAL engine (`impl/simulation/runSimulation.ts`): a small
 * deployment (4 users, 2 groups, 5 days) run in-process and once as the executable, checked for
 * its exit code, a valid `report.json` read back from disk (`validateSimulationReport`: every
 * field, figures consistent), a well-formed `report.html` with every chart, the `--json` summary,
 * determinism for a seed, and the hostile profile ending without violations. And interrupted: by
 * Ctrl-C, which stops it after the day under way with the report of the days done; by Ctrl-C twice,
 * also after a hang-up it goes on from (its output to pipes), which abandons it; and by a hang-up of
 * the terminal it runs in (a pseudo-terminal from util-linux `script`), which abandons it too.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { findAll, parseMarkup } from '../simulation/parseMarkup.testkit.ts';
import { REPORT_CHARTS } from '../simulation/reportHtml.ts';
import { DEFAULT_SIMULATION_CONFIG } from '../simulation/runSimulation.ts';
import type { SimulationReport } from '../simulation/simulationReport.ts';
import { validateSimulationReport } from '../simulation/validateSimulationReport.ts';
import { transpileForChild } from './childProcess.testkit.ts';
import { HANGUP_IGNORED, SAME_SIGNAL_MS } from './interrupts.ts';
import { removeTempDirs, sekey, tempDir } from './sekeyRun.testkit.ts';

afterAll(removeTempDirs);

const SMALL = ['--users', '4', '--groups', '2', '--days', '5'];
const CHARTS = Object.keys(REPORT_CHARTS);

/**
 * util-linux `script`, which runs a command in a pseudo-terminal of its own (`-c`), quietly (`-q`),
 * passing its output on as it comes (`-f`) and ending with the command's exit status (`-e`). Another
 * `script` (BSD's, busybox's) takes other options.
 */
const UTIL_LINUX_SCRIPT = /util-linux/.test(spawnSync('script', ['--version'], { encoding: 'utf8' }).stdout ?? '');

/** `text` as one word for `sh`. */
function shellWord(text: string): string {
  return `'${text.replaceAll("'", "'\\''")}'`;
}

/** Waits until `done()`, looking every 50 ms; fails after `ms` saying it waited for `what` (and `detail()`). */
async function until(done: () => boolean, what: string, detail: () => string, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`waited ${ms / 1000} s for ${what}; ${detail()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * `sekey simulate ARGS --out made/out` started as the executable in a fresh folder, its temporary
 * folders in `tmp` there (the deployment's appears once the simulation is under way); its output
 * is gathered as it comes.
 */
function startSimulate(built: string, args: readonly string[]) {
  const cwd = tempDir();
  const tmp = join(cwd, 'tmp');
  mkdirSync(tmp);
  const out = join(cwd, 'made', 'out');
  const child = spawn(process.execPath, [join(built, 'impl/cli/sekey.js'), 'simulate', ...args, '--out', out], {
    cwd,
    env: { PATH: process.env['PATH'] ?? '', TMPDIR: tmp },
  });
  const output = { stdout: '', stderr: '' };
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    output.stdout += chunk;
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    output.stderr += chunk;
  });
  const ended = new Promise<number | null>((resolve) => child.on('close', (status) => resolve(status)));
  return { cwd, tmp, out, child, output, ended };
}

/** Whether process `pid` is alive (a zombie, ended but not yet reaped, counts as ended). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  const stat = existsSync(`/proc/${pid}/stat`) ? readFileSync(`/proc/${pid}/stat`, 'utf8') : '';
  return !/^\d+ \(.*\) Z /.test(stat);
}

/** The report without the host's part, the only one that may differ between runs. */
function withoutHost(report: SimulationReport): Omit<SimulationReport, 'host'> {
  const { host: _host, ...rest } = report;
  return rest;
}

async function simulate(argv: readonly string[]) {
  const cwd = tempDir();
  const run = await sekey(['simulate', ...SMALL, '--out', 'out', ...argv], { cwd });
  const dir = join(cwd, 'out');
  const read = (name: string) => readFileSync(join(dir, name), 'utf8');
  return { run, dir, read, report: () => JSON.parse(read('report.json')) as SimulationReport };
}

describe('sekey simulate on the real engine', { timeout: 600_000 }, () => {
  test('a small default run: exit 0, sound report.json, well-formed report.html, the --json summary', async () => {
    const { run, dir, read, report } = await simulate(['--json']);
    expect(run.err).toBe('');
    expect(run.code).toBe(0);
    const r = report();
    expect(validateSimulationReport(r)).toEqual([]);
    expect(r.config).toEqual({ ...DEFAULT_SIMULATION_CONFIG, users: 4, groups: 2, days: 5 });
    expect(r.violations).toBe(0);
    expect(r.totals.operations).toBeGreaterThan(0);
    expect(Object.values(r.invariants).every((t) => t.checks >= 5)).toBe(true);
    expect(JSON.parse(run.out)).toEqual({
      schema: r.schema,
      tool: 'sekey simulate',
      version: r.version,
      config: r.config,
      host: r.host,
      totals: r.totals,
      invariants: r.invariants,
      protectionsJudged: r.protectionsJudged,
      violations: 0,
      stoppedEarly: null,
      days: 5,
      firstViolations: [],
      paths: { json: join(dir, 'report.json'), html: join(dir, 'report.html') },
    });
    const page = parseMarkup(read('report.html'));
    expect(page.errors).toEqual([]);
    const charts = page.root === null ? [] : findAll(page.root, (n) => n.attributes['data-chart'] !== undefined);
    expect(charts.map((n) => n.attributes['data-chart'])).toEqual(expect.arrayContaining(CHARTS));
  });

  test('the same seed gives the same report, the host part aside; another seed another', async () => {
    // One after the other: runs in one process share it, and the test is of determinism, not of concurrency.
    const a = await simulate(['--seed', '11']);
    const b = await simulate(['--seed', '11']);
    const c = await simulate(['--seed', '12']);
    for (const x of [a, b, c]) expect(x.run.code).toBe(0);
    expect(withoutHost(b.report())).toEqual(withoutHost(a.report()));
    expect(withoutHost(c.report())).not.toEqual(withoutHost(a.report()));
  });

  test('the hostile profile: attacks refused and faults survived, no violation', async () => {
    const { run, report } = await simulate(['--profile', 'hostile']);
    expect(run.code).toBe(0);
    const r = report();
    expect(validateSimulationReport(r)).toEqual([]);
    expect(r.violations).toBe(0);
    // Every attack run is refused: attacks in the workload mean refusals in the report.
    const attacks = Object.entries(r.totals.operationsByKind).filter(([kind]) => kind.startsWith('attack'));
    if (attacks.length > 0) expect(Object.values(r.totals.refusals).reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
    expect(run.out).toMatch(/^ {2}violations: +0: every invariant held$/m);
    expect(run.out).toMatch(/^Report: .*report\.html$/m);
  });

  test('the executable: --json prints the summary and nothing else on standard output, no progress line', async () => {
    const built = await transpileForChild(join(tempDir(), 'sekey'));
    const cwd = tempDir();
    const child = spawnSync(process.execPath, [join(built, 'impl/cli/sekey.js'), 'simulate', ...SMALL, '--json'], {
      cwd,
      encoding: 'utf8',
      timeout: 540_000,
    });
    expect(child.stderr).toBe('');
    expect(child.status).toBe(0);
    const summary = JSON.parse(child.stdout) as { violations: number; paths: { html: string } };
    expect(summary.violations).toBe(0);
    expect(summary.paths.html).toBe(join(cwd, 'sekey-report', 'report.html'));
    expect(readFileSync(summary.paths.html, 'utf8')).toMatch(/^<!DOCTYPE html>/);
  });

  test('Ctrl-C mid-run: the run stops after the day under way and writes its report, exit 130', async () => {
    const built = await transpileForChild(join(tempDir(), 'sekey'));
    // Years of days: the run is stopped long before its end.
    const { tmp, out, child, output, ended } = startSimulate(built, [
      '--users',
      '4',
      '--groups',
      '2',
      '--days',
      '3000',
    ]);
    // Once the deployment exists (its temporary folder), the simulation is under way.
    await until(
      () => readdirSync(tmp).length > 0,
      'the deployment',
      () => output.stderr,
    );
    await new Promise((resolve) => setTimeout(resolve, 500));
    child.kill('SIGINT');
    expect(await ended, output.stderr).toBe(130);
    expect(output.stderr).toMatch(/^sekey: SIGINT received: stopping after day \d+ of 3000, then writing the report/m);
    expect(output.stderr).toContain(
      'sekey: interrupted (SIGINT): stopped as asked, once the work under way was done; what was done is saved and ' +
        'reported above',
    );
    const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as SimulationReport;
    expect(validateSimulationReport(report)).toEqual([]);
    expect(report.stoppedEarly).toEqual({ by: 'SIGINT', afterDay: report.days.length });
    expect(report.days.length).toBeLessThan(3000);
    expect(output.stdout).toContain(`Stopped early (SIGINT) after day ${report.days.length} of 3000`);
    expect(readFileSync(join(out, 'report.html'), 'utf8')).toContain('STOPPED');
    expect(readdirSync(tmp)).toEqual([]);
  });

  test('Ctrl-C twice, also after a hang-up it goes on from (output to files): stopped at once, no folder', async () => {
    const built = await transpileForChild(join(tempDir(), 'sekey'));
    // SIGHUP: its input and output are pipes, not the terminal that hung up (as under nohup): it says so
    // and goes on, and a Ctrl-C then stops it. A hang-up while it uses a terminal abandons it (129):
    // `interrupts.test.ts`, and the next test, in a pseudo-terminal.
    for (const hangup of [false, true]) {
      // Day 1 provisions 300 HSMs: seconds of work, within which both Ctrl-Cs come.
      const run = startSimulate(built, ['--users', '300', '--groups', '6', '--days', '3']);
      const { cwd, tmp, child, output } = run;
      await until(
        () => readdirSync(tmp).length > 0,
        'the deployment',
        () => output.stderr,
      );
      await new Promise((resolve) => setTimeout(resolve, 500));
      if (hangup) {
        child.kill('SIGHUP');
        await until(
          () => output.stderr.includes(HANGUP_IGNORED) || child.exitCode !== null,
          'the hang-up',
          () => output.stderr,
        );
        await new Promise((resolve) => setTimeout(resolve, 500));
        expect(child.exitCode, output.stderr).toBeNull();
      }
      child.kill('SIGINT');
      await until(
        () => output.stderr.includes('SIGINT received: stopping') || child.exitCode !== null,
        'the stop',
        () => output.stderr,
      );
      // Pressed again, not the first delivered twice (`SAME_SIGNAL_MS`).
      await new Promise((resolve) => setTimeout(resolve, SAME_SIGNAL_MS + 200));
      expect(child.exitCode, output.stderr).toBeNull();
      child.kill('SIGINT');
      expect(await run.ended, output.stderr).toBe(130);
      expect(output.stderr).toContain('sekey: interrupted (SIGINT) before anything was changed');
      expect(readdirSync(tmp)).toEqual([]);
      expect(existsSync(join(cwd, 'made'))).toBe(false);
    }
  });

  // The hang-up that ends a command: its terminal closed while it runs there. `interrupts.test.ts` judges
  // `hangupEndsCommand` on each stream; this runs the executable in a pseudo-terminal and hangs it up.
  test.skipIf(!UTIL_LINUX_SCRIPT)(
    'a hang-up of the terminal it runs in abandons it: exit 129, no folder left (needs util-linux script)',
    async () => {
      const built = await transpileForChild(join(tempDir(), 'sekey'));
      // Two hang-ups: SIGHUP sent to sekey, its terminal still there (it says so, and `script -e` passes
      // on its exit status); and the terminal closed (`script` killed: the kernel hangs up the
      // pseudo-terminal and sends SIGHUP to sekey, its session's leader), where no one hears it.
      for (const how of ['SIGHUP sent', 'terminal closed'] as const) {
        const cwd = tempDir();
        const tmp = join(cwd, 'tmp');
        mkdirSync(tmp);
        const out = join(cwd, 'made', 'out');
        // The exit code sekey ends with, kept in a file: once its terminal is gone, nothing else tells it.
        const exitFile = join(cwd, 'exit-code');
        const recorder = join(cwd, 'recordExit.mjs');
        writeFileSync(
          recorder,
          "import { writeFileSync } from 'node:fs';\n" +
            `process.on('exit', (code) => writeFileSync(${JSON.stringify(exitFile)}, String(code)));\n`,
        );
        const sekeyLine = [process.execPath, '--import', recorder, join(built, 'impl/cli/sekey.js'), 'simulate']
          .concat(['--users', '4', '--groups', '2', '--days', '3000', '--out', out])
          .map(shellWord)
          .join(' ');
        // The shell says its process ID, then becomes sekey (exec): sekey leads the terminal's session.
        const child = spawn('script', ['-qfec', `echo "sekey pid $$"; exec ${sekeyLine}`, '/dev/null'], {
          cwd,
          env: { PATH: process.env['PATH'] ?? '', TMPDIR: tmp, SHELL: '/bin/sh' },
        });
        let terminal = '';
        child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
          terminal += chunk;
        });
        child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
          terminal += chunk;
        });
        // Its exit status once it ended (sekey's, by `-e`).
        let scriptStatus: number | null | undefined;
        child.on('close', (status) => {
          scriptStatus = status;
        });
        const said = () => `the terminal showed: ${JSON.stringify(terminal.slice(-600))}`;
        let pid = 0;
        try {
          await until(() => /sekey pid (\d+)/.test(terminal), "sekey's process ID", said);
          pid = Number(/sekey pid (\d+)/.exec(terminal)?.[1]);
          // Under way: its deployment exists (its temporary folder), and it has drawn its progress line.
          await until(() => readdirSync(tmp).length > 0 && terminal.includes('simulating'), 'the run to start', said);
          if (how === 'SIGHUP sent') {
            process.kill(pid, 'SIGHUP');
            // Ended, or said it goes on (as it does with its output to files only): then it fails below, at once.
            await until(() => scriptStatus !== undefined || terminal.includes(HANGUP_IGNORED), 'sekey to end', said);
            expect(scriptStatus, said()).toBe(129);
            expect(terminal).toContain('sekey: interrupted (SIGHUP) before anything was changed');
          } else {
            child.kill('SIGKILL');
            await until(() => !alive(pid), 'sekey to end once its terminal closed', said);
          }
          expect(readFileSync(exitFile, 'utf8'), `${how}: ${said()}`).toBe('129');
          // Abandoned between two simulated days: no report, and nothing left of the run.
          expect(terminal).not.toMatch(/^Report: /m);
          expect(readdirSync(tmp), how).toEqual([]);
          expect(existsSync(join(cwd, 'made')), how).toBe(false);
        } finally {
          if (pid !== 0 && alive(pid)) process.kill(pid, 'SIGKILL');
          if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
        }
      }
    },
  );

  test('a report path taken by a folder is refused before the run, and before either file is written', async () => {
    const cwd = tempDir();
    mkdirSync(join(cwd, 'out', 'report.html'), { recursive: true });
    // Ten simulated years (minutes of work) if the run started: refused at once instead.
    const run = await sekey(['simulate', '--users', '2', '--groups', '1', '--days', '3650', '--out', 'out'], { cwd });
    expect(run.code).toBe(1);
    expect(run.err).toContain('CannotWrite');
    expect(readdirSync(join(cwd, 'out'))).toEqual(['report.html']);
  });
});
