import { expect, test } from 'vitest';
import { ManualClock, systemClock } from './clock.ts';

test('a manual clock only moves forward, by finite steps', () => {
  const clock = new ManualClock(1000);
  expect(clock.advance(5)).toBe(1005);
  clock.set(2000);
  expect(clock.now()).toBe(2000);
  for (const bad of [
    () => clock.set(1999),
    () => clock.set(Number.NaN),
    () => clock.advance(-1),
    () => clock.advance(Number.POSITIVE_INFINITY),
    () => new ManualClock(Number.NaN),
  ]) {
    expect(bad).toThrow(RangeError);
  }
  expect(clock.now()).toBe(2000);
  expect(Math.abs(systemClock.now() - Date.now())).toBeLessThan(1000);
});
