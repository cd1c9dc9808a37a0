/**
 * What every chart of the report shares: its frame (a section with a stable `id` and `data-chart`,
 * a title and a note), its legend (HTML below the drawing, so long names wrap instead of
 * overflowing), and the SVG drawing area with its axes.
 * @module
 */
import { element, join, type Markup, text } from './markup.ts';

/** One legend entry: a colour swatch and a name, with an optional figure after it. */
export interface LegendEntry {
  readonly label: string;
  readonly colour: string;
  readonly value?: string;
  /** Drawn as a dashed line rather than a filled swatch. */
  readonly dashed?: boolean;
}

/** The legend, as a list. */
export function legend(entries: readonly LegendEntry[]): Markup {
  if (entries.length === 0) return join([]);
  return element(
    'ul',
    { class: 'legend' },
    ...entries.map((e) =>
      element(
        'li',
        {},
        element('span', {
          class: e.dashed === true ? 'swatch dashed' : 'swatch',
          style: e.dashed === true ? `border-color:${e.colour}` : `background:${e.colour}`,
        }),
        text(e.label),
        ...(e.value === undefined ? [] : [element('span', { class: 'legend-value' }, text(e.value))]),
      ),
    ),
  );
}

/** A chart section's heading. */
export interface SectionHead {
  /** Stable name: `id="chart-NAME"` and `data-chart="NAME"`, so tests and readers can find it. */
  readonly name: string;
  readonly title: string;
  /** A sentence under the title; empty for none. */
  readonly note: string;
  /** Spans both columns of the page's grid. */
  readonly wide?: boolean;
}

/** A chart's section. */
export function chartSection({ name, title, note, wide }: SectionHead, ...body: readonly Markup[]): Markup {
  return element(
    'section',
    { class: wide === true ? 'chart wide' : 'chart', id: `chart-${name}`, 'data-chart': name },
    element('h2', {}, text(title)),
    ...(note === '' ? [] : [element('p', { class: 'note' }, text(note))]),
    ...body,
  );
}

/** Inner margins of a drawing, room for the axes' ticks and labels. */
export interface Margins {
  readonly top: number;
  readonly right: number;
  readonly bottom: number;
  readonly left: number;
}

/** An SVG drawing `width` × `height` user units that scales to its container's width. */
export function svg(label: string, width: number, height: number, ...children: readonly Markup[]): Markup {
  return element(
    'svg',
    {
      xmlns: 'http://www.w3.org/2000/svg',
      viewBox: `0 0 ${width} ${height}`,
      role: 'img',
      'aria-label': label,
      class: 'drawing',
    },
    element('title', {}, text(label)),
    ...children,
  );
}

/** A vertical axis at `x`: ticks from `y(tick)`, their labels, grid lines to `right`, and its title. */
export function yAxis(
  ticks: readonly number[],
  y: (value: number) => number,
  box: { readonly left: number; readonly right: number; readonly top: number; readonly bottom: number },
  format: (value: number) => string,
  title: string,
): Markup {
  const middle = (box.top + box.bottom) / 2;
  return element(
    'g',
    { class: 'axis y-axis' },
    ...ticks.map((t) =>
      element(
        'g',
        {},
        element('line', { class: 'grid', x1: box.left, x2: box.right, y1: y(t), y2: y(t) }),
        element('text', { x: box.left - 6, y: y(t) + 4, 'text-anchor': 'end' }, text(format(t))),
      ),
    ),
    element('line', { class: 'axis-line', x1: box.left, x2: box.left, y1: box.top, y2: box.bottom }),
    element(
      'text',
      { class: 'axis-title', x: 14, y: middle, 'text-anchor': 'middle', transform: `rotate(-90 14 ${middle})` },
      text(title),
    ),
  );
}

/** A horizontal axis at `box.bottom`: ticks at `x(tick)`, their labels, and its title below. */
export function xAxis(
  ticks: readonly number[],
  x: (value: number) => number,
  box: { readonly left: number; readonly right: number; readonly bottom: number },
  format: (value: number) => string,
  title: string,
): Markup {
  return element(
    'g',
    { class: 'axis x-axis' },
    element('line', { class: 'axis-line', x1: box.left, x2: box.right, y1: box.bottom, y2: box.bottom }),
    ...ticks.map((t) =>
      element(
        'g',
        {},
        element('line', { class: 'tick', x1: x(t), x2: x(t), y1: box.bottom, y2: box.bottom + 5 }),
        element('text', { x: x(t), y: box.bottom + 18, 'text-anchor': 'middle' }, text(format(t))),
      ),
    ),
    element(
      'text',
      { class: 'axis-title', x: (box.left + box.right) / 2, y: box.bottom + 38, 'text-anchor': 'middle' },
      text(title),
    ),
  );
}
