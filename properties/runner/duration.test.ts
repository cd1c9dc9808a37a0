import { describe, expect, test } from 'vitest';
import { parseDuration } from './duration.ts';

describe('durations', () => {
  test('seconds, minutes, hours and sums', () => {
    expect(parseDuration('90s')).toBe(90_000);
    expect(parseDuration('30m')).toBe(1_800_000);
    expect(parseDuration('2h')).toBe(7_200_000);
    expect(parseDuration('1h30m')).toBe(5_400_000);
    expect(parseDuration(' 2m ')).toBe(120_000);
  });

  test('anything else is refused', () => {
    for (const bad of ['', '10', 'm', '1.5h', '-1m', '0s', '1d', '2 m', '1m-', 'abc'])
      expect(parseDuration(bad), bad).toBeNull();
  });
});
