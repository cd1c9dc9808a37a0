import { afterEach, describe, expect, test, vi } from 'vitest';
import { HANGUP_IGNORED, SAME_STOP_MS, STOP_SIGNALS, onStopSignal } from './interrupt.ts';

class Exited extends Error {
  readonly code: number;
  constructor(code: number) {
    super(`exit ${code}`);
    this.code = code;
  }
}
const exit = (code: number): never => {
  throw new Exited(code);
};

describe('stopping a run by signal', () => {
  let release = () => {};
  afterEach(() => release());

  /** A hang-up as `hangupStops` would judge it: output to a terminal (`stops`) or to files. */
  const hangup = (stops: boolean, heard: string[] = []) => ({
    stops: () => stops,
    note: (line: string) => heard.push(`note ${line}`),
  });

  test('SIGINT, SIGTERM, SIGHUP report first, then end with 130, 143, 129; the listeners go before any other', () => {
    const heard: string[] = [];
    const other = () => heard.push('other');
    process.on('SIGINT', other);
    const errorListeners = [process.stdout.listeners('error'), process.stderr.listeners('error')] as const;
    try {
      release = onStopSignal(
        (signal) => heard.push(`report ${signal}`),
        () => null,
        exit,
        () => heard.push('children'),
        hangup(true, heard),
      );
      for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
        const first = process.listeners(signal)[0] as () => void;
        expect(first).toThrow(new Exited(STOP_SIGNALS[signal]));
      }
      expect(heard).toEqual(['report SIGINT', 'children', 'report SIGTERM', 'children', 'report SIGHUP', 'children']);
      expect(STOP_SIGNALS).toEqual({ SIGINT: 130, SIGTERM: 143, SIGHUP: 129 });
      // The terminal is gone: writing to it fails in an `error` event, which must not end the process first.
      expect(process.stdout.listenerCount('error')).toBe(errorListeners[0].length + 1);
      expect(process.stderr.listenerCount('error')).toBe(errorListeners[1].length + 1);
    } finally {
      process.off('SIGINT', other);
      for (const [stream, had] of [
        [process.stdout, errorListeners[0]],
        [process.stderr, errorListeners[1]],
      ] as const)
        for (const l of stream.listeners('error')) if (!had.includes(l)) stream.off('error', l as () => void);
    }
  });

  test('a SIGHUP while the output goes to files (nohup) is noted, and the run goes on', () => {
    const heard: string[] = [];
    release = onStopSignal(
      (signal) => heard.push(`report ${signal}`),
      () => {
        heard.push('settle');
        return null;
      },
      exit,
      () => heard.push('children'),
      hangup(false, heard),
    );
    (process.listeners('SIGHUP')[0] as () => void)();
    expect(heard).toEqual([`note ${HANGUP_IGNORED}`]);
    // Still listening: a later SIGINT stops the run as ever.
    expect(process.listeners('SIGINT')[0] as () => void).toThrow(new Exited(130));
    expect(heard).toEqual([`note ${HANGUP_IGNORED}`, 'settle', 'report SIGINT', 'children']);
  });

  test('a report that throws still ends the process with the code', () => {
    release = onStopSignal(
      () => {
        throw new Error('disk full');
      },
      () => null,
      exit,
      () => {},
    );
    const first = process.listeners('SIGTERM')[0] as () => void;
    const said = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      expect(first).toThrow(new Exited(143));
      // Said, since the exit swallows it: before, the run ended with no report and no word of why.
      expect(said.mock.calls.map(([line]) => String(line))).toEqual([
        'SIGTERM: the closing report failed: Error: disk full\n',
      ]);
    } finally {
      said.mockRestore();
    }
  });

  describe('while counterexamples are being shrunk (settle)', () => {
    /** Records the exit instead of ending (the end then runs in a promise's callback, not the listener). */
    function recorder() {
      const heard: string[] = [];
      const exitRecorded = ((code: number) => {
        heard.push(`exit ${code}`);
      }) as (code: number) => never;
      return { heard, exitRecorded };
    }
    const tick = () => new Promise((resolve) => setImmediate(resolve));

    test('the first signal waits for the settle, then reports, stops the children and ends', async () => {
      const { heard, exitRecorded } = recorder();
      let done = () => {};
      release = onStopSignal(
        (signal) => heard.push(`report ${signal}`),
        (signal) => {
          heard.push(`settle ${signal}`);
          return new Promise<void>((resolve) => {
            done = resolve;
          });
        },
        exitRecorded,
        () => heard.push('children'),
      );
      (process.listeners('SIGINT')[0] as () => void)();
      await tick();
      expect(heard).toEqual(['settle SIGINT']);
      done();
      await tick();
      expect(heard).toEqual(['settle SIGINT', 'report SIGINT', 'children', 'exit 130']);
    });

    test('released during the wait (the run ended by itself), the wait ends nothing', async () => {
      const { heard, exitRecorded } = recorder();
      let done = () => {};
      const off = onStopSignal(
        (signal) => heard.push(`report ${signal}`),
        () =>
          new Promise<void>((resolve) => {
            done = resolve;
          }),
        exitRecorded,
        () => heard.push('children'),
      );
      (process.listeners('SIGINT')[0] as () => void)();
      off();
      done();
      await tick();
      expect(heard).toEqual([]);
    });

    test('a second signal during the wait ends at once, with its own code', async () => {
      const { heard, exitRecorded } = recorder();
      release = onStopSignal(
        (signal) => heard.push(`report ${signal}`),
        () => new Promise<void>(() => {}),
        exitRecorded,
        () => heard.push('children'),
      );
      (process.listeners('SIGINT')[0] as () => void)();
      (process.listeners('SIGTERM')[0] as () => void)();
      await tick();
      expect(heard).toEqual(['report SIGTERM', 'children', 'exit 143']);
    });

    test('the same signal within SAME_STOP_MS is the first twice (npm passes Ctrl-C on): it waits on', async () => {
      for (const signal of ['SIGINT', 'SIGTERM'] as const) {
        const { heard, exitRecorded } = recorder();
        let clock = 1_000;
        let done = () => {};
        release = onStopSignal(
          (s) => heard.push(`report ${s}`),
          () =>
            new Promise<void>((resolve) => {
              done = resolve;
            }),
          exitRecorded,
          () => heard.push('children'),
          hangup(true, heard),
          () => clock,
        );
        const listener = process.listeners(signal)[0] as () => void;
        listener();
        // npm's copy of the terminal's Ctrl-C, just before the window closes: the same stop.
        clock += SAME_STOP_MS - 1;
        listener();
        await tick();
        expect(heard).toEqual([]);
        // A press after that is Ctrl-C again: the end at once, without the wait.
        clock += 1;
        listener();
        expect(heard).toEqual([`report ${signal}`, 'children', `exit ${STOP_SIGNALS[signal]}`]);
        done();
        release();
      }
      expect(SAME_STOP_MS).toBe(1_000);
    });

    test('a hang-up during the wait cuts nothing short: the stop ends with its code when its wait does', async () => {
      for (const stops of [false, true]) {
        const { heard, exitRecorded } = recorder();
        let done = () => {};
        const errorListeners = [process.stdout.listenerCount('error'), process.stderr.listenerCount('error')] as const;
        release = onStopSignal(
          (signal) => heard.push(`report ${signal}`),
          () =>
            new Promise<void>((resolve) => {
              done = resolve;
            }),
          exitRecorded,
          () => heard.push('children'),
          hangup(stops, heard),
        );
        try {
          (process.listeners('SIGTERM')[0] as () => void)();
          (process.listeners('SIGHUP')[0] as () => void)();
          (process.listeners('SIGHUP')[0] as () => void)();
          await tick();
          expect(heard).toEqual(stops ? [] : [`note ${HANGUP_IGNORED}`, `note ${HANGUP_IGNORED}`]);
          // Output to a terminal: its write errors are dropped, by one listener however many hang-ups.
          expect(process.stdout.listenerCount('error')).toBe(errorListeners[0] + (stops ? 1 : 0));
          done();
          await tick();
          expect(heard.slice(-3)).toEqual(['report SIGTERM', 'children', 'exit 143']);
        } finally {
          release();
          for (const [stream, had] of [
            [process.stdout, errorListeners[0]],
            [process.stderr, errorListeners[1]],
          ] as const)
            for (const l of stream.listeners('error').slice(had)) stream.off('error', l as () => void);
        }
      }
    });

    test('nothing to wait for (null), or a settle that throws: the end comes at once', () => {
      for (const settle of [
        () => null,
        () => {
          throw new Error('no progress file');
        },
      ]) {
        const { heard, exitRecorded } = recorder();
        const off = onStopSignal(
          (signal) => heard.push(`report ${signal}`),
          settle,
          exitRecorded,
          () => {},
        );
        (process.listeners('SIGINT')[0] as () => void)();
        off();
        expect(heard).toEqual(['report SIGINT', 'exit 130']);
      }
    });
  });

  test('released, the listeners are gone', () => {
    const before = process.listenerCount('SIGINT');
    const off = onStopSignal(
      () => {},
      () => null,
      exit,
      () => {},
    );
    expect(process.listenerCount('SIGINT')).toBe(before + 1);
    off();
    expect(process.listenerCount('SIGINT')).toBe(before);
  });
});
