import { describe, expect, it } from 'vitest';
import { crc5G704 } from './crc5.ts';
import { SeededPrng } from './seededPrng.ts';

/**
 * An independent CRC-5/G-704 by plain polynomial division, written from ITU-T G.704 §2.2.3.2 rather
 * than from the table code: the message bits in transmission order (least significant bit of each
 * byte first), multiplied by x^5, divided by x^5 + x^4 + x^2 + 1 (0b110101); the remainder's x^4
 * coefficient is the first check bit sent, so it lands in bit 0 of the value, as in the catalogue.
 */
function crc5ByDivision(data: Uint8Array): number {
  const bits: number[] = [];
  for (const byte of data) for (let k = 0; k < 8; k++) bits.push((byte >> k) & 1);
  bits.push(0, 0, 0, 0, 0);
  const generator = [1, 1, 0, 1, 0, 1]; // x^5 .. x^0
  for (let i = 0; i + 5 < bits.length; i++) {
    if (bits[i] === 0) continue;
    for (let k = 0; k < 6; k++) bits[i + k] = (bits[i + k] ?? 0) ^ (generator[k] ?? 0);
  }
  const remainder = bits.slice(-5); // coefficients of x^4 .. x^0
  return remainder.reduce((value, bit, k) => value | (bit << k), 0);
}

describe('crc5G704', () => {
  it('gives the catalogued check value of CRC-5/G-704 (CRC-5/ITU) for "123456789"', () => {
    // Check value 0x07 from the CRC RevEng catalogue entry CRC-5/G-704 (which cites ITU-T G.704
    // §2.2.3.2); the division below, written from the recommendation, agrees.
    const check = new TextEncoder().encode('123456789');
    expect(crc5G704(check)).toBe(0x07);
    expect(crc5ByDivision(check)).toBe(0x07);
  });

  it('agrees with plain polynomial division on random messages, and can be continued', () => {
    const prng = new SeededPrng(704);
    for (let trial = 0; trial < 500; trial++) {
      const data = prng.bytes(prng.int(60));
      expect(crc5G704(data)).toBe(crc5ByDivision(data));
      const cut = prng.int(data.length + 1);
      expect(crc5G704(data.subarray(cut), crc5G704(data.subarray(0, cut)))).toBe(crc5G704(data));
    }
    expect(crc5G704(new Uint8Array(0))).toBe(0);
  });

  it('detects every single-bit, odd-weight and short-burst error of a 37-byte message', () => {
    const prng = new SeededPrng(5);
    const message = prng.bytes(37);
    const reference = crc5G704(message);
    const flip = (positions: readonly number[]): Uint8Array => {
      const out = message.slice();
      for (const p of positions) out[p >> 3] = (out[p >> 3] ?? 0) ^ (1 << (p & 7));
      return out;
    };
    const bits = 37 * 8;
    for (let p = 0; p < bits; p++) {
      expect(crc5G704(flip([p]))).not.toBe(reference);
      // Every burst of length 2..5 starting here (bits in transmission order: LSB of each byte first).
      for (let length = 2; length <= 5 && p + length <= bits; length++) {
        for (let inner = 0; inner < 1 << (length - 2); inner++) {
          const burst = [p, p + length - 1];
          for (let k = 0; k < length - 2; k++) if ((inner >> k) & 1) burst.push(p + 1 + k);
          expect(crc5G704(flip(burst))).not.toBe(reference);
        }
      }
    }
    for (let trial = 0; trial < 2000; trial++) {
      const weight = 3 + 2 * prng.int(4);
      const positions = new Set<number>();
      while (positions.size < weight) positions.add(prng.int(bits));
      expect(crc5G704(flip([...positions]))).not.toBe(reference);
    }
  });
});
