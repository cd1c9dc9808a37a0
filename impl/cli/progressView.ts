/**
 * A progress line on a terminal: redrawn in place on standard error (carriage return, then ECMA-48
 * §8.3.41 EL "erase in line"), cut to the terminal's width, cleared at the end. A pipe or a file
 * gets no escape codes: only a plain line, once a minute (`everyMs`) and never in the first one, so
 * that a long run under `nohup` or a batch system shows in its log that it is alive and how far it
 * got, while a short one writes nothing there. Shared by `sekey simulate` and the property runner
 * (`properties/runner/`).
 * @module
 */

/** How often a stream that is not a terminal gets the progress, as a line of its own. */
export const LOGGED_PROGRESS_EVERY_MS = 60_000;

/** Redraws one line on a terminal stream; elsewhere, writes it as a line now and then. */
export class ProgressView {
  private shown = false;
  private readonly stream: NodeJS.WriteStream;
  private readonly everyMs: number;
  private readonly now: () => number;
  private lastLogged: number;

  constructor(stream: NodeJS.WriteStream, options: { everyMs?: number; now?: () => number } = {}) {
    this.stream = stream;
    this.everyMs = options.everyMs ?? LOGGED_PROGRESS_EVERY_MS;
    this.now = options.now ?? Date.now;
    this.lastLogged = this.now();
  }

  /** Whether the stream is a terminal. */
  get enabled(): boolean {
    return this.stream.isTTY === true;
  }

  /**
   * Shows `text` in place of the previous line, cut to the terminal's width; off a terminal, writes
   * it whole on a line of its own once `everyMs` has passed since the last one (or the start).
   */
  show(text: string): void {
    if (!this.enabled) {
      const now = this.now();
      if (now - this.lastLogged < this.everyMs) return;
      this.lastLogged = now;
      this.stream.write(`${text}\n`);
      return;
    }
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
