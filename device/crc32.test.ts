import { describe, expect, it } from 'vitest';
import { crc32Stm32 } from './crc32.ts';

describe('crc32Stm32', () => {
  it('matches the CRC-32/MPEG-2 check value computed by the STM32 CRC unit', () => {
    expect(crc32Stm32(new TextEncoder().encode('123456789'))).toBe(0x0376e6e7);
  });

  it('gives the reset value for no data and can be continued', () => {
    expect(crc32Stm32(new Uint8Array(0))).toBe(0xffffffff);
    const data = new TextEncoder().encode('SEkey key store');
    expect(crc32Stm32(data.subarray(6), crc32Stm32(data.subarray(0, 6)))).toBe(crc32Stm32(data));
  });

  it('detects every single-bit change of a 36-byte slot', () => {
    const slot = new Uint8Array(36).map((_, i) => i * 7);
    const reference = crc32Stm32(slot);
    for (let bit = 0; bit < 36 * 8; bit++) {
      const flipped = slot.slice();
      flipped[bit >> 3] = (flipped[bit >> 3] ?? 0) ^ (1 << (bit & 7));
      expect(crc32Stm32(flipped)).not.toBe(reference);
    }
  });
});
