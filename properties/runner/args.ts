/**
 * The runner's command line (`npm run properties -- …`), parsed with `node:util` `parseArgs`. Bad
 * usage is a `UsageError` (exit code 2), with "did you mean" for a misspelt suite or option.
 * @module
 */
import { parseArgs } from 'node:util';
import { isSeed, parseScale } from '../../testing/runConfig.ts';
import { durationAdvice, parseDuration } from './duration.ts';
import { WHOLE, parseShard } from './seeds.ts';
import type { Shard } from './seeds.ts';
import { SUITES, closest, suiteNamed } from './suites.ts';
import type { Suite } from './suites.ts';
import { messageOf } from '../../model/codedError.ts';

/** Bad usage: the runner prints the message and exits with 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** What the command line asks for. */
export interface RunnerOptions {
  readonly help: boolean;
  readonly json: boolean;
  readonly suites: readonly Suite[];
  readonly runs: number | undefined;
  readonly seed: number | undefined;
  readonly path: string | undefined;
  /** With `path`: shrink on from the replayed case. */
  readonly shrink: boolean;
  readonly scale: number | undefined;
  readonly test: string | undefined;
  /** Campaign budget in ms; undefined for a single pass. */
  readonly timeMs: number | undefined;
  readonly shard: Shard;
  readonly campaign: string | undefined;
  /** Campaign: end after the batch that saved the first failure. */
  readonly stopAtFailure: boolean;
}

const OPTIONS = {
  help: { type: 'boolean', short: 'h' },
  json: { type: 'boolean' },
  suite: { type: 'string', multiple: true },
  runs: { type: 'string' },
  seed: { type: 'string' },
  path: { type: 'string' },
  shrink: { type: 'boolean' },
  scale: { type: 'string' },
  test: { type: 'string' },
  time: { type: 'string' },
  shard: { type: 'string' },
  campaign: { type: 'string' },
  'stop-at-failure': { type: 'boolean' },
} as const;

/** The usage text of `--help`. */
export const USAGE = `npm run properties -- [options]

Runs the property suites (properties/) and prints, per suite: runs, operations, operations per
CPU-second, failures, and where its statistics report is. Exit 0 when every property holds, 1 on a
counterexample or any failed test, 2 on bad usage (also a --path replay whose --test matched more than
one property, if nothing failed); npm run properties builds first and exits 3,
running nothing, when the build fails.

Options
  --suite NAME      run this suite (repeatable; default all):
                    ${SUITES.map((s) => s.name).join(', ')}
  --runs N          runs per property (default: each suite's CI size; the deployment suite counts
                    its fixed warm-up scenario as one run more)
  --seed S          fast-check seed of every property (default: drawn at random and named in the
                    closing line, or 20201 when CI is set); a negative seed is written --seed=-S
  --path P          replay the counterexample at path P: needs exactly one --suite and --seed, and
                    the --test of the failure's replay line; a path fits only the code that printed
                    it (after a change it is refused, or replays another case). It runs that one
                    case (and the deployment suite's warm-up); to check a fix, run the seed alone
                    (no --path; --runs above the path's first number).
                    The deployment suite's paths end in @ and its commands' replay path: copy it whole
  --shrink          with --path: go on shrinking from that case instead of stopping at it (for a
                    failure marked "shrinking cut short" by a stop or a campaign's budget, whose
                    counterexample may not be minimal)
  --test PATTERN    only tests whose name matches PATTERN (a regular expression)
  --scale X         scale each case (SEKEY_SCALE): the loop sizes of exhaustive suites and the
                    lengths of random histories (kms, kmsImpl, restoredAdmin, deployment,
                    keyStorePowerCut): --scale 4 draws histories up to four times as long, for depth;
                    --runs, --scale and --time lift the suites' time limits (the size bounds the run)
  --time T          campaign: draw fresh seeds until T has passed (90s, 30m, 2h, 1h30m)
  --shard I/N       campaign share of machine I of N (disjoint seeds; needs --time)
  --campaign ID     campaign id: shards given the same id share one sequence of seeds (needs --time);
                    an id used before draws its seeds again (default: a new id per campaign)
  --stop-at-failure campaign: end after the batch that saves a failure (its other suites finish),
                    rather than find and shrink the same bug again in every batch (needs --time)
  --json            print the results as JSON on stdout instead of the table
  -h, --help        this text

Examples
  npm run properties
  npm run properties -- --suite kms --suite kmsImpl --runs 500
  npm run properties -- --suite kms --seed 42 --path "3:1:0" --test "projection"
  npm run properties -- --time 30m
  npm run properties -- --time 2h --shard 1/4 --campaign nightly-2026-12-02
  npm run -s properties -- --suite deployment --runs 5 --json > results.json

Ctrl-C (SIGINT) or SIGTERM stops a run: it prints what the properties that ended covered, a
campaign writes its summary, and the exit code is 130 or 143. A counterexample being shrunk is
kept: the stop waits (a minute at most; 5s after SIGTERM) for its property to end at its next run
with the case shrunk so far, replayable and shrunk on with --shrink; Ctrl-C again stops at once. A
hang-up (SIGHUP: a closed terminal or ssh session) stops a run writing to the terminal the same way
(exit 129); one writing to files goes on in a process group of its own (the first process stands in
for it: Ctrl-C and SIGTERM to it reach the run), so run a long campaign under nohup (or tmux)
(nohup nice -n 19 npm run properties -- --time 8h > campaign.log 2>&1 &).

A campaign writes reports/campaign-<timestamp>/summary.json and, per counterexample, its seed, path,
shrunk scenario and a command (or, for the deployment suite, a test file) that replays it. A failure
found as the budget runs out is shrunk on after it, for at most a tenth of the budget (1m at least).`;

/** What a command line without options asks for. */
const NO_OPTIONS: RunnerOptions = {
  help: false,
  json: false,
  suites: SUITES,
  runs: undefined,
  seed: undefined,
  path: undefined,
  shrink: false,
  scale: undefined,
  test: undefined,
  timeMs: undefined,
  shard: WHOLE,
  campaign: undefined,
  stopAtFailure: false,
};

/** An integer as the runner takes it: decimal digits, a sign at most (not 0x10, 1e3 or 1.0). */
const DECIMAL = /^-?\d+$/;

function integer(name: string, text: string | undefined, min: number): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!DECIMAL.test(text) || !Number.isSafeInteger(value) || value < min)
    throw new UsageError(`--${name} needs an integer ≥ ${min}, got '${text}'`);
  return value;
}

/** The option a misspelt one probably meant. */
function unknownOption(error: Error): UsageError {
  const m = /Unknown option '(-{1,2})([^']+)'/.exec(error.message);
  const guess = m ? closest(m[2] as string, Object.keys(OPTIONS)) : null;
  return new UsageError(
    m ? `unknown option ${m[1]}${m[2]}${guess ? ` (did you mean --${guess}?)` : ''}` : error.message,
  );
}

/**
 * Why a value that starts with '-' was refused (parseArgs takes it for an option): the seed is the
 * one option a negative value fits; for the others a negative number is out of range anyway.
 */
function dashedValue(option: string): string {
  if (option === '--seed') return '--seed needs a value; a negative seed is written --seed=-S';
  // A pattern or a campaign id may start with '-', written with '='; no value of the others does.
  return option === '--test' || option === '--campaign'
    ? `${option} needs a value; one that starts with '-' is written ${option}=-…`
    : `${option} needs ${WANTS[option] ?? 'a value'}, not a value that starts with '-'`;
}

/** What the options that take a value want, for the words of a value refused or missing. */
const WANTS: Readonly<Record<string, string>> = {
  '--suite': 'a suite name',
  '--runs': 'an integer ≥ 1',
  '--seed': 'an integer (a negative one is written --seed=-S)',
  '--path': "the path of a failure's replay line",
  '--test': 'a pattern (a regular expression)',
  '--scale': 'a decimal number from 0.000001 to 1000000',
  '--time': 'a duration such as 90s, 30m or 2h',
  '--shard': 'I/N with 1 ≤ I ≤ N',
  '--campaign': 'an id',
};

/** An option given last on the line without its value: what it needs, in the runner's words. */
function missingValue(option: string): string {
  return `${option} needs ${WANTS[option] ?? 'a value'}`;
}

/** Parses the runner's arguments (those after `npm run properties --`). */
export function parseRunnerArgs(argv: readonly string[]): RunnerOptions {
  let values: ReturnType<
    typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: false; strict: true }>
  >['values'];
  let tokens: ReadonlyArray<{ readonly kind: string; readonly name?: string }>;
  try {
    ({ values, tokens } = parseArgs({
      args: [...argv],
      options: OPTIONS,
      allowPositionals: false,
      strict: true,
      tokens: true,
    }));
  } catch (error) {
    if (error instanceof Error && /Unknown option/.test(error.message)) throw unknownOption(error);
    // parseArgs takes a value that starts with '-' for an option, and says so in three lines.
    const dashed = error instanceof Error ? /Option '(--[a-z]+)/.exec(error.message) : null;
    if (dashed && /ambiguous/.test((error as Error).message)) throw new UsageError(dashedValue(dashed[1] as string));
    if (dashed && /argument missing/.test((error as Error).message))
      throw new UsageError(missingValue(dashed[1] as string));
    throw new UsageError(messageOf(error));
  }
  // --help wins over everything else on the line, as it does for the sekey command.
  if (values.help === true) return { ...NO_OPTIONS, help: true };
  // One value per option (parseArgs keeps the last): two seeds or two shards are a mistake to say, not to guess.
  const seen = new Set<string>();
  for (const token of tokens) {
    if (token.kind !== 'option' || token.name === undefined || token.name === 'suite') continue;
    if (seen.has(token.name)) throw new UsageError(`--${token.name} is given twice: give it once`);
    seen.add(token.name);
  }
  const names = [...new Set(values.suite ?? [])];
  const suites = names.map((name) => {
    const suite = suiteNamed(name);
    if (suite) return suite;
    const guess = closest(
      name,
      SUITES.map((s) => s.name),
    );
    throw new UsageError(
      `unknown suite '${name}'${guess ? ` (did you mean ${guess}?)` : ''}; ` +
        `suites: ${SUITES.map((s) => s.name).join(', ')}`,
    );
  });
  const chosen = suites.length > 0 ? SUITES.filter((s) => suites.includes(s)) : SUITES;
  const seed = values.seed === undefined ? undefined : Number(values.seed);
  // fast-check folds a seed to 32 bits: a larger one would run, and report, another seed.
  if (seed !== undefined && (!DECIMAL.test(values.seed ?? '') || !isSeed(seed)))
    throw new UsageError(`--seed needs an integer from -2147483648 to 2147483647, got '${values.seed}'`);
  if (values.test !== undefined) {
    // An empty pattern matches every test: almost surely a variable that was not set.
    if (values.test === '') throw new UsageError("--test needs a regular expression, got ''");
    try {
      new RegExp(values.test);
    } catch (error) {
      // What is wrong, in the engine's words without its restatement of the pattern:
      // "Invalid regular expression: /(/: Unterminated group".
      const why = messageOf(error).replace(/^Invalid regular expression: \/.*\/[a-z]*: /s, '');
      throw new UsageError(`--test needs a regular expression, got '${values.test}' (${why})`);
    }
  }
  const scale = values.scale === undefined ? undefined : parseScale(values.scale);
  if (scale === null)
    throw new UsageError(`--scale needs a decimal number from 0.000001 to 1000000, got '${values.scale}'`);
  const timeMs = values.time === undefined ? undefined : parseDuration(values.time);
  if (timeMs === null) {
    const advice = durationAdvice(values.time as string);
    throw new UsageError(
      advice === null ? `--time needs a duration such as 90s, 30m or 2h, got '${values.time}'` : `--time: ${advice}`,
    );
  }
  const shard = values.shard === undefined ? WHOLE : parseShard(values.shard);
  if (shard === null) throw new UsageError(`--shard needs I/N with 1 ≤ I ≤ N, got '${values.shard}'`);
  if (values.path !== undefined) {
    if (chosen.length !== 1 || suites.length !== 1)
      throw new UsageError('--path replays one counterexample: give exactly one --suite');
    if (seed === undefined) throw new UsageError('--path needs the --seed of the failure it replays');
    if (timeMs !== undefined) throw new UsageError('--path replays one run; it does not go with --time');
    // Every other property of the suite would walk the same path through its own arbitraries.
    if (values.test === undefined)
      throw new UsageError("--path needs the --test of the failure's replay line (the property it belongs to)");
    // A suite of fc.commands adds its commands' replay path after '@' (base64 digits and ':').
    if (!/^\d+(:\d+)*(@[A-Za-z0-9+/]*:[A-Za-z0-9+/]*)?$/.test(values.path))
      throw new UsageError(`--path needs a path such as 3:1:0 (from a failure's replay line), got '${values.path}'`);
  }
  if (values.shrink === true && values.path === undefined)
    throw new UsageError('--shrink goes on shrinking from a replayed case: give its --seed, --path and --test');
  if (timeMs === undefined && (values.shard !== undefined || values.campaign !== undefined))
    throw new UsageError('--shard and --campaign belong to a campaign: add --time (e.g. --time 30m)');
  if (timeMs === undefined && values['stop-at-failure'] === true)
    throw new UsageError('--stop-at-failure ends a campaign: add --time (a single pass ends anyway)');
  if (timeMs !== undefined && seed !== undefined)
    throw new UsageError('a campaign draws its own seeds: --seed does not go with --time (use --campaign)');
  if (values.campaign !== undefined && !/^[\w.-]{1,100}$/.test(values.campaign))
    throw new UsageError(`--campaign needs letters, digits, '.', '_' or '-', got '${values.campaign}'`);
  return {
    help: false,
    json: values.json === true,
    suites: chosen,
    runs: integer('runs', values.runs, 1),
    seed,
    path: values.path,
    shrink: values.shrink === true,
    scale,
    test: values.test,
    timeMs,
    shard,
    campaign: values.campaign,
    stopAtFailure: values['stop-at-failure'] === true,
  };
}
