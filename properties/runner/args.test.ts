import { describe, expect, test } from 'vitest';
import { USAGE, UsageError, parseRunnerArgs } from './args.ts';
import { SUITES } from './suites.ts';

const names = (argv: string[]) => parseRunnerArgs(argv).suites.map((s) => s.name);
const usage = (argv: string[]) => {
  try {
    parseRunnerArgs(argv);
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    return (error as Error).message;
  }
  throw new Error(`accepted: ${argv.join(' ')}`);
};

describe('parseRunnerArgs', () => {
  test('no arguments: every suite once at CI size, no campaign', () => {
    const o = parseRunnerArgs([]);
    expect(o.suites).toEqual(SUITES);
    expect(o).toMatchObject({ help: false, json: false, runs: undefined, seed: undefined, timeMs: undefined });
    expect(o.shard).toEqual({ index: 1, count: 1 });
  });

  test('--suite is repeatable and keeps the runner’s order', () => {
    expect(names(['--suite', 'deployment', '--suite', 'kms'])).toEqual(['kms', 'deployment']);
    expect(names(['--suite', 'kms', '--suite', 'kms'])).toEqual(['kms']);
  });

  test('numbers, flags and replay', () => {
    const o = parseRunnerArgs([
      '--suite',
      'kms',
      '--runs',
      '50',
      '--seed=-3',
      '--path',
      '1:2',
      '--json',
      '--test',
      'x',
    ]);
    expect(o).toMatchObject({ runs: 50, seed: -3, path: '1:2', json: true, test: 'x', shrink: false });
    const replay = ['--suite', 'kms', '--seed', '3', '--path', '1:2', '--test', 'x'];
    expect(parseRunnerArgs([...replay, '--shrink']).shrink).toBe(true);
    // Shrinking on starts from a replayed case: without --path there is none.
    expect(usage(['--suite', 'kms', '--shrink'])).toMatch(/--shrink goes on shrinking from a replayed case/);
    expect(parseRunnerArgs(['--scale', '0.5']).scale).toBe(0.5);
    expect(parseRunnerArgs(['-h']).help).toBe(true);
  });

  test('a campaign: duration, shard and id', () => {
    const o = parseRunnerArgs(['--time', '2m', '--shard', '1/2', '--campaign', 'nightly-1']);
    expect(o).toMatchObject({ timeMs: 120_000, shard: { index: 1, count: 2 }, campaign: 'nightly-1' });
  });

  test('unknown suites and options are bad usage, with a guess', () => {
    expect(usage(['--suite', 'kmz'])).toMatch(/unknown suite 'kmz' \(did you mean kms\?\)/);
    expect(usage(['--suite', 'deploy'])).toMatch(/did you mean deployment\?/);
    expect(usage(['--suite', 'zzzzzzzz'])).not.toMatch(/did you mean/);
    expect(usage(['--suite', ''])).toMatch(/^unknown suite '';/);
    expect(usage(['--rums', '3'])).toMatch(/unknown option --rums \(did you mean --runs\?\)/);
    expect(usage(['extra'])).toMatch(/extra/);
  });

  test('malformed values are bad usage', () => {
    expect(usage(['--runs', '0'])).toMatch(/--runs needs an integer ≥ 1/);
    expect(usage(['--runs', '2.5'])).toMatch(/--runs/);
    expect(usage(['--seed', 'x'])).toMatch(/--seed needs an integer/);
    expect(usage(['--scale', '-1'])).toMatch(/--scale/);
    // fast-check folds seeds to 32 bits: 4294967303 would run seed 7, and report it.
    expect(usage(['--seed', '4294967303'])).toMatch(/--seed needs an integer from -2147483648 to 2147483647/);
    expect(usage(['--seed=-2147483649'])).toMatch(/--seed needs an integer from/);
    expect(parseRunnerArgs(['--seed=-2147483648']).seed).toBe(-(2 ** 31));
    expect(parseRunnerArgs(['--seed', '2147483647']).seed).toBe(2 ** 31 - 1);
    for (const bad of ['0x10', '1e308', '1e3', '0', '0.0000001'])
      expect(usage(['--scale', bad]), bad).toMatch(/--scale needs a decimal number from 0.000001 to 1000000/);
    expect(parseRunnerArgs(['--scale', '.5']).scale).toBe(0.5);
    expect(usage(['--time', '10'])).toMatch(/--time needs a duration/);
    // A sum not written as one says how to write it (1h90m would have run 2h30m).
    expect(usage(['--time', '1h90m'])).toBe('--time: 90m is an hour or more: write 2h30m');
    expect(usage(['--time', '5m75s'])).toBe('--time: 75s is a minute or more: write 6m15s');
    expect(usage(['--time', '1m', '--shard', '3/2'])).toMatch(/--shard needs I\/N/);
    expect(usage(['--time', '1m', '--campaign', 'a b'])).toMatch(/--campaign/);
    expect(usage(['--runs'])).toMatch(/argument missing|--runs/);
  });

  test('replay needs exactly one suite and a seed, and no campaign', () => {
    expect(usage(['--path', '1:2', '--seed', '1'])).toMatch(/exactly one --suite/);
    expect(usage(['--path', '1:2', '--suite', 'kms', '--suite', 'kmsImpl', '--seed', '1'])).toMatch(/exactly one/);
    expect(usage(['--path', '1:2', '--suite', 'kms'])).toMatch(/needs the --seed/);
    expect(usage(['--path', '1:2', '--suite', 'kms', '--seed', '1', '--time', '1m'])).toMatch(/--time/);
    // The property it belongs to: without --test, every property of the suite would walk the path.
    expect(usage(['--path', '1:2', '--suite', 'kms', '--seed', '1'])).toMatch(/needs the --test/);
    expect(usage(['--path', 'abc', '--suite', 'kms', '--seed', '1', '--test', 'x'])).toMatch(/a path such as/);
    expect(usage(['--path', '1:2@A!', '--suite', 'kms', '--seed', '1', '--test', 'x'])).toMatch(/a path such as/);
    // The deployment suite's paths carry its commands' replay path after '@' (fast-check's base64).
    expect(
      parseRunnerArgs(['--path', '0:0:2@AQA:F+/', '--suite', 'deployment', '--seed', '5', '--test', 'x']).path,
    ).toBe('0:0:2@AQA:F+/');
    // A suite named twice is still one suite.
    expect(
      parseRunnerArgs(['--path', '1:2', '--suite', 'kms', '--suite', 'kms', '--seed', '1', '--test', 'x']).path,
    ).toBe('1:2');
  });

  test('an option given twice is refused (not --suite, which repeats), and a --test that is no regex', () => {
    expect(usage(['--seed', '1', '--seed', '2'])).toMatch(/--seed is given twice/);
    expect(usage(['--time', '1m', '--shard', '1/2', '--shard', '2/2'])).toMatch(/--shard is given twice/);
    expect(usage(['--time', '1m', '--campaign', 'a', '--campaign', 'b'])).toMatch(/--campaign is given twice/);
    expect(parseRunnerArgs(['--suite', 'kms', '--suite', 'kmsImpl']).suites.map((s) => s.name)).toEqual([
      'kms',
      'kmsImpl',
    ]);
    // What is wrong with it, as the RegExp error says.
    expect(usage(['--test', '('])).toBe("--test needs a regular expression, got '(' (Unterminated group)");
    expect(usage(['--test', 'a[b'])).toBe(
      "--test needs a regular expression, got 'a[b' (Unterminated character class)",
    );
    expect(usage(['--test='])).toBe("--test needs a regular expression, got ''");
  });

  test('integers are written in decimal digits', () => {
    for (const bad of ['0x10', '1e3', '1.0', ' 3'])
      expect(usage(['--runs', bad]), bad).toMatch(/--runs needs an integer/);
    for (const bad of ['0x10', '1e3']) expect(usage(['--seed', bad]), bad).toMatch(/--seed needs an integer/);
    expect(parseRunnerArgs(['--seed=-42']).seed).toBe(-42);
  });

  test('--help wins over the rest of the line', () => {
    expect(parseRunnerArgs(['--help', '--runs', '0']).help).toBe(true);
    expect(parseRunnerArgs(['--runs', '0', '-h']).help).toBe(true);
  });

  test('campaign options need --time, and a campaign draws its own seeds', () => {
    expect(usage(['--shard', '1/2'])).toMatch(/add --time/);
    expect(usage(['--campaign', 'x'])).toMatch(/add --time/);
    expect(usage(['--time', '1m', '--seed', '4'])).toMatch(/draws its own seeds/);
  });

  test('the usage text names every suite and every option', () => {
    for (const s of SUITES) expect(USAGE).toContain(s.name);
    for (const o of [
      '--suite',
      '--runs',
      '--seed',
      '--path',
      '--shrink',
      '--test',
      '--scale',
      '--time',
      '--shard',
      '--campaign',
      '--json',
    ])
      expect(USAGE).toContain(o);
    expect(USAGE).toMatch(/Examples/);
    // The same id gives the same seeds (seeds.test.ts): a researcher reusing one would rerun them.
    expect(USAGE).toMatch(/an id used before draws its seeds again/);
  });
});

describe('values the parser would take for options', () => {
  test("an option last on the line without its value says what it needs, in the runner's words", () => {
    expect(() => parseRunnerArgs(['--runs'])).toThrow(new UsageError('--runs needs an integer ≥ 1'));
    expect(() => parseRunnerArgs(['--suite', 'kms', '--test'])).toThrow(
      new UsageError('--test needs a pattern (a regular expression)'),
    );
    expect(() => parseRunnerArgs(['--time'])).toThrow(new UsageError('--time needs a duration such as 90s, 30m or 2h'));
  });

  test('a negative number needs =; an infinite scale is refused', () => {
    expect(() => parseRunnerArgs(['--runs', '-3'])).toThrow(
      new UsageError("--runs needs an integer ≥ 1, not a value that starts with '-'"),
    );
    expect(() => parseRunnerArgs(['--time', '-1m'])).toThrow(/--time needs a duration such as 90s/);
    expect(() => parseRunnerArgs(['--test', '-x'])).toThrow(
      new UsageError("--test needs a value; one that starts with '-' is written --test=-…"),
    );
    expect(parseRunnerArgs(['--test=-x']).test).toBe('-x');
    // No suite name or path starts with '-': no advice to write one with '='.
    expect(() => parseRunnerArgs(['--suite', '-kms'])).toThrow(
      new UsageError("--suite needs a suite name, not a value that starts with '-'"),
    );
    expect(() => parseRunnerArgs(['--seed', '-3'])).toThrow(
      /--seed needs a value; a negative seed is written --seed=-S/,
    );
    expect(() => parseRunnerArgs(['--runs=-3'])).toThrow(/--runs needs an integer ≥ 1, got '-3'/);
    expect(() => parseRunnerArgs(['--scale', 'Infinity'])).toThrow(
      /--scale needs a decimal number from 0.000001 to 1000000/,
    );
  });
});
