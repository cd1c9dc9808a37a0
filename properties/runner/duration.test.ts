import { describe, expect, test } from 'vitest';
import { durationAdvice, parseDuration, writeDuration } from './duration.ts';

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

  test('a sum is written as one: each part below the unit above it, units largest first, each once', () => {
    // 1h90m ran a campaign of 2h30m: probably not what was meant, and not how the runner writes it back.
    expect(durationAdvice('1h90m')).toBe('90m is an hour or more: write 2h30m');
    expect(durationAdvice('2m60s')).toBe('60s is a minute or more: write 3m');
    expect(durationAdvice('1h90s')).toBe('90s is a minute or more: write 1h1m30s');
    expect(durationAdvice('30m1h')).toBe(
      "'30m1h' has its units out of order or twice: write 1h30m (largest first, once each)",
    );
    expect(durationAdvice('1m1m')).toMatch(/out of order or twice: write 2m /);
    for (const bad of ['1h90m', '2m60s', '1h90s', '30m1h', '1m1m']) expect(parseDuration(bad), bad).toBeNull();
    // Written well, or a part alone (90m is a budget as people give it), or no duration at all: nothing to advise.
    for (const fine of ['1h59m59s', '1h0m', '90m', '90s', '2h', 'abc', '0h0m'])
      expect(durationAdvice(fine), fine).toBeNull();
    expect(parseDuration('1h59m59s')).toBe(7_199_000);
    expect(writeDuration(7_199_000)).toBe('1h59m59s');
  });
});
