/**
 * The report's charts, each drawn from `report.json` alone: keys by state, operations by kind,
 * update traffic, refusals and stale users, flash wear, HSM time.
 * @module
 */
import { DEFAULT_ENDURANCE } from '../../device/flash.ts';
import { STM32F429_SECTORS } from '../../device/flashGeometry.ts';
import { SD_SECTOR_SIZE } from '../../device/sdcard.ts';
import { KEY_STATES } from '../../model/keyLifecycle.ts';
import { type Bar, barChart, rankedBars } from './barChart.ts';
import { chartSection } from './chartFrame.ts';
import { byteUnit, count, formatBytes, formatNumber, formatSeconds, secondUnit } from './chartScale.ts';
import { heatMap } from './heatMap.ts';
import { element, type Markup, text } from './markup.ts';
import { KEY_STATE_STYLE, seriesColour } from './palette.ts';
import type { SimulationReport, UpdateTraffic } from './simulationReport.ts';
import { timeChart } from './timeChart.ts';

/** The day axis' title: what day 1 is. */
function dayTitle(report: SimulationReport): string {
  const first = report.days[0]?.date ?? report.config.start.slice(0, 10);
  return `simulated day (day 1 = ${first})`;
}

/** One drawing of a pair shown side by side, with its own heading. */
function panel(title: string, drawing: Markup): Markup {
  return element('div', { class: 'panel' }, element('h3', {}, text(title)), drawing);
}

/** Keys by NIST state at the end of each day, stacked: the height is every key the admin knows. */
export function keysByStateChart(report: SimulationReport): Markup {
  const series = KEY_STATES.map((state) => ({
    name: KEY_STATE_STYLE[state].label,
    colour: KEY_STATE_STYLE[state].colour,
    values: report.days.map((d) => d.keysByState[state] ?? 0),
    legendValue: formatNumber(report.totals.keysByState[state] ?? 0),
  }));
  return chartSection(
    {
      name: 'keys-by-state',
      title: 'Keys by state',
      note:
        "Keys in the admin's database at the end of each day, by NIST SP 800-57 state, stacked; " +
        'the legend gives the count at the end of the run.',
    },
    timeChart({
      label: 'Keys by NIST SP 800-57 state at the end of each simulated day (stacked areas)',
      days: report.days.map((d) => d.day),
      series,
      mode: 'stacked',
      yTitle: 'keys',
      xTitle: dayTitle(report),
    }),
  );
}

/**
 * Bars of the operations chart: every kind a run can have (21 of the organisation's, 18 attack kinds,
 * and each of them again as `(nothing to attack)`), each on its own. At 16 bars a hostile run's rarer
 * attacks were summed into an "others" bar, in another colour than attacks, which hid what the run
 * was for.
 */
export const OPERATION_BARS = 57;

/** Every operation run, by kind; attacks in their own colour. */
export function operationsChart(report: SimulationReport): Markup {
  const bars: Bar[] = Object.entries(report.totals.operationsByKind).map(([name, value]) => ({
    name,
    value,
    label: formatNumber(value),
    colour: name.startsWith('attack') ? seriesColour(3) : seriesColour(0),
  }));
  return chartSection(
    {
      name: 'operations',
      title: 'Operations by kind',
      note:
        `${count(report.totals.operations, 'operation')} over ${count(report.days.length, 'day')}; ` +
        'attacks in red.',
    },
    barChart({
      label: 'Operations run over the whole simulation, by kind (horizontal bars)',
      bars: rankedBars(bars, OPERATION_BARS, seriesColour(7), (v) => formatNumber(v)),
      xTitle: 'operations (count, whole run)',
    }),
  );
}

/** One panel of the traffic chart: what was published and what was applied, per day. */
function trafficPanel(
  report: SimulationReport,
  what: { readonly title: string; readonly published: keyof UpdateTraffic; readonly applied: keyof UpdateTraffic },
  format: (n: number) => string,
  yTitle: string,
  divisor: number,
): Markup {
  const t = report.totals.updates;
  const series = (name: string, key: keyof UpdateTraffic, colour: string, dashed: boolean) => ({
    name,
    colour,
    dashed,
    values: report.days.map((d) => d.updates[key]),
    legendValue: format(t[key]),
  });
  return panel(
    what.title,
    timeChart({
      label: `Update ${what.title.toLowerCase()} published and applied per simulated day (lines)`,
      days: report.days.map((d) => d.day),
      series: [
        series('published', what.published, seriesColour(0), false),
        series('applied', what.applied, seriesColour(1), true),
      ],
      mode: 'lines',
      yTitle,
      xTitle: dayTitle(report),
      divisor,
      height: 260,
    }),
  );
}

/** Update files and bytes, published by the admin and applied by users' HSMs, per day. */
export function updateTrafficChart(report: SimulationReport): Markup {
  const t = report.totals.updates;
  const bytesMax = Math.max(0, ...report.days.flatMap((d) => [d.updates.bytesPublished, d.updates.bytesApplied]));
  const unit = byteUnit(bytesMax);
  return chartSection(
    {
      name: 'update-traffic',
      title: 'Update traffic per day',
      note:
        "Update files the admin published to the share and users' HSMs applied. Whole run: " +
        `${formatNumber(t.filesPublished)} files (${formatBytes(t.bytesPublished)}) published, ` +
        `${formatNumber(t.filesApplied)} files (${formatBytes(t.bytesApplied)}) applied.`,
      wide: true,
    },
    element(
      'div',
      { class: 'pair' },
      trafficPanel(
        report,
        { title: 'Files', published: 'filesPublished', applied: 'filesApplied' },
        formatNumber,
        'files per day',
        1,
      ),
      trafficPanel(
        report,
        { title: 'Bytes', published: 'bytesPublished', applied: 'bytesApplied' },
        formatBytes,
        `${unit.name} per day`,
        unit.divisor,
      ),
    ),
  );
}

/** Refusals per day by reason (stacked), and users whose replica is stale at the end of each day. */
export function refusalsChart(report: SimulationReport): Markup {
  const days = report.days.map((d) => d.day);
  const reasons = Object.entries(report.totals.refusals).sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  const shown = reasons.length <= 7 ? reasons : reasons.slice(0, 6);
  const others = reasons.slice(shown.length).map(([name]) => name);
  const series = shown.map(([name, total], i) => ({
    name,
    colour: seriesColour(i),
    values: report.days.map((d) => d.refusals[name] ?? 0),
    legendValue: formatNumber(total),
  }));
  if (others.length > 0) {
    series.push({
      name: `${others.length} other reasons`,
      colour: seriesColour(7),
      values: report.days.map((d) => others.reduce((sum, name) => sum + (d.refusals[name] ?? 0), 0)),
      legendValue: formatNumber(reasons.slice(shown.length).reduce((sum, [, n]) => sum + n, 0)),
    });
  }
  const refusals = reasons.reduce((sum, [, n]) => sum + n, 0);
  const staleMax = Math.max(0, ...report.days.map((d) => d.staleUsers));
  return chartSection(
    {
      name: 'refusals-stale',
      title: 'Refusals and stale users',
      note:
        `Operations refused, by error code (${formatNumber(refusals)} in all), and users whose replica was ` +
        `stale at the end of each day (at most ${formatNumber(staleMax)} of ${formatNumber(report.config.users)}).`,
      wide: true,
    },
    element(
      'div',
      { class: 'pair' },
      panel(
        'Refusals per day, by reason',
        reasons.length === 0
          ? element('p', { class: 'empty' }, text('No operation was refused.'))
          : timeChart({
              label: 'Refused operations per simulated day, by error code (stacked columns)',
              days,
              series,
              mode: 'columns',
              yTitle: 'refusals per day',
              xTitle: dayTitle(report),
              height: 260,
            }),
      ),
      panel(
        'Stale users',
        timeChart({
          label: 'Users with a stale replica at the end of each simulated day (line)',
          days,
          series: [
            {
              name: 'stale users',
              colour: seriesColour(3),
              values: report.days.map((d) => d.staleUsers),
              legendValue: `max ${formatNumber(staleMax)}`,
            },
          ],
          mode: 'lines',
          yTitle: `users (of ${formatNumber(report.config.users)})`,
          xTitle: dayTitle(report),
          height: 260,
        }),
      ),
    ),
  );
}

/** `U10` after `U9`: names compared with their numbers as numbers. */
function naturalOrder(a: string, b: string): number {
  return a.localeCompare(b, 'en', { numeric: true });
}

/** At most this many devices in the heat map: the admin, then the most worn. */
const HEAT_MAP_ROWS = 40;

/** Lifetime erases per sector per device, devices as rows. */
export function flashWearChart(report: SimulationReport): Markup {
  const wear = [...report.flashWear].sort((a, b) =>
    a.role === b.role ? naturalOrder(a.device, b.device) : a.role === 'admin' ? -1 : 1,
  );
  let rows = wear;
  let left = '';
  if (wear.length > HEAT_MAP_ROWS) {
    const worst = (w: (typeof wear)[number]): number => Math.max(0, ...w.sectorErases);
    const kept = new Set(
      [...wear]
        .sort((a, b) => (a.role === 'admin' ? -1 : b.role === 'admin' ? 1 : worst(b) - worst(a)))
        .slice(0, HEAT_MAP_ROWS),
    );
    rows = wear.filter((w) => kept.has(w));
    left =
      ` Shown: the admin HSM and the ${formatNumber(rows.length - 1)} most worn of the others (ties by name); ` +
      `the other ${formatNumber(wear.length - rows.length)} of ${formatNumber(wear.length)} devices are no more ` +
      'worn than those shown (all are in report.json).';
  }
  const columns = Math.max(0, ...rows.map((w) => w.sectorErases.length));
  const geometry = columns === STM32F429_SECTORS.length;
  return chartSection(
    {
      name: 'flash-wear',
      title: 'Flash wear',
      note:
        'Lifetime erase count of each flash sector of each HSM at the end of the run; the highest is ' +
        `${formatNumber(report.totals.maxSectorErases)} (the STM32F429 datasheet, DS9405, guarantees ` +
        `${formatNumber(DEFAULT_ENDURANCE)} erase cycles per sector).${left}${sdWritesNote(report)}`,
    },
    rows.length === 0
      ? element('p', { class: 'empty' }, text('No device reported its flash.'))
      : heatMap({
          label: 'Flash sector erase counts per device (heat map, devices by sectors)',
          rows: rows.map((w) => ({ name: w.device, values: w.sectorErases })),
          xTitle: geometry ? 'flash sector (RM0090 numbering), bracketed by sector size in KiB' : 'flash sector',
          valueNoun: 'erase',
          ...(geometry ? { columnNotes: STM32F429_SECTORS.map((s) => `${s.size / 1024}`) } : {}),
        }),
  );
}

/**
 * What the SD cards took: the admin's card and the most written user card, in bytes written over the
 * run (every commit writes its changed pages, its manifest and, for the admin, its audit record).
 */
export function sdWritesNote(report: SimulationReport): string {
  const bytesOf = (w: (typeof report.flashWear)[number]) => w.sdSectorsWritten * SD_SECTOR_SIZE;
  const admin = report.flashWear.find((w) => w.role === 'admin');
  const users = report.flashWear.filter((w) => w.role === 'user');
  if (admin === undefined) return '';
  const most = users.reduce<(typeof users)[number] | undefined>(
    (m, w) => (m === undefined || w.sdSectorsWritten > m.sdSectorsWritten ? w : m),
    undefined,
  );
  const perDay = (bytes: number) => formatBytes(bytes / Math.max(1, report.days.length));
  return (
    ` SD cards: ${formatBytes(bytesOf(admin))} written to the admin's (${perDay(bytesOf(admin))} a day)` +
    (most === undefined
      ? '.'
      : `, at most ${formatBytes(bytesOf(most))} to a user's (${most.device}, ${perDay(bytesOf(most))} a day).`)
  );
}

/** Modelled HSM time per operation kind over the whole run: cycles divided by the clock. */
export function hsmTimeChart(report: SimulationReport): Markup {
  const hz = report.totals.clockHz;
  const seconds = Object.entries(report.totals.hsmCycles).map(([name, cycles]) => ({ name, seconds: cycles / hz }));
  const unit = secondUnit(Math.max(0, ...seconds.map((s) => s.seconds)));
  const bars = seconds.map((s) => ({
    name: s.name,
    value: s.seconds,
    label: formatSeconds(s.seconds),
    colour: seriesColour(2),
  }));
  return chartSection(
    {
      name: 'hsm-time',
      title: 'HSM time by operation',
      note:
        `Modelled device time, all HSMs, whole run: cycles ÷ ${formatNumber(hz / 1e6)} MHz clock. ` +
        `Total ${formatSeconds(report.totals.hsmSeconds)}.`,
    },
    barChart({
      label: 'Modelled HSM time per operation kind over the whole simulation (horizontal bars)',
      bars: rankedBars(bars, OPERATION_BARS, seriesColour(7), formatSeconds),
      xTitle: `HSM time (${unit.name}, whole run)`,
      divisor: unit.divisor,
    }),
  );
}
