/**
 * Fixtures for the runner's tests: suite counts with chosen figures, and a stream that keeps what
 * is written (standing in for stdout and stderr, not a terminal). Test support only.
 * @module
 */
import { Writable } from 'node:stream';
import { emptyCount } from './tally.ts';
import type { SuiteCount } from './tally.ts';
import type { DoneLine } from './progressLine.ts';

/** A count of `suite` with `figures` set. */
export function countOf(suite: string, figures: Partial<SuiteCount> = {}): SuiteCount {
  return Object.assign(emptyCount(suite), figures);
}

/** A property's end with a counterexample, in `suite`'s `test`, with `figures` set. */
export function counterexampleOf(suite: string, test: string, figures: Partial<DoneLine> = {}): DoneLine {
  return {
    kind: 'done',
    suite,
    test,
    runs: 3,
    operations: 30,
    cpuMicros: 1,
    failed: true,
    interrupted: false,
    seed: 0,
    path: '2:0',
    counterexample: null,
    error: 'AssertionError: expected 1 to be 0',
    reproduction: null,
    ...figures,
  };
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
