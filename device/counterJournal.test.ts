import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { propertyParams } from '../testing/runConfig.ts';
import {
  ENTRY_BYTES,
  MAX_ENTRY_VALUE,
  TALLY_BITS,
  TALLY_BYTES,
  encodeEntry,
  readEntry,
  tallyCount,
  tallyStep,
} from './counterJournal.ts';
import type { JournalEntry } from './counterJournal.ts';

const entry: fc.Arbitrary<JournalEntry> = fc.record({
  kind: fc.constantFrom('delta' as const, 'tally' as const),
  index: fc.integer({ min: 0, max: 255 }),
  value: fc.oneof(fc.integer({ min: 1, max: 4096 }), fc.integer({ min: 1, max: MAX_ENTRY_VALUE })),
});

describe('counter journal entries', () => {
  it('decode what they encode, and erased flash is no entry', () => {
    fc.assert(
      fc.property(entry, (e) => {
        const bytes = encodeEntry(e);
        expect(bytes.length).toBe(ENTRY_BYTES);
        expect(readEntry(bytes)).toEqual({ kind: 'entry', entry: e });
      }),
      propertyParams(300),
    );
    expect(readEntry(new Uint8Array(8).fill(0xff))).toEqual({ kind: 'erased' });
    expect(readEntry(new Uint8Array(8))).toEqual({ kind: 'invalid' });
  });

  it('refuse values and indices out of range', () => {
    for (const bad of [
      { kind: 'delta', index: 0, value: 0 },
      { kind: 'delta', index: 0, value: MAX_ENTRY_VALUE + 1 },
      { kind: 'tally', index: 256, value: 1 },
      { kind: 'tally', index: -1, value: 1 },
    ] as const)
      expect(() => encodeEntry(bad)).toThrow(RangeError);
  });

  it('a torn program (some of the bits it clears left at 1) never reads as an entry (Berger code)', () => {
    fc.assert(
      fc.property(entry, fc.array(fc.boolean(), { minLength: 64, maxLength: 64 }), (e, keep) => {
        const bytes = encodeEntry(e);
        const torn = bytes.slice();
        let leftAtOne = 0;
        for (let bit = 0; bit < 64; bit++) {
          const mask = 1 << (bit % 8);
          const at = bit >> 3;
          if (((bytes[at] ?? 0) & mask) === 0 && keep[bit] === true) {
            torn[at] = (torn[at] ?? 0) | mask;
            leftAtOne++;
          }
        }
        const reading = readEntry(torn);
        if (leftAtOne === 0) expect(reading).toEqual({ kind: 'entry', entry: e });
        else expect(reading.kind).not.toBe('entry');
      }),
      propertyParams(2000),
    );
  });

  it('exhaustively: every torn version of an entry with one or two cleared bits left at 1 is refused', () => {
    const bytes = encodeEntry({ kind: 'tally', index: 3, value: 2 ** 20 });
    const cleared: number[] = [];
    for (let bit = 0; bit < 64; bit++) if (((bytes[bit >> 3] ?? 0) & (1 << (bit % 8))) === 0) cleared.push(bit);
    const tear = (bits: readonly number[]): Uint8Array => {
      const t = bytes.slice();
      for (const bit of bits) t[bit >> 3] = (t[bit >> 3] ?? 0) | (1 << (bit % 8));
      return t;
    };
    for (const a of cleared) {
      expect(readEntry(tear([a])).kind).toBe('invalid');
      for (const b of cleared) if (b > a) expect(readEntry(tear([a, b])).kind).toBe('invalid');
    }
  });
});

describe('tally blocks', () => {
  it('count a thermometer of cleared bits, one x32 word program per step', () => {
    const block = new Uint8Array(TALLY_BYTES).fill(0xff);
    expect(tallyCount(block)).toBe(0);
    for (let n = 0; n < TALLY_BITS; n++) {
      const { offset, word } = tallyStep(n);
      expect(offset % 4).toBe(0);
      for (let i = 0; i < 4; i++) block[offset + i] = (block[offset + i] ?? 0) & (word[i] ?? 0);
      expect(tallyCount(block)).toBe(n + 1);
    }
    expect(block.every((b) => b === 0)).toBe(true);
    expect(() => tallyStep(TALLY_BITS)).toThrow(RangeError);
  });

  it('refuse cleared bits that are not a prefix', () => {
    const block = new Uint8Array(TALLY_BYTES).fill(0xff);
    block[1] = 0xfe;
    expect(tallyCount(block)).toBeUndefined();
  });
});
