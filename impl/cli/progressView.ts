/**
 * A progress line on a terminal: redrawn in place on standard error (carriage return, then ECMA-48
 * §8.3.41 EL "erase in line"), cut to the terminal's width, cleared at the end; nothing at all when
 * the stream is not a terminal (a pipe or a file gets no escape codes). Shared by `sekey simulate`
 * and the property runner (`properties/runner/`).
 * @module
 */

/** Redraws one line on a terminal stream; does nothing elsewhere. */
export class ProgressView {
  private shown = false;
  private readonly stream: NodeJS.WriteStream;

  constructor(stream: NodeJS.WriteStream) {
    this.stream = stream;
  }

  /** Whether the stream is a terminal. */
  get enabled(): boolean {
    return this.stream.isTTY === true;
  }

  /** Shows `text` in place of the previous line, cut to the terminal's width. */
  show(text: string): void {
    if (!this.enabled) return;
    // A pseudo-terminal of unknown size reports 0 columns: then assume a common width.
    const columns = this.stream.columns ?? 0;
    const width = columns > 0 ? columns : 120;
    this.stream.write(`\r\x1b[2K${text.length > width - 1 ? `${text.slice(0, width - 2)}…` : text}`);
    this.shown = true;
  }

  /** Clears the line, so that what follows starts on a clean line. */
  clear(): void {
    if (!this.shown) return;
    this.stream.write('\r\x1b[2K');
    this.shown = false;
  }
}

/** A time span for people on a progress line: `45s`, `2m05s`, `1h02m`. */
export function formatElapsed(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}
