import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isErased } from './erased.ts';
import { propertyParams } from '../testing/runConfig.ts';

describe('isErased', () => {
  it('agrees with a byte-by-byte check at every alignment and length, with one byte programmed anywhere', () => {
    fc.assert(
      fc.property(
        fc.nat(7),
        fc.nat(70),
        fc.option(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 0xfe })), { nil: undefined }),
        (offset, length, programmed) => {
          const backing = new Uint8Array(offset + length).fill(0xff);
          if (programmed !== undefined && length > 0) backing[offset + (programmed[0] % length)] = programmed[1];
          const span = backing.subarray(offset);
          expect(isErased(span)).toBe(span.every((b) => b === 0xff));
        },
      ),
      propertyParams(300),
    );
  });

  it('an empty span is erased; a 128 KiB sector with its last byte programmed is not', () => {
    expect(isErased(new Uint8Array(0))).toBe(true);
    const sector = new Uint8Array(128 * 1024).fill(0xff);
    expect(isErased(sector)).toBe(true);
    sector[sector.length - 1] = 0xfe;
    expect(isErased(sector)).toBe(false);
  });
});
