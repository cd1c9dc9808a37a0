import { Writable } from 'node:stream';
import { describe, expect, test } from 'vitest';
import { formatElapsed, ProgressView } from './progressView.ts';

describe('the progress line', () => {
  test('drawn in place on a terminal, cut to its width; nothing elsewhere', () => {
    const written: string[] = [];
    const stream = new Writable({
      write(chunk, _e, done) {
        written.push(String(chunk));
        done();
      },
    }) as unknown as NodeJS.WriteStream;
    const pipe = new ProgressView(stream);
    pipe.show('x');
    pipe.clear();
    expect(written).toEqual([]);
    Object.assign(stream, { isTTY: true, columns: 10 });
    const tty = new ProgressView(stream);
    tty.show('0123456789abc');
    tty.clear();
    tty.clear();
    expect(written).toEqual(['\r\x1b[2K01234567…', '\r\x1b[2K']);
    Object.assign(stream, { columns: 0 });
    new ProgressView(stream).show('a line of unknown width');
    expect(written.at(-1)).toBe('\r\x1b[2Ka line of unknown width');
  });

  test('time spans for people', () => {
    expect(formatElapsed(0)).toBe('0s');
    expect(formatElapsed(-5)).toBe('0s');
    expect(formatElapsed(45_400)).toBe('45s');
    expect(formatElapsed(125_000)).toBe('2m05s');
    expect(formatElapsed(3_720_000)).toBe('1h02m');
  });
});
