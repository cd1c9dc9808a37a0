/**
 * CRC-32 as computed by the STM32F4 CRC calculation unit (RM0090 §4: polynomial 0x04C11DB7, initial
 * value 0xFFFFFFFF, MSB-first, no final XOR — the CRC-32/MPEG-2 parameter set). The unit consumes
 * 32-bit words; feeding it the words whose big-endian bytes are `data` gives the same value as this
 * byte-wise function, which is why the on-flash formats that use it are padded to whole words.
 * @module
 */

const TABLE: Uint32Array = (() => {
  const table = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i << 24;
    for (let k = 0; k < 8; k++) c = c & 0x8000_0000 ? (c << 1) ^ 0x04c1_1db7 : c << 1;
    table[i] = c >>> 0;
  }
  return table;
})();

/**
 * CRC-32/MPEG-2 of `data` (RM0090 §4.3 CRC functional description). Check value for the ASCII bytes
 * "123456789" is 0x0376E6E7.
 * @param data bytes to checksum
 * @param crc running value, to continue a previous computation (default: the unit's reset value)
 */
export function crc32Stm32(data: Uint8Array, crc = 0xffff_ffff): number {
  let c = crc >>> 0;
  for (let i = 0; i < data.length; i++) {
    c = ((c << 8) ^ (TABLE[((c >>> 24) ^ (data[i] ?? 0)) & 0xff] ?? 0)) >>> 0;
  }
  return c;
}
