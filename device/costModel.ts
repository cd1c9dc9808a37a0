/**
 * Cycle-cost model of the SEcube's STM32F429 at 168 MHz.
 *
 * Every device operation charges cycles from {@link COST_TABLE}; time is cycles / 168 MHz. One row is
 * not charged anywhere, a simplification: `usb.byte`, the host link. Modelled times leave out the bytes
 * a call moves between host and HSM (about 3.2 cycles a byte: opening the 6 MB database of the
 * db-realistic bench moves its pages to the host, some 19 M cycles, 3 % or more of its open time);
 * charging it needs each call's traffic decided, which every modelled figure would then move by. Flash and
 * peripheral figures are datasheet timings converted to CPU cycles; software crypto figures are
 * published Cortex-M4 measurements, chosen where possible at the SEcube's own clock set-up (168 MHz,
 * 5 flash wait states, RM0090 §3.5.1). The model counts cycles the CPU is busy or stalled; it does not
 * overlap DMA transfers with computation.
 * @module
 */

/** CPU clock of the SEcube: HSE 16 MHz, PLLM 16, PLLN 336, PLLP 2 (RM0090 §7, RCC for STM32F42xxx/43xxx: PLL
 * configuration). */
export const CLOCK_HZ = 168_000_000;

/** Cycles per microsecond at {@link CLOCK_HZ}. */
const CYCLES_PER_US = CLOCK_HZ / 1_000_000;

/** Converts a datasheet time in microseconds into CPU cycles at 168 MHz. */
export function usToCycles(us: number): number {
  return Math.round(us * CYCLES_PER_US);
}

/** Converts a datasheet time in milliseconds into CPU cycles at 168 MHz. */
export function msToCycles(ms: number): number {
  return Math.round(ms * 1000 * CYCLES_PER_US);
}

/**
 * One row of the cost table.
 * - `cycles`: typical cost of one unit
 * - `maxCycles`: datasheet maximum where the datasheet gives one (used by the `max` profile)
 * - `per`: what one unit is
 * - `source`: where the number comes from (document and clause, or the measurement and its set-up)
 */
export interface CostRow {
  readonly cycles: number;
  readonly maxCycles?: number;
  readonly per: string;
  readonly source: string;
}

// SD card commands: access time plus transfer time, calibrated on the floors of the A1 Application
// Performance Class, which every A1 card meets: 1500 random 4 KiB reads and 500 random 4 KiB writes
// per second, and 10 MB/s sequential writing (its Class 10 floor). A write transfers at that
// sequential floor, a read at the SDIO bus rate (4-bit at 24 MHz, RM0090 §31: 512 B in 1024 clocks,
// 42.67 µs; the class sets no sequential read floor), and the access time per command is what is
// left of the random floor's 4 KiB: so a 4 KiB random command costs exactly its A1 floor, a single
// sector a little less, and a long run costs its length at the sequential rate. Charged per command,
// not per sector, since the random floor is per command whatever its size (a card's flash page is
// 4 KiB or more); a first model that spread one 4 KiB access time over 8 sectors charged a 512 B
// write 1/8 of the floor and a 10 MB sequential write five times its floor (a fresh-eyes review).
const SD_OP_SECTORS = 4096 / 512;
const SD_READ_CYCLES_PER_SECTOR = usToCycles((512 * 2) / 24);
const SD_WRITE_CYCLES_PER_SECTOR = usToCycles((512 / 10e6) * 1e6);
const SD_READ_COMMAND_CYCLES = usToCycles(1e6 / 1500) - SD_OP_SECTORS * SD_READ_CYCLES_PER_SECTOR;
const SD_WRITE_COMMAND_CYCLES = usToCycles(1e6 / 500) - SD_OP_SECTORS * SD_WRITE_CYCLES_PER_SECTOR;
const SD_A1 =
  'SD Physical Layer Simplified Specification, Application Performance Class A1: at least 1500 random ' +
  '4 KiB reads/s, 500 random 4 KiB writes/s, 10 MB/s sequential writes';

const DS9405_PROG =
  'DS9405 table "Flash memory programming": t_prog 16 µs typ / 100 µs max per write operation (any PSIZE)';
const DS9405_ERASE = 'DS9405 table "Flash memory programming": t_ERASE';
const MBED_4898 = 'mbedTLS benchmark on STM32F437 at 168 MHz, 5 WS (ARMmbed/mbed-os PR #4898)';

/**
 * Cycle cost per operation. Rows are keyed by operation name; {@link CycleMeter.charge} takes one of
 * these keys and a unit count.
 */
export const COST_TABLE = {
  'aes128.byte': {
    cycles: 70.9,
    per: 'byte of AES-128 (CBC/CTR/ECB) in C, T-tables',
    source: `${MBED_4898}: AES-CBC-128 2315 KB/s = 70.9 c/B`,
  },
  'aes192.byte': {
    cycles: 80.8,
    per: 'byte of AES-192 (CBC/CTR/ECB/key wrap) in C, T-tables',
    source: `${MBED_4898}: AES-CBC-192 2031 KB/s = 80.8 c/B`,
  },
  'aes256.byte': {
    cycles: 90.6,
    per: 'byte of AES-256 (CBC/CTR/ECB/key wrap) in C, T-tables',
    source:
      `${MBED_4898}: AES-CBC-256 1810 KB/s = 90.6 c/B (Schwabe-Stoffelen asm at 0 WS reaches 48.4 c/B: lower ` +
      `bound)`,
  },
  'aes128.keySchedule': {
    cycles: 255,
    per: 'AES-128 key expansion (FIPS 197 §5.2)',
    source: 'Schwabe & Stoffelen, "All the AES you need on Cortex-M3 and M4" (SAC 2016), STM32F407 asm: 254.9 cycles',
  },
  'aes192.keySchedule': {
    cycles: 320,
    per: "AES-192 key expansion (FIPS 197 §5.2), charged as AES-256's",
    source:
      "no published Cortex-M4 figure (Schwabe & Stoffelen give AES-128 and AES-256 only); AES-256's 319.9 " +
      'cycles, an upper bound: AES-192 expands to 52 words, AES-256 to 60 (FIPS 197 §5.2)',
  },
  'aes256.keySchedule': {
    cycles: 320,
    per: 'AES-256 key expansion (FIPS 197 §5.2)',
    source: 'Schwabe & Stoffelen, "All the AES you need on Cortex-M3 and M4" (SAC 2016), STM32F407 asm: 319.9 cycles',
  },
  'ghash.byte': {
    cycles: 161,
    per: 'byte authenticated by GHASH (NIST SP 800-38D §6.4), 4-bit tables',
    source: `${MBED_4898}: AES-GCM-128 231.7 c/B minus AES-CBC-128 70.9 c/B`,
  },
  'sha256.block': {
    cycles: 3578,
    per: 'SHA-256 compression of one 64-byte block (FIPS 180-4 §6.2.2)',
    source: `${MBED_4898}: SHA-256 2936 KB/s = 55.9 c/B x 64 B`,
  },
  'sha256.byte': {
    cycles: 55.9,
    per: 'byte hashed by SHA-256 when streaming (use instead of sha256.block, never both)',
    source: `${MBED_4898}: SHA-256 2936 KB/s`,
  },
  'hmacSha256.block': {
    cycles: 3578,
    per: 'SHA-256 compression inside HMAC; an m-byte message costs hmacSha256Compressions(m) units (RFC 2104 §2)',
    source: `RFC 2104 §2 structure (ipad block + message, opad block + digest) x ${MBED_4898}`,
  },
  'x25519.scalarMult': {
    cycles: 548_873,
    per: 'X25519 scalar multiplication (RFC 7748 §5)',
    source:
      'E. Lenngren, X25519-Cortex-M4 constant-time assembly: 548,873 cycles on Cortex-M4 (best case; a C ' +
      'implementation costs more)',
  },
  'trng.word': {
    cycles: 140,
    per: '32-bit word from the RNG peripheral',
    source: 'RM0090 §24.2: 40 RNG_CLK (PLL48CLK = 48 MHz) periods between two numbers = 0.833 µs',
  },
  'crc32.word': {
    cycles: 4,
    per: '32-bit word through the CRC calculation unit',
    source: 'RM0090 §4.2: "CRC computation done in 4 AHB clock cycles (HCLK)"',
  },
  'crc5.byte': {
    cycles: 8,
    maxCycles: 10,
    per: 'byte through a software CRC-5/G-704 (ITU-T G.704 §2.2.3.2), 256-entry table in SRAM',
    source:
      'derived from ARM DDI 0439 (Cortex-M4 TRM) §3.3.1 Table 3-1, zero wait states: a loop of LDRB data 2 + ' +
      'EOR 1 + LDRB table 2 + SUBS 1 + BNE 1+P, P = 1 typ / 3 max (no hardware CRC-5: RM0090 §4 is CRC-32 only)',
  },
  'flash.read': {
    cycles: 6,
    per: '128-bit flash line read (uncached)',
    source: 'RM0090 §3.5.1 Table 10: 5 wait states at 150-180 MHz, 2.7-3.6 V (1 + 5 cycles per line)',
  },
  'flash.program': {
    cycles: usToCycles(16),
    maxCycles: usToCycles(100),
    per: 'flash write operation (one PSIZE unit: byte, half-word or word)',
    source: DS9405_PROG,
  },
  'flash.erase16K.x8': {
    cycles: msToCycles(400),
    maxCycles: msToCycles(800),
    per: '16 KiB sector erase at x8 parallelism',
    source: `${DS9405_ERASE}16KB x8: 400 ms typ / 800 ms max`,
  },
  'flash.erase16K.x16': {
    cycles: msToCycles(300),
    maxCycles: msToCycles(600),
    per: '16 KiB sector erase at x16 parallelism',
    source: `${DS9405_ERASE}16KB x16: 300 ms typ / 600 ms max`,
  },
  'flash.erase16K.x32': {
    cycles: msToCycles(250),
    maxCycles: msToCycles(500),
    per: '16 KiB sector erase at x32 parallelism',
    source: `${DS9405_ERASE}16KB x32: 250 ms typ / 500 ms max`,
  },
  'flash.erase64K.x8': {
    cycles: msToCycles(1200),
    maxCycles: msToCycles(2400),
    per: '64 KiB sector erase at x8 parallelism',
    source: `${DS9405_ERASE}64KB x8: 1200 ms typ / 2400 ms max`,
  },
  'flash.erase64K.x16': {
    cycles: msToCycles(700),
    maxCycles: msToCycles(1400),
    per: '64 KiB sector erase at x16 parallelism',
    source: `${DS9405_ERASE}64KB x16: 700 ms typ / 1400 ms max`,
  },
  'flash.erase64K.x32': {
    cycles: msToCycles(550),
    maxCycles: msToCycles(1100),
    per: '64 KiB sector erase at x32 parallelism',
    source: `${DS9405_ERASE}64KB x32: 550 ms typ / 1100 ms max`,
  },
  'flash.erase128K.x8': {
    cycles: msToCycles(2000),
    maxCycles: msToCycles(4000),
    per: '128 KiB sector erase at x8 parallelism',
    source: `${DS9405_ERASE}128KB x8: 2 s typ / 4 s max`,
  },
  'flash.erase128K.x16': {
    cycles: msToCycles(1300),
    maxCycles: msToCycles(2600),
    per: '128 KiB sector erase at x16 parallelism',
    source: `${DS9405_ERASE}128KB x16: 1.3 s typ / 2.6 s max`,
  },
  'flash.erase128K.x32': {
    cycles: msToCycles(1000),
    maxCycles: msToCycles(2000),
    per: '128 KiB sector erase at x32 parallelism',
    source: `${DS9405_ERASE}128KB x32: 1 s typ / 2 s max`,
  },
  'usb.byte': {
    cycles: CLOCK_HZ / ((13 * 512) / 125e-6),
    per: 'byte over USB OTG HS bulk (theoretical ceiling; MSC protocol overhead not modelled; not charged yet)',
    source: 'USB 2.0 §5.8.4: at most 13 x 512 B bulk transactions per 125 µs microframe = 53.248 MB/s',
  },
  'sd.readCommand': {
    cycles: SD_READ_COMMAND_CYCLES,
    per: 'SD read command (access time; its sectors are charged as sd.sectorRead)',
    source: `${SD_A1}: the random read floor's 4 KiB (666.7 µs) less the bus time of its 8 sectors`,
  },
  'sd.sectorRead': {
    cycles: SD_READ_CYCLES_PER_SECTOR,
    per: '512-byte SD sector read (transfer)',
    source: 'RM0090 §31 SDIO 4-bit bus, SDIO_CK = 48 MHz/(CLKDIV+2) = 24 MHz: 1024 clocks per 512 B sector',
  },
  'sd.writeCommand': {
    cycles: SD_WRITE_COMMAND_CYCLES,
    per: 'SD write command (access and programming time; its sectors are charged as sd.sectorWrite)',
    source: `${SD_A1}: the random write floor's 4 KiB (2 ms) less its 8 sectors at the sequential floor`,
  },
  'sd.sectorWrite': {
    cycles: SD_WRITE_CYCLES_PER_SECTOR,
    per: '512-byte SD sector write (transfer at the sequential floor)',
    source: `${SD_A1}: 512 B at 10 MB/s (51.2 µs)`,
  },
} as const satisfies Record<string, CostRow>;

/** Name of an operation in {@link COST_TABLE}. */
export type CostOp = keyof typeof COST_TABLE;

/**
 * Number of SHA-256 compressions in HMAC-SHA256 over an m-byte message (RFC 2104 §2 with FIPS 180-4
 * §5.1.1 padding): the inner hash covers the 64-byte ipad block plus the padded message, the outer
 * hash the opad block plus the 32-byte inner digest (2 blocks).
 */
export function hmacSha256Compressions(messageBytes: number): number {
  return Math.ceil((messageBytes + 9) / 64) + 3;
}

/** Number of SHA-256 compressions for an m-byte message (FIPS 180-4 §5.1.1 padding). */
export function sha256Blocks(messageBytes: number): number {
  return Math.ceil((messageBytes + 9) / 64);
}

/**
 * Which column of the table a meter charges: `typical` (datasheet typical, the default) or `max`
 * (datasheet maximum where given, typical otherwise) — for worst-case latency figures.
 */
export type CostProfile = 'typical' | 'max';

/** Per-operation totals in a {@link CycleSnapshot}. */
export interface OpTotals {
  readonly units: number;
  readonly cycles: number;
}

/** A frozen view of a meter, for benches. */
export interface CycleSnapshot {
  readonly profile: CostProfile;
  readonly cycles: number;
  readonly busyMs: number;
  readonly byOp: Readonly<Partial<Record<CostOp, OpTotals>>>;
}

/**
 * Accumulates modelled CPU cycles at {@link CLOCK_HZ}. Devices charge it as they work; benches read
 * `cycles`/`busyMs` or take a {@link CycleSnapshot}.
 */
export class CycleMeter {
  readonly profile: CostProfile;
  #cycles = 0;
  #byOp = new Map<CostOp, { units: number; cycles: number }>();

  constructor(profile: CostProfile = 'typical') {
    this.profile = profile;
  }

  /**
   * Charges `units` of `op`.
   * @throws RangeError when `units` is negative or not finite — a silent wrong charge would skew
   *   every bench built on the meter.
   */
  charge(op: CostOp, units = 1): void {
    if (!Number.isFinite(units) || units < 0) throw new RangeError(`units must be a finite number >= 0, got ${units}`);
    if (units === 0) return;
    const row: CostRow = COST_TABLE[op];
    const perUnit = this.profile === 'max' && row.maxCycles !== undefined ? row.maxCycles : row.cycles;
    const cycles = perUnit * units;
    this.#cycles += cycles;
    const entry = this.#byOp.get(op);
    if (entry) {
      entry.units += units;
      entry.cycles += cycles;
    } else {
      this.#byOp.set(op, { units, cycles });
    }
  }

  /** Total cycles charged since construction or the last {@link reset}. */
  get cycles(): number {
    return this.#cycles;
  }

  /** Busy time in milliseconds at 168 MHz. */
  get busyMs(): number {
    return this.#cycles / (CLOCK_HZ / 1000);
  }

  /** Forgets everything charged so far. */
  reset(): void {
    this.#cycles = 0;
    this.#byOp.clear();
  }

  /**
   * SIMULATOR ONLY: a new meter with this one's profile and totals, charged independently from now
   * on (device snapshots, `SecubeDevice.simulatorClone`).
   */
  clone(): CycleMeter {
    const copy = new CycleMeter(this.profile);
    copy.#cycles = this.#cycles;
    for (const [op, totals] of this.#byOp) copy.#byOp.set(op, { units: totals.units, cycles: totals.cycles });
    return copy;
  }

  /** A copy of the current totals, per operation. */
  snapshot(): CycleSnapshot {
    const byOp: Partial<Record<CostOp, OpTotals>> = {};
    for (const [op, totals] of this.#byOp) byOp[op] = { units: totals.units, cycles: totals.cycles };
    return { profile: this.profile, cycles: this.#cycles, busyMs: this.busyMs, byOp };
  }
}
