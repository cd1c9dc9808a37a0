/**
 * A chart of values per simulated day: stacked areas (a state at the end of each day, such as keys
 * by state), stacked columns (events counted per day, such as refusals: a column per day, so no
 * slope suggests a value between two days), or lines (quantities to compare, such as files
 * published and applied), with a day axis, a value axis with its unit, and a legend.
 * @module
 */
import { type LegendEntry, legend, svg, xAxis, yAxis } from './chartFrame.ts';
import { dayTicks, formatTick, niceTicks } from './chartScale.ts';
import { element, join, type Markup, num, text } from './markup.ts';

/** One series: a value for each day of the chart, in the chart's day order. */
export interface TimeSeries {
  readonly name: string;
  readonly colour: string;
  readonly values: readonly number[];
  /** Dashed line (lines mode only). */
  readonly dashed?: boolean;
  /** Shown after the name in the legend (a total, a final value). */
  readonly legendValue?: string;
}

/** What to draw. */
export interface TimeChart {
  /** Read by screen readers and shown as the drawing's tooltip. */
  readonly label: string;
  /** Day numbers (1-based), one per point. */
  readonly days: readonly number[];
  readonly series: readonly TimeSeries[];
  readonly mode: 'stacked' | 'columns' | 'lines';
  readonly yTitle: string;
  readonly xTitle: string;
  /** Values are divided by this before drawing (a unit: 1024 for KiB). */
  readonly divisor?: number;
  readonly width?: number;
  readonly height?: number;
}

const MARGIN = { top: 14, right: 18, bottom: 50, left: 62 } as const;

/** The chart's drawing followed by its legend. */
export function timeChart(chart: TimeChart): Markup {
  const width = chart.width ?? 640;
  const height = chart.height ?? 300;
  const box = { left: MARGIN.left, right: width - MARGIN.right, top: MARGIN.top, bottom: height - MARGIN.bottom };
  const divisor = chart.divisor ?? 1;
  const series = chart.series.map((s) => ({ ...s, values: s.values.map((v) => v / divisor) }));
  const n = chart.days.length;
  const stacked = chart.mode !== 'lines';
  // Running sums of the series below (stacked) or zero (lines): each series is drawn from base to top.
  const base: number[][] = [];
  const top: number[][] = [];
  let below = Array.from({ length: n }, () => 0);
  for (const s of series) {
    const upper = s.values.map((v, i) => (stacked ? (below[i] ?? 0) : 0) + v);
    base.push(stacked ? below : below.map(() => 0));
    top.push(upper);
    if (stacked) below = upper;
  }
  const max = Math.max(0, ...top.flat());
  // Counts (no unit divisor) get whole ticks.
  const ticks = niceTicks(max, 5, divisor === 1 ? 1 : 0);
  const yMax = ticks.at(-1) ?? 1;
  const first = chart.days[0] ?? 1;
  const last = chart.days.at(-1) ?? first;
  // Columns, and one day alone, are drawn a day wide, centred on their day.
  const [x0, x1] = first === last || chart.mode === 'columns' ? [first - 0.5, last + 0.5] : [first, last];
  const x = (day: number): number => box.left + ((day - x0) / (x1 - x0)) * (box.right - box.left);
  const y = (value: number): number => box.bottom - (value / yMax) * (box.bottom - box.top);
  const xs = first === last ? [x0, x1] : chart.days;
  const at = (values: readonly number[], i: number): number => values[first === last ? 0 : i] ?? 0;
  const points = (values: readonly number[]): string[] => xs.map((d, i) => `${num(x(d))},${num(y(at(values, i)))}`);

  const dayWidth = (box.right - box.left) / Math.max(1, x1 - x0);
  const shapes = series.map((s, k) => {
    const tip = element('title', {}, text(s.name));
    if (chart.mode === 'columns') {
      const columns = chart.days.flatMap((d, i) => {
        const [low, high] = [y(base[k]?.[i] ?? 0), y(top[k]?.[i] ?? 0)];
        if (low - high <= 0) return [];
        const w = Math.max(1, dayWidth * 0.8);
        return [element('rect', { x: x(d) - w / 2, y: high, width: w, height: low - high })];
      });
      return element('g', { class: 'columns', fill: s.colour }, tip, ...columns);
    }
    if (chart.mode === 'stacked') {
      const d = `M${[...points(top[k] ?? []), ...points(base[k] ?? []).reverse()].join('L')}Z`;
      return element('path', { class: 'area', d, fill: s.colour, stroke: s.colour }, tip);
    }
    return element(
      'polyline',
      {
        class: s.dashed === true ? 'series dashed' : 'series',
        points: points(top[k] ?? []).join(' '),
        stroke: s.colour,
        fill: 'none',
      },
      tip,
    );
  });
  const entries: LegendEntry[] = chart.series.map((s) => ({
    label: s.name,
    colour: s.colour,
    ...(s.legendValue === undefined ? {} : { value: s.legendValue }),
    ...(chart.mode === 'lines' && s.dashed === true ? { dashed: true } : {}),
  }));
  return join([
    svg(
      chart.label,
      width,
      height,
      yAxis(ticks, y, box, formatTick, chart.yTitle),
      element('g', { class: 'plot' }, ...(n === 0 ? [] : shapes)),
      xAxis(dayTicks(last), x, box, String, chart.xTitle),
    ),
    legend(entries),
  ]);
}
