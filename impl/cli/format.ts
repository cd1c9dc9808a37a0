/**
 * Plain-text output of the `sekey` command: aligned tables and compact values. Listings also have a
 * `--json` form, which prints the API's own objects instead.
 * @module
 */
import { formatTime } from './durations.ts';

/** Rows under a header, columns padded to their widest cell; `(none)` when there are no rows. */
export function table(header: readonly string[], rows: ReadonlyArray<readonly string[]>): string[] {
  if (rows.length === 0) return ['(none)'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)];
}

/** `key: value` lines, keys padded. */
export function fields(entries: ReadonlyArray<readonly [string, string]>): string[] {
  const width = Math.max(...entries.map(([k]) => k.length));
  return entries.map(([k, v]) => `${`${k}:`.padEnd(width + 1)} ${v}`);
}

/** A time, or `-` when unset. */
export function when(ms: number | null | undefined): string {
  return ms === null || ms === undefined ? '-' : formatTime(ms);
}

/** A list of IDs, or `-` when empty. */
export function ids(list: readonly string[]): string {
  return list.length === 0 ? '-' : list.join(',');
}

/** A byte count with thousands separators: `12,345 B`. */
export function bytes(n: number): string {
  return `${n.toLocaleString('en-US')} B`;
}

/** JSON for `--json`: two-space indented, byte arrays as hex. */
export function json(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => (v instanceof Uint8Array ? Buffer.from(v).toString('hex') : v), 2);
}
