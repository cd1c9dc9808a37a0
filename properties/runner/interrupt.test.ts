import { afterEach, describe, expect, test } from 'vitest';
import { STOP_SIGNALS, onStopSignal } from './interrupt.ts';

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

  test('SIGINT and SIGTERM report first, then end with 130 and 143; the listeners go before any other', () => {
    const heard: string[] = [];
    const other = () => heard.push('other');
    process.on('SIGINT', other);
    try {
      release = onStopSignal(
        (signal) => heard.push(`report ${signal}`),
        () => null,
        exit,
        () => heard.push('children'),
      );
      for (const signal of ['SIGINT', 'SIGTERM'] as const) {
        const first = process.listeners(signal)[0] as () => void;
        expect(first).toThrow(new Exited(STOP_SIGNALS[signal]));
      }
      expect(heard).toEqual(['report SIGINT', 'children', 'report SIGTERM', 'children']);
      expect(STOP_SIGNALS).toEqual({ SIGINT: 130, SIGTERM: 143 });
    } finally {
      process.off('SIGINT', other);
    }
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
    expect(first).toThrow(new Exited(143));
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
