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
      exit,
      () => {},
    );
    const first = process.listeners('SIGTERM')[0] as () => void;
    expect(first).toThrow(new Exited(143));
  });

  test('released, the listeners are gone', () => {
    const before = process.listenerCount('SIGINT');
    const off = onStopSignal(
      () => {},
      exit,
      () => {},
    );
    expect(process.listenerCount('SIGINT')).toBe(before + 1);
    off();
    expect(process.listenerCount('SIGINT')).toBe(before);
  });
});
