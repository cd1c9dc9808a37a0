import { describe, expect, test } from 'vitest';
import { compressPage, decompressPage, maxCompressedLength } from './compressedPage.ts';

describe('compressed pages', () => {
  test('round trip: repetitive pages shrink, random ones stay within the bound', () => {
    const text = new TextEncoder().encode('{"type":"ACTIVATE","now":1767225600000},'.repeat(110)).slice(0, 4096);
    const random = new Uint8Array(4096).map((_, i) => (i * 2_654_435_761) >>> 24);
    for (const page of [new Uint8Array(4096), text, random]) {
      const small = compressPage(page);
      expect(small.length).toBeLessThanOrEqual(maxCompressedLength(4096));
      expect(decompressPage(small, 4096)).toEqual(page);
    }
    expect(compressPage(text).length).toBeLessThan(400);
  });

  test('what does not inflate to exactly one page is Tampered', () => {
    expect(() => decompressPage(Uint8Array.of(1, 2, 3), 4096)).toThrow(expect.objectContaining({ code: 'Tampered' }));
    expect(() => decompressPage(compressPage(new Uint8Array(100)), 4096)).toThrow(/inflates to 100 bytes/);
    expect(() => decompressPage(compressPage(new Uint8Array(8192)), 4096)).toThrow(
      expect.objectContaining({ code: 'Tampered' }),
    );
  });
});
