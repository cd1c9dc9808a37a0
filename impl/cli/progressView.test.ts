import { Writable } from 'node:stream';
import { describe, expect, test } from 'vitest';
import { formatElapsed, LOGGED_PROGRESS_EVERY_MS, ProgressView } from './progressView.ts';

/** A stream that keeps what is written to it (not a terminal until told otherwise). */
function capture(): { stream: NodeJS.WriteStream; written: string[] } {
  const written: string[] = [];
  const stream = new Writable({
    write(chunk, _e, done) {
      written.push(String(chunk));
      done();
    },
  }) as unknown as NodeJS.WriteStream;
  return { stream, written };
}

describe('the progress line', () => {
  test('drawn in place on a terminal, cut to its width; nothing elsewhere within the first minute', () => {
    const { stream, written } = capture();
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

  test('off a terminal, a plain line once a minute, none in the first: a long run shows in its log', () => {
    const { stream, written } = capture();
    let now = 1_000;
    const log = new ProgressView(stream, { now: () => now });
    log.show('day 1');
    now += LOGGED_PROGRESS_EVERY_MS - 1;
    log.show('day 2');
    expect(written, 'a run shorter than a minute writes nothing').toEqual([]);
    now += 1;
    log.show('day 3');
    now += 10;
    log.show('day 4');
    now += LOGGED_PROGRESS_EVERY_MS;
    log.show('day 5');
    log.clear();
    expect(written).toEqual(['day 3\n', 'day 5\n']);
  });

  test('time spans for people', () => {
    expect(formatElapsed(0)).toBe('0s');
    expect(formatElapsed(-5)).toBe('0s');
    expect(formatElapsed(45_400)).toBe('45s');
    expect(formatElapsed(125_000)).toBe('2m05s');
    expect(formatElapsed(3_720_000)).toBe('1h02m');
  });
});
