/**
 * What every property suite reports to `npm run properties`: one helper, used by all suites, that
 * appends the lines of `runner/progressLine.ts` to the file named by `SEKEY_PROGRESS_FILE` (nothing
 * at all when it is unset, as under plain vitest). A property starts (`params`), each run counts
 * the operations it executed (`ran`; what an operation is per suite: `runner/suites.ts`), and the
 * property ends with its runs, CPU time and counterexample (`params`' reporter, or `finish` for a
 * suite that calls `fc.check` itself). A property that finds a counterexample says so (`shrinking`)
 * and, wrapped by `stoppable`, ends at its next run when the runner is stopped meanwhile, keeping what
 * it shrank so far. Test support only.
 * @module
 */
import { appendFileSync, existsSync } from 'node:fs';
import { relative } from 'node:path';
import fc from 'fast-check';
import type { Parameters, RunDetails } from 'fast-check';
import { expect } from 'vitest';
import { passRuns, pastDeadline, propertyParams, replayingOneCase, stoppedByDeadline } from '../testing/runConfig.ts';
import { PROGRESS_FILE_ENV, STOP_FILE_ENV } from './runner/progressLine.ts';
import { replayCommand, vitestReplayCommand } from './runner/replayCommand.ts';
import { differences } from '../impl/simulation/invariantError.ts';
import type { DoneLine, ProgressLine } from './runner/progressLine.ts';

/** How a property ended, as `finish` records it. */
export type Outcome = Pick<
  DoneLine,
  'failed' | 'interrupted' | 'seed' | 'path' | 'counterexample' | 'value' | 'error' | 'reproduction'
> & { readonly runs: number };

/** What replays the current test's counterexample at `seed` and `path`, in both forms. */
function replayLines(suite: string, seed: number, path: string): string {
  const { testPath, currentTestName } = expect.getState();
  const file = testPath === undefined ? '<the test file>' : relative(process.cwd(), testPath);
  const test = currentTestName ?? '';
  // The exhaustive suites draw their sizes from SEKEY_SCALE: a replay needs the same.
  const scale = process.env['SEKEY_SCALE'];
  const runner = replayCommand(suite, test, seed, path, scale === undefined ? undefined : Number(scale));
  const vitest = vitestReplayCommand(file, test, seed, path);
  return `replay: ${scale === undefined ? '' : `SEKEY_SCALE=${scale} `}${vitest}\n    or: ${runner}`;
}

/**
 * Whether the runner asks the properties shrinking a counterexample to end (`npm run properties`
 * stopped by Ctrl-C or SIGTERM: it creates the file `SEKEY_STOP_FILE` names). A file, not a signal:
 * a synchronous property (fast-check's whole run in one call) never yields to a signal listener.
 */
function stopAsked(): boolean {
  if (termedWhileShrinking) return true;
  const file = process.env[STOP_FILE_ENV];
  return file !== undefined && file !== '' && existsSync(file);
}

/** Whether a property of this worker is shrinking a counterexample now (one property at a time). */
let shrinkingHere = false;
/** A SIGTERM came while it shrank: a stop, as the runner's file asks ({@link stopAsked}). */
let termedWhileShrinking = false;

/**
 * Under the runner, a SIGTERM sent to the whole group (`kill -- -PGID`, GNU timeout, systemd) reaches
 * this worker as well as the runner: while this worker's property shrinks a counterexample, it is a
 * stop (the property ends at its next run, keeping what it shrank, as the runner's file asks);
 * otherwise, or once the runner is gone (its IPC channel closed), it ends the worker, as by default.
 * Ctrl-C and hang-ups are the runner's alone, from the worker's start (`runner/workerSignals.ts`).
 * Installed once per worker as its first property begins (before, a SIGTERM ends it as by default),
 * and only under the runner: under plain vitest, signals are as vitest has them.
 */
let takingSigterm = false;
function takeSigtermAsStop(): void {
  if (takingSigterm || !process.env[PROGRESS_FILE_ENV]) return;
  takingSigterm = true;
  process.on('SIGTERM', () => {
    if (shrinkingHere && process.connected !== false) termedWhileShrinking = true;
    else process.exit(143);
  });
}

/** The progress of one suite's properties, one at a time (vitest runs a file's tests in sequence). */
export class PropertyProgress {
  private test = '';
  private operations = 0;
  private cpu0: NodeJS.CpuUsage = process.cpuUsage();
  private ended = 0;
  /** Run lines written so far: a run that wrote none gets one ({@link stoppable}). */
  private runLines = 0;

  /**
   * Runs of the last property that ended through {@link params}' reporter, as fast-check counts
   * them (shrinking runs not included, the failing run included); 0 until one ends.
   */
  get runs(): number {
    return this.ended;
  }

  /** The suite's short name (`runner/suites.ts`). */
  readonly suite: string;

  constructor(suite: string) {
    this.suite = suite;
  }

  private emit(line: ProgressLine): void {
    const file = process.env[PROGRESS_FILE_ENV];
    if (file) appendFileSync(file, `${JSON.stringify(line)}\n`);
  }

  /**
   * A property of `planned` runs starts in the current test; `pass`, the runs a pass at this size makes
   * (`passRuns`), is more when a campaign's deadline left it fewer.
   */
  begin(planned: number, pass = planned): void {
    takeSigtermAsStop();
    this.ended = 0;
    this.test = expect.getState().currentTestName ?? '';
    this.operations = 0;
    this.cpu0 = process.cpuUsage();
    this.emit({ kind: 'begin', suite: this.suite, test: this.test, planned, pass });
  }

  /** One run ended, having executed `operations`. */
  ran(operations: number): void {
    this.runLines += 1;
    this.operations += operations;
    this.emit({ kind: 'run', suite: this.suite, test: this.test, operations });
  }

  /**
   * `property`, reporting its first counterexample (a `shrinking` line: the runner shows it, and a stop
   * waits for the property's end) and, once the runner asks to stop ({@link stopAsked}) or a campaign's
   * deadline has passed ({@link pastDeadline}) while it shrinks, ending at its next run as a time limit
   * ends it: fast-check's interruption, which reports the counterexample shrunk so far with its path
   * (`interrupted`: the campaign marks it `shrinkCut`, and `--shrink` goes on from it). A stop before any
   * counterexample changes nothing here: the runner does not wait for such properties. Every suite's
   * property goes through this ({@link assert}).
   */
  stoppable<P extends fc.IRawProperty<unknown>>(property: P): P {
    // A replay that ends on its case runs it alone: once it has run (and passed: a failure ends the run
    // by `endOnFailure`), the next run fast-check starts is cut, as a stop cuts one. A case the property
    // skips (`fc.pre`: a path this code no longer fits) is no run, as fast-check counts them: it goes on
    // to the next case, where a cut would end the property with no run, a failure ("Property
    // interrupted after 0 tests") with no counterexample.
    const oneCase = replayingOneCase();
    let ran = false;
    let found = false;
    const test = () => this.test;
    const note = (out: fc.PreconditionFailure | fc.PropertyFailure | null) => {
      const skipped = out !== null && fc.PreconditionFailure.isFailure(out);
      if (!skipped) ran = true;
      if (!found && out !== null && !skipped) {
        found = true;
        shrinkingHere = true;
        this.emit({ kind: 'shrinking', suite: this.suite, test: test() });
      }
      return out;
    };
    // Everything else (generate, shrink, hooks) is the property's own, through the prototype.
    const wrapped: P = Object.create(property);
    wrapped.run = ((value: unknown) => {
      // Past a campaign's deadline the shrinking is the campaign's to bound, as after a stop (`pastDeadline`).
      if ((found && (stopAsked() || pastDeadline())) || (oneCase && ran)) {
        const cut = new fc.PreconditionFailure(true);
        return property.isAsync() ? Promise.resolve(cut) : cut;
      }
      const lines = this.runLines;
      // A run that failed before its suite counted it (most count a run once its checks pass) is one of
      // fast-check's runs all the same: its line, of no operations, before the shrinking line, so that
      // the progress line counts the runs the table does.
      const counted = (o: fc.PreconditionFailure | fc.PropertyFailure | null) => {
        if (this.runLines === lines && !(o !== null && fc.PreconditionFailure.isFailure(o))) this.ran(0);
        return note(o);
      };
      const out = property.run(value);
      return out instanceof Promise ? out.then(counted) : counted(out);
    }) as P['run'];
    return wrapped;
  }

  /** `fc.assert` of the property made {@link stoppable}: how every suite but the deployment suite asserts. */
  assert<Ts>(property: fc.IAsyncProperty<Ts>, params: Parameters<Ts>): Promise<void>;
  assert<Ts>(property: fc.IProperty<Ts>, params: Parameters<Ts>): void;
  assert<Ts>(property: fc.IAsyncProperty<Ts> | fc.IProperty<Ts>, params: Parameters<Ts>): Promise<void> | void {
    return fc.assert(this.stoppable(property), params);
  }

  /** The property ended. */
  finish(outcome: Outcome): void {
    shrinkingHere = false;
    const cpu = process.cpuUsage(this.cpu0);
    this.emit({
      kind: 'done',
      suite: this.suite,
      test: this.test,
      operations: this.operations,
      cpuMicros: cpu.user + cpu.system,
      ...outcome,
    });
  }

  /**
   * The suite's fast-check parameters (`propertyParams`), announced with `begin` and with a reporter
   * that records the end with `finish` and then fails the test with fast-check's own report.
   * @param ciRuns runs at CI size
   * @param text the counterexample in words (`operationText.testkit.ts`), for the runner's report and
   *   after fast-check's own in the test's failure; fast-check's `stringify` without it
   */
  params<Ts>(ciRuns: number, text?: (counterexample: Ts) => string): Parameters<Ts> {
    const params = propertyParams<Ts>(ciRuns);
    this.begin(params.numRuns ?? ciRuns, passRuns(ciRuns));
    return {
      ...params,
      reporter: (details: RunDetails<Ts>) => {
        this.ended = details.numRuns;
        const failed = details.failed && !stoppedByDeadline(details);
        const words = details.counterexample === null || text === undefined ? null : said(text, details.counterexample);
        this.finish({
          runs: details.numRuns,
          failed,
          interrupted: details.interrupted,
          seed: details.seed,
          path: details.counterexamplePath ?? '',
          counterexample: words ?? (details.counterexample === null ? null : fc.stringify(details.counterexample)),
          value: words === null || details.counterexample === null ? null : fc.stringify(details.counterexample),
          error: failed ? errorText(details.errorInstance) : null,
          reproduction: null,
        });
        // fast-check's own report (seed, path, counterexample), as its default reporter throws it, and
        // the command that replays the counterexample alone, under plain vitest too.
        if (failed) {
          const replay = replayLines(this.suite, details.seed, details.counterexamplePath ?? '');
          const inWords = words === null ? '' : `\nIn words:\n${words.replace(/^/gm, '  ')}\n`;
          throw new Error(`${fc.defaultReportMessage(details)}\n${inWords}${replay}`, { cause: details.errorInstance });
        }
      },
    };
  }
}

/**
 * A failure's error as the runner keeps it: its name and message, and, for an assertion that compared
 * two values (`expect(a).toEqual(b)`: chai's message elides both, `{ created: [], …(3) }`), where they
 * differ, in the words of the deployment suite's invariants (`differs at steps: actual [], expected […]`).
 */
export function errorText(error: unknown): string {
  const text = String(error);
  if (error === null || typeof error !== 'object' || !('actual' in error) || !('expected' in error)) return text;
  const { actual, expected } = error as { actual: unknown; expected: unknown };
  // Two plain values (`expected false to be true`): the message says it all, a line more would repeat it.
  const structured = (v: unknown) => typeof v === 'object' && v !== null;
  if (!structured(actual) && !structured(expected)) return text;
  try {
    return [text, ...differences(actual, expected).map((d) => `  differs at ${d}`)].join('\n');
  } catch {
    return text; // values JSON cannot show (a cycle, a BigInt): the message alone
  }
}

/**
 * A counterexample in words, or, when its text throws, fast-check's own with why: a reporter that
 * throws loses the failure's seed, path and counterexample (the runner saw no `done`).
 */
function said<Ts>(text: (counterexample: Ts) => string, counterexample: Ts): string {
  try {
    return text(counterexample);
  } catch (error) {
    return `${fc.stringify(counterexample)}\n(not in words: its text threw ${String(error)})`;
  }
}
