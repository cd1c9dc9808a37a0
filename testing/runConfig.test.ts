import fc from 'fast-check';
import { afterEach, describe, expect, test } from 'vitest';
import {
  CI_SEED,
  commandsReplayPath,
  historyLength,
  propertyParams,
  replaying,
  scaled,
  sizedTimeout,
  stoppedByDeadline,
} from './runConfig.ts';

const KNOBS = [
  'SEKEY_RUNS',
  'SEKEY_SEED',
  'SEKEY_PATH',
  'SEKEY_DEADLINE',
  'SEKEY_SCALE',
  'SEKEY_SHRINK',
  'CI',
] as const;
const saved = Object.fromEntries(KNOBS.map((k) => [k, process.env[k]]));
function set(values: Partial<Record<(typeof KNOBS)[number], string>>): void {
  for (const k of KNOBS) delete process.env[k];
  Object.assign(process.env, values);
}

function restore(): void {
  for (const k of KNOBS) {
    if (saved[k] === undefined) delete process.env[k];
    else process.env[k] = saved[k];
  }
}

describe('the seed', () => {
  afterEach(restore);

  test("CI's seed in CI, none (fast-check draws one) outside it", () => {
    set({ CI: 'true' });
    expect(propertyParams(10).seed).toBe(CI_SEED);
    set({});
    expect(propertyParams(10).seed).toBeUndefined();
  });

  test('a fixed seed holds in and out of CI; SEKEY_SEED overrides it', () => {
    set({});
    expect(propertyParams(10, { fixedSeed: 7 }).seed).toBe(7);
    set({ CI: 'true' });
    expect(propertyParams(10, { fixedSeed: 7 }).seed).toBe(7);
    set({ SEKEY_SEED: '42' });
    expect(propertyParams(10, { fixedSeed: 7 }).seed).toBe(42);
  });
});

describe('the runs', () => {
  afterEach(restore);

  test("fixed runs (a bite test's claim about CI size) hold whatever SEKEY_RUNS says; others follow it", () => {
    for (const runs of ['5', '2000']) {
      set({ CI: 'true', SEKEY_RUNS: runs });
      expect(propertyParams(60, { fixedSeed: 7, fixedRuns: true }).numRuns, runs).toBe(60);
      expect(propertyParams(60, { fixedSeed: 7 }).numRuns, runs).toBe(Number(runs));
    }
  });
});

describe('a replay', () => {
  afterEach(restore);

  test('SEKEY_PATH replays one counterexample and ends on it; empty or unset, no replay', () => {
    set({ SEKEY_SEED: '42', SEKEY_PATH: '11:0:3' });
    expect(replaying()).toBe(true);
    expect(propertyParams(10)).toMatchObject({ seed: 42, path: '11:0:3', endOnFailure: true });
    expect(commandsReplayPath()).toBeUndefined();
    for (const values of [{}, { SEKEY_PATH: '' }]) {
      set(values);
      expect(replaying()).toBe(false);
      expect(propertyParams(10).path).toBeUndefined();
      expect(commandsReplayPath()).toBeUndefined();
    }
  });

  test('a suite of fc.commands carries its commands replay path after @: fast-check gets each part', () => {
    set({ SEKEY_SEED: '5', SEKEY_PATH: '0:0:2@AQA:F' });
    expect(propertyParams(10)).toMatchObject({ seed: 5, path: '0:0:2', endOnFailure: true });
    expect(commandsReplayPath()).toBe('AQA:F');
  });

  test('SEKEY_SHRINK goes on shrinking from the replayed case, to where a whole shrink ends', () => {
    // Fails once a list holds three numbers over 100; fully shrunk: [101, 101, 101].
    const property = fc.property(
      fc.array(fc.nat(1000), { maxLength: 30 }),
      (xs) => xs.filter((x) => x > 100).length < 3,
    );
    set({});
    const whole = fc.check(property, { seed: 42 });
    // A shrink cut short (as a campaign's deadline cuts it): the first failure, unshrunk.
    const cut = fc.check(property, { seed: 42, endOnFailure: true });
    expect(cut.counterexample).not.toEqual(whole.counterexample);
    set({ SEKEY_SEED: '42', SEKEY_PATH: cut.counterexamplePath ?? '' });
    const replayed = fc.check(property, propertyParams(10));
    expect(replayed.counterexample).toEqual(cut.counterexample);
    set({ SEKEY_SEED: '42', SEKEY_PATH: cut.counterexamplePath ?? '', SEKEY_SHRINK: '1' });
    expect(propertyParams(10).endOnFailure).toBeUndefined();
    const resumed = fc.check(property, propertyParams(10));
    expect(resumed.counterexample).toEqual([[101, 101, 101]]);
    expect(resumed.counterexample).toEqual(whole.counterexample);
    // The path it reports is the whole one from the seed: it replays the shrunk case alone.
    expect(resumed.counterexamplePath).toBe(whole.counterexamplePath);
    expect(sizedTimeout(120_000)).toBe(0);
  });
});

describe('the deadline knob of campaigns', () => {
  afterEach(restore);

  test('before the deadline, a property is interrupted when it comes', () => {
    set({ SEKEY_DEADLINE: String(Date.now() + 60_000), SEKEY_RUNS: '50' });
    const p = propertyParams(10);
    expect(p.numRuns).toBe(50);
    expect(p.interruptAfterTimeLimit).toBeGreaterThan(50_000);
    expect(p.interruptAfterTimeLimit).toBeLessThanOrEqual(60_000);
  });

  test('after it, a property makes exactly one run', () => {
    set({ SEKEY_DEADLINE: String(Date.now() - 1), SEKEY_RUNS: '50' });
    const p = propertyParams(10);
    expect(p.numRuns).toBe(1);
    expect(p.interruptAfterTimeLimit).toBeUndefined();
  });

  test('without it, nothing is interrupted', () => {
    set({});
    expect(propertyParams(10)).toEqual({ numRuns: 10 });
  });

  test('an interruption before any run is no counterexample only under a deadline', () => {
    const interrupted = { failed: true, interrupted: true, counterexamplePath: null };
    set({ SEKEY_DEADLINE: String(Date.now()) });
    expect(stoppedByDeadline(interrupted)).toBe(true);
    expect(stoppedByDeadline({ ...interrupted, counterexamplePath: '3:1' })).toBe(false);
    expect(stoppedByDeadline({ ...interrupted, failed: false })).toBe(false);
    set({});
    expect(stoppedByDeadline(interrupted)).toBe(false);
  });
});

describe('time limits and scale', () => {
  afterEach(restore);

  test("CI size keeps the limit; a run sized by a knob has none (0, vitest's no limit)", () => {
    set({ CI: 'true', SEKEY_SEED: '42', SEKEY_PATH: '3:1' });
    expect(sizedTimeout(900_000)).toBe(900_000);
    for (const knob of ['SEKEY_RUNS', 'SEKEY_SCALE', 'SEKEY_DEADLINE'] as const) {
      set({ [knob]: '5' });
      expect(sizedTimeout(900_000), knob).toBe(0);
      set({ [knob]: ' ' });
      expect(sizedTimeout(900_000), `${knob} blank`).toBe(900_000);
    }
  });

  test('a scale must be a decimal number from a millionth to a million, as --scale takes it; blank is unset', () => {
    set({ SEKEY_SCALE: '2.5' });
    expect(scaled(4)).toBe(10);
    set({ SEKEY_SCALE: ' ' });
    expect(scaled(4)).toBe(4);
    for (const bad of ['0', '-1', 'abc', 'Infinity', '1e308', '0x10', '1000001', '0.0000001']) {
      set({ SEKEY_SCALE: bad });
      expect(() => scaled(4), bad).toThrow(/SEKEY_SCALE must be a decimal number from 0.000001 to 1000000/);
    }
    set({ SEKEY_SCALE: '0.000001' });
    expect(scaled(4)).toBe(1);
  });

  test("a history's length: CI's at scale 1, the whole scaled range at any other (deeper, not capped near 10)", () => {
    set({});
    expect(historyLength(10, 60)).toEqual({ minLength: 10, maxLength: 60 });
    expect(historyLength(0, 12)).toEqual({ minLength: 0, maxLength: 12 });
    set({ SEKEY_SCALE: '3' });
    expect(historyLength(10, 60)).toEqual({ minLength: 30, maxLength: 180, size: 'max' });
    // No minimum stays none; fast-check's default size would draw at most 10 whatever the maximum.
    expect(historyLength(0, 12)).toEqual({ minLength: 0, maxLength: 36, size: 'max' });
    const lengths = fc.sample(fc.array(fc.nat(), historyLength(0, 12)), { seed: 1, numRuns: 500 }).map((a) => a.length);
    expect(Math.max(...lengths)).toBeGreaterThan(12);
    expect(Math.max(...lengths)).toBeLessThanOrEqual(36);
  });

  test('a seed must fit 32 bits, as --seed takes it: fast-check would fold a larger one to another', () => {
    set({ SEKEY_SEED: '-2147483648' });
    expect(propertyParams(10).seed).toBe(-(2 ** 31));
    for (const bad of ['1e3', '0x10']) {
      set({ SEKEY_SEED: bad });
      expect(() => propertyParams(10), bad).toThrow(/SEKEY_SEED must be an integer/);
    }
    for (const bad of ['4294967303', '2147483648', '-2147483649']) {
      set({ SEKEY_SEED: bad });
      expect(() => propertyParams(10), bad).toThrow(/SEKEY_SEED must be an integer from -2147483648 to 2147483647/);
    }
  });
});
