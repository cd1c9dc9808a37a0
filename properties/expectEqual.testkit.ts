/**
 * `expect(actual, label).toEqual(expected)` for the suites' step-by-step comparisons, with a fast
 * path: when the two are deep-strictly equal (`util.isDeepStrictEqual`: same prototypes, same own
 * properties, `Object.is` on primitives), `toEqual`, which is looser (it ignores undefined
 * properties and prototypes), would pass too, so it is not called. Only a difference goes to vitest,
 * which then decides as before and prints its diff. The comparisons run after every operation of
 * every run, and vitest's matcher machinery was about a twentieth of the kmsImpl suite's CPU time.
 * @module
 */
import { isDeepStrictEqual } from 'node:util';
import { expect } from 'vitest';

/** Asserts that `actual` equals `expected` as vitest's `toEqual` does; `label` names the comparison on failure. */
export function expectEqual(actual: unknown, expected: unknown, label: string): void {
  if (isDeepStrictEqual(actual, expected)) return;
  expect(actual, label).toEqual(expected);
}
