/**
 * `npm run properties`: every property suite, or those chosen, once at a chosen size or as a
 * campaign against a time budget, with a progress line on a terminal and a closing table. Exit
 * codes: 0 every property held, 1 a counterexample or another failed test, 2 bad usage.
 * @module
 */
import { UsageError, USAGE, parseRunnerArgs } from './args.ts';
import type { RunnerOptions } from './args.ts';
import { runCampaign } from './campaign.ts';
import { replayCommand, reproductionCommand, rerunCommand } from './replayCommand.ts';
import type { CampaignFailure, CampaignSummary } from './campaign.ts';
import { STOP_SIGNALS, onStopSignal } from './interrupt.ts';
import type { StopSignal } from './interrupt.ts';
import { count } from '../../impl/simulation/chartScale.ts';
import { formatElapsed, ProgressView } from '../../impl/cli/progressView.ts';
import { progressText } from './progressView.ts';
import type { ReplayMode } from './progressView.ts';
import { SETTLE_MS, runBatch, settleMessage } from './runBatch.ts';
import type { ActiveBatch, BatchResult } from './runBatch.ts';
import { statisticsOf } from './statistics.ts';
import { CI_SEED } from '../../testing/runConfig.ts';
import type { StatisticsPlace } from './statistics.ts';
import { SUITES } from './suites.ts';
import { formatTable, operationFigures, operationsText, thousands } from './table.ts';
import { cpuSecondsOf, emptyCount, failuresOf, fewRuns, madeText, shrinkingIn, unfinishedIn } from './tally.ts';
import type { SuiteCount } from './tally.ts';

/**
 * The seed of a single pass: the one given, CI's, or one drawn here as fast-check draws a seed it is
 * not given (`Date.now() ^ (Math.random() * 2**32)`, its `readSeed`). Every property runs at it and
 * the closing lines name it: a pass at a random seed can be run again exactly, and a counterexample
 * lost to a stop (Ctrl-C again while it was shrunk) found again.
 */
export function passSeed(
  given: number | undefined,
  ci: boolean,
  draw: () => number = () => Date.now() ^ (Math.random() * 4294967296),
): number {
  return given ?? (ci ? CI_SEED : draw());
}

/**
 * What a stop says of a property it ended while it shrank a counterexample (Ctrl-C again): lost, with
 * the command that finds it again (`rerunCommand`), and in a campaign its batch.
 */
export function lostLine(
  lost: { readonly suite: string; readonly test: string; readonly batch?: number },
  rerun: string,
) {
  const where = lost.batch === undefined ? '' : ` in batch ${lost.batch}`;
  return (
    `lost: ${lost.suite}: "${lost.test}" had found a counterexample${where} and was shrinking it when the stop ` +
    `ended it; its seed finds it again: ${rerun}`
  );
}

/** Exit codes. */
export const EXIT = { held: 0, failed: 1, usage: 2 } as const;

/** Whether a stop cut the shrinking of a counterexample that can be shrunk on (it has a seed and a path). */
function shrinkCut(d: { readonly interrupted: boolean; readonly seed: number | null; readonly path: string }): boolean {
  return d.interrupted && d.seed !== null && d.path !== '';
}

/** The exit code of a finished run: 1 when any suite failed or vitest reported an error outside them. */
export function exitCodeOf(counts: readonly SuiteCount[], errors: readonly string[]): number {
  const failed = errors.length > 0 || counts.some((c) => c.failures > 0 || c.counterexamples.length > 0);
  return failed ? EXIT.failed : EXIT.held;
}

/** Where the runner writes. */
export interface RunnerIo {
  readonly stdout: NodeJS.WriteStream;
  readonly stderr: NodeJS.WriteStream;
}

/** One suite's figures for `--json`. */
function jsonRow(c: SuiteCount, scale: number | undefined, place: StatisticsPlace = 'pass') {
  const suite = SUITES.find((s) => s.name === c.suite);
  return {
    suite: c.suite,
    file: suite?.file,
    operation: suite?.operation,
    runs: c.runs,
    // As the table: none (null), not 0, for a suite whose runs counted none.
    ...operationFigures(c),
    cpuSeconds: cpuSecondsOf(c),
    failures: failuresOf(c),
    statistics: suite ? statisticsOf(suite, place, c.runs) : null,
    counterexamples: c.counterexamples.map((d) => {
      const replay = replayCommand(c.suite, d.test, d.seed, d.path, scale);
      const cut = shrinkCut(d);
      return {
        test: d.test,
        seed: d.seed,
        path: d.path,
        counterexample: d.counterexample,
        value: d.value ?? null,
        error: d.error,
        reproduction: d.reproduction,
        replay,
        // What the table says in words: the case may not be minimal, and how to shrink on.
        shrinkCut: cut,
        shrinkOn: cut ? `${replay} --shrink` : null,
      };
    }),
    failedTests: c.failedTests,
  };
}

/**
 * What a replay (`--path`) that held says: its one case passed, which is not the same as a fix checked
 * (the path may no longer fit the code, and then replays another case).
 */
export const REPLAY_PASSED =
  'the replayed case passed: the bug it showed is fixed, or the path does not fit this code and replayed ' +
  "another case. To check a fix, run the seed alone (drop --path, --runs above the path's first number): " +
  'the runs up to the failing one, shrunk if it fails';

/** The first non-empty line of an error message. */
function firstLine(message: string): string {
  return message.split('\n').find((l) => l.trim() !== '') ?? '';
}

/** A line of an error message that says where actual and expected differ (`invariantError.ts` `same`). */
const DIFFERS_AT = /^\s*differs at /;

/**
 * What broke, for the closing lines: the message's first line, then the lines that say where the two
 * sides differ, if it has any. The first line alone of a deployment invariant ("…: the admin's view")
 * says what was compared, not how it differed; the full message (with both values) stays in --json
 * and a campaign's failure file.
 */
export function errorLines(message: string): string[] {
  const differs = message.split('\n').filter((l) => DIFFERS_AT.test(l));
  return [`  error: ${firstLine(message)}`, ...differs.map((l) => `    ${l.trim()}`)];
}

/** fast-check's refusal of a replay path that does not fit the run (`pathWalk`). */
const STALE_PATH = /Unable to replay, got wrong path/;

/** Why a --path did not replay, and what to do instead. */
function stalePath(suite: string, test: string, seed: number | null): string {
  return (
    `${suite}: "${test}": the --path does not replay${seed === null ? '' : ` under seed ${seed}`} with this code. ` +
    'A path walks the shrinking of the one property and run it was printed for, which depends on what the ' +
    'code did: for another property (give --test) or after a change (a fix, new commands) it does ' +
    "not fit, nor does a path copied in part (copy it whole, quoted: the deployment suite's goes on " +
    'after an @). Replay the seed alone (drop --path), or run the reproduction file the failure saved, ' +
    'if its suite writes one (the deployment suite does: reports/ or the campaign folder).'
  );
}

/** The seed a fast-check failure message names (`{ seed: S, path: … }`), if any. */
function seedOf(message: string): number | null {
  const m = /seed: (-?\d+)/.exec(message);
  return m ? Number(m[1]) : null;
}

/** The failures in words: each counterexample with its replay, each other failed test with its message. */
export function describeFailures(counts: readonly SuiteCount[], scale?: number | undefined): string[] {
  const out: string[] = [];
  for (const c of counts) {
    const explained = new Set(c.counterexamples.map((d) => d.test));
    for (const d of c.counterexamples) {
      if (d.error !== null && STALE_PATH.test(d.error)) {
        out.push(stalePath(c.suite, d.test, d.seed));
        if (d.reproduction) out.push(`  reproduction: ${reproductionCommand(d.reproduction)}`);
        continue;
      }
      out.push(
        d.seed === null
          ? `${c.suite}: "${d.test}" failed in a fixed scenario that runs before any seeded run`
          : `${c.suite}: counterexample in "${d.test}" (seed ${d.seed}, path ${d.path || '-'})`,
      );
      if (d.counterexample) out.push(...d.counterexample.split('\n').map((l) => `  ${l}`));
      // What broke, in the check's own words (its message's first line).
      if (d.error) out.push(...errorLines(d.error));
      const replay = replayCommand(c.suite, d.test, d.seed, d.path, scale);
      out.push(`  replay: ${replay}`);
      if (d.reproduction) out.push(`  reproduction: ${reproductionCommand(d.reproduction)}`);
      // A stop while it shrank (the runner's own, not a deadline: a single pass has none).
      if (shrinkCut(d)) out.push(`  shrinking cut short (the case may not be minimal); shrink on: ${replay} --shrink`);
    }
    for (const t of c.failedTests.filter((f) => !explained.has(f.test))) {
      // fast-check refuses a path that does not fit while walking it, before any run: no counterexample
      // line then, only the failed test's message.
      if (STALE_PATH.test(t.message)) out.push(stalePath(c.suite, t.test, seedOf(t.message)));
      else out.push(`${c.suite}: "${t.test}" failed: ${t.message.split('\n')[0] ?? ''}`);
    }
  }
  return out;
}

async function single(options: RunnerOptions, io: RunnerIo): Promise<number> {
  const view = new ProgressView(io.stderr);
  const seed = passSeed(options.seed, Boolean(process.env['CI']));
  const start = Date.now();
  let first: number | undefined;
  const rowsOf = (counts: ReadonlyMap<string, SuiteCount>) =>
    options.suites.map((s) => counts.get(s.name) ?? emptyCount(s.name));
  let active: ActiveBatch | null = null;
  // A replay ends on its case, shrinking nothing, unless told to shrink on (--shrink).
  const replay: ReplayMode = options.path === undefined ? 'none' : options.shrink ? 'replayAndShrink' : 'replay';
  // A stop that waits for the counterexamples being shrunk: if the batch ends first (its last property
  // was the one shrinking), the run still closes as stopped, with the signal's exit code.
  let stopped: StopSignal | null = null;
  // From the start: a signal before the batch is under way ends the run too, with what it has.
  const release = onStopSignal(
    (signal) => {
      const live = active?.counts() ?? new Map<string, SuiteCount>();
      active?.cleanUp();
      view.clear();
      closeSingle(rowsOf(live), [], options, io, start, signal, seed, shrinkingIn(live.values()));
    },
    (signal) => {
      const wait = settleShrinking(active, signal, view, io, replay === 'replay');
      if (wait !== null) stopped = signal;
      return wait;
    },
  );
  let result: BatchResult;
  try {
    result = await runBatch(
      {
        suites: options.suites,
        runs: options.runs,
        seed,
        path: options.path,
        // A replay's statistics go to the batch's own file and are dropped: reports/properties.json
        // keeps the last pass's.
        ownStatistics: options.path !== undefined,
        shrink: options.shrink,
        scale: options.scale,
        testPattern: options.test,
      },
      (live) => {
        const now = Date.now();
        first ??= now;
        view.show(progressText([...live.values()], now - start, now - first, null, replay));
      },
      (now) => {
        active = now;
      },
    );
  } finally {
    release();
  }
  view.clear();
  return closeSingle(rowsOf(result.counts), result.errors, options, io, start, stopped, seed);
}

/**
 * On a stop: the wait for the counterexamples `active` is shrinking (or, `replaying`, the one it
 * replayed: `settleMessage`), said on stderr; null when none.
 */
function settleShrinking(
  active: ActiveBatch | null,
  signal: StopSignal,
  view: ProgressView,
  io: RunnerIo,
  replaying: boolean,
): Promise<void> | null {
  const settling = active?.settle(SETTLE_MS[signal]) ?? null;
  if (settling === null) return null;
  view.clear();
  io.stderr.write(`${settleMessage(settling.shrinking, signal, replaying)}\n`);
  return settling.ended;
}

/** Where a single run keeps its statistics: a replay keeps none. */
function placeOf(options: RunnerOptions): StatisticsPlace {
  return options.path === undefined ? 'pass' : 'replay';
}

/**
 * The closing output of a single pass at `seed`, ended or `stopped` by a signal (`lost`: the properties
 * it ended while they shrank a counterexample); returns the exit code.
 */
function closeSingle(
  rows: readonly SuiteCount[],
  errors: readonly string[],
  options: RunnerOptions,
  io: RunnerIo,
  start: number,
  stopped: StopSignal | null,
  seed: number,
  lost: ReadonlyArray<{ readonly suite: string; readonly test: string }> = [],
): number {
  // A path is one property's: replayed in several (a --test that matched more), it was walked in each,
  // and whatever held says nothing of the case meant: a usage error (2) unless something failed (1).
  const replayed =
    options.path === undefined ? [] : rows.flatMap((r) => r.propertyTests.map((t) => `${r.suite}: "${t}"`));
  const ran = stopped === null ? exitCodeOf(rows, errors) : STOP_SIGNALS[stopped];
  const code = ran === EXIT.held && replayed.length > 1 ? EXIT.usage : ran;
  const failed = code !== EXIT.held;
  const elapsed = formatElapsed(Date.now() - start);
  const lostSaid = lost.map((l) => lostLine(l, rerunCommand(l.suite, l.test, seed, options)));
  const severalReplayed =
    `--path was replayed in ${replayed.length} properties (${replayed.join('; ')}); a path belongs to one: ` +
    "give the --test of the failure's replay line";
  // Stopped: the properties then running are not in the table (their CPU time is known only at their end).
  const unfinished = stopped === null ? [] : unfinishedIn(rows).filter((u) => u.runs > 0);
  if (options.json) {
    const suites = rows.map((r) => jsonRow(r, options.scale, placeOf(options)));
    const said = replayed.length > 1 ? [...errors, severalReplayed] : errors;
    const body = { ok: !failed, stopped, seed, suites, unfinished, errors: said, lost: lostSaid };
    io.stdout.write(`${JSON.stringify(body, null, 2)}\n`);
    return code;
  }
  io.stdout.write(`${formatTable(rows, placeOf(options))}\n\n`);
  if (options.path !== undefined)
    io.stdout.write("a replay keeps no statistics: reports/properties.json holds the last pass's\n");
  // "every property held" alone would read as the case checked and fixed: fast-check ran other cases after it.
  if (replayed.length > 1) io.stdout.write(`${code === EXIT.usage ? 'usage error' : 'warning'}: ${severalReplayed}\n`);
  else if (options.path !== undefined && stopped === null && !failed) io.stdout.write(`${REPLAY_PASSED}\n`);
  for (const line of [...describeFailures(rows, options.scale), ...errors.map((e) => `error: ${e}`), ...lostSaid])
    io.stdout.write(`${line}\n`);
  const at = `${elapsed}, seed ${seed}`;
  if (stopped !== null)
    io.stdout.write(
      `stopped by ${stopped} (${at}); the properties then running are not counted${madeText(unfinished)}\n`,
    );
  else if (code === EXIT.usage) io.stdout.write(`no single property replayed (${at})\n`);
  else io.stdout.write(failed ? `FAILED (${at})\n` : `every property held (${at})\n`);
  return code;
}

async function campaign(options: RunnerOptions, io: RunnerIo): Promise<number> {
  const view = new ProgressView(io.stderr);
  const start = Date.now();
  let first: number | undefined;
  const { summary, totals, stopped } = await runCampaign(options, {
    onBatch: ({ index, seed, folder, campaign }) => {
      view.clear();
      if (index === options.shard.index - 1) {
        io.stderr.write(
          `campaign ${campaign}, shard ${options.shard.index}/${options.shard.count}, budget ` +
            `${formatElapsed(options.timeMs as number)}; failures go to ${folder}/\n`,
        );
        if (options.shard.count > 1 && options.campaign === undefined)
          io.stderr.write(`the other shards need the same id: --campaign ${campaign}\n`);
      }
      if (!options.json) io.stderr.write(`batch ${index}: seed ${seed}\n`);
    },
    onLines: (counts, endsAt) => {
      const now = Date.now();
      first ??= now;
      view.show(progressText(counts, now - start, now - first, { endsAt, now }));
    },
    onSettle: (message) => {
      view.clear();
      io.stderr.write(`${message}\n`);
    },
    onStop: (stoppedSummary, stoppedTotals) => {
      view.clear();
      closeCampaign(stoppedSummary, stoppedTotals, options, io, start, true);
    },
    onShrink: (f, n, until) => {
      view.clear();
      io.stderr.write(
        `budget over: failure ${n} (${f.suite}: "${f.test}") was found as it ran out; shrinking on ` +
          `from where it stopped, for at most ${formatElapsed(until - Date.now())}\n`,
      );
    },
  });
  view.clear();
  const code = closeCampaign(summary, totals, options, io, start, stopped !== null);
  // Stopped while its last batch ended by itself: the signal's code, as for any stop of a campaign.
  return stopped === null ? code : STOP_SIGNALS[stopped];
}

/** The campaign's first seeds, in order; of a long campaign the first five (summary.json lists them all). */
export function seedList(seeds: readonly number[], shown = 5): string {
  if (seeds.length <= shown) return `${seeds.length === 1 ? 'seed' : 'seeds'} ${seeds.join(', ')}`;
  return `seeds ${seeds.slice(0, shown).join(', ')} and ${seeds.length - shown} more in summary.json`;
}

/**
 * A campaign's closing line: `campaign nightly shard 1/4: 1 batch (seed 42), 1,200 runs, 36,000
 * operations in 30m00s` (`1 run`, `1 operation` in the singular), its operations as the table above it
 * has them ({@link operationsText}: a suite whose row shows `—` is named apart, not added as 0).
 */
export function campaignLine(
  summary: Pick<CampaignSummary, 'campaign' | 'shard' | 'batches'>,
  totals: readonly SuiteCount[],
  elapsedMs: number,
): string {
  const runs = totals.reduce((a, c) => a + c.runs, 0);
  return (
    `campaign ${summary.campaign} shard ${summary.shard}: ${count(summary.batches.length, 'batch', 'batches')} ` +
    `(${seedList(summary.batches.map((b) => b.seed))}), ${count(runs, 'run')}, ` +
    `${operationsText(totals)} in ${formatElapsed(elapsedMs)}`
  );
}

/**
 * What a campaign must say beside "no counterexample" of the properties its budget left with fewer
 * runs than a plain `npm run properties` gives them ({@link fewRuns}): its first batch is one CI-size
 * pass with a fresh seed, and a budget that ends within it ends the properties then running and gives
 * those started after it one run each (vitest starts the slowest files first, two at a time, and a
 * suite's properties one after another: kmsImpl's live property, the one that finds selection bugs,
 * comes after its first). Judged by property, not by suite: one suite's table row adds its properties
 * up, 45 runs beside a property that made 1. Null when every property made its pass (or found a
 * counterexample) or the campaign was stopped or ended early.
 */
export function fewRunsNote(
  summary: Pick<CampaignSummary, 'stoppedEarly'>,
  totals: Iterable<SuiteCount>,
  stopped: boolean,
): string | null {
  if (stopped || summary.stoppedEarly !== null) return null;
  const few = fewRuns(totals);
  if (few.length === 0) return null;
  const each = few.map((f) => `${f.suite}: "${f.test}" made ${count(f.runs, 'run')} of ${thousands(f.pass)}`);
  return (
    `note: the budget ended before ${few.length === 1 ? 'this property' : 'these properties'} made the runs ` +
    `of one pass (what a plain \`npm run properties\` gives each), so "no counterexample" says little of ` +
    `${few.length === 1 ? 'it' : 'them'}: ${each.join('; ')}. Give a longer --time.`
  );
}

/** Failure files by number, runs of consecutive ones as one: `failure-2..7.json, failure-9.json`. */
export function failureFiles(numbers: readonly number[]): string {
  const runs: Array<[number, number]> = [];
  for (const n of numbers) {
    const last = runs.at(-1);
    if (last !== undefined && n === last[1] + 1) last[1] = n;
    else runs.push([n, n]);
  }
  return runs.map(([a, b]) => (a === b ? `failure-${a}.json` : `failure-${a}..${b}.json`)).join(', ');
}

/**
 * The shape of an error's first line, what failures alike share: the line with what varies from one
 * case of a bug to the next written `#`: numbers (`operation 22`, `#13`), the numbers in IDs (`K2004`,
 * `U1`: the kind of ID, its letter, is kept) and hex strings holding a digit (hashes, serials: `3fa9c2e1`
 * whole, where its digits alone would leave its letters to differ); and the timed operation the case met
 * the failure at, as the KMS suites' labels give it (`operation 22 (+01:12:10.611  deleteUser U4): …`,
 * `(…)`): the same bug is met at another operation in another batch. The rest of the words stay (an
 * invariant's name, an error code, what was compared, the assertion's), so that two different failures
 * of one property are not made one; so does a sign (`-#` is not `#`).
 */
export function errorShape(line: string): string {
  return line
    .replace(/\b(?=[0-9a-f]*\d)(?=[0-9a-f]*[a-f])[0-9a-f]{6,}\b/gi, '#')
    .replace(/\d+/g, '#')
    .replace(/\([+-](?:#d )?#:#:#\.# {2}.*?\)(?=:|$)/g, '(…)');
}

/**
 * The campaign's failures that are alike, one line a kind: the same property (or test) with a first
 * line of error of the same shape ({@link errorShape}: alike but for its numbers, IDs, hex and timed
 * operation), which batch after batch finds and shrinks again (`6 failures alike (updateAttacks: "…",
 * Error: …): failure-2..7.json`). The line is the first failure's own, the kind's lowest file, with
 * `numbers, IDs or operation vary` when another's differs: one kmsImpl bug, met at operation 2 (an
 * activation) in one batch and at 22 (a user deleted) in the next, is one kind, where its exact first
 * lines made it as many kinds as batches. Failures are numbered from 1, as their files are. Alike is
 * not the same case: each file holds its batch's counterexample, and the smallest may be any of them.
 */
export function alikeLines(failures: ReadonlyArray<Pick<CampaignFailure, 'suite' | 'test' | 'error'>>): string[] {
  const kinds = new Map<string, { suite: string; test: string; error: string; vary: boolean; numbers: number[] }>();
  for (const [i, f] of failures.entries()) {
    const error = firstLine(f.error);
    const key = JSON.stringify([f.suite, f.test, errorShape(error)]);
    const kind = kinds.get(key) ?? { suite: f.suite, test: f.test, error, vary: false, numbers: [] };
    kind.vary ||= error !== kind.error;
    kind.numbers.push(i + 1);
    kinds.set(key, kind);
  }
  return [...kinds.values()]
    .filter((k) => k.numbers.length > 1)
    .map(
      (k) =>
        `${count(k.numbers.length, 'failure')} alike (${k.suite}: "${k.test}", ${k.error || 'no error message'}` +
        `${k.vary ? '; numbers, IDs or operation vary' : ''}): ${failureFiles(k.numbers)}`,
    );
}

/** The closing output of a campaign, ended or stopped by a signal; returns the exit code. */
function closeCampaign(
  summary: CampaignSummary,
  totals: readonly SuiteCount[],
  options: RunnerOptions,
  io: RunnerIo,
  start: number,
  stopped: boolean,
): number {
  const code = exitCodeOf(totals, summary.errors);
  const failed = code !== EXIT.held;
  const note = fewRunsNote(summary, totals, stopped);
  if (options.json) {
    const suites = totals.map((r) => jsonRow(r, options.scale, { campaign: summary.folder }));
    const noted = note === null ? {} : { note };
    io.stdout.write(`${JSON.stringify({ ok: !failed && !stopped, ...summary, suites, ...noted }, null, 2)}\n`);
    return code;
  }
  io.stdout.write(`${formatTable(totals, { campaign: summary.folder })}\n\n`);
  io.stdout.write(`${campaignLine(summary, totals, Date.now() - start)}\n`);
  if (note !== null) io.stdout.write(`${note}\n`);
  for (const f of summary.failures) {
    io.stdout.write(
      `${f.suite}: "${f.test}" failed in batch ${f.batch}${f.seed === null ? '' : ` (seed ${f.seed})`}\n`,
    );
    if (f.error) io.stdout.write(`${errorLines(f.error).join('\n')}\n`);
    if (f.replay) io.stdout.write(`  replay: ${f.replay}\n`);
    if (f.reproduction) io.stdout.write(`  reproduction: ${reproductionCommand(f.reproduction)}\n`);
    if (f.shrinkCut && f.replay)
      io.stdout.write(`  shrinking cut short (the case may not be minimal); shrink on: ${f.replay} --shrink\n`);
  }
  for (const line of alikeLines(summary.failures)) io.stdout.write(`${line}\n`);
  for (const e of summary.errors) io.stdout.write(`error: ${e}\n`);
  for (const l of summary.lost) io.stdout.write(`${lostLine(l, l.rerun)}\n`);
  if (summary.stoppedEarly !== null) io.stdout.write(`stopped early: ${summary.stoppedEarly}\n`);
  const lost = summary.lost.length > 0 ? `; ${count(summary.lost.length, 'counterexample')} lost (above)` : '';
  io.stdout.write(
    failed
      ? summary.failures.length > 0
        ? `${count(summary.failures.length, 'failure')} saved in ${summary.folder}/ (summary.json)${lost}\n`
        : `the campaign failed (above); what it covered is in ${summary.folder}/summary.json${lost}\n`
      : lost === ''
        ? `no counterexample; coverage per suite in ${summary.folder}/summary.json\n`
        : `no counterexample saved${lost}; coverage per suite in ${summary.folder}/summary.json\n`,
  );
  return code;
}

/** Runs the runner on `argv` (the arguments after `--`); resolves to the exit code. */
export async function main(argv: readonly string[], io: RunnerIo = process): Promise<number> {
  let options: RunnerOptions;
  try {
    options = parseRunnerArgs(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    io.stderr.write(`npm run properties: ${error.message}\n(see npm run properties -- --help)\n`);
    return EXIT.usage;
  }
  if (options.help) {
    io.stdout.write(`${USAGE}\n`);
    return EXIT.held;
  }
  return options.timeMs === undefined ? single(options, io) : campaign(options, io);
}
