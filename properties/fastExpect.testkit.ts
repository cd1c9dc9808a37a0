/**
 * vitest's matchers for the suites' checks after every step, with a fast path: the check is made in
 * plain JavaScript first, and only when it fails does the matcher run, which then decides as before
 * and prints its message and diff. The checks run after every operation of every run, and vitest's
 * matcher machinery (chai's assertion objects, its flags and utilities) took about a twentieth of the
 * kmsImpl suite's CPU time and over a quarter of the model suite's (profiles, `--cpu-prof`).
 *
 * Each fast path accepts only what its matcher accepts, so a skipped matcher is one that would pass:
 * `isDeepStrictEqual` is stricter than `toEqual` (prototypes, undefined properties), `indexOf`
 * is `toContain` on arrays (both strict equality, chai's `include`: NaN is in no list, where
 * `includes`, SameValueZero, would find it and pass what `toContain` fails).
 * @module
 */
import { isDeepStrictEqual } from 'node:util';
import { expect } from 'vitest';

/** `expect(actual, label).toEqual(expected)`; also `toBe` for primitives (both `Object.is` on them). */
export function expectEqual(actual: unknown, expected: unknown, label?: string): void {
  if (isDeepStrictEqual(actual, expected)) return;
  expect(actual, label).toEqual(expected);
}

/** `expect(list, label).toContain(item)`. */
export function expectContains<T>(list: readonly T[], item: T, label?: string): void {
  if (list.indexOf(item) !== -1) return;
  expect(list, label).toContain(item);
}

/** `expect(list, label).not.toContain(item)`. */
export function expectNotContains<T>(list: readonly T[], item: T, label?: string): void {
  if (list.indexOf(item) === -1) return;
  expect(list, label).not.toContain(item);
}
