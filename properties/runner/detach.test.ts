import { describe, expect, test } from 'vitest';
import { DETACHED_ENV, exitCodeOf, shouldDetach } from './detach.ts';

describe('a run writing to files goes on detached, its first process standing in for it', () => {
  test('only output to files, only once, not on Windows', () => {
    expect(shouldDetach({}, false, 'linux')).toBe(true);
    expect(shouldDetach({}, true, 'linux')).toBe(false);
    expect(shouldDetach({ [DETACHED_ENV]: '1' }, false, 'linux')).toBe(false);
    expect(shouldDetach({}, false, 'win32')).toBe(false);
  });

  test("the stand-in ends with the run's code, or 128 + the number of the signal that ended it", () => {
    expect([
      exitCodeOf(0, null),
      exitCodeOf(130, null),
      exitCodeOf(null, 'SIGKILL'),
      exitCodeOf(null, 'SIGTERM'),
    ]).toEqual([0, 130, 137, 143]);
  });
});
