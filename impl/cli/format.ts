/**
 * Plain-text output of the `sekey` command: aligned tables and compact values. Listings also have a
 * `--json` form, which prints the API's own objects instead.
 *
 * Names are the administrator's free text (the original allowed anything; so do we, B7) and reach
 * other people's terminals: every name and cell is printed through {@link printable}, so a name
 * cannot move the cursor, recolour the screen, forge a line of output or reverse the text after it.
 * @module
 */
import { displayWidth, padDisplay } from './displayWidth.ts';
import { formatTime } from './durations.ts';

/**
 * `text` with every control character (C0, DEL, C1: ECMA-48 §5, which terminal escape sequences are
 * made of), line and paragraph separator and bidirectional control (UAX #9 §2, Trojan Source) written
 * as an escape: `\n`, `\t`, `\r`, else `\u{…}`. Idempotent: an escape contains none of them.
 */
export function printable(text: string): string {
  return text.replace(/[\p{Cc}\u2028\u2029\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/gu, (c) => {
    const named: Record<string, string> = { '\n': '\\n', '\t': '\\t', '\r': '\\r' };
    return named[c] ?? `\\u{${(c.codePointAt(0) ?? 0).toString(16)}}`;
  });
}

/**
 * A line as it may reach a terminal: control characters other than newline and tab escaped, as in
 * {@link printable}. The last guard on standard output and error, whatever a line was built from.
 */
export function terminalSafe(line: string): string {
  return line.replace(/(?![\n\t])\p{Cc}/gu, (c) => printable(c));
}

/** A name in quotes, printable: `'alice'`. */
export function quoted(name: string): string {
  return `'${printable(name)}'`;
}

/**
 * Rows under a header, columns padded to their widest cell in terminal columns (CJK and emoji take
 * two: `displayWidth.ts`); cells printable; `(none)` when there are no rows.
 */
export function table(header: readonly string[], rows: ReadonlyArray<readonly string[]>): string[] {
  if (rows.length === 0) return ['(none)'];
  const safe = rows.map((r) => r.map(printable));
  const widths = header.map((h, i) => Math.max(displayWidth(h), ...safe.map((r) => displayWidth(r[i] ?? ''))));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : padDisplay(c, widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(header), ...safe.map(line)];
}

/** `key: value` lines, keys padded; values printable. */
export function fields(entries: ReadonlyArray<readonly [string, string]>): string[] {
  const width = Math.max(...entries.map(([k]) => k.length));
  return entries.map(([k, v]) => `${`${k}:`.padEnd(width + 1)} ${printable(v)}`);
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

/**
 * JSON for `--json`: two-space indented, byte arrays as hex. DEL and the C1 controls (U+007F–U+009F)
 * are written as `\u00XX` escapes: JSON.stringify leaves them raw, and {@link terminalSafe} would then
 * rewrite them as `\u{…}`, which is not JSON. They can only occur inside strings, so the escape keeps
 * the text valid and the same value, and leaves nothing for the terminal guard to change.
 */
export function json(value: unknown): string {
  const hex = (_k: string, v: unknown): unknown => (v instanceof Uint8Array ? Buffer.from(v).toString('hex') : v);
  const text = JSON.stringify(value, hex, 2);
  return text.replace(/[\x7f-\x9f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
