import { describe, expect, test } from 'vitest';
import { terminalGone } from './endProcess.ts';

describe('terminalGone', () => {
  test('a stream that was a terminal at start-up and is one no longer: the terminal hung up', () => {
    const now = (terminals: readonly number[]) => (fd: number) => terminals.includes(fd);
    // Input and error on the terminal at start-up, output to a file.
    const started = [true, false, true];
    expect(terminalGone(started, now([0, 2]))).toBe(false);
    expect(terminalGone(started, now([]))).toBe(true);
    expect(terminalGone(started, now([0]))).toBe(true);
    // Output was never a terminal: its not being one says nothing.
    expect(terminalGone([false, false, false], now([]))).toBe(false);
  });
});
