/**
 * A crash-safe home for one small, frequently rewritten record (the device state: PIN counters,
 * monotonic counters...) in two flash sectors used in ping-pong, apart from the key store.
 *
 * Each save appends a new copy: `magic ‖ sequence ‖ length ‖ 0 ‖ payload (padded to 16) ‖
 * SHA-256(header ‖ padded payload)[0..16]`, all in whole 128-bit rows (RM0090 §3.5.4: a program
 * must not cross a row). Load takes the valid copy with the highest sequence number in either
 * sector. A save goes after the last valid copy when the space there is still erased; otherwise (the
 * sector is full, or a torn copy sits there) it erases the *other* sector — which holds only older
 * copies — and starts it. So a power cut at any point leaves either the old or the new record
 * readable, never neither, and a torn copy is never mistaken for a good one (its digest fails).
 * Appending, rather than rewriting in place, spreads wear: a 16 KiB sector takes dozens of saves per
 * erase.
 * @module
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { sha256Blocks } from './costModel.ts';
import { DeviceError } from './deviceError.ts';
import type { Flash } from './flash.ts';

const MAGIC = 0x5453_4b53; // 'SKST' little-endian
const HEADER = 16;
const DIGEST = 16;
const ROW = 16;
const pad = (n: number): number => Math.ceil(n / ROW) * ROW;

interface Latest {
  readonly sector: 0 | 1;
  readonly seq: number;
  readonly payload: Uint8Array;
  /** Offset after the last valid copy in that sector. */
  readonly end: number;
}

interface ScanResult {
  /** Valid copies in this sector, in order. */
  readonly copies: readonly { readonly seq: number; readonly payload: Uint8Array }[];
  /** Offset after the last valid copy. */
  readonly end: number;
}

/** Options of {@link RecordArea}. */
export interface RecordAreaOptions {
  readonly flash: Flash;
  /** The two sector indexes used in ping-pong; they must not belong to anything else. */
  readonly sectors: readonly [number, number];
}

/** Two flash sectors holding the latest copy of one record, crash-safely (see the module doc). */
export class RecordArea {
  readonly #flash: Flash;
  readonly #sectors: readonly [number, number];
  /** What the last scan or save established; `null` = blank area; undefined = rescan needed. */
  #known: Latest | null | undefined;

  constructor(options: RecordAreaOptions) {
    const [a, b] = options.sectors;
    if (a === b) throw new RangeError('a record area needs two distinct sectors');
    const sa = options.flash.sector(a);
    const sb = options.flash.sector(b);
    for (const s of [sa, sb])
      if (s.size < 2 * ROW + HEADER + DIGEST) throw new RangeError(`sector ${s.index} is too small for a record area`);
    this.#flash = options.flash;
    this.#sectors = [a, b];
  }

  /** Largest payload a save accepts: one copy must fit in the smaller sector. */
  get maxPayload(): number {
    const size = Math.min(...this.#sectors.map((i) => this.#flash.sector(i).size));
    return size - HEADER - DIGEST;
  }

  #scan(index: number): ScanResult {
    const sector = this.#flash.sector(index);
    const copies: { seq: number; payload: Uint8Array }[] = [];
    let at = 0;
    while (at + HEADER + DIGEST <= sector.size) {
      const header = this.#flash.read(sector.address + at, HEADER);
      const view = new DataView(header.buffer, header.byteOffset, HEADER);
      if (view.getUint32(0, true) !== MAGIC || view.getUint32(12, true) !== 0) break;
      const length = view.getUint32(8, true);
      const size = HEADER + pad(length) + DIGEST;
      if (at + size > sector.size) break;
      const body = this.#flash.read(sector.address + at, HEADER + pad(length));
      const digest = this.#flash.read(sector.address + at + HEADER + pad(length), DIGEST);
      this.#flash.meter?.charge('sha256.block', sha256Blocks(body.length));
      const want = sha256(body).subarray(0, DIGEST);
      if (!want.every((x, i) => x === digest[i])) break;
      copies.push({ seq: view.getUint32(4, true), payload: body.slice(HEADER, HEADER + length) });
      at += size;
    }
    return { copies, end: at };
  }

  /** Scans both sectors once (at boot), then trusts what this object itself wrote. */
  #latest(): Latest | null {
    if (this.#known !== undefined) return this.#known;
    let best: Latest | null = null;
    for (const which of [0, 1] as const) {
      const scan = this.#scan(this.#sectors[which]);
      for (const copy of scan.copies) {
        if (best === null || copy.seq > best.seq)
          best = { sector: which, seq: copy.seq, payload: copy.payload, end: scan.end };
      }
    }
    this.#known = best;
    return best;
  }

  /**
   * The payload of the newest valid copy, or undefined when neither sector holds one. The first
   * call scans flash (boot); later ones answer from what was scanned or saved since.
   */
  load(): Uint8Array | undefined {
    return this.#latest()?.payload.slice();
  }

  /** Forgets what was scanned, so the next call reads flash again (after a reboot). */
  remount(): void {
    this.#known = undefined;
  }

  #isErased(address: number, length: number): boolean {
    return this.#flash.read(address, length).every((b) => b === 0xff);
  }

  /**
   * Saves a new copy of the record (see the module doc for the crash argument).
   * @throws DeviceError `StoreFull` when the payload cannot fit in a sector.
   * @throws PowerLossError from the flash when power is cut; the previous copy stays readable.
   */
  save(payload: Uint8Array): void {
    if (payload.length > this.maxPayload)
      throw new DeviceError('StoreFull', `record of ${payload.length} B exceeds the area (${this.maxPayload} B)`);
    const latest = this.#latest();
    const seq = latest === null ? 1 : (latest.seq + 1) >>> 0;
    const record = new Uint8Array(HEADER + pad(payload.length) + DIGEST);
    const view = new DataView(record.buffer);
    view.setUint32(0, MAGIC, true);
    view.setUint32(4, seq, true);
    view.setUint32(8, payload.length, true);
    record.set(payload, HEADER);
    const bodyLength = HEADER + pad(payload.length);
    this.#flash.meter?.charge('sha256.block', sha256Blocks(bodyLength));
    record.set(sha256(record.subarray(0, bodyLength)).subarray(0, DIGEST), bodyLength);

    // Until this save completes, the flash may differ from what is cached: a failure forces a rescan.
    this.#known = undefined;
    if (latest !== null) {
      const sector = this.#flash.sector(this.#sectors[latest.sector]);
      if (latest.end + record.length <= sector.size && this.#isErased(sector.address + latest.end, record.length)) {
        this.#flash.program(sector.address + latest.end, record);
        this.#known = { sector: latest.sector, seq, payload: payload.slice(), end: latest.end + record.length };
        return;
      }
    }
    // Start the other sector (or the first one, on a blank area). It holds only older copies.
    const which = latest === null ? 0 : latest.sector === 0 ? 1 : 0;
    const target = this.#flash.sector(this.#sectors[which]);
    if (!this.#isErased(target.address, target.size)) this.#flash.eraseSector(target.index);
    this.#flash.program(target.address, record);
    this.#known = { sector: which, seq, payload: payload.slice(), end: record.length };
  }
}
