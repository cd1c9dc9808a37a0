import { describe, expect, test } from 'vitest';
import { guardInterrupts } from './interrupts.ts';

/** A guard whose lines and exits are recorded. */
function recordedGuard(): { guard: ReturnType<typeof guardInterrupts>; said: string[]; exits: number[] } {
  const said: string[] = [];
  const exits: number[] = [];
  const guard = guardInterrupts(
    (line) => said.push(line),
    (code) => exits.push(code),
  );
  return { guard, said, exits };
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

  test('while changing: finished first, the first signal remembered and said once', () => {
    const listeners = process.listenerCount('SIGINT');
    const { guard, said, exits } = recordedGuard();
    try {
      guard.beginChanges();
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
});
