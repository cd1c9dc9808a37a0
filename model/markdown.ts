/**
 * The few Markdown forms the generated specification uses: inline code, tables, and the heading
 * anchors GitHub derives (so the table of contents and the links inside `docs/spec.md` resolve).
 * @module
 */

/** `text` as inline code; empty text stays empty. */
export function inlineCode(text: string): string {
  return text === '' ? '' : `\`${text}\``;
}

/** A Markdown table; a `|` inside a cell is escaped so it cannot split the cell. */
export function markdownTable(head: readonly string[], rows: readonly (readonly string[])[]): string {
  const line = (cells: readonly string[]) => `| ${cells.map((c) => c.replaceAll('|', '\\|')).join(' | ')} |`;
  return [line(head), line(head.map(() => '---')), ...rows.map(line)].join('\n');
}

/**
 * The anchor GitHub gives a heading: lower case, punctuation other than `-` and `_` dropped, spaces
 * made `-`; `taken` counts the anchors seen so far, and a repeated one gets `-1`, `-2`, … as on GitHub.
 */
export function headingAnchor(heading: string, taken: Map<string, number>): string {
  const base = heading
    .toLowerCase()
    .replace(/[^\p{L}\p{N} _-]/gu, '')
    .replace(/ /g, '-');
  const seen = taken.get(base) ?? 0;
  taken.set(base, seen + 1);
  return seen === 0 ? base : `${base}-${seen}`;
}
