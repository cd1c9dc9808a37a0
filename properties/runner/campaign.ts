/**
 * Campaigns (`--time`): batch after batch with fresh seeds (`seeds.ts`) until the budget ends, every
 * failure saved under `reports/campaign-<timestamp>/` as it is found — its seed, path, shrunk
 * scenario and a command that replays it, plus for the deployment suite the runnable reproduction
 * the suite writes — and `summary.json` rewritten after every batch, so that a campaign stopped
 * early still says what it covered. The first batch runs every test of the chosen suites; later
 * batches run only the properties (the tests that reported runs): the other tests do not depend on
 * the seed, and running them again would spend the budget on the same work. Tests that check what a
 * whole CI-size pass exercised (`Suite.notInCampaigns`) are never run: a batch cut short by the
 * budget would fail them with no property failing.
 * @module
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { RunnerOptions } from './args.ts';
import { onStopSignal } from './interrupt.ts';
import type { StopSignal } from './interrupt.ts';
import { OUTSIDE_ANY_TEST, SETTLE_MS, UNFINISHED, runBatch, settleMessage } from './runBatch.ts';
import type { ActiveBatch, BatchResult } from './runBatch.ts';
import { mergeStatistics } from './statistics.ts';
import { operationFigures } from './table.ts';
import { campaignSeed, newCampaignId, shardBatchIndex } from './seeds.ts';
import { cpuSecondsOf, emptyCount, failuresOf, madeText, mergeCount, shrinkingIn, unfinishedIn } from './tally.ts';
import type { SuiteCount } from './tally.ts';
import type { DoneLine } from './progressLine.ts';
import { escapeRegExp, ownName, ownNamePattern, replayCommand, rerunCommand } from './replayCommand.ts';
import { makeFolders } from '../../impl/host/makeFolders.ts';
import { count } from '../../impl/simulation/chartScale.ts';

/** One failure of a campaign, as saved to `failure-<n>.json`. */
export interface CampaignFailure {
  readonly suite: string;
  readonly test: string;
  readonly batch: number;
  readonly seed: number | null;
  readonly path: string | null;
  readonly counterexample: string | null;
  /** fast-check's own print of the counterexample where `counterexample` gives it in words (`DoneLine.value`). */
  readonly value: string | null;
  readonly error: string;
  /** A command that replays it. */
  readonly replay: string | null;
  /** The runnable reproduction, copied into the campaign folder. */
  readonly reproduction: string | null;
  /**
   * Whether a deadline cut its shrinking (fast-check's `interrupted`): the counterexample may not be
   * minimal. A campaign shrinks such failures on after its budget ({@link shrinkBudget}); one still
   * cut then shrinks on by its replay command with `--shrink`.
   */
  readonly shrinkCut: boolean;
}

/** What a campaign covered, as written to `summary.json`. */
export interface CampaignSummary {
  readonly campaign: string;
  readonly shard: string;
  readonly folder: string;
  readonly budgetSeconds: number;
  readonly startedAt: string;
  endedAt: string;
  /** Each batch's runs and operations; operations null where the batch's runs counted none (as the table's `—`). */
  readonly batches: Array<{ index: number; seed: number; runs: number; operations: number | null; failures: number }>;
  /** Per suite, as the closing table: operations and their rate null where the table shows `—` (`operationFigures`). */
  readonly suites: Record<
    string,
    { runs: number; operations: number | null; cpuSeconds: number; opsPerCpuSecond: number | null; failures: number }
  >;
  readonly failures: CampaignFailure[];
  readonly errors: string[];
  /** Why the campaign ended before its budget, if it did (see {@link runCampaign}). */
  stoppedEarly: string | null;
  /**
   * Counterexamples found and lost: properties a stop ended while they shrank one (Ctrl-C again), each
   * with its batch's seed and the command that finds it again.
   */
  readonly lost: Array<{ suite: string; test: string; batch: number; seed: number; rerun: string }>;
}

/**
 * Moves a reproduction the deployment suite wrote to `reports/` into the campaign folder, with its
 * relative imports (written for `reports/`) pointed one folder further up: the campaign's copy is
 * the one to run, and a campaign's failures do not pile up in `reports/`.
 */
export function copyReproduction(source: string, folder: string, n: number): string | null {
  if (!existsSync(source)) return null;
  const target = join(folder, `failure-${n}-${basename(source)}`);
  writeFileSync(target, readFileSync(source, 'utf8').replaceAll("from '../", "from '../../"));
  rmSync(source, { force: true });
  return target;
}

/**
 * The failures of one batch, numbered from `next`, each saved to `failure-<n>.json` in the campaign
 * folder: every counterexample, and every other failed test with its message. Counterexamples in
 * `already` were saved as their properties ended (see {@link runCampaign}): they are not saved again,
 * and the failed tests they explain are not saved either. A failed test with no counterexample (a
 * fixed scenario) replays by running it again, at the batch's `seed` when given (a test may draw its
 * case from it); one that is no test (a file that failed outside its tests, a crashed worker's suite) has no replay.
 */
export function saveFailures(
  counts: ReadonlyMap<string, SuiteCount>,
  batch: number,
  folder: string,
  next: number,
  scale?: number | undefined,
  already: ReadonlySet<DoneLine> = new Set(),
  seed?: number,
): CampaignFailure[] {
  const saved: CampaignFailure[] = [];
  for (const c of counts.values()) {
    const explained = new Set(c.counterexamples.map((d) => d.test));
    const entries: Array<{ test: string; message: string; done: DoneLine | null }> = [
      ...c.counterexamples
        .filter((d) => !already.has(d))
        .map((d) => ({ test: d.test, message: d.error ?? '', done: d })),
      ...c.failedTests.filter((t) => !explained.has(t.test)).map((t) => ({ ...t, done: null })),
    ];
    for (const { test, message, done } of entries) {
      const n = next + saved.length;
      const failure: CampaignFailure = {
        suite: c.suite,
        test,
        batch,
        seed: done?.seed ?? null,
        path: done?.path ?? null,
        counterexample: done?.counterexample ?? null,
        value: done?.value ?? null,
        error: message,
        replay: done ? replayCommand(c.suite, test, done.seed, done.path, scale) : rerunOf(c.suite, test, seed, scale),
        reproduction: done?.reproduction ? copyReproduction(done.reproduction, folder, n) : null,
        shrinkCut: done?.interrupted === true && done.seed !== null && done.path !== '',
      };
      writeFileSync(join(folder, `failure-${n}.json`), `${JSON.stringify(failure, null, 2)}\n`);
      saved.push(failure);
    }
  }
  return saved;
}

/** The command that runs failed `test` of `suite` again (see {@link saveFailures}); null when it is no test. */
function rerunOf(suite: string, test: string, seed: number | undefined, scale: number | undefined): string | null {
  if (test === OUTSIDE_ANY_TEST || test === UNFINISHED) return null;
  return seed === undefined ? replayCommand(suite, test, null, '', scale) : rerunCommand(suite, test, seed, { scale });
}

/**
 * What a campaign spends after its budget shrinking on the failures the budget cut short (found in
 * its last minutes, their shrinking interrupted with the batch): a tenth of the budget, one minute at
 * least. A failure saved unshrunk is a long scenario to read; shrinking on from its path costs only
 * the shrinking left, and the campaign says when it does.
 */
export function shrinkBudget(budgetMs: number): number {
  return Math.max(60_000, Math.round(budgetMs / 10));
}

/**
 * Failure `n` (`f`) as the shrink replay of it ended (`done`), saved: its file rewritten with the
 * smaller case and the reproduction that case wrote, if any (the old one removed: the case may now
 * break another invariant). Returns the failure as saved.
 */
function saveShrunk(
  f: CampaignFailure,
  done: DoneLine & { readonly seed: number },
  folder: string,
  n: number,
  scale: number | undefined,
): CampaignFailure {
  const shrunk: CampaignFailure = {
    ...f,
    path: done.path,
    counterexample: done.counterexample,
    value: done.value ?? null,
    error: done.error ?? f.error,
    replay: replayCommand(f.suite, f.test, done.seed, done.path, scale),
    reproduction: done.reproduction ? copyReproduction(done.reproduction, folder, n) : f.reproduction,
    shrinkCut: done.interrupted,
  };
  if (f.reproduction !== null && f.reproduction !== shrunk.reproduction) rmSync(f.reproduction, { force: true });
  writeFileSync(join(folder, `failure-${n}.json`), `${JSON.stringify(shrunk, null, 2)}\n`);
  return shrunk;
}

/** The end of the shrink replay of `f` among `counts`, if it ended with a counterexample. */
function shrinkEnd(
  f: CampaignFailure,
  counts: ReadonlyMap<string, SuiteCount> | undefined,
): (DoneLine & { readonly seed: number }) | undefined {
  const done = counts?.get(f.suite)?.counterexamples.find((d) => d.test === f.test && d.path !== '');
  return done === undefined || done.seed === null ? undefined : { ...done, seed: done.seed };
}

/** Why a campaign stopped by `signal` while it shrank on its failures after the budget, in its summary. */
function stoppedWhileShrinking(signal: StopSignal): string {
  return (
    `stopped by ${signal} while shrinking on after the budget; the failures keep what was shrunk so far ` +
    '(shrinkCut: true for those not done)'
  );
}

/**
 * Shrinks on, until `until`, each failure whose shrinking a deadline cut: its property replayed at
 * its seed and path and shrunk on from there (`SEKEY_SHRINK`), the failure's file rewritten with the
 * smaller case; `onShrunk` hears of each as it is rewritten (a stop may come before the next). A
 * replay that does not fail again leaves the failure as it was. `failures` are those of the campaign,
 * numbered from 1 as their files are; their runs are not counted in its coverage (they replay one
 * case). Returns the failures, updated.
 */
export async function shrinkCutFailures(
  failures: readonly CampaignFailure[],
  options: Pick<RunnerOptions, 'suites' | 'scale'>,
  folder: string,
  until: number,
  hooks: {
    readonly run?: typeof runBatch;
    readonly onShrink?: (failure: CampaignFailure, n: number) => void;
    /** Failure `n` (was `before`) is now `after`, as the property's end reported it (`done`). */
    readonly onShrunk?: (n: number, before: CampaignFailure, after: CampaignFailure, done: DoneLine) => void;
    readonly onActive?: (active: ActiveBatch | null) => void;
    /** A stop was asked (it waited for the failure being shrunk on): no further failure is begun. */
    readonly stopped?: () => boolean;
  } = {},
): Promise<CampaignFailure[]> {
  const out = [...failures];
  for (const [i, f] of failures.entries()) {
    if (hooks.stopped?.() === true) break;
    const suite = options.suites.find((s) => s.name === f.suite);
    if (!f.shrinkCut || f.seed === null || f.path === null || suite === undefined || Date.now() >= until) continue;
    hooks.onShrink?.(f, i + 1);
    const result = await (hooks.run ?? runBatch)(
      {
        suites: [suite],
        seed: f.seed,
        path: f.path,
        shrink: true,
        scale: options.scale,
        // Its own title, to the end of the full name: no other property walks this path.
        testPattern: ownNamePattern(f.test),
        deadline: until,
        ownStatistics: true,
      },
      () => {},
      hooks.onActive,
    );
    const done = shrinkEnd(f, result.counts);
    if (done === undefined) continue;
    const shrunk = saveShrunk(f, done, folder, i + 1, options.scale);
    out[i] = shrunk;
    hooks.onShrunk?.(i + 1, f, shrunk, done);
  }
  return out;
}

/**
 * Why no further batch could find anything new, or null: a failure in a fixed scenario that every
 * seed runs first (each batch would save it again, and test nothing behind it), a test file that
 * failed before any of its tests ran (it fails to load, at any seed: a `--scale` its workloads cannot
 * take, a syntax error), or a batch in which a chosen suite did not run or no test ran
 * (`unrunnable`, from `runBatch`). Other errors (a worker that crashed) are saved and the campaign
 * goes on.
 */
export function stopReason(counts: ReadonlyMap<string, SuiteCount>, unrunnable: readonly string[]): string | null {
  if (unrunnable.length > 0) return `a batch could not run the chosen suites: ${unrunnable[0]}`;
  for (const c of counts.values()) {
    const broken = c.tests === 0 ? c.failedTests.find((t) => t.test === OUTSIDE_ANY_TEST) : undefined;
    if (broken)
      return (
        `${c.suite}: its test file failed before any test ran (${broken.message.split('\n')[0] ?? ''}), as it ` +
        'would at every seed; fix it, then campaign again'
      );
    const fixed = c.counterexamples.find((d) => d.seed === null);
    if (fixed)
      return (
        `${c.suite}: "${fixed.test}" failed in a fixed scenario that every seed runs first; ` +
        'fix it, then campaign again'
      );
  }
  return null;
}

/** The campaign folder's name: `campaign-<UTC time>` and, for a shard, `-shard<i>of<n>`. */
export function campaignFolder(startedAt: Date, shard: RunnerOptions['shard']): string {
  const stamp = startedAt
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  return join('reports', `campaign-${stamp}${shard.count > 1 ? `-shard${shard.index}of${shard.count}` : ''}`);
}

/**
 * Creates the folder `base`, or `base-2`, `base-3`… if taken: two campaigns started in the same
 * second (on one machine, in one directory) must not write into one folder.
 */
export function claimFolder(base: string): string {
  makeFolders(dirname(base));
  for (let n = 1; ; n++) {
    const folder = n === 1 ? base : `${base}-${n}`;
    try {
      mkdirSync(folder);
      return folder;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  }
}

/**
 * The `-t` pattern of a campaign batch: the campaign's own (`base`: every test but those campaigns
 * skip, later only the tests that ran a property) narrowed by the user's `--test`, which never
 * brings back a test the campaign skips.
 */
export function batchTestPattern(base: string | undefined, user: string | undefined): string | undefined {
  if (user === undefined) return base;
  // Both anywhere in the full name (vitest matches "describe > test"), each as a whole: the user's
  // from the start, in a lookahead; the base after it, grouped, so that an alternation of test names
  // (the later batches' base) is narrowed as a whole. A lookahead placed after the base would look
  // past the end of the test's own name, the last part of the full name, and match nothing.
  return `^(?=[\\s\\S]*?(?:${user}))[\\s\\S]*?(?:${base ?? ''})`;
}

/**
 * A batch's errors, with "no test ran" explained when the user's `--test` named only tests that
 * campaigns leave out (`skipped`): the pattern did match, the campaign left the test out.
 */
export function leftOutNamed<R extends Pick<BatchResult, 'errors' | 'unrunnable'>>(
  result: R,
  skipped: readonly string[],
  test: string | undefined,
): R {
  const named = test === undefined ? [] : skipped.filter((name) => new RegExp(test).test(name));
  if (named.length === 0) return result;
  const explain = (message: string) =>
    message.startsWith('no test ran')
      ? `${message}: campaigns leave out ${named.map((n) => `"${n}"`).join(', ')} (a check of what a whole ` +
        'CI-size pass exercised, which a batch cut short by the budget would fail); run it without --time'
      : message;
  return { ...result, errors: result.errors.map(explain), unrunnable: result.unrunnable.map(explain) };
}

/** A batch of a campaign as it runs: its index and seed, and the failures already saved as found. */
interface BatchRecord {
  readonly index: number;
  readonly seed: number;
  active: ActiveBatch | null;
  /** Its counterexamples saved so far. */
  readonly saved: Set<DoneLine>;
  /** What they were saved as. */
  readonly failures: CampaignFailure[];
}

/**
 * Runs a campaign of `options.timeMs`; `onBatch` hears of each batch as it starts, `onLines` of
 * progress within it. Returns the summary (also written to the folder) and the totals per suite.
 */
export async function runCampaign(
  options: RunnerOptions,
  hooks: {
    onBatch?: (info: { index: number; seed: number; folder: string; campaign: string }) => void;
    onLines?: (counts: readonly SuiteCount[], endsAt: number) => void;
    /**
     * SIGINT, SIGTERM or a hang-up that stops the run, in a batch or between: the summary is written;
     * the process ends after this returns.
     */
    onStop?: (summary: CampaignSummary, totals: SuiteCount[]) => void;
    /** A stop waits for the counterexamples being shrunk to end at their next run (`settleMessage`). */
    onSettle?: (message: string) => void;
    /** The budget is over and failure `n`, whose shrinking it cut, is shrunk on until `until`. */
    onShrink?: (failure: CampaignFailure, n: number, until: number) => void;
  } = {},
): Promise<{ summary: CampaignSummary; totals: SuiteCount[]; stopped: StopSignal | null }> {
  const budget = options.timeMs as number;
  const started = new Date();
  const endsAt = started.getTime() + budget;
  const campaign = options.campaign ?? newCampaignId(started);
  const folder = claimFolder(campaignFolder(started, options.shard));
  const totals = new Map<string, SuiteCount>(options.suites.map((s) => [s.name, emptyCount(s.name)]));
  const summary: CampaignSummary = {
    campaign,
    shard: `${options.shard.index}/${options.shard.count}`,
    folder,
    budgetSeconds: budget / 1000,
    startedAt: started.toISOString(),
    endedAt: started.toISOString(),
    batches: [],
    suites: {},
    failures: [],
    errors: [],
    stoppedEarly: null,
    lost: [],
  };
  const writeSummary = () => writeFileSync(join(folder, 'summary.json'), `${JSON.stringify(summary, null, 2)}\n`);
  writeSummary();
  /**
   * Saves the counterexamples of batch `at` that the progress lines brought since the last call, as
   * their properties end: a batch of every suite runs for minutes after a failure it found, and a
   * failure saved only with its batch would be lost with it (a hang-up, a kill, a machine that dies).
   * Each is counted saved once its file is written. This runs in the batch's polling timer, where an
   * error would end the process at once (vitest's workers, the batch's folder and the summary left as
   * they were): a save that fails (a full disk, the folder removed) is left to the batch's end, which
   * saves it or fails as a campaign did before it saved as it went.
   */
  const saveFound = (at: BatchRecord, live: ReadonlyMap<string, SuiteCount>) => {
    let saved = false;
    try {
      for (const [name, c] of live) {
        for (const d of c.counterexamples) {
          if (at.saved.has(d)) continue;
          const one = new Map([[name, Object.assign(emptyCount(name), { counterexamples: [d] })]]);
          const failures = saveFailures(one, at.index, folder, summary.failures.length + 1, options.scale);
          at.saved.add(d);
          at.failures.push(...failures);
          summary.failures.push(...failures);
          saved = true;
        }
      }
    } catch {
      // Left to the batch's end (see above).
    }
    if (!saved) return;
    summary.endedAt = new Date().toISOString();
    try {
      writeSummary();
    } catch {
      // Written again at the batch's end.
    }
  };
  /** Adds batch `index`'s counts to the campaign, saves its failures and statistics, writes the summary. */
  const record = (
    at: BatchRecord,
    counts: ReadonlyMap<string, SuiteCount>,
    result: Pick<BatchResult, 'errors' | 'unrunnable' | 'statistics'>,
    stopped: string | null,
  ) => {
    const next = summary.failures.length + 1;
    const rest = saveFailures(counts, at.index, folder, next, options.scale, at.saved, at.seed);
    summary.failures.push(...rest);
    // Those saved as they were found, then the rest.
    const failures = [...at.failures, ...rest];
    // The reproductions were moved into the folder: the counts (--json's rows) name them there.
    for (const c of counts.values()) {
      c.counterexamples.forEach((d, k) => {
        const saved = failures.find((f) => f.suite === d.suite && f.test === d.test && f.path === d.path);
        if (saved && d.reproduction !== null) c.counterexamples[k] = { ...d, reproduction: saved.reproduction };
      });
    }
    summary.errors.push(...result.errors);
    // The batch as one suite would be in the table: its operations counted, or none at all.
    const batch = emptyCount('batch');
    for (const [name, c] of counts) {
      mergeCount(totals.get(name) as SuiteCount, c);
      mergeCount(batch, c);
    }
    const { runs } = batch;
    const { operations } = operationFigures(batch);
    summary.batches.push({ index: at.index, seed: at.seed, runs, operations, failures: failures.length });
    summary.endedAt = new Date().toISOString();
    for (const c of totals.values()) {
      const { operations, opsPerCpuSecond } = operationFigures(c);
      summary.suites[c.suite] = {
        runs: c.runs,
        operations,
        cpuSeconds: cpuSecondsOf(c),
        opsPerCpuSecond,
        failures: failuresOf(c),
      };
    }
    const firstFailure =
      options.stopAtFailure && failures.length > 0
        ? `--stop-at-failure: batch ${at.index} saved ${count(failures.length, 'failure')}`
        : null;
    summary.stoppedEarly = stopped ?? stopReason(counts, result.unrunnable) ?? firstFailure;
    mergeStatistics(folder, options.suites, result.statistics);
    writeSummary();
  };
  // One listener for the whole campaign, between batches too: the batch running, if any, counts
  // what its ended properties covered (those cut short are left out), and the summary says why.
  let current: BatchRecord | null = null;
  // The replay shrinking on a failure after the budget, if one runs, and the number of that failure: a
  // stop waits for it as for a batch's, and saves the case it reached.
  let shrinking: ActiveBatch | null = null;
  let shrinkingFailure = 0;
  // A stop that waits for counterexamples being shrunk: no batch starts after it, and a batch that
  // ends meanwhile (its last property was the one shrinking) ends the campaign as the stop would.
  let stopAsked: StopSignal | null = null;
  /** Failure `n` (was `before`) is now `after`, shrunk on to `done`: in the summary and the counts (--json's rows). */
  const shrunkOn = (n: number, before: CampaignFailure, after: CampaignFailure, done: DoneLine) => {
    summary.failures[n - 1] = after;
    const c = totals.get(after.suite);
    const k = c?.counterexamples.findIndex((d) => d.test === before.test && d.path === before.path) ?? -1;
    if (c && k >= 0) c.counterexamples[k] = { ...done, reproduction: after.reproduction };
  };
  const settle = (signal: StopSignal): Promise<void> | null => {
    // A batch of the budget, or the replay shrinking on a failure after it.
    const settling = (shrinking ?? current?.active)?.settle(SETTLE_MS[signal]) ?? null;
    if (settling === null) return null;
    stopAsked = signal;
    hooks.onSettle?.(settleMessage(settling.shrinking, signal));
    return settling.ended;
  };
  const release = onStopSignal((signal) => {
    const why = `stopped by ${signal}`;
    if (shrinking !== null) {
      // The failure being shrunk on, as far as its replay got (its property ended at its next run, if
      // the stop waited for it): saved, not left as the budget cut it.
      const f = summary.failures[shrinkingFailure - 1];
      const done = f === undefined ? undefined : shrinkEnd(f, shrinking.counts());
      shrinking.cleanUp();
      if (f !== undefined && done !== undefined) {
        try {
          shrunkOn(shrinkingFailure, f, saveShrunk(f, done, folder, shrinkingFailure, options.scale), done);
        } catch {
          // Left as it was saved (a full disk): the summary below still says the stop.
        }
      }
      summary.stoppedEarly = stoppedWhileShrinking(signal);
      summary.endedAt = new Date().toISOString();
      writeSummary();
    } else if (current === null) {
      summary.stoppedEarly = `${why} between batches`;
      summary.endedAt = new Date().toISOString();
      writeSummary();
    } else {
      const counts = current.active?.counts() ?? new Map<string, SuiteCount>();
      // Read before the clean-up removes the batch's folder, and its statistics file with it.
      const statistics = current.active?.statistics() ?? {};
      current.active?.cleanUp();
      const { index: batch, seed } = current;
      for (const { suite, test } of shrinkingIn(counts.values()))
        summary.lost.push({ suite, test, batch, seed, rerun: rerunCommand(suite, test, seed, options) });
      const made = madeText(unfinishedIn(counts.values()).filter((u) => u.runs > 0));
      const cut = `${why} in batch ${current.index}; the properties then running are not counted${made}`;
      record(current, counts, { errors: [], unrunnable: [], statistics }, cut);
    }
    hooks.onStop?.(summary, [...totals.values()]);
  }, settle);
  try {
    const skipped = options.suites.flatMap((s) => s.notInCampaigns ?? []);
    let properties: string | undefined =
      skipped.length > 0 ? `^(?!.*(?:${skipped.map(escapeRegExp).join('|')}))` : undefined;
    // Set when the shard has run every seed it owns: like the end of the budget, what it found is
    // still shrunk on, and the summary says why it stopped.
    let exhausted: string | null = null;
    for (let k = 0; Date.now() < endsAt && summary.stoppedEarly === null && stopAsked === null; k++) {
      const index = shardBatchIndex(options.shard, k);
      if (index === null) {
        exhausted = `shard ${options.shard.index}/${options.shard.count} ran every seed it owns`;
        break;
      }
      const seed = campaignSeed(campaign, index);
      const batch: BatchRecord = { index, seed, active: null, saved: new Set(), failures: [] };
      current = batch;
      hooks.onBatch?.({ index, seed, folder, campaign });
      const result = await runBatch(
        {
          suites: options.suites,
          runs: options.runs,
          seed,
          scale: options.scale,
          testPattern: batchTestPattern(properties, options.test),
          deadline: endsAt,
          ownStatistics: true,
        },
        (live) => {
          saveFound(batch, live);
          const shown = options.suites.map((s) => {
            const sum = emptyCount(s.name);
            mergeCount(sum, totals.get(s.name) as SuiteCount);
            const now = live.get(s.name);
            if (now) {
              mergeCount(sum, now);
              sum.shrinking.push(...now.shrinking);
            }
            return sum;
          });
          hooks.onLines?.(shown, endsAt);
        },
        (active) => {
          batch.active = active;
        },
      );
      current = null;
      if (k === 0) {
        const names = new Set([...result.counts.values()].flatMap((c) => c.propertyTests).map(ownName));
        // From the second batch on: only the tests that ran a property (within --test, if given:
        // its exhaustive tests would otherwise do the same work again in every batch).
        if (names.size > 0) properties = [...names].map(escapeRegExp).join('|');
      }
      record(batch, result.counts, leftOutNamed(result, skipped, options.test), null);
    }
    if (stopAsked !== null && summary.stoppedEarly === null) {
      summary.stoppedEarly =
        `stopped by ${stopAsked} after batch ${summary.batches.at(-1)?.index}, which ended while the stop ` +
        'waited for its counterexamples being shrunk';
      summary.endedAt = new Date().toISOString();
      writeSummary();
    }
    // Not after a stop; after a failure that ends the campaign early (a broken fixed scenario), yes: the
    // budget may still have cut another suite's failure, which no later batch will find again.
    if (stopAsked === null && summary.failures.some((f) => f.shrinkCut)) {
      const until = Date.now() + shrinkBudget(budget);
      await shrinkCutFailures(summary.failures, options, folder, until, {
        onShrink: (f, n) => {
          shrinkingFailure = n;
          hooks.onShrink?.(f, n, until);
        },
        stopped: () => stopAsked !== null,
        // Each failure as it is shrunk, in the summary and in the counts: a stop may come before the next.
        onShrunk: (n, before, after, done) => {
          shrunkOn(n, before, after, done);
          summary.endedAt = new Date().toISOString();
          writeSummary();
        },
        onActive: (active) => {
          shrinking = active;
        },
      });
      // A stop that waited for the failure being shrunk on, whose replay then ended by itself.
      if (stopAsked !== null) summary.stoppedEarly = stoppedWhileShrinking(stopAsked);
      summary.endedAt = new Date().toISOString();
      writeSummary();
    }
    if (exhausted !== null && summary.stoppedEarly === null) {
      summary.stoppedEarly = exhausted;
      summary.endedAt = new Date().toISOString();
      writeSummary();
    }
  } finally {
    release();
  }
  return { summary, totals: [...totals.values()], stopped: stopAsked };
}
