/**
 * Run-size knobs shared by every property suite, so that CI runs a fixed, bounded size and a person
 * can go deeper or replay a failure without editing code.
 *
 * - `SEKEY_RUNS`  number of runs per property (default: each suite's CI size)
 * - `SEKEY_SEED`  seed to use (default: fixed when `CI` is set, random otherwise)
 * - `SEKEY_PATH`  replay path printed by a failure (use together with `SEKEY_SEED`); a suite of
 *   `fc.commands` adds its commands' replay path after `@` ({@link commandsReplayPath})
 * - `SEKEY_DEADLINE` a time (ms since the epoch) after which a property stops drawing runs and passes
 *   with the runs it made (fast-check's `interruptAfterTimeLimit`), one run at least, and stops
 *   shrinking ({@link pastDeadline}): how a campaign of `npm run properties -- --time …` ends on its budget
 * - `SEKEY_SHRINK=1` with `SEKEY_PATH`: go on shrinking from the replayed case instead of ending on
 *   it: how a counterexample whose shrinking a deadline cut (fast-check's `interrupted`) is shrunk
 *   on, from where it stopped
 *
 * fast-check prints `{ seed, path, endOnFailure }` in every failure report; the same values passed
 * back through these variables replay that counterexample at once.
 * @module
 */
import type { Parameters } from 'fast-check';

/** The seed CI uses, so that a red CI run is reproducible on any machine. */
export const CI_SEED = 20_201;

/** Whether `seed` is one fast-check runs as given: it folds a seed to 32 bits (`seed | 0`). */
export function isSeed(seed: number): boolean {
  return Number.isSafeInteger(seed) && seed >= -(2 ** 31) && seed < 2 ** 31;
}

/**
 * The scale `text` writes, or null: decimal, from a millionth to a million (a loop scaled past a
 * million times its CI size never ends; below a millionth, `String` would write it with an exponent).
 * The same for `SEKEY_SCALE` and the runner's `--scale`, which sets it.
 */
export function parseScale(text: string): number | null {
  const scale = Number(text);
  return /^\d*\.?\d+$/.test(text) && scale >= 1e-6 && scale <= 1e6 ? scale : null;
}

function readInt(name: string): number | undefined {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return undefined;
  const value = Number(raw);
  // Decimal digits, as the runner's options take them (not 1e3 or 0x10).
  if (!/^\s*-?\d+\s*$/.test(raw) || !Number.isSafeInteger(value))
    throw new Error(`${name} must be an integer, got '${raw}'`);
  return value;
}

/**
 * fast-check parameters for a property whose CI size is `ciRuns`.
 * @param ciRuns runs at CI size; `SEKEY_RUNS` overrides it.
 * @param options.fixedSeed the seed to use when `SEKEY_SEED` is unset, in CI or not: for a test whose
 *   claim is about one fixed set of runs (the bite tests: "the suite at CI size catches this
 *   mutant"), which a random seed would turn into a claim that holds only most of the time.
 * @param options.fixedRuns run `ciRuns` whatever `SEKEY_RUNS` says, for the same tests: their claim is
 *   about that many runs, and a suite shrunk to 5 would fail it (or one grown to 2,000 prove less).
 *   `SEKEY_RUNS` sizes properties; such a test is a claim about one size of a suite, not a property.
 */
export function propertyParams<T>(
  ciRuns: number,
  options: { readonly fixedSeed?: number; readonly fixedRuns?: boolean } = {},
): Parameters<T> {
  const runs = passRuns(ciRuns, options);
  const given = readInt('SEKEY_SEED');
  if (given !== undefined && !isSeed(given))
    throw new Error(`SEKEY_SEED must be an integer from -2147483648 to 2147483647, got '${given}'`);
  const seed = given ?? options.fixedSeed ?? (process.env['CI'] ? CI_SEED : undefined);
  const path = process.env['SEKEY_PATH'];
  const deadline = readInt('SEKEY_DEADLINE');
  const params: Parameters<T> = { numRuns: runs };
  if (seed !== undefined) params.seed = seed;
  if (deadline !== undefined) {
    // A property that starts after the deadline still makes one run (fast-check would otherwise count
    // an interruption before any run as a failure): a campaign overruns by one run per property at most.
    const left = deadline - Date.now();
    if (left > 0) params.interruptAfterTimeLimit = left;
    else params.numRuns = 1;
  }
  if (path !== undefined && path !== '') {
    params.path = path.split('@')[0] as string;
    // fast-check replays the case at `path` and, without endOnFailure, shrinks on from it: the path
    // it then reports is the whole path from the seed (its `mergePaths`).
    if (process.env['SEKEY_SHRINK'] !== '1') params.endOnFailure = true;
  }
  return params;
}

/**
 * The replay path of a counterexample's commands (`fc.commands`' `replayPath` option), the part of
 * `SEKEY_PATH` after `@`, if any. fast-check shrinks a command sequence by the commands that ran, which
 * a replay cannot know before running them: without this, a path with shrink steps walks another
 * tree and replays another case, or none. Suites of `fc.commands` print it after their path.
 */
export function commandsReplayPath(): string | undefined {
  const path = process.env['SEKEY_PATH'];
  const at = path?.indexOf('@') ?? -1;
  return path === undefined || at < 0 ? undefined : path.slice(at + 1);
}

/**
 * Whether this process replays one counterexample (`SEKEY_PATH` set): a run of that case (and, with
 * `SEKEY_SHRINK`, of the cases shrinking tries from it), so checks about what a whole suite's runs
 * covered do not apply.
 */
export function replaying(): boolean {
  const path = process.env['SEKEY_PATH'];
  return path !== undefined && path !== '';
}

/**
 * Whether this process replays one counterexample and ends on it (`SEKEY_PATH` without
 * `SEKEY_SHRINK`): its properties run that one case. fast-check itself goes on from a case that passes
 * (a path with shrink steps sets no number of runs), through every case shrinking would try next: 1,462
 * runs and 8 minutes for a `kmsImpl` case whose bug was fixed, reading "every property held" of cases
 * no one asked for (`progress.testkit.ts` ends the property after its first run).
 */
export function replayingOneCase(): boolean {
  return replaying() && process.env['SEKEY_SHRINK'] !== '1';
}

/**
 * The knobs that size a run by hand (a replay's `SEKEY_PATH` makes it smaller, not larger; shrinking
 * on from it, `SEKEY_SHRINK`, takes as long as the counterexample needs).
 */
const SIZE_KNOBS = ['SEKEY_RUNS', 'SEKEY_SCALE', 'SEKEY_DEADLINE', 'SEKEY_SHRINK'] as const;

/**
 * The time limit of a test whose size the knobs set: `ciMs` at CI size, none (0, vitest's "no
 * limit") once `SEKEY_RUNS`, `SEKEY_SCALE`, `SEKEY_DEADLINE` or `SEKEY_SHRINK` sizes the run. A limit guards CI
 * against a hang; a run a person sized is bounded by its size and watched through its progress,
 * and a clock would fail it on a slower or busier machine with every property holding.
 */
export function sizedTimeout(ciMs: number): number {
  return SIZE_KNOBS.some((k) => (process.env[k] ?? '').trim() !== '') ? 0 : ciMs;
}

/**
 * Scales a CI-size count by `SEKEY_SCALE` (default 1), one at least: loop bounds in exhaustive suites,
 * and the lengths of random histories, so that a researcher goes deeper (longer histories), not only
 * wider (more runs of the same length).
 */
export function scaled(ciCount: number): number {
  return Math.max(1, Math.round(ciCount * scale()));
}

/** `SEKEY_SCALE` (default 1). @throws Error when it is no scale ({@link parseScale}). */
function scale(): number {
  // Blank is unset, as for the other knobs.
  const text = (process.env['SEKEY_SCALE'] ?? '').trim() || '1';
  const value = parseScale(text);
  if (value === null) throw new Error(`SEKEY_SCALE must be a decimal number from 0.000001 to 1000000, got '${text}'`);
  return value;
}

/** fast-check's constraints on the length of an array that is a random history. */
export interface HistoryLength {
  readonly minLength: number;
  readonly maxLength: number;
  readonly size?: 'max';
}

/**
 * The length of a random history that is `ciMin` to `ciMax` long at CI size, scaled by `SEKEY_SCALE`
 * for depth (a bound of 0 stays 0). At scale 1 the constraints are CI's, unchanged, and fast-check's
 * default size draws at most `2·min + 10` of them (10 to 30 for 10 to 60); at any other scale, the
 * whole scaled range (`size: 'max'`), or the default size would hold a deeper run near its CI lengths
 * (at most 10 when there is no minimum, whatever the maximum).
 */
export function historyLength(ciMin: number, ciMax: number): HistoryLength {
  const length = { minLength: ciMin === 0 ? 0 : scaled(ciMin), maxLength: scaled(ciMax) };
  return scale() === 1 ? length : { ...length, size: 'max' };
}

/**
 * The runs a property of `ciRuns` at CI size makes in a pass at this size ({@link propertyParams}'s
 * `numRuns` before a campaign's deadline cuts it): what one that the deadline left with fewer missed.
 */
export function passRuns(ciRuns: number, options: { readonly fixedRuns?: boolean } = {}): number {
  return options.fixedRuns === true ? ciRuns : (readInt('SEKEY_RUNS') ?? ciRuns);
}

/**
 * Whether `SEKEY_DEADLINE` has passed. A property that starts after it still makes its one run
 * ({@link propertyParams}), with no time limit left to set: a counterexample found then ends its
 * property at the next run, unshrunk, as one found before the deadline does at the deadline, and the
 * campaign shrinks it on for the share of its budget it keeps for that, not for as long as it takes.
 */
export function pastDeadline(now: number = Date.now()): boolean {
  const deadline = readInt('SEKEY_DEADLINE');
  return deadline !== undefined && now >= deadline;
}

/**
 * Whether a fast-check result that reads as failed only means that `SEKEY_DEADLINE` came before the
 * property's first run (fast-check counts an interruption with no successful run as a failure): no
 * counterexample, nothing to report; the campaign that set the deadline is over.
 */
export function stoppedByDeadline(out: {
  readonly failed: boolean;
  readonly interrupted: boolean;
  readonly counterexamplePath: string | null;
}): boolean {
  return out.failed && out.interrupted && out.counterexamplePath === null && readInt('SEKEY_DEADLINE') !== undefined;
}
