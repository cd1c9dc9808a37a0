import { describe, expect, test } from 'vitest';
import { HANGUP_IGNORED, SAME_SIGNAL_MS, SIGNAL_EXIT, guardInterrupts, hangupEndsCommand } from './interrupts.ts';

/** A guard whose lines and exits are recorded. */
function recordedGuard(hangupEnds = true): {
  guard: ReturnType<typeof guardInterrupts>;
  said: string[];
  exits: number[];
  clock: { ms: number };
} {
  const said: string[] = [];
  const exits: number[] = [];
  const clock = { ms: 0 };
  const guard = guardInterrupts(
    (line) => said.push(line),
    (code) => exits.push(code),
    () => hangupEnds,
    () => clock.ms,
  );
  return { guard, said, exits, clock };
}

describe('interruptions', () => {
  test('before any change: abandoned at once, exit 130 for SIGINT and 143 for SIGTERM', () => {
    const { guard, said, exits } = recordedGuard();
    try {
      process.emit('SIGINT', 'SIGINT');
      process.emit('SIGTERM', 'SIGTERM');
      expect(exits).toEqual([130, 143]);
      expect(said[0]).toBe('sekey: interrupted (SIGINT) before anything was changed');
      expect(guard.interrupted()).toBeNull();
    } finally {
      guard.release();
    }
  });

  test('a stop request: the first SIGINT or SIGTERM stops the work (its code kept), another abandons', async () => {
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      const { guard, said, exits, clock } = recordedGuard();
      const cleaned: string[] = [];
      try {
        const stops: string[] = [];
        guard.onAbandon((s) => cleaned.push(s));
        guard.onStopRequest((s) => stops.push(s));
        clock.ms = 5_000;
        process.emit(signal, signal);
        expect(stops).toEqual([signal]);
        expect(exits).toEqual([]);
        expect(said).toEqual([]);
        expect(cleaned).toEqual([]);
        expect(guard.stoppedEarly()).toBe(true);
        expect(guard.interrupted()).toBe(signal);
        // The same signal again within a second: the first delivered twice (npm passes it on), ignored.
        clock.ms += SAME_SIGNAL_MS - 1;
        process.emit(signal, signal);
        expect(exits).toEqual([]);
        // Ctrl-C again, later: the usual abandon, its clean-ups and the signal's exit.
        clock.ms += 1;
        process.emit('SIGINT', 'SIGINT');
        expect(stops).toEqual([signal]);
        expect(exits).toEqual([130]);
        expect(cleaned).toEqual(['SIGINT']);
      } finally {
        guard.release();
      }
    }
  });

  test('a stop request: the stopped command then saves its work and exits as the signal would', async () => {
    const { guard, said, exits } = recordedGuard();
    try {
      guard.onStopRequest(() => {});
      process.emit('SIGINT', 'SIGINT');
      await guard.beginChanges();
      // A signal while the report is written: finished first (the change is whole), nothing more.
      process.emit('SIGTERM', 'SIGTERM');
      expect(exits).toEqual([]);
      expect(await guard.finish()).toBe('SIGINT');
      expect(said).toEqual([]);
    } finally {
      guard.release();
    }
  });

  test('a stop request: a hang-up still abandons, and an undone request no longer stops', () => {
    const { guard, exits } = recordedGuard();
    try {
      const stops: string[] = [];
      guard.onStopRequest((s) => stops.push(s));
      process.emit('SIGHUP', 'SIGHUP');
      expect(exits).toEqual([129]);
      const forget = guard.onStopRequest((s) => stops.push(s));
      forget();
      process.emit('SIGINT', 'SIGINT');
      expect(exits).toEqual([129, 130]);
      expect(stops).toEqual([]);
      expect(guard.stoppedEarly()).toBe(false);
    } finally {
      guard.release();
    }
  });

  test('SIGHUP: abandoned (129) while the command uses the terminal; said and ignored once it uses files only', () => {
    for (const [ends, exitsExpected] of [
      [true, [129]],
      [false, []],
    ] as const) {
      const { guard, said, exits } = recordedGuard(ends);
      try {
        process.emit('SIGHUP', 'SIGHUP');
        expect(exits).toEqual(exitsExpected);
        expect(said).toEqual([ends ? 'sekey: interrupted (SIGHUP) before anything was changed' : HANGUP_IGNORED]);
        expect(HANGUP_IGNORED).toMatch(/^sekey: SIGHUP: the terminal hung up; .* goes on \(as under nohup\)$/);
        expect(guard.interrupted()).toBeNull();
      } finally {
        guard.release();
      }
    }
  });

  test('a hang-up ends a command with any standard stream on a terminal, not one with all of them on files', () => {
    const streams = [process.stdin, process.stdout, process.stderr] as Array<{ isTTY?: boolean }>;
    const saved = streams.map((s) => Object.getOwnPropertyDescriptor(s, 'isTTY'));
    const terminal = (which: number | null) =>
      streams.forEach((s, i) => Object.defineProperty(s, 'isTTY', { value: i === which, configurable: true }));
    try {
      const ends = [null, 0, 1, 2].map((which) => {
        terminal(which);
        return hangupEndsCommand();
      });
      // Files only (as under nohup, which also takes standard input off the terminal); then each stream alone.
      expect(ends).toEqual([false, true, true, true]);
    } finally {
      streams.forEach((s, i) => {
        const d = saved[i];
        if (d === undefined) delete s.isTTY;
        else Object.defineProperty(s, 'isTTY', d);
      });
    }
  });

  test('an abandoned command runs its cleanups before the exit, past one that throws; undone ones do not run', () => {
    const { guard, said, exits } = recordedGuard();
    const ran: string[] = [];
    try {
      guard.onAbandon(() => {
        ran.push('first');
        throw new Error('busy');
      });
      const undo = guard.onAbandon(() => ran.push('undone'));
      guard.onAbandon((signal) => ran.push('last', `exits so far: ${exits.length}`, signal));
      undo();
      process.emit('SIGINT', 'SIGINT');
      expect(ran).toEqual(['first', 'last', 'exits so far: 0', 'SIGINT']);
      expect(exits).toEqual([130]);
      expect(said).toEqual([
        'sekey: interrupted (SIGINT) before anything was changed',
        'sekey: could not clean up: busy',
      ]);
    } finally {
      guard.release();
    }
  });

  test('while changing: finished first, the first signal remembered and said once', async () => {
    const listeners = process.listenerCount('SIGINT');
    const { guard, said, exits } = recordedGuard();
    try {
      await guard.beginChanges();
      process.emit('SIGTERM', 'SIGTERM');
      process.emit('SIGINT', 'SIGINT');
      expect(exits).toEqual([]);
      expect(guard.interrupted()).toBe('SIGTERM');
      expect(said).toEqual([
        'sekey: SIGTERM received: finishing the change in progress first (saved whole, never half)',
      ]);
    } finally {
      guard.release();
    }
    expect(process.listenerCount('SIGINT')).toBe(listeners);
  });

  test('a signal delivered before the changes begin, not yet heard, still abandons the command', async () => {
    const { guard, said, exits } = recordedGuard();
    try {
      // A command blocked in a synchronous wait (standard input) when Ctrl-C came: the listener runs
      // only once the event loop turns, which beginChanges makes it do before changes begin.
      setImmediate(() => process.emit('SIGINT', 'SIGINT'));
      await guard.beginChanges();
      expect(exits).toEqual([130]);
      expect(said).toEqual(['sekey: interrupted (SIGINT) before anything was changed']);
    } finally {
      guard.release();
    }
  });

  test('finish: waits for the signals delivered so far, then decides once; later signals are ignored', async () => {
    const { guard, said, exits } = recordedGuard();
    try {
      await guard.beginChanges();
      expect(await guard.finish()).toBeNull();
      // Decided: a signal now neither exits nor changes the answer.
      process.emit('SIGINT', 'SIGINT');
      expect(await guard.finish()).toBeNull();
      expect({ said, exits }).toEqual({ said: [], exits: [] });
    } finally {
      guard.release();
    }
  });

  test('finish of a command that changed nothing: a signal seen only now is recorded, not an abandon', async () => {
    // A command that ran without giving the loop a turn (demo --json) has printed its one object
    // when its signal is seen: an abandon would print a second (the --json error) and lie about it.
    const { guard, said, exits } = recordedGuard();
    const cleaned: string[] = [];
    try {
      guard.onAbandon((signal) => cleaned.push(signal));
      expect(guard.changesBegun()).toBe(false);
      setImmediate(() => process.emit('SIGINT', 'SIGINT'));
      expect(await guard.finish()).toBe('SIGINT');
      expect({ said, exits, cleaned }).toEqual({ said: [], exits: [], cleaned: [] });
    } finally {
      guard.release();
    }
  });

  test('finish of a command that changed something: a signal seen only now is said and recorded', async () => {
    const { guard, said, exits } = recordedGuard();
    try {
      await guard.beginChanges();
      setImmediate(() => process.emit('SIGINT', 'SIGINT'));
      expect(await guard.finish()).toBe('SIGINT');
      expect(said).toEqual([
        'sekey: SIGINT received: finishing the change in progress first (saved whole, never half)',
      ]);
      expect(exits).toEqual([]);
    } finally {
      guard.release();
    }
  });

  test('finish: a signal whose listener runs in a later turn of the event loop is still seen', async () => {
    const { guard } = recordedGuard();
    try {
      await guard.beginChanges();
      // As libuv delivers a real signal: from the loop's poll phase, later than the synchronous
      // code that received it. An I/O callback is the closest stand-in the test can schedule.
      setImmediate(() => process.emit('SIGTERM', 'SIGTERM'));
      const decided = await guard.finish();
      expect(decided).toBe('SIGTERM');
      expect(SIGNAL_EXIT[decided ?? 'SIGINT']).toBe(143);
    } finally {
      guard.release();
    }
  });
});
