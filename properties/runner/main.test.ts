import { describe, expect, test } from 'vitest';
import { USAGE, parseRunnerArgs } from './args.ts';
import {
  EXIT,
  alikeLines,
  campaignLine,
  describeFailures,
  errorShape,
  exitCodeOf,
  failureFiles,
  fewRunsNote,
  main,
  seedList,
} from './main.ts';
import { countOf, sink } from './fixtures.testkit.ts';
import { tableRow } from './table.ts';
import type { DoneLine, ProgressLine } from './progressLine.ts';
import { addLine, mergeCount } from './tally.ts';
import type { SuiteCount } from './tally.ts';

const counterexample: DoneLine = {
  kind: 'done',
  suite: 'kms',
  test: 'KMS model > a projection holds nothing outside the user’s groups',
  runs: 12,
  operations: 300,
  cpuMicros: 1000,
  failed: true,
  interrupted: false,
  seed: 42,
  path: '11:0:3',
  counterexample: '[[{"type":"addUser"}]]',
  error: 'Error: expected',
  reproduction: null,
};

/** A property's end with no counterexample (its runs set by the caller). */
const done = (suite: string, test: string) =>
  ({ ...counterexample, suite, test, failed: false, seed: 1, path: '', counterexample: null, error: null }) as const;

describe('exit codes', () => {
  test('--help prints the usage and exits 0', async () => {
    const [stdout, stderr] = [sink(), sink()];
    expect(await main(['--help'], { stdout, stderr })).toBe(EXIT.held);
    expect(stdout.text()).toBe(`${USAGE}\n`);
  });

  test('bad usage exits 2 with the reason on stderr, before anything runs', async () => {
    const [stdout, stderr] = [sink(), sink()];
    expect(await main(['--suite', 'deploymnt'], { stdout, stderr })).toBe(EXIT.usage);
    expect(stdout.text()).toBe('');
    expect(stderr.text()).toMatch(
      /unknown suite 'deploymnt' \(did you mean deployment\?\)[^\n]*\n\(see npm run properties -- --help\)/,
    );
    // A --time or --test refused says what is wrong with it, and still exits 2 with nothing run.
    for (const [argv, said] of [
      [['--time', '1h90m'], '--time: 90m is an hour or more: write 2h30m'],
      [['--test', '('], "--test needs a regular expression, got '(' (Unterminated group)"],
    ] as const) {
      const [out, err] = [sink(), sink()];
      expect(await main(argv, { stdout: out, stderr: err })).toBe(EXIT.usage);
      expect(out.text()).toBe('');
      expect(err.text()).toBe(`npm run properties: ${said}\n(see npm run properties -- --help)\n`);
    }
  });

  test('0 when every property held; 1 on a counterexample, a failed test or an error outside the suites', () => {
    expect(exitCodeOf([countOf('kms', { runs: 5 }), countOf('deployment')], [])).toBe(0);
    const failedCase = countOf('kms');
    failedCase.counterexamples.push(counterexample);
    expect(exitCodeOf([failedCase], [])).toBe(1);
    expect(exitCodeOf([countOf('kms', { failures: 1 })], [])).toBe(1);
    expect(exitCodeOf([countOf('kms')], ['worker crashed'])).toBe(1);
  });
});

describe('failures in words', () => {
  test('a counterexample with its scenario and replay; another failed test with its first line', () => {
    const c = countOf('kms', { failures: 2 });
    c.counterexamples.push(counterexample);
    c.failedTests.push(
      { suite: 'kms', test: counterexample.test, message: 'Property failed after 12 tests' },
      { suite: 'kms', test: 'KMS model > fixed case', message: 'expected 1 to be 2\nat line 3' },
    );
    expect(describeFailures([c])).toEqual([
      `kms: counterexample in "${counterexample.test}" (seed 42, path 11:0:3)`,
      '  [[{"type":"addUser"}]]',
      '  error: Error: expected',
      '  replay: npm run properties -- --suite kms --seed=42 --path "11:0:3" ' +
        '--test "a projection holds nothing outside the user’s groups\\$"',
      'kms: "KMS model > fixed case" failed: expected 1 to be 2',
    ]);
    // Found at a scale: the replay runs at that scale.
    expect(describeFailures([c], 2.5)[3]).toMatch(/--path "11:0:3" --scale 2\.5 --test /);
  });

  test("an error's lines that say where actual and expected differ follow its first line", () => {
    const c = countOf('deployment', { failures: 1 });
    c.counterexamples.push({
      ...counterexample,
      suite: 'deployment',
      error:
        "invariant model-agreement: step 23 (admin removeMember U1 from G2): the admin's view\n" +
        '  differs at keys[K2001].state: actual "suspended", expected "deactivated"\n' +
        '  actual:   {"keys":[]}\n  expected: {"keys":[]}',
    });
    expect(describeFailures([c]).slice(2, 4)).toEqual([
      "  error: invariant model-agreement: step 23 (admin removeMember U1 from G2): the admin's view",
      '    differs at keys[K2001].state: actual "suspended", expected "deactivated"',
    ]);
    expect(describeFailures([c])[4]).toMatch(/^ {2}replay: /);
  });

  test('a saved reproduction is given as the command that runs it alone', () => {
    const saved = countOf('deployment', { failures: 1 });
    const file = 'reports/campaign-x/failure-1-deployment-convergence.repro.test.ts';
    saved.counterexamples.push({ ...counterexample, suite: 'deployment', reproduction: file });
    expect(describeFailures([saved]).at(-1)).toBe(
      `  reproduction: npx vitest run -c properties/deployment/repro.config.ts ${file}`,
    );
  });

  test('a failure in a fixed scenario (no seed) replays by running its test again', () => {
    const warmup = countOf('deployment', { failures: 1 });
    warmup.counterexamples.push({ ...counterexample, suite: 'deployment', seed: null, path: '' });
    expect(describeFailures([warmup])).toEqual([
      `deployment: "${counterexample.test}" failed in a fixed scenario that runs before any seeded run`,
      '  [[{"type":"addUser"}]]',
      '  error: Error: expected',
      '  replay: npm run properties -- --suite deployment ' +
        '--test "a projection holds nothing outside the user’s groups\\$"',
    ]);
  });

  test('a failure without a counterexample shows its error; a replay path that no longer fits says what to do', () => {
    const broken = countOf('deployment', { failures: 1 });
    broken.counterexamples.push({ ...counterexample, path: '', counterexample: null, error: 'Error: disk full\nat x' });
    expect(describeFailures([broken])).toEqual([
      `deployment: counterexample in "${counterexample.test}" (seed 42, path -)`,
      '  error: Error: disk full',
      '  replay: npm run properties -- --suite deployment --seed=42 ' +
        '--test "a projection holds nothing outside the user’s groups\\$"',
    ]);
    // The replay lines the runner prints are command lines it accepts, with a path or without one.
    const withPath = countOf('kms', { failures: 1 });
    withPath.counterexamples.push({ ...counterexample, path: '3:1:0' });
    for (const line of [...describeFailures([broken]), ...describeFailures([withPath])]) {
      if (!line.startsWith('  replay: ')) continue;
      const words = (line.split(' -- ')[1] ?? '').match(/"[^"]*"|\S+/g) ?? [];
      const options = parseRunnerArgs(words.map((w) => w.replace(/^"(.*)"$/, '$1')));
      expect(options.seed, line).toBe(42);
    }
    const stale = countOf('deployment', { failures: 1 });
    stale.counterexamples.push({
      ...counterexample,
      counterexample: null,
      error: 'Error: Unable to replay, got wrong path=38:0:3',
    });
    const [line, ...rest] = describeFailures([stale]);
    expect(rest).toEqual([]);
    expect(line).toMatch(/^deployment: ".*": the --path does not replay under seed 42 with this code\./);
    expect(line).toMatch(/Replay the seed alone \(drop --path\), or run the reproduction file/);
    // As a real run gives it: fast-check refuses the path before any run, so only the failed test says so.
    const refused = countOf('kms', { failures: 1 });
    refused.failedTests.push({
      suite: 'kms',
      test: 'the invariants hold',
      message: 'Unable to replay, got wrong path=11:2:3',
    });
    const [said, ...more] = describeFailures([refused]);
    expect(more).toEqual([]);
    expect(said).toMatch(/^kms: "the invariants hold": the --path does not replay with this code\. /);
  });
});

test('a campaign closing line names its first seeds, not all of a long campaign', () => {
  expect(seedList([3, -7])).toBe('seeds 3, -7');
  expect(seedList([42])).toBe('seed 42');
  expect(seedList([1, 2, 3, 4, 5, 6, 7, 8])).toBe('seeds 1, 2, 3, 4, 5 and 3 more in summary.json');
});

describe("a campaign's closing line", () => {
  const batch = (seed: number) => ({ index: 0, seed, runs: 600, operations: 18_000, failures: 0 });

  test('its batches, one said as one, and its runs and operations', () => {
    const one = { campaign: 'nightly', shard: '1/4', batches: [batch(42)] };
    const kms = countOf('kms', { runs: 1200, operations: 36_000 });
    expect(campaignLine(one, [kms], 1_800_000)).toBe(
      'campaign nightly shard 1/4: 1 batch (seed 42), 1,200 runs, 36,000 operations in 30m00s',
    );
    // A campaign stopped at once: one run, of one operation, said in the singular.
    expect(campaignLine(one, [countOf('kms', { runs: 1, operations: 1 })], 6000)).toBe(
      'campaign nightly shard 1/4: 1 batch (seed 42), 1 run, 1 operation in 6s',
    );
    const two = { ...one, batches: [batch(42), batch(7)] };
    expect(campaignLine(two, [kms], 1_800_000)).toMatch(/^campaign nightly shard 1\/4: 2 batches \(seeds 42, 7\)/);
  });

  test('its operations are what the table shows: a suite whose row has none is named, not added as 0', () => {
    // updateAttacks counts a run's operations once it passed: three failing runs, the table's `—`.
    const one = { campaign: 'c', shard: '1/1', batches: [batch(5)] };
    const failing = countOf('updateAttacks', { runs: 3, operations: 0, failures: 3 });
    expect(tableRow(failing).slice(1, 4)).toEqual(['3', '—', '—']);
    expect(campaignLine(one, [failing], 27_000)).toBe(
      'campaign c shard 1/1: 1 batch (seed 5), 3 runs, operations not counted (updateAttacks) in 27s',
    );
    const kms = countOf('kms', { runs: 1200, operations: 36_000 });
    expect(campaignLine(one, [kms, failing], 27_000)).toBe(
      'campaign c shard 1/1: 1 batch (seed 5), 1,203 runs, 36,000 operations (not counted: updateAttacks) in 27s',
    );
    // A suite that ran no property (a fixed test alone) reads 0 in the table, and so here.
    expect(tableRow(countOf('keyStorePowerCut')).slice(1, 4)).toEqual(['0', '0', '0.0']);
    expect(campaignLine(one, [countOf('keyStorePowerCut')], 27_000)).toMatch(/, 0 runs, 0 operations in 27s$/);
  });

  test('a budget that left a property fewer runs than a pass names it, one suite alone too', () => {
    // kmsImpl alone, its budget ended as its live property began: the table's row says 45 runs.
    const counts = new Map<string, SuiteCount>();
    const first = 'model against implementation > agree after every step of random operation sequences';
    const live = 'model against implementation > agree after every step of live sequences';
    const lines: ProgressLine[] = [
      { kind: 'begin', suite: 'kmsImpl', test: first, planned: 200, pass: 200 },
      { ...done('kmsImpl', first), runs: 44 },
      { kind: 'begin', suite: 'kmsImpl', test: live, planned: 1, pass: 80 },
      { ...done('kmsImpl', live), runs: 1 },
    ];
    for (const line of lines) addLine(counts, line);
    const ended = { stoppedEarly: null };
    expect(fewRunsNote(ended, counts.values(), false)).toBe(
      'note: the budget ended before these properties made the runs of one pass (what a plain `npm run ' +
        `properties\` gives each), so "no counterexample" says little of them: kmsImpl: "${first}" made 44 ` +
        `runs of 200; kmsImpl: "${live}" made 1 run of 80. Give a longer --time.`,
    );
    // Across batches: a second batch gives the first property its pass, the live one still short of it.
    const second = new Map<string, SuiteCount>();
    for (const line of lines)
      addLine(second, line.kind === 'done' && line.test === first ? { ...line, runs: 200 } : line);
    const totals = countOf('kmsImpl');
    mergeCount(totals, counts.get('kmsImpl') as SuiteCount);
    mergeCount(totals, second.get('kmsImpl') as SuiteCount);
    const short = fewRunsNote(ended, [totals], false);
    expect(short).toMatch(/^note: the budget ended before this property made the runs of one pass/);
    expect(short).toContain(`says little of it: kmsImpl: "${live}" made 2 runs of 80. Give`);
    // Not for a property that found a counterexample, lines without `pass` that made their plan,
    // a stop, or a campaign ended early.
    const failed = new Map<string, SuiteCount>();
    addLine(failed, { kind: 'begin', suite: 'kms', test: 't', planned: 100, pass: 100 });
    addLine(failed, { ...done('kms', 't'), runs: 3, failed: true });
    addLine(failed, { kind: 'begin', suite: 'kms', test: 'u', planned: 100 });
    addLine(failed, { ...done('kms', 'u'), runs: 100 });
    expect(fewRunsNote(ended, failed.values(), false)).toBeNull();
    expect(fewRunsNote(ended, counts.values(), true)).toBeNull();
    expect(fewRunsNote({ stoppedEarly: 'shard 1/2 ran every seed it owns' }, counts.values(), false)).toBeNull();
  });
});

test("a campaign's failures alike (one property, one first line of error) are said together, by their files", () => {
  const test = 'update files under attack > replayed, misaddressed and user-forged files are refused';
  const same = { suite: 'updateAttacks', test, error: 'AssertionError: expected 1 to be 0\n  differs at x' };
  // As a 2-minute campaign saved them: another failure first, then the same one batch after batch.
  const failures = [
    { suite: 'kms', test: 'kms > t', error: 'Error: other' },
    ...Array.from({ length: 6 }, () => same),
    { ...same, error: 'AssertionError: expected false to be true' },
    same,
  ];
  expect(alikeLines(failures)).toEqual([
    `7 failures alike (updateAttacks: "${test}", AssertionError: expected 1 to be 0): ` +
      'failure-2..7.json, failure-9.json',
  ]);
  expect(alikeLines(failures.slice(0, 2))).toEqual([]);
  expect(failureFiles([1, 3, 4, 5, 8])).toBe('failure-1.json, failure-3..5.json, failure-8.json');
});

describe("a campaign's failures alike but for the numbers, IDs and hex their first lines name", () => {
  const live = 'model against implementation > agree after every step of live sequences';
  // One kmsImpl bug (the key-number rule reversed), met at another operation, time and key in each batch
  // (two of them as a campaign with the bug planted saved them).
  const at = (n: number, op: string, chose: string, model: string) =>
    `AssertionError: operation ${n} (${op}): U1 → (no other recipient), the implementation's choice against ` +
    `the model's: expected { keyId: '${chose}', groupId: 'G1' } to deeply equal { keyId: '${model}', groupId: ` +
    `'G3' }\n  differs at keyId: actual "${chose}", expected "${model}"`;
  const first = at(2, '+00:00:00.000  K2001 ACTIVATE', 'K2000', 'K2001');
  const bug = [
    first,
    at(22, '+00:00:00.000  deleteUser U4', 'K2004', 'K2005'),
    at(9, '+1d 00:41:07.250  addGroup G2 "pair" (at most 3 keys, AES-256-GCM, keys for 1d)', 'K2005', 'K2007'),
  ].map((error) => ({ suite: 'kmsImpl', test: live, error }));

  test("are one kind, said by the first one's own line", () => {
    expect(alikeLines(bug)).toEqual([
      `3 failures alike (kmsImpl: "${live}", ${first.split('\n')[0]}; numbers, IDs or operation vary): ` +
        'failure-1..3.json',
    ]);
    // Hashes and serials in hex: one kind whatever they are; a word of hex letters alone is a word.
    const file = (hash: string) => ({ suite: 'updateAttacks', test: 't', error: `Error: file ${hash} applied twice` });
    expect(alikeLines([file('3fa9c2e1d0b7'), file('9f86d081884c'), file('decade')])).toEqual(
      ['Error: file 3fa9c2e1d0b7 applied twice; numbers, IDs or operation vary'].map(
        (e) => `2 failures alike (updateAttacks: "t", ${e}): failure-1..2.json`,
      ),
    );
    expect(errorShape('operation 5 (+00:00:01.000  K2004 SUSPEND): updates/U3/000000000013.update, K2004')).toBe(
      'operation # (…): updates/U#/#.update, K#',
    );
  });

  test('are kept apart when their words differ: another invariant, error code, event or property', () => {
    const one = { suite: 'kmsImpl', test: live, error: first };
    const apart = [
      // The same words but the invariant's name.
      { suite: 'deployment', test: 'd', error: "invariant convergence: keys in U1's HSM once the adversary stopped" },
      { suite: 'deployment', test: 'd', error: "invariant durability: keys in U2's HSM once the adversary stopped" },
      // The same words but the error code.
      { suite: 'kmsImpl', test: live, error: 'KmsError: IllegalTransition: K2004 cannot ACTIVATE at operation 5' },
      { suite: 'kmsImpl', test: live, error: 'KmsError: MaxKeysReached: K2006 cannot ACTIVATE at operation 8' },
      // The same bug's line but another check at that operation, and another property.
      { ...one, error: first.replace("the implementation's", 'keys in U1') },
      { ...one, test: 'model against implementation > agree after every step of random' },
      // A sign is no ID: -1 is not 1.
      { suite: 'kms', test: 't', error: 'Error: offset -1 out of range' },
      { suite: 'kms', test: 't', error: 'Error: offset 1 out of range' },
    ];
    expect(alikeLines([...apart, one])).toEqual([]);
    // Each of them alongside its own kind still joins it.
    expect(alikeLines([...apart, ...apart])).toHaveLength(apart.length);
  });
});
