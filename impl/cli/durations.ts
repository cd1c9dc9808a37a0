/**
 * Durations and points in time as people type them on a command line, and back. Cryptoperiods are
 * given as `30d`, `12h`, `15m`, `90s` or plain milliseconds; times as ISO 8601, milliseconds since
 * the epoch, or `+DURATION` after the installation's last recorded time (simulations step forward).
 * @module
 */
import type { TimeSpec } from '../host/installation.ts';

const UNIT_MS = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1000, ms: 1 } as const;

/**
 * Parses `30d`, `12h`, `15m`, `90s`, `250ms` or a plain number of milliseconds into a positive safe
 * integer of milliseconds; null if it is none of those.
 */
export function parseDuration(text: string): number | null {
  const m = /^(\d+)(d|h|m|s|ms)?$/.exec(text.trim());
  if (!m) return null;
  const ms = Number(m[1]) * UNIT_MS[(m[2] ?? 'ms') as keyof typeof UNIT_MS];
  return Number.isSafeInteger(ms) && ms > 0 ? ms : null;
}

/** The shortest exact spelling of `ms` in the largest unit that divides it (`2592000000` → `30d`). */
export function formatDuration(ms: number): string {
  for (const unit of ['d', 'h', 'm', 's'] as const) {
    if (ms >= UNIT_MS[unit] && ms % UNIT_MS[unit] === 0) return `${ms / UNIT_MS[unit]}${unit}`;
  }
  return `${ms}ms`;
}

/**
 * Parses `--at`: `+DURATION` (relative), milliseconds since the epoch, or an ISO 8601 date/time
 * (`2026-01-05`, `2026-01-05T09:00Z`); null if it is none of those.
 */
export function parseTimeSpec(text: string): TimeSpec | null {
  if (text.startsWith('+')) {
    const ms = parseDuration(text.slice(1));
    return ms === null ? null : { kind: 'relative', ms };
  }
  if (/^\d+$/.test(text)) {
    const ms = Number(text);
    return Number.isSafeInteger(ms) ? { kind: 'absolute', ms } : null;
  }
  // Only strings that look like ISO dates: Date.parse accepts much more, inconsistently.
  if (!/^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})?)?$/.test(text)) return null;
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? null : { kind: 'absolute', ms };
}

/** A time for people: `2026-01-05 09:00Z`, with seconds only when they are not zero. */
export function formatTime(ms: number): string {
  const iso = new Date(ms).toISOString();
  const seconds = iso.slice(17, 23);
  return `${iso.slice(0, 10)} ${iso.slice(11, 16)}${seconds === '00.000' ? '' : `:${seconds.replace(/\.000$/, '')}`}Z`;
}
