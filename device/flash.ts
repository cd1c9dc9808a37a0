/**
 * Simulated STM32F429 embedded flash (RM0090 §3): 24 sectors in two banks, NOR semantics, datasheet
 * timings charged to a {@link CycleMeter}, per-sector wear, and power-cut fault injection.
 *
 * Semantics chosen, and why:
 * - Erased cells read 0xFF; a program can only clear bits (RM0090 §3.5.4: "successive write
 *   operations are possible without the need of an erase operation when changing bits from '1' to
 *   '0'; writing '1' requires a Flash memory erase operation"). By default a program stores
 *   `old AND new`: a 1 written over a 0 silently stays 0, as the F4 array (which has no ECC) behaves.
 *   With `strict: true` such a program is refused with {@link FlashNotErasedError} and nothing is
 *   written — tests use it to prove that a client never relies on that masking. Bytes written as
 *   0xFF count as padding (they change nothing on NOR), so a client may still program one byte of a
 *   PSIZE word whose other bytes are already programmed.
 * - A program call is a sequence of write operations of PSIZE bytes (x8/x16/x32, RM0090 §3.5.4
 *   Table "Program/erase parallelism"); address and length must be PSIZE multiples, which also keeps
 *   every write inside one 128-bit row (crossing one sets PGAERR). Each write operation costs t_prog.
 *   x64 needs an external VPP supply that the SEcube does not have, so it is not offered.
 * - Fault injection counts program calls and sector erases as "operations". The interrupted program
 *   leaves each bit it was clearing either cleared or not (seeded), either in hardware order (whole
 *   words done up to one torn word) or scattered over the whole call; the interrupted erase leaves
 *   garbage (random bytes, or a random mix of old, erased and random bytes). RM0090 says
 *   nothing about power loss during an operation, so the model takes the adversarial reading: any
 *   cell being changed may end up anywhere between its old and its new state. Reads after the fault
 *   are stable, a simplification: a real marginal cell may read differently from one read to the
 *   next, and a cut erase may leave cells weakly erased, reading 1 yet not holding it. So a bit a
 *   program was clearing reads cleared or not, the same at every read, and the crash arguments that
 *   rest on "a one-bit program lands or does not" (`keyStore.ts`, `counterJournal.ts`) hold in this
 *   model; firmware on real cells would program such a bit again once it reads it cleared.
 * - Endurance: beyond `endurance` erase cycles (DS9405: N_END 10 kcycles min), each program fails
 *   with probability (cycles - endurance) / endurance, capped at 1 — a deliberately simple ramp, since
 *   the datasheet gives only the guaranteed minimum. A failed program behaves like a torn one and
 *   throws {@link FlashWearOutError} (the driver's read-back verify).
 * @module
 */
import type { CostOp, CycleMeter } from './costModel.ts';
import { crc32Stm32 } from './crc32.ts';
import { isErased } from './erased.ts';
import {
  FlashAlignmentError,
  FlashImageError,
  FlashNotErasedError,
  FlashRangeError,
  FlashWearOutError,
} from './flashErrors.ts';
import { STM32F429_SECTORS, buildSectorTable, type SectorInfo } from './flashGeometry.ts';
import { PowerLossError } from './powerLossError.ts';
import { SeededPrng } from './seededPrng.ts';

/** Program/erase parallelism, i.e. FLASH_CR.PSIZE (RM0090 §3.5.4). */
export type ProgramParallelism = 'x8' | 'x16' | 'x32';

/** Bytes per write operation for each parallelism (RM0090 §3.5.4). */
export const PSIZE_BYTES: Readonly<Record<ProgramParallelism, number>> = Object.freeze({ x8: 1, x16: 2, x32: 4 });

/** Guaranteed program/erase cycles per sector (DS9405 "Flash memory endurance": N_END 10 kcycles). */
export const DEFAULT_ENDURANCE = 10_000;

/** Options of a {@link Flash}. */
export interface FlashOptions {
  /** Default PSIZE for programs and erases; x32 (2.7-3.6 V supply, RM0090 §3.5.4). */
  readonly parallelism?: ProgramParallelism;
  /** Erase cycles per sector before programs may fail; default {@link DEFAULT_ENDURANCE}. */
  readonly endurance?: number;
  /** Seed of the fault-injection generator (torn bits, garbage, wear failures). Default 1. */
  readonly seed?: number;
  /** Meter charged with datasheet timings; none by default. */
  readonly meter?: CycleMeter;
  /** Refuse programs that would need a 0 turned back into 1, 0xFF padding bytes excepted (see module doc). Default
   * false. */
  readonly strict?: boolean;
  /**
   * Sector sizes in bytes, for tests that need small sectors to reach compaction quickly. Default:
   * the real STM32F429 map. A non-standard size is charged the erase time of the next larger real
   * sector size (16, 64 or 128 KiB).
   */
  readonly geometry?: readonly number[];
}

/** Counters for benches; reset with {@link Flash.resetStats}. */
export interface FlashStats {
  /** Program calls. */
  readonly programCalls: number;
  /** Write operations (PSIZE units), each costing t_prog. */
  readonly programOps: number;
  /** Bytes covered by program calls, 0xFF padding included. */
  readonly programBytes: number;
  /** Bytes that were erased (0xFF) and were written with another value: erased space consumed. */
  readonly freshBytes: number;
  /** Bytes that already held data and were written with another value: in-place overwrites. */
  readonly overwriteBytes: number;
  /** Sector erases, per sector index. */
  readonly erases: readonly number[];
}

/** One completed change of the array, as reported to a {@link FlashWriteListener}. */
export interface FlashWrite {
  readonly kind: 'program' | 'erase';
  /** RM0090 index of the sector changed. */
  readonly sector: number;
  /** Absolute address of the first byte changed (the sector's start for an erase). */
  readonly address: number;
  /** Bytes covered (the sector's size for an erase). */
  readonly length: number;
}

/**
 * Called after each program or erase has completed and changed the cells, before the call returns
 * to the driver. It belongs to the host side of the simulation, not to the device: a host that keeps
 * the array in a file uses it to make a change durable at the moment the device relies on it (a spent
 * PIN try, an advanced counter). If it throws, the operation still happened in the array, and the
 * error reaches the driver as the operation's failure.
 */
export type FlashWriteListener = (write: FlashWrite) => void;

type EraseSizeClass = '16K' | '64K' | '128K';

function eraseOp(size: number, psize: ProgramParallelism): CostOp {
  const sizeClass: EraseSizeClass = size <= 16 * 1024 ? '16K' : size <= 64 * 1024 ? '64K' : '128K';
  return `flash.erase${sizeClass}.${psize}`;
}

const IMAGE_MAGIC = 'SEKFLSH1';
const IMAGE_VERSION = 1;
const PSIZE_CODE: Readonly<Record<ProgramParallelism, number>> = { x8: 1, x16: 2, x32: 4 };

/**
 * The STM32F429 flash array. Addresses are absolute (0x0800_0000 = sector 0). Every operation
 * throws {@link PowerLossError} while the device is unpowered.
 */
export class Flash {
  readonly sectors: readonly SectorInfo[];
  /** Total bytes. */
  readonly size: number;
  readonly parallelism: ProgramParallelism;
  readonly endurance: number;
  readonly strict: boolean;
  readonly meter: CycleMeter | undefined;
  /**
   * The cells of each sector; `undefined` for a sector never programmed since construction, which
   * reads as erased. A device uses a few of its 24 sectors, so the other ~1.5 MiB are never
   * allocated and filled with 0xFF (a test makes a fresh device per scenario); the first program
   * or interrupted erase allocates the sector. Observable behaviour is the same as a filled array.
   */
  readonly #cells: (Uint8Array | undefined)[];
  /** The sector {@link sectorAt} found last (the table never changes). */
  #lastSector: SectorInfo | undefined;
  /** All 0xFF, as long as the largest sector: what {@link inspect} shows of an unallocated sector. */
  #erasedView: Uint8Array | undefined;
  readonly #eraseCounts: number[];
  readonly #prng: SeededPrng;
  #powered = true;
  #cutCountdown: number | undefined;
  #operations = 0;
  #stats = { programCalls: 0, programOps: 0, programBytes: 0, freshBytes: 0, overwriteBytes: 0 };
  #statErases: number[];
  #listener: FlashWriteListener | undefined;

  constructor(options: FlashOptions = {}) {
    this.sectors = options.geometry ? buildSectorTable(validGeometry(options.geometry)) : STM32F429_SECTORS;
    this.size = this.sectors.reduce((sum, s) => sum + s.size, 0);
    this.parallelism = options.parallelism ?? 'x32';
    if (!(this.parallelism in PSIZE_BYTES)) throw new RangeError(`unknown parallelism ${String(this.parallelism)}`);
    this.endurance = options.endurance ?? DEFAULT_ENDURANCE;
    if (!Number.isSafeInteger(this.endurance) || this.endurance < 1)
      throw new RangeError('endurance must be a positive integer');
    this.strict = options.strict ?? false;
    this.meter = options.meter;
    this.#prng = new SeededPrng(options.seed ?? 1);
    this.#cells = this.sectors.map(() => undefined);
    this.#eraseCounts = this.sectors.map(() => 0);
    this.#statErases = this.sectors.map(() => 0);
  }

  /** The sector with RM0090 index `index`. */
  sector(index: number): SectorInfo {
    const s = this.sectors[index];
    if (s === undefined) throw new FlashRangeError(`no flash sector ${index}`);
    return s;
  }

  /** The sector containing absolute address `address`. */
  sectorAt(address: number): SectorInfo {
    // Drivers work in one sector at a time: try the last one found before searching the table.
    const last = this.#lastSector;
    if (last !== undefined && address >= last.address && address < last.address + last.size) return last;
    for (const s of this.sectors) {
      if (address >= s.address && address < s.address + s.size) {
        this.#lastSector = s;
        return s;
      }
    }
    throw new FlashRangeError(`address 0x${address.toString(16)} is outside the flash`);
  }

  /** Whether the device is powered (false between a cut and {@link powerOn}). */
  get powered(): boolean {
    return this.#powered;
  }

  /** Program calls plus erases performed since construction, including interrupted ones. */
  get operations(): number {
    return this.#operations;
  }

  /** Operations left before the armed cut fires (1 = the next one), or undefined when none is armed. */
  get pendingCut(): number | undefined {
    return this.#cutCountdown;
  }

  /**
   * Arms a power cut: the `n`-th program or erase from now (n = 1: the next one) is interrupted, as
   * described in the module doc, then throws {@link PowerLossError}; so does every later operation
   * until {@link powerOn}.
   */
  cutPowerAfter(n: number): void {
    if (!Number.isSafeInteger(n) || n < 1) throw new RangeError(`cutPowerAfter needs an integer >= 1, got ${n}`);
    this.#cutCountdown = n;
  }

  /** Disarms a cut armed by {@link cutPowerAfter} that has not fired yet. */
  cancelPowerCut(): void {
    this.#cutCountdown = undefined;
  }

  /**
   * Cuts the power now, between two operations: nothing is interrupted, and every later read,
   * program or erase throws {@link PowerLossError} until {@link powerOn}. (The device cuts its flash
   * so when its own power is pulled in the middle of a command: the command stops at its next access.)
   */
  cutPower(): void {
    this.#cutCountdown = undefined;
    this.#powered = false;
  }

  /** Restores power after a cut. The medium keeps whatever state the cut left. */
  powerOn(): void {
    this.#powered = true;
  }

  /**
   * Sets the listener told of every completed program and erase (see {@link FlashWriteListener});
   * `undefined` removes it. Interrupted and worn-out operations are not reported: they end in an
   * error, and the host saves what they left with the rest of the session.
   */
  setWriteListener(listener: FlashWriteListener | undefined): void {
    this.#listener = listener;
  }

  /** Lifetime erase count of a sector (persisted in images). */
  eraseCount(index: number): number {
    this.sector(index);
    return this.#eraseCounts[index] ?? 0;
  }

  /** Lifetime erase counts of all sectors, by index. */
  eraseCounts(): number[] {
    return [...this.#eraseCounts];
  }

  /** Counters since construction or {@link resetStats}. */
  stats(): FlashStats {
    return { ...this.#stats, erases: [...this.#statErases] };
  }

  /** Zeroes the bench counters of {@link stats} (lifetime erase counts are kept). */
  resetStats(): void {
    this.#stats = { programCalls: 0, programOps: 0, programBytes: 0, freshBytes: 0, overwriteBytes: 0 };
    this.#statErases = this.sectors.map(() => 0);
  }

  /**
   * Reads `length` bytes at `address` (within one sector) into a fresh array. Charges one flash line
   * access per 128-bit line touched (RM0090 §3.5.1).
   */
  read(address: number, length: number): Uint8Array {
    this.#requirePower();
    const { sector, offset } = this.#locate(address, length);
    this.#chargeRead(address, length);
    const cells = this.#cells[sector.index];
    return cells === undefined ? new Uint8Array(length).fill(0xff) : cells.slice(offset, offset + length);
  }

  /**
   * Reads `length` bytes at `address` (within one sector) as {@link read} does, charged the same,
   * and hands them to `look` without copying them: for a driver that only looks at a span (is a
   * sector blank, what does its header say) before deciding what to do. The view is only valid
   * during the call, and `look` must not write into it or keep it (it is the array itself).
   */
  inspect<T>(address: number, length: number, look: (cells: Uint8Array) => T): T {
    this.#requirePower();
    const { sector, offset } = this.#locate(address, length);
    this.#chargeRead(address, length);
    const cells = this.#cells[sector.index];
    if (cells !== undefined) return look(cells.subarray(offset, offset + length));
    this.#erasedView ??= new Uint8Array(Math.max(...this.sectors.map((s) => s.size))).fill(0xff);
    return look(this.#erasedView.subarray(0, length));
  }

  /**
   * Programs `data` at `address` (within one sector) as data.length / PSIZE write operations
   * (RM0090 §3.5.4). Bits can only be cleared; see the module doc for 1-over-0 and faults.
   * @param parallelism PSIZE for this call; defaults to the flash's configured parallelism, so a
   *   driver can mix byte programs with word-wide erases as the SEcube firmware does.
   */
  program(address: number, data: Uint8Array, parallelism: ProgramParallelism = this.parallelism): void {
    this.#requirePower();
    const unit = PSIZE_BYTES[parallelism];
    if (data.length === 0 || address % unit !== 0 || data.length % unit !== 0) {
      throw new FlashAlignmentError(
        `program of ${data.length} B at 0x${address.toString(16)} is not aligned to PSIZE ${parallelism} (${unit} B)`,
      );
    }
    const { sector, offset } = this.#locate(address, data.length);
    const cells = this.#materialize(sector.index);
    if (this.strict) {
      for (let i = 0; i < data.length; i++) {
        const d = data[i] ?? 0;
        if (d !== 0xff && (d & ~(cells[offset + i] ?? 0) & 0xff) !== 0) {
          throw new FlashNotErasedError(`program at 0x${(address + i).toString(16)} would need an erase (1 over 0)`);
        }
      }
    }
    const units = data.length / unit;
    this.meter?.charge('flash.program', units);
    this.#operations++;
    const s = this.#stats;
    s.programCalls++;
    s.programOps += units;
    s.programBytes += data.length;
    for (let i = 0; i < data.length; i++) {
      const d = data[i] ?? 0;
      if (d === 0xff) continue;
      if (cells[offset + i] === 0xff) s.freshBytes++;
      else if (cells[offset + i] !== d) s.overwriteBytes++;
    }

    if (this.#consumeCut()) {
      this.#tear(cells, offset, data, unit);
      this.#powered = false;
      throw new PowerLossError('flash', true, `program of ${data.length} B at 0x${address.toString(16)} interrupted`);
    }
    const cycles = this.#eraseCounts[sector.index] ?? 0;
    if (cycles > this.endurance && this.#prng.next() < Math.min(1, (cycles - this.endurance) / this.endurance)) {
      this.#tearScattered(cells, offset, data);
      throw new FlashWearOutError(sector.index, cycles);
    }
    for (let i = 0; i < data.length; i++) cells[offset + i] = (cells[offset + i] ?? 0) & (data[i] ?? 0);
    this.#listener?.({ kind: 'program', sector: sector.index, address, length: data.length });
  }

  /**
   * Erases sector `index` to 0xFF (RM0090 §3.5.3) and counts one erase cycle, also when interrupted
   * (the cells were stressed either way).
   * @param parallelism PSIZE used for the erase: it sets the erase time (DS9405 t_ERASE).
   */
  eraseSector(index: number, parallelism: ProgramParallelism = this.parallelism): void {
    this.#requirePower();
    const sector = this.sector(index);
    if (!(parallelism in PSIZE_BYTES)) throw new RangeError(`unknown parallelism ${String(parallelism)}`);
    this.meter?.charge(eraseOp(sector.size, parallelism));
    this.#operations++;
    this.#eraseCounts[index] = (this.#eraseCounts[index] ?? 0) + 1;
    this.#statErases[index] = (this.#statErases[index] ?? 0) + 1;
    if (this.#consumeCut()) {
      this.#garbage(this.#materialize(index));
      this.#powered = false;
      throw new PowerLossError('flash', true, `erase of sector ${index} interrupted`);
    }
    this.#cells[index]?.fill(0xff);
    this.#listener?.({ kind: 'erase', sector: index, address: sector.address, length: sector.size });
  }

  /**
   * Serializes the whole array, its geometry, configuration and lifetime erase counts, so the CLI
   * can keep a device between runs. Erased sectors are stored as a flag only.
   */
  toImage(): Uint8Array {
    const n = this.sectors.length;
    const headerBytes = 8 + 4 + 4 + 4 + n * 12;
    let dataBytes = 0;
    const erased = this.#cells.map((c) => c === undefined || isErased(c));
    this.#cells.forEach((c, i) => {
      if (c !== undefined && !erased[i]) dataBytes += c.length;
    });
    const image = new Uint8Array(headerBytes + dataBytes + 4);
    const view = new DataView(image.buffer);
    for (let i = 0; i < 8; i++) image[i] = IMAGE_MAGIC.charCodeAt(i);
    view.setUint32(8, IMAGE_VERSION, true);
    view.setUint8(12, PSIZE_CODE[this.parallelism]);
    view.setUint8(13, this.strict ? 1 : 0);
    view.setUint16(14, n, true);
    view.setUint32(16, this.endurance, true);
    let p = 20;
    this.sectors.forEach((s, i) => {
      view.setUint32(p, s.size, true);
      view.setUint32(p + 4, this.#eraseCounts[i] ?? 0, true);
      view.setUint32(p + 8, erased[i] ? 1 : 0, true);
      p += 12;
    });
    this.#cells.forEach((c, i) => {
      if (c !== undefined && !erased[i]) {
        image.set(c, p);
        p += c.length;
      }
    });
    view.setUint32(p, crc32Stm32(image.subarray(0, p)), true);
    return image;
  }

  /**
   * Rebuilds a flash from {@link toImage} output. `options` may supply a meter, a seed, or override
   * strictness; geometry, parallelism and endurance come from the image.
   * @throws FlashImageError when the image is truncated, corrupted or of another version.
   */
  static fromImage(image: Uint8Array, options: Pick<FlashOptions, 'meter' | 'seed' | 'strict'> = {}): Flash {
    if (image.length < 24) throw new FlashImageError('flash image truncated');
    for (let i = 0; i < 8; i++) {
      if (image[i] !== IMAGE_MAGIC.charCodeAt(i)) throw new FlashImageError('not a flash image (bad magic)');
    }
    const view = new DataView(image.buffer, image.byteOffset, image.byteLength);
    const stored = view.getUint32(image.length - 4, true);
    if (crc32Stm32(image.subarray(0, image.length - 4)) !== stored)
      throw new FlashImageError('flash image checksum mismatch');
    if (view.getUint32(8, true) !== IMAGE_VERSION) throw new FlashImageError('unsupported flash image version');
    const psizeCode = view.getUint8(12);
    const parallelism = (Object.keys(PSIZE_CODE) as ProgramParallelism[]).find((k) => PSIZE_CODE[k] === psizeCode);
    if (parallelism === undefined) throw new FlashImageError('flash image has an unknown parallelism');
    const n = view.getUint16(14, true);
    const endurance = view.getUint32(16, true);
    let p = 20;
    if (image.length < p + n * 12 + 4) throw new FlashImageError('flash image truncated');
    const sizes: number[] = [];
    const counts: number[] = [];
    const erased: boolean[] = [];
    for (let i = 0; i < n; i++) {
      sizes.push(view.getUint32(p, true));
      counts.push(view.getUint32(p + 4, true));
      erased.push(view.getUint32(p + 8, true) === 1);
      p += 12;
    }
    const geometry =
      sizes.every((s, i) => s === STM32F429_SECTORS[i]?.size) && n === STM32F429_SECTORS.length ? undefined : sizes;
    const flash = new Flash({
      parallelism,
      endurance,
      strict: options.strict ?? view.getUint8(13) === 1,
      ...(geometry ? { geometry } : {}),
      ...(options.meter ? { meter: options.meter } : {}),
      ...(options.seed !== undefined ? { seed: options.seed } : {}),
    });
    for (let i = 0; i < n; i++) {
      flash.#eraseCounts[i] = counts[i] ?? 0;
      if (erased[i]) continue;
      const size = sizes[i] ?? 0;
      if (p + size > image.length - 4) throw new FlashImageError('flash image truncated');
      flash.#materialize(i).set(image.subarray(p, p + size));
      p += size;
    }
    if (p !== image.length - 4) throw new FlashImageError('flash image has trailing bytes');
    return flash;
  }

  /**
   * SIMULATOR ONLY, like a virtual machine's snapshot: an independent copy of this chip in its
   * present state — every cell, lifetime erase counts, power, an armed cut, operation and bench
   * counters, the fault generator's state — charging `meter`. A program or erase on either no
   * longer touches the other. The write listener is not copied: it belongs to the host that keeps
   * this chip in a file. Real flash cannot be copied with its wear; the test kit uses this to hand
   * out factory-fresh devices without running factory init again (`secube.testkit.ts`).
   */
  clone(meter?: CycleMeter): Flash {
    const sizes = this.sectors.map((s) => s.size);
    const copy = new Flash({
      parallelism: this.parallelism,
      endurance: this.endurance,
      strict: this.strict,
      ...(this.sectors === STM32F429_SECTORS ? {} : { geometry: sizes }),
      ...(meter === undefined ? {} : { meter }),
    });
    this.#cells.forEach((cells, i) => {
      if (cells !== undefined) copy.#cells[i] = cells.slice();
    });
    this.#eraseCounts.forEach((n, i) => {
      copy.#eraseCounts[i] = n;
    });
    copy.#prng.copyStateOf(this.#prng);
    copy.#powered = this.#powered;
    copy.#cutCountdown = this.#cutCountdown;
    copy.#operations = this.#operations;
    copy.#stats = { ...this.#stats };
    copy.#statErases = [...this.#statErases];
    return copy;
  }

  /**
   * SIMULATOR ONLY: restarts the fault generator (torn bits, garbage, wear failures) from `seed`, as
   * if the chip had been built with it; cells and counters stay. A {@link clone} copies the generator,
   * so every copy of one snapshot tears its next program the same way: a property that forks a world
   * per run gives each copy a seed it draws, and its runs see both sides of a torn program.
   */
  reseedFaults(seed: number): void {
    this.#prng.copyStateOf(new SeededPrng(seed));
  }

  /** A summary; never the memory contents, which hold key material. */
  toString(): string {
    return (
      `Flash(${this.sectors.length} sectors, ${this.size / 1024} KiB, ${this.parallelism}, ` +
      `${this.#powered ? 'powered' : 'unpowered'})`
    );
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return this.toString();
  }

  /** One flash line access per 128-bit line touched (RM0090 §3.5.1). */
  #chargeRead(address: number, length: number): void {
    this.meter?.charge(
      'flash.read',
      length === 0 ? 0 : Math.floor((address + length - 1) / 16) - Math.floor(address / 16) + 1,
    );
  }

  #requirePower(): void {
    if (!this.#powered) throw new PowerLossError('flash', false, 'device is unpowered');
  }

  #consumeCut(): boolean {
    if (this.#cutCountdown === undefined) return false;
    this.#cutCountdown--;
    if (this.#cutCountdown > 0) return false;
    this.#cutCountdown = undefined;
    return true;
  }

  /** The cells of sector `index`, allocated erased on first use. */
  #materialize(index: number): Uint8Array {
    const sector = this.sector(index);
    let cells = this.#cells[index];
    if (cells === undefined) {
      cells = new Uint8Array(sector.size).fill(0xff);
      this.#cells[index] = cells;
    }
    return cells;
  }

  #locate(address: number, length: number): { sector: SectorInfo; offset: number } {
    if (!Number.isSafeInteger(address) || !Number.isSafeInteger(length) || length < 0) {
      throw new FlashRangeError('address and length must be non-negative integers');
    }
    const sector = this.sectorAt(address);
    const offset = address - sector.address;
    if (offset + length > sector.size) {
      throw new FlashRangeError(`range 0x${address.toString(16)}+${length} crosses the end of sector ${sector.index}`);
    }
    return { sector, offset };
  }

  #tear(cells: Uint8Array, offset: number, data: Uint8Array, unit: number): void {
    if (this.#prng.int(2) === 0) {
      // Hardware order: write operations complete one after the other; the cut lands inside one.
      const torn = this.#prng.int(data.length / unit);
      for (let i = 0; i < torn * unit; i++) cells[offset + i] = (cells[offset + i] ?? 0) & (data[i] ?? 0);
      const p = this.#prng.next();
      for (let i = torn * unit; i < (torn + 1) * unit; i++) {
        cells[offset + i] = this.#tearByte(cells[offset + i] ?? 0, data[i] ?? 0, p);
      }
    } else {
      this.#tearScattered(cells, offset, data);
    }
  }

  #tearScattered(cells: Uint8Array, offset: number, data: Uint8Array): void {
    const p = this.#prng.next();
    for (let i = 0; i < data.length; i++) cells[offset + i] = this.#tearByte(cells[offset + i] ?? 0, data[i] ?? 0, p);
  }

  /** Each bit the program was clearing is cleared with probability p; other bits keep their value. */
  #tearByte(old: number, target: number, p: number): number {
    const clearing = old & ~target & 0xff;
    let result = old;
    for (let bit = 1; bit < 0x100; bit <<= 1) {
      if (clearing & bit && this.#prng.next() < p) result &= ~bit;
    }
    return result;
  }

  #garbage(cells: Uint8Array): void {
    if (this.#prng.int(3) === 0) {
      this.#prng.fill(cells);
      return;
    }
    // Partly erased: some cells still hold their old charge, some are erased, some are neither.
    const keep = this.#prng.next();
    const erasedUpTo = keep + this.#prng.next() * (1 - keep);
    for (let i = 0; i < cells.length; i++) {
      const r = this.#prng.next();
      if (r < keep) continue;
      cells[i] = r < erasedUpTo ? 0xff : this.#prng.nextU32() & 0xff;
    }
  }
}

function validGeometry(sizes: readonly number[]): readonly number[] {
  if (sizes.length === 0) throw new RangeError('geometry needs at least one sector');
  for (const s of sizes) {
    if (!Number.isSafeInteger(s) || s < 16 || s % 16 !== 0)
      throw new RangeError(`sector size must be a positive multiple of 16, got ${s}`);
  }
  return sizes;
}
