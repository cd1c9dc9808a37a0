/**
 * CRC-5 of ITU-T G.704 (10/1998) §2.2.3.2: generator polynomial x^5 + x^4 + x^2 + 1, register
 * initially 0, no final inversion, bits taken least significant first (the catalogue parameter set
 * CRC-5/G-704, alias CRC-5/ITU: poly 0x15, init 0, refin and refout true, xorout 0, check 0x07).
 *
 * Why this polynomial for the key store's 5-bit record check: it factors as (x + 1)(x^4 + x + 1),
 * so it detects every error of odd weight (the x + 1 factor), every burst of at most 5 bits (degree 5
 * with a constant term) and every two-bit error whose bits are less than 15 positions apart (x^4 + x + 1
 * is primitive, of period 15). A truncated CRC-32 (its low 5 bits) keeps none of these guarantees.
 *
 * The STM32F4's CRC unit computes CRC-32 only (RM0090 §4), so firmware computes this in software,
 * one table look-up per byte: see the `crc5.byte` row of `costModel.ts`.
 * @module
 */

/**
 * x^5 + x^4 + x^2 + 1 without its x^5 term is 0b10101 (x^4, x^2, x^0); LSB-first processing needs it
 * bit-reversed, which for this polynomial reads the same.
 */
const POLY_REFLECTED = 0x15;

const TABLE: Uint8Array = (() => {
  const table = new Uint8Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY_REFLECTED : c >>> 1;
    table[i] = c;
  }
  return table;
})();

/**
 * CRC-5/G-704 of `data`. Check value for the ASCII bytes "123456789" is 0x07.
 * @param data bytes to checksum
 * @param crc running value, to continue a previous computation (default: the initial value 0)
 */
export function crc5G704(data: Uint8Array, crc = 0): number {
  let c = crc & 0x1f;
  for (let i = 0; i < data.length; i++) c = TABLE[(c ^ (data[i] ?? 0)) & 0xff] ?? 0;
  return c;
}
