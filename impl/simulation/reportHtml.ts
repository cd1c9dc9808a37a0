/**
 * `report.html`: the simulation report as one self-contained page, rendered from `report.json`
 * alone. No script, no network: the style sheet is inline, the charts are inline SVG, and every
 * piece of text from the report goes through {@link text} (escaped, so a device or a reason named
 * `<script>` stays text). The page is polyglot markup: an HTML5 document that is also well-formed
 * XML, so a strict XML parser can check it (`reportHtml.test.ts`).
 * @module
 */
import { count, formatBytes, formatNumber, formatSeconds } from './chartScale.ts';
import { element, join, type Markup, raw, text } from './markup.ts';
import {
  flashWearChart,
  hsmTimeChart,
  keysByStateChart,
  operationsChart,
  refusalsChart,
  updateTrafficChart,
} from './reportCharts.ts';
import { REPORT_CSS } from './reportStyle.ts';
import { invariantsSection, verdictOf } from './reportVerdicts.ts';
import type { SimulationReport } from './simulationReport.ts';
import { DEFAULT_SIMULATION_CONFIG } from './runSimulation.ts';

/**
 * The page's sections, in order, by the stable name each gives itself (`id="chart-NAME"`,
 * `data-chart="NAME"`): the verdicts first, then the charts, two to a row on a laptop screen.
 */
export const REPORT_CHARTS: Readonly<Record<string, (report: SimulationReport) => Markup>> = {
  invariants: invariantsSection,
  'keys-by-state': keysByStateChart,
  operations: operationsChart,
  'update-traffic': updateTrafficChart,
  'refusals-stale': refusalsChart,
  'flash-wear': flashWearChart,
  'hsm-time': hsmTimeChart,
};

/** `[label, value]` pairs as a definition list. */
function definitions(className: string, pairs: ReadonlyArray<readonly [string, string]>): Markup {
  return element(
    'dl',
    { class: className },
    ...pairs.map(([k, v]) => element('div', {}, element('dt', {}, text(k)), element('dd', {}, text(v)))),
  );
}

/** The page's header: what was simulated, the verdict, the totals. */
function header(report: SimulationReport): Markup {
  const c = report.config;
  const t = report.totals;
  const verdict = verdictOf(report);
  const refusals = Object.values(t.refusals).reduce((sum, n) => sum + n, 0);
  const last = report.days.at(-1)?.date;
  const totals: ReadonlyArray<readonly [string, string]> = [
    ['simulated days', formatNumber(report.days.length)],
    ['operations', formatNumber(t.operations)],
    ['update files published', formatNumber(t.updates.filesPublished)],
    ['update bytes published', formatBytes(t.updates.bytesPublished)],
    ['update files applied', formatNumber(t.updates.filesApplied)],
    ['refusals', formatNumber(refusals)],
    ['HSM time (modelled)', formatSeconds(t.hsmSeconds)],
    ['max sector erases', formatNumber(t.maxSectorErases)],
    ['violations', formatNumber(report.violations)],
  ];
  return element(
    'header',
    { class: 'report' },
    element(
      'div',
      {},
      element('h1', {}, text('SEkey simulation report')),
      element(
        'p',
        { class: 'subtitle' },
        text(
          `${count(c.users, 'user')} in ${count(c.groups, 'group')} over ` +
            (report.stoppedEarly === null
              ? count(c.days, 'day')
              : `${formatNumber(report.stoppedEarly.afterDay)} of ${count(c.days, 'day')} (stopped early)`) +
            ` (${c.start.slice(0, 10)}${last === undefined ? '' : ` to ${last}`}), ` +
            `profile ${c.profile}, seed ${c.seed}`,
        ),
      ),
    ),
    element(
      'div',
      { class: `verdict verdict-${verdict.kind}`, id: 'verdict', 'data-verdict': verdict.kind },
      element('span', { class: 'badge' }, text(verdict.word)),
      element('p', {}, text(verdict.sentence)),
    ),
    definitions('config', [
      ['users', formatNumber(c.users)],
      ['groups', formatNumber(c.groups)],
      ['days', formatNumber(c.days)],
      ['seed', String(c.seed)],
      ['profile', c.profile],
      ['start', c.start],
      ['rerun', rerunCommand(report)],
      ['tool', `${report.tool} ${report.version}`],
      ['schema', String(report.schema)],
      ['run at', report.host.startedAt],
      ['wall time', `${formatNumber(report.host.wallSeconds, 1)} s`],
    ]),
    element(
      'ul',
      { class: 'totals', id: 'totals' },
      ...totals.map(([label, value]) =>
        element(
          'li',
          {},
          element('span', { class: 'value' }, text(value)),
          element('span', { class: 'label' }, text(label)),
        ),
      ),
    ),
  );
}

/** The whole page, as one string (UTF-8 when written). */
export function renderReportHtml(report: SimulationReport): string {
  const c = report.config;
  const title = `SEkey simulation: ${c.profile}, ${count(c.users, 'user')}, ${count(c.days, 'day')}, seed ${c.seed}`;
  const page = element(
    'html',
    { xmlns: 'http://www.w3.org/1999/xhtml', lang: 'en', 'xml:lang': 'en' },
    element(
      'head',
      {},
      element('meta', { charset: 'utf-8' }),
      element('meta', { name: 'viewport', content: 'width=device-width, initial-scale=1' }),
      element('title', {}, text(title)),
      element('style', {}, raw(REPORT_CSS)),
    ),
    element(
      'body',
      {},
      element(
        'main',
        {},
        header(report),
        element('div', { class: 'charts' }, ...Object.values(REPORT_CHARTS).map((chart) => chart(report))),
        element(
          'footer',
          {},
          text(
            `Rendered from report.json (schema ${report.schema}) by ${report.tool} ${report.version}. ` +
              'Apart from “run at” and “wall time”, the same configuration and seed give the same report.',
          ),
        ),
      ),
    ),
  );
  return join([raw('<!DOCTYPE html>\n'), page, raw('\n')]);
}

/**
 * The command that runs this simulation again, to the same report (the wall time and date aside):
 * every setting `sekey simulate` takes. The start date is fixed (`DEFAULT_SIMULATION_CONFIG`); a report
 * of another start came from the library (`runSimulation`), and says so.
 */
export function rerunCommand(report: SimulationReport): string {
  const c = report.config;
  const command =
    `sekey simulate --users ${c.users} --groups ${c.groups} --days ${c.days} --seed ${c.seed} ` +
    `--profile ${c.profile}`;
  return c.start === DEFAULT_SIMULATION_CONFIG.start
    ? command
    : `${command} (from runSimulation with start ${c.start})`;
}
