import { describe, expect, test } from 'vitest';
import { deflateRawSync } from 'node:zlib';
import { COMPRESSED_PAGE_CACHE_ENTRIES, compressPage, decompressPage, maxCompressedLength } from './compressedPage.ts';

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

  test('a page compressed again, from the cache or not, is exactly what DEFLATE gives, and owned by the caller', () => {
    const page = (n: number) => new Uint8Array(4096).map((_, i) => (i % 97 === 0 ? n + i : 0) & 0xff);
    const first = compressPage(page(1));
    first.fill(0);
    const again = compressPage(page(1));
    expect(again).toEqual(new Uint8Array(deflateRawSync(page(1), { level: 9 })));
    // Past the bound the oldest entries leave; the answers stay the same.
    for (let n = 2; n < COMPRESSED_PAGE_CACHE_ENTRIES + 10; n += 1) compressPage(page(n));
    expect(compressPage(page(1))).toEqual(new Uint8Array(deflateRawSync(page(1), { level: 9 })));
  });
});
