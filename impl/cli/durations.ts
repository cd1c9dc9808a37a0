/**
 * Durations and points in time as people type them on a command line, and back. Durations
 * (cryptoperiods, `--stale-after`, `--heartbeat`, `--freshness`, `+DURATION`) are given as `30d`,
 * `12h`, `15m`, `90s` or `500ms`, always with a unit (a bare number is refused); times as ISO 8601,
 * milliseconds since the epoch, or `+DURATION` after the installation's last recorded time
 * (simulations step forward).
 * @module
 */
import type { TimeSpec } from '../host/sessionClock.ts';
import { LATEST_TIME_MS } from '../host/sessionClock.ts';
import { DATE_LIMIT_MS, MAX_CRYPTOPERIOD_MS } from '../../model/kms.ts';

const UNIT_MS = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1000, ms: 1 } as const;

/**
 * The longest duration the command accepts: 100 years (36525d). NIST SP 800-57 Pt 1 Rev 5 §5.3.6
 * recommends cryptoperiods of at most a few years for every key type, so this bounds typing
 * mistakes, not policy; and every time it can add to a date in the KMS (now + a cryptoperiod)
 * stays far inside the range of a date (ECMA-262 §21.4.1.1, ±8.64e15 ms), where a larger one made
 * every later listing fail on an invalid time. It is the model's bound on a cryptoperiod
 * (`MAX_CRYPTOPERIOD_MS`, `InvalidPolicy` beyond it).
 */
export const MAX_DURATION_MS = MAX_CRYPTOPERIOD_MS;

/**
 * Parses `30d`, `12h`, `15m`, `90s` or `250ms` into a positive integer of milliseconds of at most
 * {@link MAX_DURATION_MS}; null if it is none of those. The unit is required: a bare `30` read as
 * milliseconds (as it was) gave a group keys that expire at once to an administrator who meant days.
 */
export function parseDuration(text: string): number | null {
  const m = /^(\d+)(d|h|m|s|ms)$/.exec(text.trim());
  if (!m) return null;
  const ms = Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS];
  return Number.isSafeInteger(ms) && ms > 0 && ms <= MAX_DURATION_MS ? ms : null;
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
 * (`2026-01-05`, `2026-01-05T09:00Z`), from the epoch to {@link LATEST_TIME_MS}; null if it is none of those.
 */
export function parseTimeSpec(text: string): TimeSpec | null {
  if (text.startsWith('+')) {
    const ms = parseDuration(text.slice(1));
    return ms === null ? null : { kind: 'relative', ms };
  }
  if (/^\d+$/.test(text)) {
    const ms = Number(text);
    return Number.isSafeInteger(ms) && ms <= LATEST_TIME_MS ? { kind: 'absolute', ms } : null;
  }
  // Only strings that look like ISO dates: Date.parse accepts much more, inconsistently.
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,3})?)?(?:Z|[+-]\d{2}:\d{2})?)?$/.exec(
    text,
  );
  if (!m) return null;
  // Real calendar dates and clock times only (ISO 8601-1 §5.2.2, §5.3.1): Date.parse rolls
  // 2026-02-30 over to 2 March and 24:00 to the next day, and time never goes back afterwards.
  const [year, month, day, hour, minute, second] = m.slice(1).map((v) => (v === undefined ? 0 : Number(v)));
  const date = new Date(Date.UTC(year ?? 0, (month ?? 0) - 1, day ?? 0));
  if (date.getUTCMonth() !== (month ?? 0) - 1 || date.getUTCDate() !== day) return null;
  if ((hour ?? 0) > 23 || (minute ?? 0) > 59 || (second ?? 0) > 59) return null;
  const ms = Date.parse(text);
  // The range the milliseconds branch keeps too: a time before the epoch became an installation's
  // last time, negative, which no command could open again; one past the year 9999 is no ISO date.
  return Number.isNaN(ms) || ms < 0 || ms > LATEST_TIME_MS ? null : { kind: 'absolute', ms };
}

/**
 * A time for people: `2026-01-05 09:00Z`, with seconds only when they are not zero; `never` for a
 * time past what a date can hold (an installation made before durations were bounded may have one).
 */
export function formatTime(ms: number): string {
  if (!Number.isFinite(ms) || Math.abs(ms) > DATE_LIMIT_MS) return 'never';
  // Split at the T, not at fixed offsets: past the year 9999 the year has six digits and a sign
  // (`+010099-12-31T23:00:00.000Z`, ECMA-262 §21.4.1.32), which slicing garbled.
  const [date, time = ''] = new Date(ms).toISOString().split('T');
  const seconds = time.slice(6, 12);
  return `${date} ${time.slice(0, 5)}${seconds === '00.000' ? '' : `:${seconds.replace(/\.000$/, '')}`}Z`;
}
