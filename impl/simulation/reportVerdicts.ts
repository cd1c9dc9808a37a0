/**
 * The verdicts: the run's overall verdict, one row per invariant (checks, violations, verdict), and
 * the list of violations with the day and the operation after which each was found.
 * @module
 */
import { chartSection } from './chartFrame.ts';
import { count, formatNumber } from './chartScale.ts';
import { element, type Markup, text } from './markup.ts';
import { SIMULATION_INVARIANTS, type SimulationReport } from './simulationReport.ts';
import { seriesColour } from './palette.ts';
import { timeChart } from './timeChart.ts';

/** The run's verdict. */
export interface Verdict {
  readonly kind: 'pass' | 'fail' | 'incomplete';
  /** One word for the badge. */
  readonly word: string;
  readonly sentence: string;
}

/** The invariants the report names: the schema's, then any other it holds, in its order. */
function invariantNames(report: SimulationReport): string[] {
  const extra = Object.keys(report.invariants).filter((k) => !(SIMULATION_INVARIANTS as readonly string[]).includes(k));
  return [...SIMULATION_INVARIANTS, ...extra];
}

/** Checks and violations of invariant `name` (zero when the report lacks it). */
function tally(report: SimulationReport, name: string): { checks: number; violations: number } {
  const t = (report.invariants as Readonly<Record<string, { checks: number; violations: number } | undefined>>)[name];
  return { checks: t?.checks ?? 0, violations: t?.violations ?? 0 };
}

/**
 * Failed when anything was violated; stopped (an incomplete verdict) when the run ended before its
 * last day, after which alone every device is brought to converge and checked; incomplete when an
 * invariant was never checked; else passed.
 */
export function verdictOf(report: SimulationReport): Verdict {
  const names = invariantNames(report);
  const checks = names.reduce((sum, n) => sum + tally(report, n).checks, 0);
  const stop = report.stoppedEarly;
  const stopped = stop === null ? '' : `Stopped early (${stop.by}) after day ${stop.afterDay} of ${report.config.days}`;
  if (report.violations > 0) {
    const broken = names.filter((n) => tally(report, n).violations > 0);
    return {
      kind: 'fail',
      word: 'FAIL',
      sentence:
        `${count(report.violations, 'invariant violation')} (${broken.join(', ') || 'see the details'}).` +
        (stopped === '' ? '' : ` ${stopped}.`),
    };
  }
  const unchecked = names.filter((n) => tally(report, n).checks === 0);
  if (stopped !== '') {
    return {
      kind: 'incomplete',
      word: 'STOPPED',
      sentence:
        `${stopped}: no violation in the days simulated (${formatNumber(checks)} checks)` +
        (unchecked.length > 0 ? `; never checked: ${unchecked.join(', ')}.` : '.'),
    };
  }
  if (unchecked.length > 0) {
    return {
      kind: 'incomplete',
      word: 'INCOMPLETE',
      sentence: `No violation, but never checked: ${unchecked.join(', ')}.`,
    };
  }
  return {
    kind: 'pass',
    word: 'PASS',
    sentence: `Every invariant held on every day: ${formatNumber(checks)} checks, no violation.`,
  };
}

/**
 * How the smallest-group checks judged the encryptions and re-protections, in words
 * (`1,234 protections judged: 1,100 synced, 120 behind the model, 14 by the heartbeat rule alone`).
 */
export function protectionsJudgedText(j: SimulationReport['protectionsJudged']): string {
  const total = j.synced + j.behind + j.heartbeatOnly;
  return (
    `${count(total, 'protection')} judged: ${formatNumber(j.synced)} synced, ${formatNumber(j.behind)} behind the ` +
    `model, ${formatNumber(j.heartbeatOnly)} by the heartbeat rule alone`
  );
}

/** Shown in full up to this many; the rest are counted (all are in report.json). */
const MAX_DETAILS = 200;

/** The table of invariants, the violations per day and the list of violations, when there are any. */
export function invariantsSection(report: SimulationReport): Markup {
  const rows = invariantNames(report).map((name) => {
    const { checks, violations } = tally(report, name);
    const verdict = violations > 0 ? 'violated' : checks === 0 ? 'not checked' : 'held';
    return element(
      'tr',
      { class: `verdict-${verdict.replace(' ', '-')}` },
      element('th', { scope: 'row' }, text(name)),
      element('td', { class: 'number' }, text(formatNumber(checks))),
      element('td', { class: 'number' }, text(formatNumber(violations))),
      element('td', {}, text(verdict)),
    );
  });
  const table = element(
    'table',
    { class: 'verdicts' },
    element(
      'thead',
      {},
      element(
        'tr',
        {},
        ...['invariant', 'checks', 'violations', 'verdict'].map((h, i) =>
          element('th', { scope: 'col', class: i === 1 || i === 2 ? 'number' : undefined }, text(h)),
        ),
      ),
    ),
    element('tbody', {}, ...rows),
  );
  const judged = element(
    'p',
    { class: 'note', id: 'protections-judged' },
    text(
      `smallest-group: ${protectionsJudgedText(report.protectionsJudged)}. A synced sender's encryption or ` +
        "re-protection is judged by the model's state now; one behind the model, by the same rules over what was " +
        'published to it up to the update it applied last, or, past its freshness window or where the model has ' +
        'no record of that update, by the heartbeat rule alone.',
    ),
  );
  const details = report.violationDetails;
  const list =
    details.length === 0
      ? element('p', { class: 'none', id: 'violation-details' }, text('No violation was recorded.'))
      : element(
          'div',
          { id: 'violation-details' },
          element('h3', {}, text(`Violations (${formatNumber(details.length)})`)),
          timeChart({
            label: 'Invariant violations found per simulated day (columns)',
            days: report.days.map((d) => d.day),
            series: [{ name: 'violations', colour: seriesColour(3), values: report.days.map((d) => d.violations) }],
            mode: 'columns',
            yTitle: 'violations per day',
            xTitle: 'simulated day',
            height: 180,
            width: 1200,
          }),
          element(
            'ol',
            { class: 'violations' },
            ...details
              .slice(0, MAX_DETAILS)
              .map((v) =>
                element(
                  'li',
                  {},
                  element('span', { class: 'when' }, text(`day ${v.day} (${v.date})`)),
                  text(' '),
                  element('strong', {}, text(v.invariant)),
                  text(' after '),
                  element('code', {}, text(v.operation)),
                  text(': '),
                  text(v.detail),
                ),
              ),
          ),
          ...(details.length > MAX_DETAILS
            ? [
                element(
                  'p',
                  { class: 'note' },
                  text(`and ${formatNumber(details.length - MAX_DETAILS)} more, in report.json.`),
                ),
              ]
            : []),
        );
  return chartSection(
    {
      name: 'invariants',
      title: 'Invariants',
      note:
        'Checked at the end of every simulated day with the deployment property suite’s checkers; ' +
        'a violation is recorded and the run goes on.',
      wide: true,
    },
    table,
    judged,
    list,
  );
}
