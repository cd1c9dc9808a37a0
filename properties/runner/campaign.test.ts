import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import {
  batchTestPattern,
  campaignFolder,
  claimFolder,
  copyReproduction,
  leftOutNamed,
  saveFailures,
  shrinkBudget,
  shrinkCutFailures,
  stopReason,
} from './campaign.ts';
import type { CampaignFailure } from './campaign.ts';
import { OUTSIDE_ANY_TEST, UNFINISHED } from './runBatch.ts';
import type { Batch, BatchResult } from './runBatch.ts';
import { SUITES } from './suites.ts';
import type { DoneLine } from './progressLine.ts';
import { escapeRegExp, replayCommand, vitestReplayCommand } from './replayCommand.ts';
import { countOf } from './fixtures.testkit.ts';
import type { SuiteCount } from './tally.ts';

describe('campaign helpers', () => {
  test('a --test narrows the campaign tests and never brings back one that campaigns skip', () => {
    const skip = `^(?!.*(?:${escapeRegExp('every declared edge')}))`;
    const names = [
      'deployment suite every invariant holds',
      'deployment suite the runs exercised every declared edge of every machine',
      'kms projection',
    ];
    const matching = (pattern: string | undefined) => names.filter((n) => new RegExp(pattern ?? '').test(n));
    expect(matching(batchTestPattern(skip, undefined))).toEqual([names[0], names[2]]);
    expect(matching(batchTestPattern(skip, 'deployment'))).toEqual([names[0]]);
    expect(matching(batchTestPattern(skip, '^kms'))).toEqual([names[2]]);
    expect(matching(batchTestPattern(undefined, 'declared|projection'))).toEqual([names[1], names[2]]);
    expect(batchTestPattern('a|b', undefined)).toBe('a|b');
  });

  test('from the second batch on, the names of the properties that ran, still narrowed by --test', () => {
    // A fresh-eyes review: the lookahead of --test came after the names, where the full name had
    // nothing left, so every batch after the first ran no test and the campaign stopped on it.
    // vitest matches the full name: describe names, then the test's own.
    const full = (describe: string, own: string) => `${describe} ${own}`;
    const kms = 'KMS model under random operation sequences';
    const ran = ['a projection holds nothing outside the user’s groups', 'invariants hold after every step'];
    const later = ran.map(escapeRegExp).join('|');
    for (const user of ['projection', 'KMS model', 'holds nothing', '^KMS']) {
      const pattern = new RegExp(batchTestPattern(later, user) as string);
      expect(pattern.test(full(kms, ran[0] as string)), user).toBe(true);
    }
    // Narrowed as a whole: the other property that ran, which --test does not name, stays out.
    expect(new RegExp(batchTestPattern(later, 'projection') as string).test(full(kms, ran[1] as string))).toBe(false);
    // And a test that did not run a property stays out whatever --test says.
    expect(new RegExp(batchTestPattern(later, 'KMS') as string).test(full(kms, 'forward secrecy'))).toBe(false);
  });

  test('the folder is named after the start time, and after the shard when there are several', () => {
    const at = new Date(Date.UTC(2026, 11, 2, 8, 30, 5, 250));
    expect(campaignFolder(at, { index: 1, count: 1 })).toBe(join('reports', 'campaign-20261202T083005Z'));
    expect(campaignFolder(at, { index: 2, count: 3 })).toBe(join('reports', 'campaign-20261202T083005Z-shard2of3'));
  });

  test('a test name becomes a pattern that matches exactly it', () => {
    const name = 'agree after every step of random operation sequences (30+ operations each)';
    const pattern = new RegExp(`^${escapeRegExp(name)}$`);
    expect(pattern.test(name)).toBe(true);
    expect(pattern.test('agree after every step of random operation sequences (30 operations each)')).toBe(false);
  });

  test('the replay command names the suite, seed, path and the test by its own name, quoted for a shell', () => {
    const name = 'agree (30+ ops) for $HOME and `x` "quoted" \\ done';
    const command = replayCommand('kmsImpl', `model against implementation > ${name}`, -12, '3:0');
    expect(command).toMatch(/^npm run properties -- --suite kmsImpl --seed=-12 --path "3:0" --test "/);
    // What a shell hands the runner is the pattern that matches exactly the test's own name.
    const quoted = command.slice(command.indexOf('--test ') + 7);
    const seen = execFileSync('bash', ['-c', `printf %s ${quoted}`], { encoding: 'utf8' });
    expect(seen).toBe(`${escapeRegExp(name)}$`);
    // vitest matches against the full name: this test's, and not one whose title only begins with it.
    expect(new RegExp(seen).test(`model against implementation ${name}`)).toBe(true);
    expect(new RegExp(seen).test(`model against implementation ${name}, again`)).toBe(false);
    // Under plain vitest: the file, the same pattern as -t, the seed and path as SEKEY_* knobs.
    const vitest = vitestReplayCommand('properties/kmsImpl.properties.test.ts', name, 7, '3:0');
    expect(vitest).toMatch(/^SEKEY_SEED=7 SEKEY_PATH="3:0" npx vitest run properties\/kmsImpl.properties.test.ts -t "/);
    const viaShell = execFileSync('bash', ['-c', `printf %s ${vitest.slice(vitest.indexOf(' -t ') + 4)}`], {
      encoding: 'utf8',
    });
    expect(viaShell).toBe(`${escapeRegExp(name)}$`);
  });

  test('a reproduction is moved with its imports pointed one folder up; a missing one is no copy', () => {
    const dir = mkdtempSync(join(tmpdir(), 'campaign-'));
    try {
      const source = join(dir, 'deployment-convergence.repro.test.ts');
      writeFileSync(source, "import { replayScenario } from '../properties/deployment/runner.testkit.ts';\n");
      const folder = join(dir, 'campaign-x');
      mkdirSync(folder);
      const copy = copyReproduction(source, folder, 3) as string;
      expect(copy).toBe(join(folder, 'failure-3-deployment-convergence.repro.test.ts'));
      expect(readFileSync(copy, 'utf8')).toBe(
        "import { replayScenario } from '../../properties/deployment/runner.testkit.ts';\n",
      );
      // Moved: the campaign's copy is the one to run.
      expect(existsSync(source)).toBe(false);
      expect(copyReproduction(join(dir, 'none.ts'), folder, 4)).toBeNull();
      expect(existsSync(join(folder, 'failure-4-none.ts'))).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('every failure of a batch is saved: a counterexample (replay, reproduction), another failed test', () => {
    const dir = mkdtempSync(join(tmpdir(), 'campaign-'));
    try {
      const repro = join(dir, 'deployment-convergence.repro.test.ts');
      writeFileSync(repro, "import { x } from '../properties/deployment/runner.testkit.ts';\n");
      const deployment = countOf('deployment', { failures: 2 });
      deployment.counterexamples.push({
        kind: 'done',
        suite: 'deployment',
        test: 'deployment > every invariant holds',
        runs: 7,
        operations: 300,
        cpuMicros: 1,
        failed: true,
        interrupted: false,
        seed: 5,
        path: '6:2',
        counterexample: '1. publish',
        value: '[[{"t":"publish"}]]',
        error: 'invariant convergence: …',
        reproduction: repro,
      });
      deployment.failedTests.push(
        { suite: 'deployment', test: 'deployment > every invariant holds', message: 'invariant convergence: …' },
        { suite: 'deployment', test: 'deployment > fixed case', message: 'expected 1 to be 2' },
      );
      const counts = new Map<string, SuiteCount>([
        ['deployment', deployment],
        ['kms', countOf('kms')],
      ]);
      const saved = saveFailures(counts, 9, dir, 4);
      expect(saved).toEqual([
        {
          suite: 'deployment',
          test: 'deployment > every invariant holds',
          batch: 9,
          seed: 5,
          path: '6:2',
          counterexample: '1. publish',
          value: '[[{"t":"publish"}]]',
          error: 'invariant convergence: …',
          replay: replayCommand('deployment', 'deployment > every invariant holds', 5, '6:2'),
          reproduction: join(dir, 'failure-4-deployment-convergence.repro.test.ts'),
          shrinkCut: false,
        },
        {
          suite: 'deployment',
          test: 'deployment > fixed case',
          batch: 9,
          seed: null,
          path: null,
          counterexample: null,
          value: null,
          error: 'expected 1 to be 2',
          // A fixed scenario: run again, the test named (the batch's seed not given here).
          replay: 'npm run properties -- --suite deployment --test "fixed case\\$"',
          reproduction: null,
          shrinkCut: false,
        },
      ]);
      expect(JSON.parse(readFileSync(join(dir, 'failure-4.json'), 'utf8'))).toEqual(saved[0]);
      expect(JSON.parse(readFileSync(join(dir, 'failure-5.json'), 'utf8'))).toEqual(saved[1]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("a failed fixed test replays by its name at the batch's seed; a failure that is no test has no replay", () => {
    const dir = mkdtempSync(join(tmpdir(), 'campaign-'));
    try {
      const updateAttacks = countOf('updateAttacks', { failures: 3 });
      const fixed = 'update attacks > replayed, misaddressed and user-forged files are refused (x)';
      updateAttacks.failedTests.push(
        { suite: 'updateAttacks', test: fixed, message: 'expected 1 to be 2' },
        { suite: 'updateAttacks', test: OUTSIDE_ANY_TEST, message: 'SyntaxError' },
        { suite: 'updateAttacks', test: UNFINISHED, message: 'vitest stopped before this suite finished' },
      );
      const saved = saveFailures(new Map([['updateAttacks', updateAttacks]]), 2, dir, 2, 4, new Set(), -17);
      expect(saved.map((f) => f.replay)).toEqual([
        'npm run properties -- --suite updateAttacks --seed=-17 --scale 4 --test ' +
          '"replayed, misaddressed and user-forged files are refused \\\\(x\\\\)\\$"',
        null,
        null,
      ]);
      expect(saved[0]).toMatchObject({ seed: null, path: null });
      expect(JSON.parse(readFileSync(join(dir, 'failure-2.json'), 'utf8')).replay).toBe(saved[0]?.replay);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('a failure whose shrinking the budget cut', () => {
  const found: DoneLine = {
    kind: 'done',
    suite: 'kmsImpl',
    test: 'model against implementation > agree after every step',
    runs: 40,
    operations: 1500,
    cpuMicros: 1,
    failed: true,
    interrupted: true,
    seed: 77,
    path: '39:2',
    counterexample: '[[30 operations]]',
    error: 'expected accepted',
    reproduction: null,
  };

  test('is saved as cut; one whose shrinking ended, or with no path to shrink on from, is not', () => {
    const dir = mkdtempSync(join(tmpdir(), 'campaign-'));
    try {
      const kmsImpl = countOf('kmsImpl', { failures: 3 });
      kmsImpl.counterexamples.push(found, { ...found, interrupted: false }, { ...found, path: '' });
      const saved = saveFailures(new Map([['kmsImpl', kmsImpl]]), 3, dir, 1);
      expect(saved.map((f) => f.shrinkCut)).toEqual([true, false, false]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('is shrunk on after the budget from its seed and path; its file then holds the smaller case', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'campaign-'));
    try {
      const counts = new Map([['kmsImpl', countOf('kmsImpl', { failures: 2 })]]);
      counts
        .get('kmsImpl')
        ?.counterexamples.push(found, { ...found, test: `${found.test} (live)`, interrupted: false });
      const failures = saveFailures(counts, 3, dir, 1);
      const batches: Batch[] = [];
      // The replay fails again, shrunk further; shrinking ends this time.
      const run = async (batch: Batch): Promise<BatchResult> => {
        batches.push(batch);
        const c = countOf('kmsImpl', { failures: 1 });
        c.counterexamples.push({
          ...found,
          path: '39:2:0:0:5',
          counterexample: '[[2 operations]]',
          interrupted: false,
        });
        return { counts: new Map([['kmsImpl', c]]), errors: [], unrunnable: [], statistics: {} };
      };
      const heard: number[] = [];
      const until = Date.now() + 60_000;
      const out = await shrinkCutFailures(failures, { suites: SUITES, scale: undefined }, dir, until, {
        run,
        onShrink: (_f, n) => heard.push(n),
      });
      // Only the failure that was cut is replayed: its seed and path, shrinking on, until the end given.
      expect(heard).toEqual([1]);
      expect(batches).toHaveLength(1);
      expect(batches[0]).toMatchObject({ seed: 77, path: '39:2', shrink: true, deadline: until, ownStatistics: true });
      expect(batches[0]?.suites.map((s) => s.name)).toEqual(['kmsImpl']);
      expect(new RegExp(batches[0]?.testPattern ?? '^$').test('agree after every step')).toBe(true);
      expect(out[0]).toMatchObject({
        path: '39:2:0:0:5',
        counterexample: '[[2 operations]]',
        shrinkCut: false,
        replay: replayCommand('kmsImpl', found.test, 77, '39:2:0:0:5'),
      });
      expect(JSON.parse(readFileSync(join(dir, 'failure-1.json'), 'utf8'))).toEqual(out[0]);
      expect(out[1]).toEqual(failures[1]);
      expect(JSON.parse(readFileSync(join(dir, 'failure-2.json'), 'utf8'))).toEqual(failures[1]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('stays as found when its replay does not fail again, or when the time is already up', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'campaign-'));
    try {
      const failure = cutFailure();
      let runs = 0;
      const passes = async (): Promise<BatchResult> => {
        runs += 1;
        return { counts: new Map([['kmsImpl', countOf('kmsImpl')]]), errors: [], unrunnable: [], statistics: {} };
      };
      const options = { suites: SUITES, scale: undefined };
      expect(await shrinkCutFailures([failure], options, dir, Date.now() + 60_000, { run: passes })).toEqual([failure]);
      expect(runs).toBe(1);
      expect(await shrinkCutFailures([failure], options, dir, Date.now() - 1, { run: passes })).toEqual([failure]);
      expect(runs).toBe(1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('the time allowed after the budget is a tenth of it, a minute at least', () => {
    expect(shrinkBudget(120_000)).toBe(60_000);
    expect(shrinkBudget(2 * 3_600_000)).toBe(720_000);
  });

  function cutFailure(): CampaignFailure {
    return {
      suite: 'kmsImpl',
      test: found.test,
      batch: 3,
      seed: 77,
      path: '39:2',
      counterexample: '[[30 operations]]',
      value: null,
      error: 'expected accepted',
      replay: replayCommand('kmsImpl', found.test, 77, '39:2'),
      reproduction: null,
      shrinkCut: true,
    };
  }
});

describe('a campaign that cannot find anything new stops', () => {
  test('on a failure in a fixed scenario, or a batch that could not run the suites; not on other errors', () => {
    const counts = new Map([['deployment', countOf('deployment', { failures: 1 })]]);
    expect(stopReason(counts, [])).toBeNull();
    counts.get('deployment')?.counterexamples.push({
      kind: 'done',
      suite: 'deployment',
      test: 'deployment > every invariant holds',
      runs: 1,
      operations: 40,
      cpuMicros: 1,
      failed: true,
      interrupted: false,
      seed: 5,
      path: '1:2',
      counterexample: null,
      error: 'x',
      reproduction: null,
    });
    expect(stopReason(counts, [])).toBeNull();
    const seeded = counts.get('deployment')?.counterexamples[0];
    if (seeded) counts.get('deployment')?.counterexamples.push({ ...seeded, seed: null, path: '' });
    expect(stopReason(counts, [])).toMatch(/^deployment: "deployment > every invariant holds" failed in a fixed/);
    // A test file that fails before any test (at load): every seed would fail it the same way.
    const unloadable = countOf('keyStorePowerCut', { failures: 1 });
    unloadable.failedTests.push({ suite: 'keyStorePowerCut', test: '(outside any test)', message: 'bad bound\nat x' });
    expect(stopReason(new Map([['keyStorePowerCut', unloadable]]), [])).toBe(
      'keyStorePowerCut: its test file failed before any test ran (bad bound), as it would at every seed; ' +
        'fix it, then campaign again',
    );
    // A hook's failure after tests ran may be the seed's: the campaign goes on.
    expect(stopReason(new Map([['keyStorePowerCut', { ...unloadable, tests: 3 }]]), [])).toBeNull();
    expect(stopReason(new Map(), ['no test ran: the --test pattern matched no test of the chosen suites'])).toBe(
      'a batch could not run the chosen suites: no test ran: the --test pattern matched no test of the chosen suites',
    );
  });

  test('"no test ran" says so when --test named only a test that campaigns leave out', () => {
    const result = { errors: ['no test ran: the --test pattern matched no test of the chosen suites'], unrunnable: [] };
    const leftOut = ['the live runs checked selections that the smallest-group rule and the key number decide'];
    const explained = leftOutNamed({ ...result, unrunnable: result.errors }, leftOut, 'key number decide');
    expect(explained.unrunnable[0]).toBe(
      'no test ran: the --test pattern matched no test of the chosen suites: campaigns leave out ' +
        '"the live runs checked selections that the smallest-group rule and the key number decide" (a check of ' +
        'what a whole CI-size pass exercised, which a batch cut short by the budget would fail); run it without --time',
    );
    expect(explained.errors).toEqual(explained.unrunnable);
    // A --test that names none of them leaves the message as it is.
    expect(leftOutNamed(result, leftOut, 'projection')).toBe(result);
    expect(leftOutNamed(result, leftOut, undefined)).toBe(result);
  });

  test('the replay of a failure without a seed runs its test again; one found at a scale replays at it', () => {
    expect(replayCommand('deployment', 'd > warm', null, '')).toBe(
      'npm run properties -- --suite deployment --test "warm\\$"',
    );
    expect(replayCommand('keyStorePowerCut', 'k > p', 3, '1:2', 2)).toBe(
      'npm run properties -- --suite keyStorePowerCut --seed=3 --path "1:2" --scale 2 --test "p\\$"',
    );
  });
});

test('two campaigns started in the same second get folders of their own', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sekey-claim-'));
  try {
    const base = join(dir, 'reports', 'campaign-20261203T071107Z');
    expect([claimFolder(base), claimFolder(base), claimFolder(base)]).toEqual([base, `${base}-2`, `${base}-3`]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
