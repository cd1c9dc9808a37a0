import { describe, expect, test } from 'vitest';
import { byteUnit, count, dayTicks, formatBytes, formatSeconds, formatTick, niceTicks } from './chartScale.ts';
import { noteRuns } from './heatMap.ts';
import { heatColour } from './palette.ts';

describe('chart scales', () => {
  test('ticks are round steps from 0 to at least the maximum', () => {
    expect(niceTicks(23)).toEqual([0, 5, 10, 15, 20, 25]);
    expect(niceTicks(100)).toEqual([0, 20, 40, 60, 80, 100]);
    expect(niceTicks(0.37)).toEqual([0, 0.1, 0.2, 0.3, 0.4]);
    expect(niceTicks(0)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(niceTicks(2, 5, 1)).toEqual([0, 1, 2]);
    expect(niceTicks(3_400_000, 4)).toEqual([0, 1e6, 2e6, 3e6, 4e6]);
  });

  test('day ticks start at day 1 and stay within the run', () => {
    expect(dayTicks(1)).toEqual([1]);
    expect(dayTicks(5)).toEqual([1, 2, 3, 4, 5]);
    expect(dayTicks(90)).toEqual([1, 20, 40, 60, 80]);
    expect(dayTicks(365).at(-1)).toBeLessThanOrEqual(365);
  });

  test('numbers, bytes and seconds for people', () => {
    expect(formatTick(950)).toBe('950');
    expect(formatTick(12_000)).toBe('12k');
    expect(formatTick(3_500_000)).toBe('3.5M');
    expect(formatBytes(812)).toBe('812 B');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(3 * 1024 ** 2)).toBe('3 MiB');
    expect(byteUnit(2047)).toEqual({ name: 'KiB', divisor: 1024 });
    expect(formatSeconds(13.26)).toBe('13.3 s');
    expect(formatSeconds(0.0412)).toBe('41.2 ms');
    expect(formatSeconds(0.000018)).toBe('18 µs');
  });

  test('the heat scale runs light to dark; runs of equal sector sizes are labelled once', () => {
    expect(heatColour(0)).toBe('#fde725');
    expect(heatColour(1)).toBe('#440154');
    expect(heatColour(2)).toBe('#440154');
    expect(noteRuns(['16', '16', '64', '128', '128', '16'])).toEqual([
      { note: '16', from: 0, to: 1 },
      { note: '64', from: 2, to: 2 },
      { note: '128', from: 3, to: 4 },
      { note: '16', from: 5, to: 5 },
    ]);
  });
});

describe('count', () => {
  test('a noun singular for exactly one, plural otherwise, with separators', () => {
    expect([count(1, 'day'), count(0, 'day'), count(2, 'group'), count(12345, 'user')]).toEqual([
      '1 day',
      '0 days',
      '2 groups',
      '12,345 users',
    ]);
  });

  test('a plural an s does not make is given', () => {
    expect([count(1, 'batch', 'batches'), count(2, 'batch', 'batches')]).toEqual(['1 batch', '2 batches']);
  });
});
