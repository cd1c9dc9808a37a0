import { describe, expect, it } from 'vitest';
import { SeededPrng } from './seededPrng.ts';

describe('SeededPrng', () => {
  it('replays the same sequence for the same seed and differs across seeds', () => {
    const a = new SeededPrng(42);
    const b = new SeededPrng(42);
    const c = new SeededPrng(43);
    const seqA = Array.from({ length: 8 }, () => a.nextU32());
    expect(Array.from({ length: 8 }, () => b.nextU32())).toEqual(seqA);
    expect(Array.from({ length: 8 }, () => c.nextU32())).not.toEqual(seqA);
    expect(new Set(seqA).size).toBe(8);
  });

  it('keeps int() inside its bound and roughly uniform', () => {
    const prng = new SeededPrng(1);
    const counts = new Array<number>(6).fill(0);
    for (let i = 0; i < 60_000; i++) {
      const v = prng.int(6);
      counts[v] = (counts[v] ?? 0) + 1;
    }
    for (const c of counts) expect(Math.abs(c - 10_000)).toBeLessThan(500);
    expect(() => prng.int(0)).toThrow(RangeError);
    expect(() => prng.int(1.5)).toThrow(RangeError);
  });

  it('produces floats in [0, 1) and byte arrays of any length', () => {
    const prng = new SeededPrng(7);
    for (let i = 0; i < 1000; i++) {
      const x = prng.next();
      expect(x).toBeGreaterThanOrEqual(0);
      expect(x).toBeLessThan(1);
    }
    expect(prng.bytes(7)).toHaveLength(7);
    const big = prng.bytes(4096);
    const distinct = new Set(big);
    expect(distinct.size).toBeGreaterThan(250);
  });
});
