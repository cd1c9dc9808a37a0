/**
 * End to end: the runner runs real suites through vitest's Node API at tiny sizes (the KMS model's
 * suite, the fastest) — once, as a failing run, and as a short sharded campaign — and reports what
 * they ran. Each test starts a vitest of its own, hence the time limits.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { HANGUP_IGNORED } from './interrupt.ts';
import { campaignSeed } from './seeds.ts';
import { REPLAY_PASSED, main } from './main.ts';
import { sink } from './fixtures.testkit.ts';
import { SOURCE_DIRS, transpileForChild } from '../../impl/cli/childProcess.testkit.ts';

describe('npm run properties, end to end', () => {
  test('runs the kms suite at 3 runs per property and reports runs, operations and no failure', async () => {
    const [stdout, stderr] = [sink(), sink()];
    const code = await main(['--suite', 'kms', '--runs', '3', '--seed', '7', '--json'], { stdout, stderr });
    expect(stderr.text()).toBe('');
    const out = JSON.parse(stdout.text()) as { ok: boolean; suites: Array<Record<string, unknown>> };
    expect(code).toBe(0);
    expect(out.ok).toBe(true);
    expect(out.suites.map((s) => s['suite'])).toEqual(['kms']);
    const kms = out.suites[0] as Record<string, number>;
    // Five properties, three runs each; each run applies at least one operation.
    expect(kms['runs']).toBe(15);
    expect(kms['operations']).toBeGreaterThanOrEqual(15);
    expect(kms['opsPerCpuSecond']).toBeGreaterThan(0);
    expect(kms['failures']).toBe(0);
  }, 120_000);

  test('a suite that fails exits 1 and says which test failed and why', async () => {
    // A replay whose path fits no run of this property: fast-check refuses it, the test fails.
    const [stdout, stderr] = [sink(), sink()];
    const argv = [
      '--suite',
      'kms',
      '--runs',
      '1',
      '--seed',
      '1',
      '--path',
      '999:999:999',
      '--test',
      'projection holds',
    ];
    const code = await main(argv, { stdout, stderr });
    expect(code).toBe(1);
    expect(stdout.text()).toMatch(/^suite\s+runs\s+operations\s+ops\/CPU-s\s+failures\s+statistics\n/);
    expect(stdout.text()).toMatch(/\nkms\s+0\s+0\s+0\.0\s+1\s+-\n/);
    expect(stdout.text()).toMatch(/kms: "[^"]*a projection holds nothing outside [^"]*": the --path does not replay/);
    expect(stdout.text()).toMatch(/FAILED/);
  }, 120_000);

  test("a replay (--path) keeps no statistics: the last pass's reports/properties.json stays", async () => {
    const [stdout, stderr] = [sink(), sink()];
    const test = 'agree after every step of random operation sequences';
    const argv = ['--suite', 'kmsImpl', '--runs', '1', '--seed', '7', '--path', '0', '--test', test, '--json'];
    const code = await main(argv, { stdout, stderr });
    const out = JSON.parse(stdout.text()) as { ok: boolean; suites: Array<Record<string, unknown>> };
    expect([code, out.ok]).toEqual([0, true]);
    expect(out.suites[0]).toMatchObject({ suite: 'kmsImpl', runs: 1, statistics: null });
  }, 120_000);

  test('a replay whose case passes runs that case alone, and says what a pass of it means', async () => {
    // A path with shrink steps: fast-check alone would go on from the case (591 runs here), `--runs` or not.
    const [stdout, stderr] = [sink(), sink()];
    const argv = ['--suite', 'kms', '--runs', '5', '--seed', '7', '--path', '0:0', '--test', 'projection holds'];
    expect(await main(argv, { stdout, stderr })).toBe(0);
    expect(stdout.text()).toMatch(/\nkms\s+1\s+/);
    expect(stdout.text()).toContain(`\n${REPLAY_PASSED}\nevery property held (`);
    // A pass without --path says nothing of the kind.
    const [again, quiet] = [sink(), sink()];
    expect(
      await main(['--suite', 'kms', '--runs', '1', '--seed', '7', '--test', 'projection holds'], {
        stdout: again,
        stderr: quiet,
      }),
    ).toBe(0);
    expect(again.text()).not.toContain(REPLAY_PASSED);
    // A --test that matches several properties replays the path in each: said, and no "replayed case passed".
    const [many, manyErr] = [sink(), sink()];
    expect(
      await main(['--suite', 'kms', '--seed', '7', '--path', '0', '--test', 'projection|forward secrecy'], {
        stdout: many,
        stderr: manyErr,
      }),
    ).toBe(2);
    expect(many.text()).toMatch(/^usage error: --path was replayed in \d+ properties \(kms: ".*projection/m);
    expect(many.text()).toMatch(/^no single property replayed \(/m);
    expect(many.text()).not.toContain(REPLAY_PASSED);
  }, 120_000);

  test('a short campaign on shard 2 of 2 runs that shard’s seeds and writes what it covered', async () => {
    const [stdout, stderr] = [sink(), sink()];
    const argv = ['--suite', 'kms', '--runs', '2', '--time', '3s', '--shard', '2/2', '--campaign', 'e2e', '--json'];
    const code = await main(argv, { stdout, stderr });
    const out = JSON.parse(stdout.text()) as {
      ok: boolean;
      folder: string;
      batches: Array<{ index: number; seed: number; runs: number }>;
      suites: Array<Record<string, number>>;
    };
    try {
      expect(code).toBe(0);
      expect(out.ok).toBe(true);
      expect(out.batches.length).toBeGreaterThanOrEqual(1);
      // Shard 2 of 2 takes the odd indices, each with the campaign's seed for that index.
      out.batches.forEach((b, k) => {
        expect(b.index).toBe(1 + 2 * k);
        expect(b.seed).toBe(campaignSeed('e2e', b.index));
      });
      expect(out.folder).toMatch(/^reports[/\\]campaign-\d{8}T\d{6}Z-shard2of2$/);
      const summary = JSON.parse(readFileSync(join(out.folder, 'summary.json'), 'utf8')) as Record<string, unknown>;
      expect(summary['campaign']).toBe('e2e');
      expect(summary['shard']).toBe('2/2');
      const kms = (summary['suites'] as Record<string, { runs: number; operations: number }>)['kms'];
      expect(kms?.runs).toBe(out.batches.reduce((a, b) => a + b.runs, 0));
      expect(kms?.runs).toBeGreaterThan(0);
      expect(kms?.operations).toBeGreaterThan(0);
      expect(readdirSync(out.folder)).toEqual(['summary.json']);
      expect(stderr.text()).toMatch(/campaign e2e, shard 2\/2, budget 3s/);
    } finally {
      if (out.folder && existsSync(out.folder)) rmSync(out.folder, { recursive: true, force: true });
    }
  }, 180_000);
});

test('a campaign with --test runs the named property in every batch, not only the first', async () => {
  // A fresh-eyes review: from the second batch on, the pattern matched no test, and the campaign
  // stopped with "no test ran" (an error, and stoppedEarly), however long the budget.
  const [stdout, stderr] = [sink(), sink()];
  const argv = ['--suite', 'kms', '--runs', '1', '--time', '6s', '--test', 'projection', '--json'];
  const code = await main(argv, { stdout, stderr });
  const out = JSON.parse(stdout.text()) as {
    ok: boolean;
    folder: string;
    errors: string[];
    stoppedEarly: string | null;
    batches: Array<{ runs: number }>;
  };
  try {
    expect(out.errors).toEqual([]);
    expect(out.stoppedEarly).toBeNull();
    expect(code).toBe(0);
    // The first batch ran its run; a batch the budget catches before its first run counts none.
    expect(out.batches[0]?.runs).toBe(1);
  } finally {
    if (out.folder && existsSync(out.folder)) rmSync(out.folder, { recursive: true, force: true });
  }
}, 180_000);

describe('npm run properties, stopped or pointed at nothing', () => {
  test('a --test that matches no test is a failure, not "every property held"', async () => {
    const [stdout, stderr] = [sink(), sink()];
    const code = await main(['--suite', 'kms', '--runs', '1', '--test', 'no such test zzz'], { stdout, stderr });
    expect(code).toBe(1);
    expect(stdout.text()).toMatch(/^error: no test ran: the --test pattern matched no test of the chosen suites$/m);
    expect(stdout.text()).toMatch(/FAILED/);
  }, 120_000);

  test('SIGINT during a campaign: the table, the summary, exit code 130 (the executable, a real signal)', async () => {
    const scratch = mkdtempSync(join(tmpdir(), 'sekey-runner-'));
    const built = await transpileForChild(scratch, [...SOURCE_DIRS, 'properties/runner']);
    const child = spawn(
      process.execPath,
      [
        join(built, 'properties/runner/run.js'),
        '--suite',
        'kms',
        '--runs',
        '3',
        '--time',
        '5m',
        '--campaign',
        'sigint',
      ],
      { cwd: process.cwd(), env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '' } },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
    });
    const ended = new Promise<number | null>((resolve) => child.on('close', (status) => resolve(status)));
    // Stopped once the second batch has started: the first is in the summary, the second is cut short.
    await new Promise<void>((resolve) =>
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
        stderr += chunk;
        if (/^batch 1: seed/m.test(stderr)) resolve();
      }),
    );
    child.kill('SIGINT');
    const status = await ended;
    const folder = /failures go to (reports\/campaign-\S+)\//.exec(stderr)?.[1];
    try {
      expect(status, stderr).toBe(130);
      expect(stdout).toMatch(/^suite\s+runs\s+operations/m);
      expect(stdout).toMatch(/^stopped early: stopped by SIGINT in batch 1;/m);
      expect(folder).toBeDefined();
      const summary = JSON.parse(readFileSync(join(folder as string, 'summary.json'), 'utf8'));
      expect(summary.stoppedEarly).toMatch(/^stopped by SIGINT in batch 1;/);
      expect(summary.batches[0].runs).toBeGreaterThan(0);
      expect(summary.suites.kms.runs).toBeGreaterThanOrEqual(summary.batches[0].runs);
    } finally {
      rmSync(scratch, { recursive: true, force: true });
      if (folder && existsSync(folder)) rmSync(folder, { recursive: true, force: true });
    }
  }, 180_000);

  /**
   * The executable, writing to pipes (files, for the runner), started as a shell's job: in a process
   * group of its own, as a closed terminal's SIGHUP reaches it. Its campaign runs detached, in a group
   * of its own, this process its stand-in (`detach.ts`).
   */
  async function campaignJob(name: string) {
    const scratch = mkdtempSync(join(tmpdir(), 'sekey-runner-'));
    const built = await transpileForChild(scratch, [...SOURCE_DIRS, 'properties/runner']);
    const args = ['--suite', 'kms', '--runs', '3', '--time', '5m', '--campaign', name];
    const standIn = spawn(process.execPath, [join(built, 'properties/runner/run.js'), ...args], {
      cwd: process.cwd(),
      env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '' },
      detached: true,
    });
    const out = { stdout: '', stderr: '' };
    standIn.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      out.stdout += chunk;
    });
    standIn.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      out.stderr += chunk;
    });
    // The run holds the pipes too: they close once both have ended.
    const closed = new Promise<void>((resolve) => standIn.stdout.on('close', () => resolve()));
    const exited = new Promise<number | null>((resolve) => standIn.on('exit', (status) => resolve(status)));
    const folder = () => /failures go to (reports\/campaign-\S+)\//.exec(out.stderr)?.[1];
    const until = async (pattern: RegExp, what: string) => {
      const giveUp = Date.now() + 90_000;
      while (!pattern.test(out.stderr)) {
        if (Date.now() > giveUp) throw new Error(`no ${what} in 90s:\n${out.stderr}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    };
    const run = () => {
      try {
        return Number(
          execFileSync('pgrep', ['-P', String(standIn.pid)], { encoding: 'utf8' })
            .trim()
            .split('\n')[0],
        );
      } catch {
        return null; // none (pgrep exits 1)
      }
    };
    const cleanUp = (runPid: number | null) => {
      // Whatever happened, nothing of it goes on running: the stand-in's group, and the run's.
      for (const group of [standIn.pid, runPid])
        try {
          if (group !== undefined && group !== null) process.kill(-group, 'SIGKILL');
        } catch {
          // already gone
        }
      rmSync(scratch, { recursive: true, force: true });
      const made = folder();
      if (made && existsSync(made)) rmSync(made, { recursive: true, force: true });
    };
    return { standIn, out, closed, exited, folder, until, run, cleanUp };
  }

  test('SIGHUP to the job of a campaign writing to files (nohup): it goes on, in a group of its own', async () => {
    const job = await campaignJob('sighup');
    let runPid: number | null = null;
    try {
      await job.until(/^batch 1: seed/m, 'second batch');
      runPid = job.run();
      // Out of the job: the hang-up reaches the stand-in alone, which says so.
      expect(runPid).not.toBeNull();
      expect(execFileSync('ps', ['-o', 'pgid=', '-p', String(runPid)], { encoding: 'utf8' }).trim()).toBe(
        String(runPid),
      );
      process.kill(-(job.standIn.pid as number), 'SIGHUP');
      await job.until(/^batch 3: seed/m, 'fourth batch');
      // Ctrl-C to the job: passed on to the run, which stops as ever; the stand-in ends with its code.
      job.standIn.kill('SIGINT');
      expect(await job.exited, job.out.stderr).toBe(130);
      await job.closed;
      expect(job.out.stderr).toContain(HANGUP_IGNORED);
      expect(job.out.stdout).toMatch(/^stopped early: stopped by SIGINT in batch \d+;/m);
      const summary = JSON.parse(readFileSync(join(job.folder() as string, 'summary.json'), 'utf8'));
      expect([summary.failures, summary.errors]).toEqual([[], []]);
    } finally {
      job.cleanUp(runPid);
    }
  }, 240_000);

  test('a detached campaign whose stand-in is killed (SIGKILL) stops as by SIGTERM, its summary written', async () => {
    const job = await campaignJob('standin');
    let runPid: number | null = null;
    try {
      await job.until(/^batch 1: seed/m, 'second batch');
      runPid = job.run();
      job.standIn.kill('SIGKILL');
      await job.closed;
      const summary = JSON.parse(readFileSync(join(job.folder() as string, 'summary.json'), 'utf8'));
      expect(summary.stoppedEarly).toMatch(/^stopped by SIGTERM in batch \d+;/);
      expect(job.out.stdout).toMatch(/^stopped early: stopped by SIGTERM in batch \d+;/m);
    } finally {
      job.cleanUp(runPid);
    }
  }, 240_000);
});
