import { describe, expect, test } from 'vitest';
import { LATEST_TIME_MS } from '../host/sessionClock.ts';
import { MAX_DURATION_MS, formatDuration, formatTime, parseDuration, parseTimeSpec } from './durations.ts';

describe('durations', () => {
  test('numbers with a unit parse; anything else is refused, a bare number too', () => {
    expect(parseDuration('30d')).toBe(30 * 86_400_000);
    expect(parseDuration('12h')).toBe(12 * 3_600_000);
    expect(parseDuration('15m')).toBe(900_000);
    expect(parseDuration('90s')).toBe(90_000);
    expect(parseDuration('250ms')).toBe(250);
    expect(parseDuration('1500ms')).toBe(1500);
    // A bare number was milliseconds: `--cryptoperiod 30` gave keys that expired at once.
    for (const bad of ['', '0', '0d', '-1d', '1.5d', '3w', 'd', '99999999999999999d', '1500', '30'])
      expect(parseDuration(bad), bad).toBeNull();
    // At most 100 years: a cryptoperiod of 100000000d used to be accepted, then break every listing.
    expect(parseDuration('36525d')).toBe(MAX_DURATION_MS);
    for (const huge of ['36526d', '100000000d', `${MAX_DURATION_MS + 1}ms`])
      expect(parseDuration(huge), huge).toBeNull();
  });

  test('formatting picks the largest exact unit', () => {
    expect(formatDuration(30 * 86_400_000)).toBe('30d');
    expect(formatDuration(36 * 3_600_000)).toBe('36h');
    expect(formatDuration(90_000)).toBe('90s');
    expect(formatDuration(1500)).toBe('1500ms');
  });

  test('times: ISO, epoch milliseconds, or +DURATION', () => {
    expect(parseTimeSpec('2026-01-05T09:00Z')).toEqual({ kind: 'absolute', ms: Date.UTC(2026, 0, 5, 9) });
    expect(parseTimeSpec('2026-01-05')).toEqual({ kind: 'absolute', ms: Date.UTC(2026, 0, 5) });
    expect(parseTimeSpec('1767600000000')).toEqual({ kind: 'absolute', ms: 1767600000000 });
    expect(parseTimeSpec('+7d')).toEqual({ kind: 'relative', ms: 7 * 86_400_000 });
    for (const bad of ['tomorrow', '+', '+x', '2026-13-45', 'Jan 5 2026']) expect(parseTimeSpec(bad), bad).toBeNull();
    expect(formatTime(Date.UTC(2026, 0, 5, 9))).toBe('2026-01-05 09:00Z');
    expect(formatTime(Date.UTC(2026, 0, 5, 9, 0, 7))).toBe('2026-01-05 09:00:07Z');
    // Past the year 9999 (an expiry a century-long cryptoperiod away): a signed six-digit year.
    expect(formatTime(Date.UTC(10099, 11, 31, 23))).toBe('+010099-12-31 23:00Z');
    expect(formatTime(Date.UTC(10099, 11, 31, 23, 0, 7, 5))).toBe('+010099-12-31 23:00:07.005Z');
    expect(formatTime(Date.UTC(2026, 0, 5) + 100_000_000 * 86_400_000)).toBe('never');
  });

  test('only real calendar dates and clock times: no silent roll-over to the next month or day', () => {
    for (const bad of [
      '2026-02-30',
      '2026-02-29',
      '2026-04-31',
      '2026-00-10',
      '2026-01-05T24:00Z',
      '2026-01-05T09:60Z',
    ])
      expect(parseTimeSpec(bad), bad).toBeNull();
    expect(parseTimeSpec('2028-02-29')).toEqual({ kind: 'absolute', ms: Date.UTC(2028, 1, 29) });
    expect(parseTimeSpec('2026-12-31T23:59:59Z')).toEqual({ kind: 'absolute', ms: Date.UTC(2026, 11, 31, 23, 59, 59) });
    expect(parseTimeSpec(String(LATEST_TIME_MS + 1))).toBeNull();
  });

  test('an ISO time before the epoch or after the year 9999 is refused, as in milliseconds', () => {
    // A negative time became the installation's last time, and no command could open it again.
    for (const bad of [
      '1969-12-31',
      '1969-12-31T23:59:59Z',
      '1970-01-01T00:30+01:00',
      '0050-01-01',
      '9999-12-31T23:59-01:00',
    ])
      expect(parseTimeSpec(bad), bad).toBeNull();
    expect(parseTimeSpec('1970-01-01')).toEqual({ kind: 'absolute', ms: 0 });
    expect(parseTimeSpec('9999-12-31T23:59:59.999Z')).toEqual({ kind: 'absolute', ms: LATEST_TIME_MS });
  });
});
