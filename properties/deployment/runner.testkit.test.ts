import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { PROGRESS_FILE_ENV, parseProgress } from '../runner/progressLine.ts';
import { CI_SEED, sizedTimeout } from '../../testing/runConfig.ts';
import { toldOfRun } from './commands.testkit.ts';
import type { CommandSpec } from './commands.testkit.ts';
import { describe as describeStep } from './commands.testkit.ts';
import {
  BOOTSTRAP,
  commentLines,
  replayScenario,
  reproductionFile,
  runSuite,
  scenarioLines,
  skewsText,
} from './runner.testkit.ts';
import type { Reach } from './runner.testkit.ts';
import { WARMUPS } from './warmup.testkit.ts';

const BOOTSTRAP_TEXT =
  'the bootstrap (steps 1 to 21: alice, bob, carol in G1, alice and bob in G2, active keys K2000 in G1 and K2001 ' +
  'in G2, synced)';
const CONVERGENCE = '  then: convergence (publish, sync, resync the blocked and the unacknowledged)';

describe("a failure's scenario lists what ran, and no further", () => {
  const said = ['U1 syncs', 'admin publishes'];

  test('the steps after the bootstrap, then the convergence only when the failure came in it', () => {
    expect(BOOTSTRAP).toHaveLength(21);
    const steps = [`deployment seed 7; after ${BOOTSTRAP_TEXT}:`, '   22. U1 syncs', '   23. admin publishes'];
    expect(scenarioLines(said, 7, { phase: 'steps', step: 21 })).toEqual(steps);
    expect(scenarioLines(said, 7, { phase: 'convergence', step: 21 })).toEqual([...steps, CONVERGENCE]);
  });

  test("the user hosts' clock skews that are not 0, with the seed: a run replays only with them", () => {
    const skews = { U1: -86_400_000, U2: 90_000, U3: 0 };
    expect(scenarioLines(said, 7, { phase: 'steps', step: 21 }, describeStep, skews)[0]).toBe(
      `deployment seed 7, user host clocks against the admin's: U1 1d behind, U2 1m30s ahead; after ${BOOTSTRAP_TEXT}:`,
    );
    expect(skewsText({ U1: 0, U2: 0 })).toBe('');
  });

  test('the convergence says what it did first for HSMs that died, in their words as they ran', async () => {
    // Carol deleted, then her HSM dies before it syncs the deletion: the convergence forgets it as lost, and
    // the model compromises every key it holds, which no step before it names.
    const steps: CommandSpec[] = [
      { t: 'admin', op: { type: 'deleteUser', userId: 'U3', now: 0 } },
      { t: 'hsmDies', user: 'U3' },
    ];
    const reach: Reach = { phase: 'setup', step: 0 };
    await replayScenario(steps, { deploymentSeed: 0, reach });
    const told = toldOfRun();
    expect(scenarioLines(steps.map(told), 0, reach, told).slice(3)).toEqual([
      `${CONVERGENCE}, the HSMs that died dealt with first:`,
      "    - admin forgets U3's retired HSM as lost  (the model: K2000 now compromised)",
    ]);
  }, 120_000);

  test('the keys the bootstrap made are those its words name', async () => {
    await replayScenario([], { deploymentSeed: 0 });
    const said = BOOTSTRAP.map(toldOfRun());
    expect(said.filter((s) => s.includes('→'))).toEqual([
      'admin addKey to G1 "first" → K2000',
      'admin addKey to G2 "pair key" → K2001',
    ]);
    expect(said.filter((s) => s.includes('(the model:'))).toEqual([]);
  }, 120_000);

  test("in the bootstrap: the bootstrap's step it failed at, in its words as it ran; before it: the set-up", () => {
    const told = (spec: (typeof BOOTSTRAP)[number]) => (spec === BOOTSTRAP[3] ? 'admin provisions U1 → H1' : '?');
    expect(scenarioLines([], 7, { phase: 'bootstrap', step: 4 }, told)).toEqual([
      `deployment seed 7; ${BOOTSTRAP_TEXT} ran up to its step 4, which failed:`,
      '    4. admin provisions U1 → H1',
    ]);
    expect(scenarioLines([], 7, { phase: 'setup', step: 0 })).toEqual([
      `deployment seed 7; the run failed setting up its deployment, before ${BOOTSTRAP_TEXT}`,
    ]);
  });

  test(
    'a run that fails in the bootstrap (a key leaked by its publication) lists no step after it, nor convergence',
    async () => {
      const { failure } = await runSuite({
        suite: 'bootstrap-failure',
        ciRuns: 1,
        maxCommands: 5,
        fixedSeed: CI_SEED,
        mutant: 'leakKeyIntoShare',
        noShrink: true,
        reports: false,
      });
      expect(failure?.message).toMatch(/^invariant key-secrecy: after step 18 \(admin publishes\)/);
      expect(failure?.reached).toEqual({ phase: 'bootstrap', step: 18 });
      // The run's clock skews, when it drew any, follow its seed.
      const clocks = skewsText(failure?.skews);
      expect(failure?.scenario).toEqual([
        `deployment seed ${failure?.deploymentSeed}${clocks === '' ? '' : `, ${clocks}`}; ` +
          `${BOOTSTRAP_TEXT} ran up to ` +
          'its step 18, which failed:',
        '   18. admin publishes',
      ]);
      expect(failure?.report).not.toContain('then: convergence');
    },
    sizedTimeout(300_000),
  );
});

test("a reproduction file's header is a comment line for every line of the report, a multi-line error's too", () => {
  // As `same` words a failure (its first line, then where the two sides differ and both values), and a name
  // holding `*/`: the message's later lines went unprefixed, and a `*/` would have ended the comment.
  const message =
    "invariant convergence: keys in U1's HSM once the adversary stopped (ids/*/ match)\n" +
    '  differs at (the whole value): actual ["K2014","K2016"], expected ["K2016"]\r\n' +
    '  actual:   ["K2014","K2016"]\n\n  expected: ["K2016"]';
  const lines = ['deployment: invariant convergence broke', 'deployment seed 0; after the bootstrap:', message];
  const options = { suite: 'deployment', ciRuns: 1, maxCommands: 1 };
  const text = reproductionFile(options, 'convergence', [], 0, {}, lines);
  const header = text.slice(0, text.indexOf('\n */\n') + 4).split('\n');
  // The comment ends where the header does, and nowhere before: the first `*/` of the file is its close.
  expect(text.indexOf('*/')).toBe(text.indexOf('\n */\nimport ') + 2);
  expect(header.slice(1, -1).filter((l) => !/^ \*( |$)/.test(l))).toEqual([]);
  expect(header.slice(-6)).toEqual([
    " * invariant convergence: keys in U1's HSM once the adversary stopped (ids/* / match)",
    ' *   differs at (the whole value): actual ["K2014","K2016"], expected ["K2016"]',
    ' *   actual:   ["K2014","K2016"]',
    ' *',
    ' *   expected: ["K2016"]',
    ' */',
  ]);
  expect(commentLines(['one', 'two\u2028three'])).toBe(' * one\n * two\n * three');
});

test(
  'the warm-up is one run on the progress line, as in the table: one run line for all its scenarios',
  async () => {
    // Under the runner (SEKEY_PROGRESS_FILE): a run line per warm-up scenario made the progress line count
    // a run more than the table (deployment 4 beside 3 at --runs 2).
    const folder = mkdtempSync(join(tmpdir(), 'warmup-lines-'));
    const file = join(folder, 'progress.jsonl');
    const before = process.env[PROGRESS_FILE_ENV];
    process.env[PROGRESS_FILE_ENV] = file;
    try {
      const { stats } = await runSuite({
        suite: 'warmup-lines',
        ciRuns: 1,
        maxCommands: 2,
        warmup: true,
        fixedSeed: CI_SEED,
        reports: false,
      });
      const { lines } = parseProgress(readFileSync(file, 'utf8'));
      const done = lines.find((l) => l.kind === 'done');
      expect(WARMUPS.length, 'a warm-up of several scenarios').toBeGreaterThan(1);
      expect(done?.runs).toBe(stats.runs);
      expect(lines.filter((l) => l.kind === 'run')).toHaveLength(stats.runs);
    } finally {
      if (before === undefined) delete process.env[PROGRESS_FILE_ENV];
      else process.env[PROGRESS_FILE_ENV] = before;
      rmSync(folder, { recursive: true, force: true });
    }
  },
  sizedTimeout(300_000),
);

describe('the size of a run', () => {
  test(
    'fixed runs (the bite tests) are the ciRuns given whatever SEKEY_RUNS says',
    async () => {
      const knob = process.env['SEKEY_RUNS'];
      process.env['SEKEY_RUNS'] = '1';
      try {
        const options = { suite: 'fixed-runs', ciRuns: 2, maxCommands: 3, fixedSeed: CI_SEED, reports: false };
        expect((await runSuite({ ...options, fixedRuns: true })).stats.runs).toBe(2);
        expect((await runSuite(options)).stats.runs).toBe(1);
      } finally {
        if (knob === undefined) delete process.env['SEKEY_RUNS'];
        else process.env['SEKEY_RUNS'] = knob;
      }
    },
    sizedTimeout(300_000),
  );
});
