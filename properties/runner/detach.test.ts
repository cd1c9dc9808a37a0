import { afterEach, describe, expect, test, vi } from 'vitest';
import { DETACHED_ENV, exitCodeOf, shouldDetach, stopWithoutStandIn } from './detach.ts';

describe('a run writing to files goes on detached, its first process standing in for it', () => {
  test('only output to files, only once, not on Windows', () => {
    expect(shouldDetach({}, false, 'linux')).toBe(true);
    expect(shouldDetach({}, true, 'linux')).toBe(false);
    expect(shouldDetach({ [DETACHED_ENV]: '4242' }, false, 'linux')).toBe(false);
    expect(shouldDetach({}, false, 'win32')).toBe(false);
    expect(shouldDetach({}, false, 'linux', ['--inspect-brk=9229'])).toBe(false);
    expect(shouldDetach({}, false, 'linux', ['--max-old-space-size=4096'])).toBe(true);
  });

  test("the stand-in ends with the run's code, or 128 + the number of the signal that ended it", () => {
    expect([
      exitCodeOf(0, null),
      exitCodeOf(130, null),
      exitCodeOf(null, 'SIGKILL'),
      exitCodeOf(null, 'SIGTERM'),
    ]).toEqual([0, 130, 137, 143]);
  });

  describe('a run whose stand-in is gone stops as by SIGTERM', () => {
    afterEach(() => {
      vi.useRealTimers();
    });

    test('once: a second SIGTERM during the wait for counterexamples being shrunk would end the run at once', () => {
      vi.useFakeTimers();
      let parent = 4242;
      const stop = vi.fn();
      stopWithoutStandIn(4242, () => parent, stop, 1_000);
      vi.advanceTimersByTime(3_000);
      expect(stop).not.toHaveBeenCalled();
      parent = 1;
      vi.advanceTimersByTime(10_000);
      expect(stop).toHaveBeenCalledTimes(1);
    });

    test("a stand-in gone during the run's start-up: its parent then is not its stand-in", () => {
      vi.useFakeTimers();
      const stop = vi.fn();
      // Reparented to a subreaper (systemd --user, tini) before the run looked: not 1, not the stand-in.
      stopWithoutStandIn(4242, () => 777, stop, 1_000);
      vi.advanceTimersByTime(1_000);
      expect(stop).toHaveBeenCalledTimes(1);
    });
  });
});
