import { expect, test } from 'vitest';
import { formatProblem } from './formatVersion.ts';

test('a wrong format is said in words: missing, newer (upgrade), older, or no version at all', () => {
  expect(formatProblem(undefined, 1)).toEqual({
    why: 'it has no "format" field (this sekey reads format 1): not a file SEkey wrote',
    newer: false,
  });
  expect(formatProblem(7, 1)).toEqual({ why: 'format 7 is newer than this sekey reads (1)', newer: true });
  expect(formatProblem(1, 3)).toEqual({ why: 'format 1 is older than this sekey reads (3)', newer: false });
  expect(formatProblem(0, 1)).toEqual({
    why: '"format" is 0, not a format version (this sekey reads format 1)',
    newer: false,
  });
  expect(formatProblem('x'.repeat(60), 1).why).toBe(
    `"format" is "${'x'.repeat(39)}…, not a format version (this sekey reads format 1)`,
  );
  expect(formatProblem(null, 1).why).toBe('"format" is null, not a format version (this sekey reads format 1)');
});
