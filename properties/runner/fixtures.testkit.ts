/**
 * Fixtures for the runner's tests: suite counts with chosen figures, and a stream that keeps what
 * is written (standing in for stdout and stderr, not a terminal). Test support only.
 * @module
 */
import { Writable } from 'node:stream';
import { emptyCount } from './tally.ts';
import type { SuiteCount } from './tally.ts';

/** A count of `suite` with `figures` set. */
export function countOf(suite: string, figures: Partial<SuiteCount> = {}): SuiteCount {
  return Object.assign(emptyCount(suite), figures);
}

/** A write stream that keeps its text. */
export function sink(): NodeJS.WriteStream & { text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      chunks.push(String(chunk));
      done();
    },
  }) as unknown as NodeJS.WriteStream & { text: () => string };
  stream.text = () => chunks.join('');
  return stream;
}
