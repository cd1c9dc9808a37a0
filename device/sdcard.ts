/**
 * The SEcube's microSD card, as a block device of 512-byte sectors with SQLite's crash-test fault
 * model (the crash VFS of SQLite's `src/test6.c`).
 *
 * Writes are volatile until {@link SdCard.sync}: the card keeps an ordered list of pending sector
 * writes, and reads see them. A power cut resolves every pending sector write, in order and
 * independently, as **written** (the new content), **dropped** (the old content stays) or
 * **garbage** (all or part of the sector filled with seeded random bytes), then the card is off
 * until {@link SdCard.powerOn}. That is exactly what an SD card's flash translation layer may do:
 * the SD Physical Layer Simplified Specification promises no write ordering or atomicity before a
 * write completes, only that completed data is retained.
 *
 * What the model leaves out: a cut here never touches a sector that was synced before it. Real flash
 * does not always keep that promise: Zheng et al., "Understanding the Robustness of SSDs under Power
 * Fault" (USENIX FAST 2013) found 13 of 15 SSDs failing under power faults, with bit corruption,
 * shorn writes, unserializable writes, metadata corruption and whole devices lost. The stores of
 * `impl/db` rely on the synced copy surviving (a page's two shadow slots are adjacent sectors, and so
 * are the two manifest slots, so a card that garbled a neighbourhood could take both copies); no fault
 * mode of this card simulates that, and nothing here claims to survive it.
 *
 * Commands go over SDIO (4-bit bus at 24 MHz on the SEcube) and are charged to an optional
 * {@link CycleMeter}: an access time per command and a transfer time per sector (`costModel.ts`), so
 * one command of many sectors costs less than as many single-sector commands, as on a real card. A
 * command's time includes the card's programming, so a {@link SdCard.sync} costs nothing more.
 * @module
 */
import { sha256 } from '@noble/hashes/sha2.js';
import type { CycleMeter } from './costModel.ts';
import { PowerLossError } from './powerLossError.ts';
import { SeededPrng } from './seededPrng.ts';
import { utf8 } from './binaryCodec.ts';

/** Bytes per SD sector (SD Physical Layer Specification: a block is 512 bytes for SDHC/SDXC). */
export const SD_SECTOR_SIZE = 512;

/** What a power cut made of one pending sector write (SQLite crash VFS: write / drop / garbage). */
export type SectorOutcome = 'written' | 'dropped' | 'garbage';

/** One resolved pending write, in the order it was issued. */
export interface SectorCrashOutcome {
  readonly sector: number;
  readonly outcome: SectorOutcome;
}

/** What {@link SdCard.cutPower} did to the pending writes. */
export interface SdCrashReport {
  readonly outcomes: readonly SectorCrashOutcome[];
}

/** Options of {@link SdCard.cutPower}. */
export interface SdCutPowerOptions {
  /** Force one outcome for every pending write (tests of each branch); random per write otherwise. */
  readonly outcome?: SectorOutcome;
}

/** I/O counters for benches. They are host-side statistics and are not part of the image. */
export interface SdCardStats {
  /** `read` calls. */
  readonly reads: number;
  readonly sectorsRead: number;
  readonly bytesRead: number;
  /** `write` calls. */
  readonly writes: number;
  readonly sectorsWritten: number;
  readonly bytesWritten: number;
  readonly syncs: number;
  readonly powerCuts: number;
}

/** Options of {@link SdCard}. */
export interface SdCardOptions {
  /** Number of 512-byte sectors (the card's capacity). */
  readonly sectorCount: number;
  /** Meter charged for every transfer. */
  readonly meter?: CycleMeter;
  /** Seed of the fault generator used by armed cuts and by `cutPower()` without a seed. Default 1. */
  readonly seed?: number;
}

interface PendingWrite {
  readonly sector: number;
  readonly data: Uint8Array;
}

interface Armed {
  readonly kind: 'write' | 'sync';
  /** Operations of that kind until the cut; 1 = the next one is interrupted. */
  countdown: number;
  /** How the pending writes resolve when it fires. */
  readonly options: SdCutPowerOptions;
}

const NO_STATS: SdCardStats = {
  reads: 0,
  sectorsRead: 0,
  bytesRead: 0,
  writes: 0,
  sectorsWritten: 0,
  bytesWritten: 0,
  syncs: 0,
  powerCuts: 0,
};

const IMAGE_MAGIC = utf8('SEKSDIMG');
const IMAGE_VERSION = 1;
const IMAGE_HEADER = IMAGE_MAGIC.length + 4 * 4;
const DIGEST = 32;
const ZERO_SECTOR = new Uint8Array(SD_SECTOR_SIZE);

function assertSectorCount(sectorCount: number): void {
  if (!Number.isSafeInteger(sectorCount) || sectorCount < 1 || sectorCount > 0xffff_ffff) {
    throw new RangeError(`sectorCount must be an integer in 1..2^32-1, got ${sectorCount}`);
  }
}

/**
 * A microSD card of 512-byte sectors with SQLite's crash-VFS fault model. Unwritten sectors read
 * as zeros (the SCR `DATA_STAT_AFTER_ERASE` = 0 case). Storage is sparse, so a card of any size
 * costs memory only for sectors ever written.
 */
export class SdCard {
  /** Bytes per sector. */
  static readonly SECTOR_SIZE = SD_SECTOR_SIZE;
  /** Number of sectors. */
  readonly sectorCount: number;
  readonly #meter: CycleMeter | undefined;
  /** Durable content: what survives any power cut. */
  readonly #durable = new Map<number, Uint8Array>();
  /** Unsynced writes in issue order (SQLite crash VFS's write list). */
  #pending: PendingWrite[] = [];
  /** Latest pending content per sector, for reads. */
  #pendingLatest = new Map<number, Uint8Array>();
  #powered = true;
  #armed: Armed | undefined;
  readonly #prng: SeededPrng;
  #stats: { -readonly [K in keyof SdCardStats]: number } = { ...NO_STATS };
  /** Told after every cut: the board this card is powered by ({@link onPowerCut}). */
  #supply: (() => void) | undefined;

  constructor(options: SdCardOptions) {
    assertSectorCount(options.sectorCount);
    this.sectorCount = options.sectorCount;
    this.#meter = options.meter;
    this.#prng = new SeededPrng(options.seed ?? 1);
  }

  /** The meter this card charges, if any. */
  get meter(): CycleMeter | undefined {
    return this.#meter;
  }

  /**
   * SIMULATOR ONLY, like a virtual machine's snapshot: an independent copy of this card in its
   * present state — durable and pending sectors, power, an armed cut, the fault generator's state,
   * the counters — charging `meter`. Writes to either no longer reach the other.
   */
  clone(meter?: CycleMeter): SdCard {
    const copy = new SdCard({ sectorCount: this.sectorCount, ...(meter === undefined ? {} : { meter }) });
    for (const [sector, data] of this.#durable) copy.#durable.set(sector, data.slice());
    copy.#pending = this.#pending.map((w) => ({ sector: w.sector, data: w.data.slice() }));
    // The latest pending content of a sector is the data of its last pending write: share those copies.
    for (const w of copy.#pending) copy.#pendingLatest.set(w.sector, w.data);
    copy.#powered = this.#powered;
    copy.#armed = this.#armed === undefined ? undefined : { ...this.#armed };
    copy.#prng.copyStateOf(this.#prng);
    copy.#stats = { ...this.#stats };
    return copy;
  }

  /**
   * Registers what else loses power when this card does: the card sits on the SEcube's board, on its
   * supply, so a cut the card sees is the board's (`SecubeDevice` registers itself). The latest
   * registration replaces the one before (a device rebuilt on the same card); clones start with none.
   */
  onPowerCut(listener: () => void): void {
    this.#supply = listener;
  }

  /** False after a power cut, until {@link powerOn} (same name as the flash's). */
  get powered(): boolean {
    return this.#powered;
  }

  /** Sector writes not yet made durable by {@link sync}. */
  get pendingWrites(): number {
    return this.#pending.length;
  }

  /** A copy of the I/O counters. */
  stats(): SdCardStats {
    return { ...this.#stats };
  }

  /** Zeroes the I/O counters (between bench phases). */
  resetStats(): void {
    this.#stats = { ...NO_STATS };
  }

  #checkRange(sector: number, count: number): void {
    if (
      !Number.isSafeInteger(sector) ||
      !Number.isSafeInteger(count) ||
      sector < 0 ||
      count < 1 ||
      sector + count > this.sectorCount
    ) {
      throw new RangeError(`sectors ${sector}..${sector + count - 1} are outside 0..${this.sectorCount - 1}`);
    }
  }

  #checkPower(op: string): void {
    if (!this.#powered) throw new PowerLossError('sd', false, `${op} while unpowered`);
  }

  /** Reads `count` sectors from `sector`; pending writes are visible (as in SQLite's crash VFS). */
  read(sector: number, count = 1): Uint8Array {
    this.#checkPower('read');
    this.#checkRange(sector, count);
    const out = new Uint8Array(count * SD_SECTOR_SIZE);
    for (let i = 0; i < count; i++) {
      const s = sector + i;
      const data = this.#pendingLatest.get(s) ?? this.#durable.get(s);
      if (data !== undefined) out.set(data, i * SD_SECTOR_SIZE);
    }
    this.#stats.reads += 1;
    this.#stats.sectorsRead += count;
    this.#stats.bytesRead += out.length;
    this.#meter?.charge('sd.readCommand', 1);
    this.#meter?.charge('sd.sectorRead', count);
    return out;
  }

  /**
   * Writes whole sectors from `sector`. The data is pending until {@link sync}.
   * @throws PowerLossError when an armed cut ({@link cutPowerAfter}) fires on this write; the
   *   interrupted write is resolved with the other pending ones.
   */
  write(sector: number, data: Uint8Array): void {
    this.#checkPower('write');
    if (data.length === 0 || data.length % SD_SECTOR_SIZE !== 0) {
      throw new RangeError(`write length must be a positive multiple of ${SD_SECTOR_SIZE}, got ${data.length}`);
    }
    const count = data.length / SD_SECTOR_SIZE;
    this.#checkRange(sector, count);
    for (let i = 0; i < count; i++) {
      const copy = data.slice(i * SD_SECTOR_SIZE, (i + 1) * SD_SECTOR_SIZE);
      this.#pending.push({ sector: sector + i, data: copy });
      this.#pendingLatest.set(sector + i, copy);
    }
    this.#stats.writes += 1;
    this.#stats.sectorsWritten += count;
    this.#stats.bytesWritten += data.length;
    this.#meter?.charge('sd.writeCommand', 1);
    this.#meter?.charge('sd.sectorWrite', count);
    this.#maybeCut('write');
  }

  /**
   * Makes every pending write durable (a completed `CMD13`/busy wait after the writes: the card
   * has programmed them).
   * @throws PowerLossError when an armed cut ({@link cutPowerAtSync}) fires on this sync: the
   *   pending writes are resolved at random instead, as in SQLite's crash VFS.
   */
  sync(): void {
    this.#checkPower('sync');
    this.#maybeCut('sync');
    for (const w of this.#pending) this.#store(w.sector, w.data);
    this.#pending = [];
    this.#pendingLatest = new Map();
    this.#stats.syncs += 1;
  }

  #maybeCut(kind: Armed['kind']): void {
    const armed = this.#armed;
    if (armed?.kind !== kind) return;
    armed.countdown -= 1;
    if (armed.countdown > 0) return;
    this.#armed = undefined;
    this.#resolvePending(this.#prng, armed.options);
    throw new PowerLossError('sd', true, `power cut during ${kind}`);
  }

  #store(sector: number, data: Uint8Array): void {
    // Keep the map sparse: an all-zero sector is the same as a never-written one.
    if (data.every((b) => b === 0)) this.#durable.delete(sector);
    else this.#durable.set(sector, data);
  }

  /**
   * Cuts power now. Each pending write, in issue order, is resolved independently as written,
   * dropped or garbage (a random byte range of the sector, possibly all of it, replaced by seeded
   * random bytes), as in SQLite's crash VFS. The card is then off until {@link powerOn}.
   * @param seed makes the outcome reproducible; without it the card's own seeded generator is used.
   */
  cutPower(seed?: number, options: SdCutPowerOptions = {}): SdCrashReport {
    return this.#resolvePending(seed === undefined ? this.#prng : new SeededPrng(seed), options);
  }

  #resolvePending(prng: SeededPrng, options: SdCutPowerOptions): SdCrashReport {
    const outcomes: SectorCrashOutcome[] = [];
    const kinds: readonly SectorOutcome[] = ['written', 'dropped', 'garbage'];
    for (const w of this.#pending) {
      const outcome = options.outcome ?? kinds[prng.int(3)] ?? 'dropped';
      outcomes.push({ sector: w.sector, outcome });
      if (outcome === 'written') {
        this.#store(w.sector, w.data);
      } else if (outcome === 'garbage') {
        const sector = (this.#durable.get(w.sector) ?? ZERO_SECTOR).slice();
        const from = prng.int(SD_SECTOR_SIZE);
        const to = from + 1 + prng.int(SD_SECTOR_SIZE - from);
        sector.set(prng.bytes(to - from), from);
        this.#store(w.sector, sector);
      }
    }
    this.#pending = [];
    this.#pendingLatest = new Map();
    this.#armed = undefined;
    this.#powered = false;
    this.#stats.powerCuts += 1;
    this.#supply?.();
    return { outcomes };
  }

  /**
   * Arms a power cut, counted as the flash counts it: the `nWrites`-th `write` from now (1 = the
   * next one) is interrupted — its sectors become pending, every pending write is resolved as in
   * {@link cutPower} with the card's seeded generator (or as `options` force), and the call throws
   * {@link PowerLossError}.
   */
  cutPowerAfter(nWrites: number, options: SdCutPowerOptions = {}): void {
    if (!Number.isSafeInteger(nWrites) || nWrites < 1)
      throw new RangeError(`cutPowerAfter needs an integer >= 1, got ${nWrites}`);
    this.#armed = { kind: 'write', countdown: nWrites, options };
  }

  /**
   * Arms a power cut at a sync, as SQLite's crash VFS does: the `nSyncs`-th `sync` from now crashes
   * instead of making the pending writes durable.
   */
  cutPowerAtSync(nSyncs: number, options: SdCutPowerOptions = {}): void {
    if (!Number.isSafeInteger(nSyncs) || nSyncs < 1)
      throw new RangeError(`cutPowerAtSync needs an integer >= 1, got ${nSyncs}`);
    this.#armed = { kind: 'sync', countdown: nSyncs, options };
  }

  /** Cancels an armed cut that has not fired yet (same name as the flash's). */
  cancelPowerCut(): void {
    this.#armed = undefined;
  }

  /** Powers the card back on; the durable content is what the cut left. */
  powerOn(): void {
    this.#powered = true;
  }

  /**
   * Serialises the durable content: pending (unsynced) writes are not part of the image, as they
   * would not be on a card pulled out of the slot. Format (little-endian): magic `SEKSDIMG`,
   * version, sector size, sector count, entry count, then (index u32, 512 bytes) per non-zero
   * sector in ascending order, then SHA-256 of everything before it.
   */
  toImage(): Uint8Array {
    const sectors = [...this.#durable.keys()].sort((a, b) => a - b);
    const body = IMAGE_HEADER + sectors.length * (4 + SD_SECTOR_SIZE);
    const out = new Uint8Array(body + DIGEST);
    const view = new DataView(out.buffer);
    out.set(IMAGE_MAGIC, 0);
    let at = IMAGE_MAGIC.length;
    for (const v of [IMAGE_VERSION, SD_SECTOR_SIZE, this.sectorCount, sectors.length]) {
      view.setUint32(at, v, true);
      at += 4;
    }
    for (const s of sectors) {
      view.setUint32(at, s, true);
      out.set(this.#durable.get(s) ?? ZERO_SECTOR, at + 4);
      at += 4 + SD_SECTOR_SIZE;
    }
    out.set(sha256(out.subarray(0, body)), body);
    return out;
  }

  /**
   * Rebuilds a card from {@link toImage} output.
   * @throws RangeError when the image is malformed or its digest does not match.
   */
  static fromImage(image: Uint8Array, options: Pick<SdCardOptions, 'meter' | 'seed'> = {}): SdCard {
    const fail = (why: string): never => {
      throw new RangeError(`not an SD card image: ${why}`);
    };
    if (image.length < IMAGE_HEADER + DIGEST) fail('too short');
    if (!IMAGE_MAGIC.every((b, i) => image[i] === b)) fail('bad magic');
    const view = new DataView(image.buffer, image.byteOffset, image.byteLength);
    const word = (i: number): number => view.getUint32(IMAGE_MAGIC.length + 4 * i, true);
    if (word(0) !== IMAGE_VERSION) fail(`unsupported version ${word(0)}`);
    if (word(1) !== SD_SECTOR_SIZE) fail(`sector size ${word(1)}`);
    const count = word(3);
    const body = IMAGE_HEADER + count * (4 + SD_SECTOR_SIZE);
    if (image.length !== body + DIGEST) fail('length does not match its entry count');
    const digest = sha256(image.subarray(0, body));
    if (!digest.every((b, i) => image[body + i] === b)) fail('digest mismatch');
    const card = new SdCard({ ...options, sectorCount: word(2) });
    let at = IMAGE_HEADER;
    let last = -1;
    for (let i = 0; i < count; i++) {
      const s = view.getUint32(at, true);
      if (s <= last || s >= card.sectorCount) fail(`sector index ${s} out of order or range`);
      last = s;
      card.#store(s, image.slice(at + 4, at + 4 + SD_SECTOR_SIZE));
      at += 4 + SD_SECTOR_SIZE;
    }
    return card;
  }
}
