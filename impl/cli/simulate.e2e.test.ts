/**
 * `sekey simulate` end to end, on the REAL engine (`impl/simulation/runSimulation.ts`): a small
 * deployment (4 users, 2 groups, 5 days) run in-process and once as the executable, checked for
 * its exit code, a valid `report.json` read back from disk (`validateSimulationReport`: every
 * field, figures consistent), a well-formed `report.html` with every chart, the `--json` summary,
 * determinism for a seed, and the hostile profile ending without violations.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { findAll, parseMarkup } from '../simulation/parseMarkup.testkit.ts';
import { REPORT_CHARTS } from '../simulation/reportHtml.ts';
import { DEFAULT_SIMULATION_CONFIG } from '../simulation/runSimulation.ts';
import type { SimulationReport } from '../simulation/simulationReport.ts';
import { validateSimulationReport } from '../simulation/validateSimulationReport.ts';
import { transpileForChild } from './childProcess.testkit.ts';
import { HANGUP_IGNORED } from './interrupts.ts';
import { removeTempDirs, sekey, tempDir } from './sekeyRun.testkit.ts';

afterAll(removeTempDirs);

const SMALL = ['--users', '4', '--groups', '2', '--days', '5'];
const CHARTS = Object.keys(REPORT_CHARTS);

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
      violations: 0,
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

  test('Ctrl-C mid-run, also after a hang-up it goes on from (output to files): exit 130, no folder left', async () => {
    const built = await transpileForChild(join(tempDir(), 'sekey'));
    // SIGHUP: its input and output are pipes, not the terminal that hung up (as under nohup): it says so
    // and goes on, and a Ctrl-C then stops it. A hang-up while it uses a terminal abandons it (129):
    // `interrupts.test.ts`.
    for (const hangup of [false, true]) {
      const signal = 'SIGINT';
      const code = 130;
      const cwd = tempDir();
      const tmp = join(cwd, 'tmp');
      mkdirSync(tmp);
      const out = join(cwd, 'made', 'out');
      // Years of days: the run is interrupted long before its end.
      const child = spawn(
        process.execPath,
        [join(built, 'impl/cli/sekey.js'), 'simulate', '--users', '4', '--groups', '2', '--days', '3000', '--out', out],
        { cwd, env: { PATH: process.env['PATH'] ?? '', TMPDIR: tmp } },
      );
      let stderr = '';
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
        stderr += chunk;
      });
      const ended = new Promise<number | null>((resolve) => child.on('close', (status) => resolve(status)));
      // Once the deployment exists (its temporary folder), the simulation is under way.
      while (readdirSync(tmp).length === 0) await new Promise((resolve) => setTimeout(resolve, 50));
      await new Promise((resolve) => setTimeout(resolve, 500));
      if (hangup) {
        child.kill('SIGHUP');
        while (!stderr.includes(HANGUP_IGNORED) && child.exitCode === null)
          await new Promise((resolve) => setTimeout(resolve, 50));
        await new Promise((resolve) => setTimeout(resolve, 500));
        expect(child.exitCode, stderr).toBeNull();
      }
      child.kill(signal);
      expect(await ended, stderr).toBe(code);
      // Handled between two simulated days: before, the signal waited for the end of the run, whose
      // report then went to a folder that nothing removed.
      expect(stderr).toContain(`sekey: interrupted (${signal})`);
      expect(readdirSync(tmp), signal).toEqual([]);
      expect(existsSync(join(cwd, 'made')), signal).toBe(false);
    }
  });

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
