/**
 * The text of the progress line on a terminal (drawn by `impl/cli/progressView.ts`): runs done (as
 * the closing table counts them, fast-check's, with the runs spent shrinking apart), operations per
 * second and time left, after the suites shrinking a counterexample, if any (a wait of minutes in
 * which runs stand still would read as a hang). Time left is the campaign budget remaining (once
 * spent, that the batch is ending), or, for a single pass, the runs still planned by the properties
 * that have started at the current rate: a
 * lower bound (properties not started yet are not known), shown with `≥`, and unknown while a
 * property shrinks (it runs until its case is minimal, not its planned runs). A replay (`--path`) shows
 * none: it runs its one case (and, with `--shrink`, as many shrinking runs as it takes), not the
 * runs a pass plans.
 * @module
 */
import { formatElapsed } from '../../impl/cli/progressView.ts';
import { count } from '../../impl/simulation/chartScale.ts';
import type { SuiteCount } from './tally.ts';
import { thousands } from './table.ts';

/** What a campaign's progress line says for time left once its budget is spent. */
const OVERRUN = ', budget spent, ending the batch';

/**
 * How a run goes about a counterexample's path: not at all (a pass or a campaign), or replaying it
 * (`--path`), ending on its case (`replay`) or shrinking on from it (`replayAndShrink`, `--shrink`).
 */
export type ReplayMode = 'none' | 'replay' | 'replayAndShrink';

/**
 * The text of the progress line, `elapsedMs` after the start and `runningMs` after the first run
 * was reported (the rates leave out vitest's start-up), most telling first for narrow terminals.
 * In a `replay` (a `--path` replay without `--shrink`), the suites say they replay a
 * counterexample, all along: the replayed case failing is no counterexample found, and nothing
 * shrinks after it (the replay ends on it), where "shrinking a counterexample" would say both. A
 * replay of either kind gives no time left: the runs its properties planned are not what it runs.
 */
export function progressText(
  counts: readonly SuiteCount[],
  elapsedMs: number,
  runningMs: number,
  budget: { readonly endsAt: number; readonly now: number } | null,
  replay: ReplayMode = 'none',
): string {
  const runs = counts.reduce((a, c) => a + c.runsSeen, 0);
  // Shown apart from fast-check's runs, which the closing table counts.
  const shrinkingRuns = counts.reduce((a, c) => a + c.shrinkingRunsSeen, 0);
  const operations = counts.reduce((a, c) => a + c.operationsSeen, 0);
  const planned = counts.reduce((a, c) => a + Math.max(c.planned, c.runsSeen), 0);
  const seconds = runningMs / 1000;
  const perSecond = seconds > 0 ? Math.round(operations / seconds) : 0;
  const replaying = replay === 'replay';
  const shrinking = counts.filter((c) => replaying || c.shrinking.length > 0).map((c) => c.suite);
  let left: string;
  // A batch goes on past the budget (each property still started makes one run, after its fixed
  // set-up): a minute or more of "0s left" would read as a hang.
  if (budget) left = budget.now < budget.endsAt ? `, ${formatElapsed(budget.endsAt - budget.now)} left` : OVERRUN;
  else if (replay !== 'none') left = '';
  // A property shrinking runs until its counterexample is minimal, not its planned runs: the rate
  // says nothing of when it ends (its shrinking runs are counted, as runs it makes, though shown apart).
  else if (shrinking.length > 0) left = ', time left unknown while shrinking';
  else if (runs === 0 || seconds === 0) left = ', time left unknown';
  else left = `, ≥${formatElapsed(((planned - runs) * runningMs) / runs)} left`;
  const perSuite = counts.map((c) => `${c.suite} ${thousands(c.runsSeen - c.shrinkingRunsSeen)}`).join(' · ');
  const apart = shrinkingRuns === 0 ? '' : ` +${thousands(shrinkingRuns)} shrinking`;
  const made = `${count(runs - shrinkingRuns, 'run')}${apart}`;
  const rate = `${thousands(operations)} ops, ${thousands(perSecond)}/s`;
  const doing = replaying ? 'replaying a counterexample' : 'shrinking a counterexample';
  const found = shrinking.length === 0 ? '' : `${shrinking.join(', ')}: ${doing} · `;
  return `${found}${made} · ${rate} · ${formatElapsed(elapsedMs)} elapsed${left} · ${perSuite}`;
}
