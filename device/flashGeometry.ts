/**
 * Sector map of the STM32F429's 2 MiB dual-bank flash (RM0090 §3.4, "Flash module - 2 Mbyte
 * dual bank organization").
 * @module
 */

/** Base address of the main flash memory (RM0090 §2.3 memory map). */
export const FLASH_BASE = 0x0800_0000;

/** One erasable sector: RM0090 numbering (0..23), bank, absolute base address and size in bytes. */
export interface SectorInfo {
  readonly index: number;
  readonly bank: 1 | 2;
  readonly address: number;
  readonly size: number;
}

const KIB = 1024;

/** Per bank: 4 x 16 KiB, 1 x 64 KiB, 7 x 128 KiB (RM0090 §3.4). */
const BANK_SECTOR_SIZES: readonly number[] = [16, 16, 16, 16, 64, 128, 128, 128, 128, 128, 128, 128].map(
  (k) => k * KIB,
);

/**
 * Builds a sector table from consecutive sector sizes starting at {@link FLASH_BASE}. The first half
 * of the sectors is bank 1, the second half bank 2, as on the 2 MiB part.
 */
export function buildSectorTable(sizes: readonly number[]): readonly SectorInfo[] {
  const table: SectorInfo[] = [];
  let address = FLASH_BASE;
  const half = Math.ceil(sizes.length / 2);
  sizes.forEach((size, index) => {
    table.push(Object.freeze({ index, bank: index < half ? 1 : 2, address, size }));
    address += size;
  });
  return Object.freeze(table);
}

/**
 * The 24 sectors of the STM32F429ZI (2 MiB, always dual bank): 0..11 in bank 1 from 0x0800_0000,
 * 12..23 in bank 2 from 0x0810_0000; sectors 17..23 are the 128 KiB sectors of bank 2
 * (0x0812_0000..0x081E_0000). RM0090 §3.4. Note that FLASH_CR.SNB encodes sectors >= 12 as index + 4
 * (RM0090 §3.9, FLASH_CR); this table uses the plain 0..23 numbering of the sector map.
 */
export const STM32F429_SECTORS: readonly SectorInfo[] = buildSectorTable([...BANK_SECTOR_SIZES, ...BANK_SECTOR_SIZES]);

/** Total size of the STM32F429 flash: 2 MiB. */
export const STM32F429_FLASH_BYTES = 2 * 1024 * KIB;
