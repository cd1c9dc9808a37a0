/**
 * A horizontal bar chart: one bar per name, longest first, the value written at its end. Horizontal
 * so that long names (operation kinds, error codes) stay readable at any count.
 * @module
 */
import { svg, xAxis } from './chartFrame.ts';
import { formatTick, niceTicks } from './chartScale.ts';
import { element, join, type Markup, text } from './markup.ts';

/** One bar. */
export interface Bar {
  readonly name: string;
  readonly value: number;
  /** The value as written at the bar's end (with its unit). */
  readonly label: string;
  readonly colour: string;
}

/** What to draw. */
export interface BarChart {
  readonly label: string;
  readonly bars: readonly Bar[];
  /** The value axis' title, with its unit. */
  readonly xTitle: string;
  /** Values are divided by this on the axis (a unit). */
  readonly divisor?: number;
  readonly width?: number;
  /** At most this many bars; the rest are summed into one "N others" bar. */
  readonly maxBars?: number;
}

const ROW = 24;
const NAME_CHARS = 30;

/** `name` cut to {@link NAME_CHARS} characters, with an ellipsis when cut. */
function shortName(name: string): string {
  const chars = [...name];
  return chars.length <= NAME_CHARS ? name : `${chars.slice(0, NAME_CHARS - 1).join('')}…`;
}

/** The bars, largest first (then by name), the tail past `maxBars` summed as one. */
export function rankedBars(
  bars: readonly Bar[],
  maxBars: number,
  othersColour: string,
  format: (v: number) => string,
): Bar[] {
  const sorted = [...bars].sort((a, b) => b.value - a.value || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  if (sorted.length <= maxBars) return sorted;
  const rest = sorted.slice(maxBars - 1);
  const value = rest.reduce((sum, b) => sum + b.value, 0);
  return [
    ...sorted.slice(0, maxBars - 1),
    { name: `${rest.length} others`, value, label: format(value), colour: othersColour },
  ];
}

/** The drawing; a sentence instead when there is nothing to draw. */
export function barChart(chart: BarChart): Markup {
  if (chart.bars.length === 0) return element('p', { class: 'empty' }, text('None in this run.'));
  const width = chart.width ?? 640;
  const divisor = chart.divisor ?? 1;
  const longest = Math.max(...chart.bars.map((b) => [...shortName(b.name)].length));
  // About 7 user units per character at the 12-unit font: the names' column fits the longest one.
  const left = Math.min(230, Math.max(80, longest * 7 + 16));
  const valueRoom = 86;
  const box = { left, right: width - valueRoom, top: 8, bottom: 8 + chart.bars.length * ROW };
  const height = box.bottom + 50;
  const ticks = niceTicks(Math.max(0, ...chart.bars.map((b) => b.value / divisor)), 4);
  const xMax = ticks.at(-1) ?? 1;
  const x = (value: number): number => box.left + (value / xMax) * (box.right - box.left);
  const rows = chart.bars.map((b, i) => {
    const yTop = box.top + i * ROW + 4;
    const barWidth = Math.max(b.value > 0 ? 1 : 0, x(b.value / divisor) - box.left);
    return element(
      'g',
      { class: 'bar' },
      element('title', {}, text(`${b.name}: ${b.label}`)),
      element(
        'text',
        { class: 'bar-name', x: box.left - 8, y: yTop + 12, 'text-anchor': 'end' },
        text(shortName(b.name)),
      ),
      element('rect', { x: box.left, y: yTop, width: barWidth, height: ROW - 8, fill: b.colour }),
      element('text', { class: 'bar-value', x: box.left + barWidth + 6, y: yTop + 12 }, text(b.label)),
    );
  });
  return join([
    svg(
      chart.label,
      width,
      height,
      ...ticks.map((t) => element('line', { class: 'grid', x1: x(t), x2: x(t), y1: box.top, y2: box.bottom })),
      ...rows,
      xAxis(ticks, x, box, formatTick, chart.xTitle),
    ),
  ]);
}
