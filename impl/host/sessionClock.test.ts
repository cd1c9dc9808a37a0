import { describe, expect, test } from 'vitest';
import type { InstallationConfig } from './installationConfig.ts';
import { LATEST_TIME_MS, requireTimeAfter, sessionClock, startSessionClock } from './sessionClock.ts';

const DAY = 86_400_000;
const LAST = Date.UTC(2026, 0, 10);

function config(clock: InstallationConfig['clock']): InstallationConfig {
  return {
    format: 1,
    adminSerial: 'A'.repeat(32),
    share: 'share',
    clock,
    lastTime: LAST,
    staleAfterMs: DAY,
    createdAt: 0,
  };
}

/** A host clock reading the times given, one a call, then the last one for good. */
function host(...times: number[]) {
  let i = 0;
  return { now: () => times[Math.min(i++, times.length - 1)] as number };
}

/** The InstallationError with this code, as `toThrow` matches it. */
const refused = (code: string) => expect.objectContaining({ name: 'InstallationError', code });

describe('a session clock', () => {
  test('--at sets the time, absolute or after the last recorded one, and stands still', () => {
    const at = startSessionClock(config('system'), { kind: 'absolute', ms: LAST + 5 }, host(LAST + DAY));
    expect([at.now(), at.now(), at.latest]).toEqual([LAST + 5, LAST + 5, LAST + 5]);
    const after = startSessionClock(config('manual'), { kind: 'relative', ms: 2 * DAY }, host(0));
    expect(after.now()).toBe(LAST + 2 * DAY);
  });

  test('a manual clock stands at the last recorded time; a system clock follows the host, never back', () => {
    expect(startSessionClock(config('manual'), undefined, host(LAST + DAY)).now()).toBe(LAST);
    const system = startSessionClock(config('system'), undefined, host(LAST + 10, LAST + 30, LAST + 20));
    expect([system.now(), system.now(), system.latest]).toEqual([LAST + 30, LAST + 30, LAST + 30]);
  });

  test('a time before the last recorded one is refused (ClockWentBack), however it is given', () => {
    expect(() => startSessionClock(config('manual'), { kind: 'absolute', ms: LAST - 1 }, host(0))).toThrow(
      refused('ClockWentBack'),
    );
    expect(() => startSessionClock(config('system'), undefined, host(LAST - 1))).toThrow(refused('ClockWentBack'));
    expect(startSessionClock(config('manual'), { kind: 'absolute', ms: LAST }, host(0)).now()).toBe(LAST);
  });

  test('a relative time past the end of the year 9999 is TimeOutOfRange; that instant itself is taken', () => {
    const upTo = { kind: 'relative', ms: LATEST_TIME_MS - LAST } as const;
    expect(startSessionClock(config('manual'), upTo, host(0)).now()).toBe(LATEST_TIME_MS);
    const past = { kind: 'relative', ms: LATEST_TIME_MS - LAST + 1 } as const;
    expect(() => startSessionClock(config('manual'), past, host(0))).toThrow(refused('TimeOutOfRange'));
  });

  test("a session's time is checked against what a device's database last recorded", () => {
    expect(() => requireTimeAfter(LAST, LAST, 'the last audited operation')).not.toThrow();
    expect(() => requireTimeAfter(LAST, LAST - 1, 'the last audited operation')).toThrow(
      /before the last audited operation, 2026-01-10T00:00:00.000Z/,
    );
  });

  test('a fixed clock never moves; a following one keeps the latest time it gave', () => {
    const fixed = sessionClock(7, null);
    expect([fixed.now(), fixed.now()]).toEqual([7, 7]);
    const following = sessionClock(7, host(3, 9, 8));
    expect([following.now(), following.now(), following.now(), following.latest]).toEqual([7, 9, 9, 9]);
  });
});
