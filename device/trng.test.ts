import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { COST_TABLE, CycleMeter } from './costModel.ts';
import { isDeviceError } from './deviceError.ts';
import { REPETITION_CUTOFF, Trng } from './trng.ts';

describe('Trng', () => {
  it('replays bit for bit when seeded, and seeds of different kinds differ', () => {
    const a = new Trng({ seed: 'run-1' });
    const b = new Trng({ seed: 'run-1' });
    expect(a.deterministic).toBe(true);
    expect(a.randomBytes(100)).toEqual(b.randomBytes(100));
    expect(a.randomBytes(7)).toEqual(b.randomBytes(7));
    expect(new Trng({ seed: 1 }).randomBytes(32)).not.toEqual(new Trng({ seed: '1' }).randomBytes(32));
    expect(new Trng({ seed: Uint8Array.of(1) }).randomBytes(32)).not.toEqual(new Trng({ seed: 2 }).randomBytes(32));
  });

  it('keeps the bytes a seeded run has always drawn (pinned output: simulations replay across versions)', () => {
    const trng = new Trng({ seed: 'known answer' });
    const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
    expect(hex(trng.randomBytes(5))).toBe('79d79d8aa3');
    expect(hex(trng.randomBytes(12))).toBe('8647a39ff03d187fc764dd47');
    expect([...trng.words(3)].map((w) => w.toString(16))).toEqual(['b6eb6bde', '5cfdabb7', 'ee5a5185']);
    // 1,025 words: two DRBG requests (1,024 words each at most).
    expect(hex(trng.randomBytes(4100).subarray(4090))).toBe('b9f6b4d6171fad56c926');
    expect(trng.wordsDrawn).toBe(1034);
  });

  it('uses OS randomness when not seeded', () => {
    const a = new Trng();
    expect(a.deterministic).toBe(false);
    const x = a.randomBytes(32);
    expect(x.length).toBe(32);
    expect(x).not.toEqual(new Trng().randomBytes(32));
  });

  it('draws whole 32-bit words and charges the TRNG word cost for each, the discarded first one included', () => {
    const meter = new CycleMeter();
    const trng = new Trng({ seed: 9, meter });
    expect(trng.wordsDrawn).toBe(1);
    trng.randomBytes(5); // 2 words
    trng.words(3);
    expect(trng.wordsDrawn).toBe(6);
    expect(meter.snapshot().byOp['trng.word']).toEqual({ units: 6, cycles: 6 * COST_TABLE['trng.word'].cycles });
  });

  it('serves large requests across several DRBG calls', () => {
    const trng = new Trng({ seed: 'big' });
    const big = trng.randomBytes(300_000);
    expect(big.length).toBe(300_000);
    expect(new Set(big.subarray(0, 4096)).size).toBeGreaterThan(200);
  });

  it('fails the SP 800-90B §4.4.1 repetition count test on a stuck source, at its third equal word', () => {
    const stuck = new Trng({ rawSource: (n) => new Uint8Array(n).fill(0x5a) });
    // The word after power-up is kept for comparison: the first word drawn is the second in a row.
    expect(stuck.randomBytes(4)).toEqual(new Uint8Array(4).fill(0x5a));
    try {
      stuck.randomBytes(4);
      expect.unreachable('a stuck source must fail');
    } catch (e) {
      expect(isDeviceError(e, 'TrngFailure')).toBe(true);
      expect(String(e)).toContain(`the same RNG word ${REPETITION_CUTOFF} times in a row`);
    }
    const short = new Trng({ rawSource: (n) => new Uint8Array(n === 4 ? 4 : n - 1) });
    expect(() => short.randomBytes(8)).toThrow(/short read/);
  });

  it('passes a word that comes twice in a row (a healthy source does, once in 2^32 words), not three times', () => {
    // Words, little-endian: the power-up word 1, then 2, 2 (twice: passes), 3, 3, 3 (fails at the third).
    const words = [1, 2, 2, 3, 3, 3];
    let next = 0;
    const source = (n: number) => {
      const out = new Uint32Array(n / 4).map(() => words[next++] ?? 0);
      return new Uint8Array(out.buffer);
    };
    const trng = new Trng({ rawSource: source });
    expect([...trng.words(4)]).toEqual([2, 2, 3, 3]);
    expect(() => trng.words(1)).toThrow(/3 times in a row/);
    expect(REPETITION_CUTOFF).toBe(1 + Math.ceil(40 / 32));
  });

  it('refuses bad lengths', () => {
    const trng = new Trng({ seed: 0 });
    expect(() => trng.randomBytes(-1)).toThrow(RangeError);
    expect(() => trng.words(1.5)).toThrow(RangeError);
    expect(() => new Trng({ seed: 0.5 })).toThrow(RangeError);
    expect(trng.randomBytes(0).length).toBe(0);
  });

  it('never prints its state', () => {
    const trng = new Trng({ seed: 3 });
    expect(String(trng)).toBe('Trng(seeded HMAC_DRBG)');
    expect(inspect(trng, { showHidden: true, depth: 9 })).toBe('Trng(seeded HMAC_DRBG)');
    expect(JSON.parse(JSON.stringify(trng))).toEqual({ deterministic: true, wordsDrawn: 1 });
    expect(String(new Trng())).toBe('Trng(OS)');
  });
});
