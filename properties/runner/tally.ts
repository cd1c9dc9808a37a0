/**
 * Counts per suite, from the suites' progress lines (`progressLine.ts`) and vitest's verdicts: what
 * the progress display shows while the suites run and what the closing table and the campaign
 * summary add up. Runs are fast-check's runs (shrinking runs not included), on the progress line as in
 * the table (the line gives the shrinking runs apart, `+16 shrinking`: it counted them in once, and
 * then read more than the table beside it); operations and CPU time are those of every run, shrinking
 * included, so that operations per CPU-second is like for like.
 * @module
 */
import { count } from '../../impl/simulation/chartScale.ts';
import type { DoneLine, ProgressLine } from './progressLine.ts';

/** A test that failed, with vitest's first error message. */
export interface TestFailure {
  readonly suite: string;
  readonly test: string;
  readonly message: string;
}

/** The counts of one suite. */
export interface SuiteCount {
  readonly suite: string;
  /**
   * Runs expected of the properties that have started: those planned by the ones still running, and
   * those made by the ones that ended (fewer on a counterexample or a deadline, shrinking runs
   * included), so that a progress line's time left counts only runs still to come.
   */
  planned: number;
  /** Runs reported so far (shrinking included): what the progress display's time left goes by. */
  runsSeen: number;
  /**
   * Of {@link runsSeen}, those a property made after its counterexample (its `shrinking` line), in
   * shrinking it: fast-check leaves them out of its runs (those of the table), the progress line shows them apart.
   */
  shrinkingRunsSeen: number;
  operationsSeen: number;
  /** Totals of the properties that ended. */
  runs: number;
  operations: number;
  cpuMicros: number;
  properties: number;
  /** Tests that ran (passed or failed), from vitest's verdicts. */
  tests: number;
  /** Tests vitest reported as failed. */
  failures: number;
  /** The tests that ran a property (vitest's full names). */
  readonly propertyTests: string[];
  /** Ended properties with a counterexample. */
  readonly counterexamples: DoneLine[];
  /**
   * The tests whose property is shrinking a counterexample now (a `shrinking` line, no `done` yet):
   * live state, what a stop waits for. Not added up across batches ({@link mergeCount}).
   */
  readonly shrinking: string[];
  /**
   * The runs and operations of each property begun and not ended (live state, as `shrinking`): what a
   * stop (Ctrl-C, SIGTERM) would leave out of the totals, which hold ended properties only (their CPU
   * time is known only at their end). Not added up across batches.
   */
  readonly running: Map<string, { runs: number; operations: number; planned: number }>;
  /**
   * Each property's runs (of the properties that ended), the runs of a pass at this size (its `begin`
   * line's `pass`), and whether it failed: a campaign whose budget ended within its first pass tells
   * by these which properties it left with fewer runs than a plain pass ({@link fewRuns}).
   */
  readonly byProperty: Map<string, { runs: number; pass: number; failed: boolean }>;
  readonly failedTests: TestFailure[];
}

/** A fresh, empty count. */
export function emptyCount(suite: string): SuiteCount {
  return {
    suite,
    planned: 0,
    runsSeen: 0,
    shrinkingRunsSeen: 0,
    operationsSeen: 0,
    runs: 0,
    operations: 0,
    cpuMicros: 0,
    properties: 0,
    tests: 0,
    failures: 0,
    propertyTests: [],
    counterexamples: [],
    shrinking: [],
    running: new Map(),
    byProperty: new Map(),
    failedTests: [],
  };
}

/** Adds one progress line to `counts` (a count per suite, created on first sight). */
export function addLine(counts: Map<string, SuiteCount>, line: ProgressLine): void {
  const c = counts.get(line.suite) ?? emptyCount(line.suite);
  counts.set(line.suite, c);
  if (line.kind === 'begin') {
    c.planned += line.planned;
    if (!c.propertyTests.includes(line.test)) c.propertyTests.push(line.test);
    c.running.set(line.test, { runs: 0, operations: 0, planned: line.planned });
    const seen = propertyOf(c, line.test);
    seen.pass = Math.max(seen.pass, line.pass ?? line.planned);
  } else if (line.kind === 'run') {
    c.runsSeen += 1;
    // The failing run came before the shrinking line (the property says so once its run returned).
    if (c.shrinking.includes(line.test)) c.shrinkingRunsSeen += 1;
    c.operationsSeen += line.operations;
    const running = c.running.get(line.test);
    if (running !== undefined) {
      running.runs += 1;
      running.operations += line.operations;
    }
  } else if (line.kind === 'shrinking') {
    if (!c.shrinking.includes(line.test)) c.shrinking.push(line.test);
  } else {
    const k = c.shrinking.indexOf(line.test);
    if (k >= 0) c.shrinking.splice(k, 1);
    // What it made replaces what it planned: no more runs will come of it.
    const ended = c.running.get(line.test);
    if (ended !== undefined) c.planned += ended.runs - ended.planned;
    c.running.delete(line.test);
    c.runs += line.runs;
    c.operations += line.operations;
    c.cpuMicros += line.cpuMicros;
    c.properties += 1;
    if (line.failed) c.counterexamples.push(line);
    const property = propertyOf(c, line.test);
    property.runs += line.runs;
    property.failed ||= line.failed;
  }
}

function propertyOf(c: SuiteCount, test: string): { runs: number; pass: number; failed: boolean } {
  const seen = c.byProperty.get(test) ?? { runs: 0, pass: 0, failed: false };
  c.byProperty.set(test, seen);
  return seen;
}

/**
 * The properties that ended with fewer runs than a pass at this size makes and no counterexample,
 * across `counts`: those a campaign's deadline cut in its first pass, whose "no counterexample" says
 * less than a plain `npm run properties` would (one run, for a property started after the deadline).
 */
export function fewRuns(
  counts: Iterable<SuiteCount>,
): Array<{ readonly suite: string; readonly test: string; readonly runs: number; readonly pass: number }> {
  return [...counts].flatMap((c) =>
    [...c.byProperty]
      .filter(([, p]) => !p.failed && p.runs < p.pass)
      .map(([test, p]) => ({ suite: c.suite, test, runs: p.runs, pass: p.pass })),
  );
}

/** What the properties begun and not ended had made, each with its suite and test, across `counts`. */
export function unfinishedIn(
  counts: Iterable<SuiteCount>,
): Array<{ readonly suite: string; readonly test: string; readonly runs: number; readonly operations: number }> {
  return [...counts].flatMap((c) =>
    [...c.running].map(([test, made]) => ({ suite: c.suite, test, runs: made.runs, operations: made.operations })),
  );
}

/**
 * What the properties a stop cut short had made, for the line that says they are not counted:
 * `: they had made 28 runs, 312 operations (updateAttacks: "…" 28 runs)`, or nothing when none had run.
 */
export function madeText(unfinished: ReadonlyArray<ReturnType<typeof unfinishedIn>[number]>): string {
  if (unfinished.length === 0) return '';
  const runs = unfinished.reduce((a, u) => a + u.runs, 0);
  const operations = unfinished.reduce((a, u) => a + u.operations, 0);
  const each = unfinished.map((u) => `${u.suite}: "${u.test}" ${count(u.runs, 'run')}`).join('; ');
  return `: they had made ${count(runs, 'run')}, ${count(operations, 'operation')} (${each})`;
}

/** The properties shrinking a counterexample now, each with its suite, across `counts`. */
export function shrinkingIn(counts: Iterable<SuiteCount>): Array<{ readonly suite: string; readonly test: string }> {
  return [...counts].flatMap((c) => c.shrinking.map((test) => ({ suite: c.suite, test })));
}

/**
 * Failed tests of a suite, counterexamples included: vitest's verdicts, or, when a stop (Ctrl-C,
 * SIGTERM) ended the run before vitest gave any, the properties that ended with a counterexample.
 */
export function failuresOf(c: Pick<SuiteCount, 'failures' | 'counterexamples'>): number {
  return Math.max(c.failures, c.counterexamples.length);
}

/**
 * The CPU time of `c` in seconds, to the millisecond: fine enough that operations over it give the
 * figure {@link opsPerCpuSecond} reports (a short run at 0.01 s steps read 757 operations over 0.09 s
 * beside 8,720.7 per second).
 */
export function cpuSecondsOf(c: Pick<SuiteCount, 'cpuMicros'>): number {
  return Math.round(c.cpuMicros / 1e3) / 1e3;
}

/** Operations per CPU-second, to one decimal; 0 when no CPU time was recorded. */
export function opsPerCpuSecond(c: Pick<SuiteCount, 'operations' | 'cpuMicros'>): number {
  return c.cpuMicros > 0 ? Math.round((c.operations / (c.cpuMicros / 1e6)) * 10) / 10 : 0;
}

/**
 * `into` plus `more` (a campaign adds its batches together). Not `shrinking`: a batch that ended
 * with a property still shrinking (a crashed worker) would leave it shrinking in the campaign's
 * totals for good; whoever shows a running batch adds its `shrinking` itself.
 */
export function mergeCount(into: SuiteCount, more: SuiteCount): void {
  into.planned += more.planned;
  into.runsSeen += more.runsSeen;
  into.shrinkingRunsSeen += more.shrinkingRunsSeen;
  into.operationsSeen += more.operationsSeen;
  into.runs += more.runs;
  into.operations += more.operations;
  into.cpuMicros += more.cpuMicros;
  into.properties += more.properties;
  into.tests += more.tests;
  // Each side's own count first: a batch stopped before vitest's verdicts counts its counterexamples.
  into.failures = failuresOf(into) + failuresOf(more);
  for (const t of more.propertyTests) if (!into.propertyTests.includes(t)) into.propertyTests.push(t);
  for (const [test, p] of more.byProperty) {
    const seen = propertyOf(into, test);
    seen.runs += p.runs;
    seen.pass = Math.max(seen.pass, p.pass);
    seen.failed ||= p.failed;
  }
  into.counterexamples.push(...more.counterexamples);
  into.failedTests.push(...more.failedTests);
}
