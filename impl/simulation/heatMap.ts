/**
 * The flash-wear heat map: one row per device, one column per flash sector, each cell coloured by
 * the sector's lifetime erase count, with a colour scale and its legend. The scale is a square root
 * of the count: a device's few hot sectors (its state journal) are erased far more often than the
 * rest, and a linear scale would paint every other sector the same pale colour.
 * @module
 */
import { svg } from './chartFrame.ts';
import { count, formatTick, niceTicks } from './chartScale.ts';
import { element, type Markup, num, text } from './markup.ts';
import { heatColour, heatStops, NEVER_ERASED } from './palette.ts';

/** One row. */
export interface HeatRow {
  readonly name: string;
  readonly values: readonly number[];
}

/** What to draw. */
export interface HeatMap {
  readonly label: string;
  readonly rows: readonly HeatRow[];
  readonly xTitle: string;
  /** What a cell counts, one of it (`erase`): `3 erases` in the tooltips, `erases` in the legend. */
  readonly valueNoun: string;
  /** Rows past this many are left out (the caller says which and why). */
  readonly maxRows?: number;
  readonly width?: number;
  /**
   * A second row of labels under the column numbers, one per column (a sector's size); a run of
   * equal neighbours is written once, centred under the run, with a bracket.
   */
  readonly columnNotes?: readonly string[];
}

const ROW = 17;
const NAME_CHARS = 12;

/** Runs of equal neighbours in `notes`: `[a, a, b]` → `a` over 0–1, `b` over 2. */
export function noteRuns(notes: readonly string[]): { note: string; from: number; to: number }[] {
  const runs: { note: string; from: number; to: number }[] = [];
  notes.forEach((note, i) => {
    const last = runs.at(-1);
    if (last !== undefined && last.note === note && last.to === i - 1) last.to = i;
    else runs.push({ note, from: i, to: i });
  });
  return runs;
}

/** The heat map and its colour scale, in one drawing. */
export function heatMap(map: HeatMap): Markup {
  const width = map.width ?? 640;
  const rows = map.rows.slice(0, map.maxRows ?? map.rows.length);
  const columns = Math.max(1, ...rows.map((r) => r.values.length));
  const max = Math.max(0, ...rows.flatMap((r) => r.values));
  // About 7.5 user units per character at the 12-unit font, and room on both sides of the names.
  const left = 16 + 7.5 * Math.min(NAME_CHARS, Math.max(5, ...rows.map((r) => [...r.name].length)));
  const maxColumn = 56;
  const right = width - maxColumn;
  const cell = (right - left) / columns;
  const top = 22;
  const bottom = top + rows.length * ROW;
  const shade = (v: number): string => (v <= 0 ? NEVER_ERASED : heatColour(Math.sqrt(v / Math.max(1, max))));
  const cells = rows.flatMap((r, i) =>
    r.values.map((v, c) =>
      element(
        'rect',
        { x: left + c * cell, y: top + i * ROW, width: cell - 1, height: ROW - 1, fill: shade(v) },
        element('title', {}, text(`${r.name}, sector ${c}: ${count(v, map.valueNoun)}`)),
      ),
    ),
  );
  const names = rows.map((r, i) => {
    const chars = [...r.name];
    const short = chars.length <= NAME_CHARS ? r.name : `${chars.slice(0, NAME_CHARS - 1).join('')}…`;
    return element(
      'text',
      { class: 'row-name', x: left - 6, y: top + i * ROW + 12, 'text-anchor': 'end' },
      element('title', {}, text(r.name)),
      text(short),
    );
  });
  const rowMax = rows.map((r, i) =>
    element(
      'text',
      { class: 'row-max', x: right + 6, y: top + i * ROW + 12 },
      text(formatTick(Math.max(0, ...r.values))),
    ),
  );
  const columnLabels = Array.from({ length: columns }, (_, c) =>
    element('text', { x: left + c * cell + cell / 2, y: bottom + 14, 'text-anchor': 'middle' }, text(c)),
  );
  const notes = noteRuns(map.columnNotes ?? []).map(({ note, from, to }) => {
    const [x0, x1] = [left + from * cell + 2, left + (to + 1) * cell - 3];
    return element(
      'g',
      { class: 'column-note' },
      element('path', { d: `M${num(x0)},${bottom + 19}v4H${num(x1)}v-4`, fill: 'none' }),
      element('text', { x: (x0 + x1) / 2, y: bottom + 34, 'text-anchor': 'middle' }, text(note)),
    );
  });
  // The legend: a gradient bar under the map, ticks at round counts placed on the square-root scale.
  const legendTop = bottom + 80;
  const legendLeft = left;
  const legendWidth = Math.min(320, right - left);
  const ticks = niceTicks(Math.max(1, max), 4, 1).filter((t) => t <= Math.max(1, max));
  const tickX = (t: number): number => legendLeft + Math.sqrt(t / Math.max(1, max)) * legendWidth;
  const gradientId = 'wear-scale';
  const legend = element(
    'g',
    { class: 'heat-legend' },
    element(
      'defs',
      {},
      element(
        'linearGradient',
        { id: gradientId, x1: '0', x2: '1', y1: '0', y2: '0' },
        ...heatStops().map(([offset, colour]) => element('stop', { offset: num(offset), 'stop-color': colour })),
      ),
    ),
    element(
      'text',
      { class: 'axis-title', x: legendLeft, y: legendTop - 6 },
      text(`${map.valueNoun}s (colour scale, square root)`),
    ),
    element('rect', { x: legendLeft, y: legendTop, width: legendWidth, height: 12, fill: `url(#${gradientId})` }),
    ...ticks.map((t) =>
      element(
        'g',
        {},
        element('line', { class: 'tick', x1: tickX(t), x2: tickX(t), y1: legendTop + 12, y2: legendTop + 16 }),
        element('text', { x: tickX(t), y: legendTop + 28, 'text-anchor': 'middle' }, text(formatTick(t))),
      ),
    ),
    element('rect', {
      x: legendLeft + legendWidth + 24,
      y: legendTop,
      width: 12,
      height: 12,
      fill: NEVER_ERASED,
      stroke: '#b8bec7',
    }),
    element('text', { x: legendLeft + legendWidth + 42, y: legendTop + 10 }, text('never erased')),
  );
  const height = legendTop + 40;
  return svg(
    map.label,
    width,
    height,
    element('g', { class: 'cells' }, ...cells),
    ...names,
    element('text', { class: 'column-head', x: right + 6, y: top - 8 }, text('max')),
    ...rowMax,
    ...columnLabels,
    ...notes,
    element(
      'text',
      { class: 'axis-title', x: (left + right) / 2, y: bottom + 52, 'text-anchor': 'middle' },
      text(map.xTitle),
    ),
    legend,
  );
}
