/**
 * A crash-safe home for the device state in two flash sectors used in ping-pong, apart from the key
 * store: one base record per sector, followed by a journal of counter advances that costs a few bits
 * each instead of a new copy of the record.
 *
 * Sector layout:
 * ```
 * base    = magic 'SKSJ' | seq u32 | length u32 | flags u32 | payload (padded to 16) | SHA-256(...)[0..16]
 * journal = entries of `counterJournal.ts` from the end of the base to the first erased entry
 * ```
 * all in whole 128-bit rows for the base (RM0090 §3.5.4: a program must not cross a row), x32 words
 * for the journal. Load takes the valid base with the highest sequence number in either sector and
 * adds up its journal. A {@link RecordArea.save} (a new base) always starts the *other* sector: it
 * erases it unless it reads back fully erased, then programs the base, so a power cut at any point
 * leaves the old base and journal or the new base readable, never neither, and a torn base is never
 * mistaken for a good one (its digest fails). An {@link RecordArea.advance} programs one journal entry,
 * or one bit of a tally block, in erased space of the active sector (NOR programs 1 → 0 without an
 * erase, RM0090 §3.5.4): a cut leaves the advance done or not done (`counterJournal.ts`). When the
 * journal is full the caller saves a new base, which folds the journal in: about one erase per
 * 16 KiB of journal instead of one per 40-odd records.
 *
 * A base saved with `forgetPrevious` (flag bit 0) supersedes a secret: the sector it leaves, which
 * still holds the previous base, is erased as soon as the new base is programmed, and a boot that
 * finds such a base with the other sector not erased (a cut came between the two) erases it then.
 * Without that, a factory reset's old identity secret, or an old PIN's verifier, would stay
 * readable in raw flash until the next base save, which the journal may put off indefinitely.
 * Only secret changes ask for it (the caller decides): each costs one more sector erase.
 *
 * Sectors written before the journal existed hold appended whole copies under magic 'SKST'; they are
 * still read (the newest copy is the base, with no journal), and the first advance after such a
 * boot saves a new base in the new format.
 * @module
 */
import { sha256 } from '@noble/hashes/sha2.js';
import {
  ENTRY_BYTES,
  MAX_ENTRY_INDEX,
  MAX_ENTRY_VALUE,
  TALLY_BITS,
  TALLY_BYTES,
  encodeEntry,
  readEntry,
  tallyCount,
  tallyStep,
} from './counterJournal.ts';
import { sha256Blocks } from './costModel.ts';
import { DeviceError } from './deviceError.ts';
import { isErased } from './erased.ts';
import type { Flash } from './flash.ts';

const LEGACY_MAGIC = 0x5453_4b53; // 'SKST' little-endian: whole copies appended, no journal
const MAGIC = 0x4a53_4b53; // 'SKSJ' little-endian: one base, then the counter journal
const HEADER = 16;
const DIGEST = 16;
const ROW = 16;
const pad = (n: number): number => Math.ceil(n / ROW) * ROW;
/** Header flag: the previous base held a secret this one supersedes; the other sector must be erased. */
const FORGETS_PREVIOUS = 1;

/** An open tally block in the active sector. */
interface Tally {
  readonly stride: number;
  /** Byte offset of the block in the sector. */
  readonly offset: number;
  count: number;
}

interface Latest {
  readonly sector: 0 | 1;
  readonly seq: number;
  readonly payload: Uint8Array;
  /** False for a legacy copy, whose sector takes no journal. */
  readonly journal: boolean;
  /** Saved with `forgetPrevious`: the other sector must hold nothing. */
  readonly forgetsPrevious: boolean;
  /** Offset of the journal's end (the first erased entry). */
  end: number;
  /** Sum of the advances per counter index since the base. */
  readonly sums: Map<number, number>;
  /** The last delta or stride written per index: a repeat opens a tally. */
  readonly lastValue: Map<number, number>;
  readonly tallies: Map<number, Tally>;
  /**
   * Why this sector's journal cannot be added up (a damaged tally, a sum that overflows), or null.
   * Fatal only for the newest base: an older sector's journal counts for nothing, and a cut while
   * erasing that sector (every save erases it) can leave its base readable and its journal garbled.
   */
  damage: string | null;
}

/** What the area holds: the base record and the counter advances journalled since. */
export interface AreaContent {
  readonly payload: Uint8Array;
  /** Sum of the journalled advances per counter index (absent: none). */
  readonly advances: ReadonlyMap<number, number>;
}

/** Options of {@link RecordArea}. */
export interface RecordAreaOptions {
  readonly flash: Flash;
  /** The two sector indexes used in ping-pong; they must not belong to anything else. */
  readonly sectors: readonly [number, number];
}

/** Two flash sectors holding the latest device state and its counter journal, crash-safely (see the module doc). */
export class RecordArea {
  readonly #flash: Flash;
  readonly #sectors: readonly [number, number];
  /** What the last scan or write established; `null` = blank area; undefined = rescan needed. */
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

  /**
   * SIMULATOR ONLY: takes over what `source` knows of its area, for an area on an exact copy of
   * `source`'s flash (`SecubeDevice.simulatorClone`), so the copy scans, and charges, exactly what
   * the source would.
   */
  adoptKnowledgeOf(source: RecordArea): void {
    const known = source.#known;
    this.#known =
      known === null || known === undefined
        ? known
        : {
            ...known,
            payload: known.payload.slice(),
            sums: new Map(known.sums),
            lastValue: new Map(known.lastValue),
            tallies: new Map([...known.tallies].map(([index, tally]) => [index, { ...tally }])),
          };
  }

  /** Largest payload a save accepts: one base must fit in the smaller sector. */
  get maxPayload(): number {
    const size = Math.min(...this.#sectors.map((i) => this.#flash.sector(i).size));
    return size - HEADER - DIGEST;
  }

  /** The record at `at` in sector image `cells`, when its digest verifies. */
  #record(
    cells: Uint8Array,
    at: number,
    magic: number,
  ): { seq: number; payload: Uint8Array; end: number; flags: number } | null {
    if (at + HEADER + DIGEST > cells.length) return null;
    const view = new DataView(cells.buffer, cells.byteOffset + at, HEADER);
    const flags = view.getUint32(12, true);
    // Legacy copies never carry a flag.
    if (view.getUint32(0, true) !== magic || (flags & ~(magic === MAGIC ? FORGETS_PREVIOUS : 0)) !== 0) return null;
    const length = view.getUint32(8, true);
    const end = at + HEADER + pad(length) + DIGEST;
    if (end > cells.length) return null;
    const body = cells.subarray(at, at + HEADER + pad(length));
    this.#flash.meter?.charge('sha256.block', sha256Blocks(body.length));
    const want = sha256(body).subarray(0, DIGEST);
    const digest = cells.subarray(at + HEADER + pad(length), end);
    if (!want.every((x, i) => x === digest[i])) return null;
    return { seq: view.getUint32(4, true), payload: body.slice(HEADER, HEADER + length), end, flags };
  }

  /**
   * The newest valid base (or legacy copy) of one sector, with its journal added up; and whether
   * the sector is blank (fully erased), judged on the cells read for the scan.
   */
  #scan(which: 0 | 1): { latest: Latest | null; blank: boolean } {
    const sector = this.#flash.sector(this.#sectors[which]);
    const cells = this.#flash.read(sector.address, sector.size);
    const base = this.#record(cells, 0, MAGIC);
    if (base === null) {
      let newest: Latest | null = null;
      let copy = this.#record(cells, 0, LEGACY_MAGIC);
      while (copy !== null) {
        if (newest === null || copy.seq > newest.seq) newest = legacy(which, copy);
        copy = this.#record(cells, copy.end, LEGACY_MAGIC);
      }
      return { latest: newest, blank: newest === null && isErased(cells) };
    }
    const latest: Latest = {
      sector: which,
      seq: base.seq,
      payload: base.payload,
      journal: true,
      forgetsPrevious: (base.flags & FORGETS_PREVIOUS) !== 0,
      end: base.end,
      sums: new Map(),
      lastValue: new Map(),
      tallies: new Map(),
      damage: null,
    };
    let at = base.end;
    while (at + ENTRY_BYTES <= cells.length) {
      const reading = readEntry(cells.subarray(at, at + ENTRY_BYTES));
      if (reading.kind === 'erased') break;
      at += ENTRY_BYTES;
      if (reading.kind === 'invalid') continue; // a torn entry: that advance never happened
      const { kind, index, value } = reading.entry;
      let times = 1;
      if (kind === 'tally') {
        const count = at + TALLY_BYTES <= cells.length ? tallyCount(cells.subarray(at, at + TALLY_BYTES)) : undefined;
        if (count === undefined) {
          latest.damage = 'a counter tally in the record area is damaged';
          break;
        }
        latest.tallies.set(index, { stride: value, offset: at, count });
        times += count;
        at += TALLY_BYTES;
      }
      const sum = (latest.sums.get(index) ?? 0) + value * times;
      if (!Number.isSafeInteger(sum)) {
        latest.damage = 'a journalled counter overflows';
        break;
      }
      latest.sums.set(index, sum);
      latest.lastValue.set(index, value);
    }
    latest.end = at;
    return { latest, blank: false };
  }

  /**
   * Scans both sectors once (at boot), then trusts what this object itself wrote. A base that
   * forgets its previous one, found beside a sector that is not blank, finishes the save it came
   * from: the other sector is erased (a cut here leaves the same situation for the next boot).
   * Only the newest base's journal must add up: the older sector is what every save erases first,
   * and an erase cut early leaves most of its old bits, its base readable and its journal garbled.
   * @throws DeviceError `StateCorrupt` when the newest base's journal is damaged.
   */
  #latest(): Latest | null {
    if (this.#known !== undefined) return this.#known;
    let best: Latest | null = null;
    const blank = [false, false];
    for (const which of [0, 1] as const) {
      const { latest: found, blank: empty } = this.#scan(which);
      blank[which] = empty;
      if (found !== null && (best === null || found.seq > best.seq)) best = found;
    }
    if (best !== null && best.damage !== null) throw new DeviceError('StateCorrupt', best.damage);
    if (best?.forgetsPrevious === true) {
      const other = best.sector === 0 ? 1 : 0;
      if (blank[other] !== true) this.#flash.eraseSector(this.#sectors[other]);
    }
    this.#known = best;
    return best;
  }

  /**
   * The newest base and the advances journalled since, or undefined when neither sector holds a
   * base. The first call scans flash (boot); later ones answer from what was scanned or written since.
   */
  load(): AreaContent | undefined {
    const latest = this.#latest();
    if (latest === null) return undefined;
    return { payload: latest.payload.slice(), advances: new Map(latest.sums) };
  }

  /** Forgets what was scanned, so the next call reads flash again (after a reboot). */
  remount(): void {
    this.#known = undefined;
  }

  #isErased(address: number, length: number): boolean {
    // A word at a time (erased.ts), not a closure per byte, and on the cells themselves rather than
    // a copy: a save checks a whole 16 KiB sector.
    return this.#flash.inspect(address, length, isErased);
  }

  /**
   * Saves a new base in the other sector; the journal starts empty (see the module doc for the crash
   * argument). With `forgetPrevious`, the sector left behind (the previous base) is then erased,
   * for a payload that supersedes a secret the previous one held (see the module doc).
   * @throws DeviceError `StoreFull` when the payload cannot fit in a sector.
   * @throws PowerLossError from the flash when power is cut; the previous state stays readable
   *   until the new base is programmed, and after that the next boot finishes the forgetting.
   */
  save(payload: Uint8Array, options: { readonly forgetPrevious?: boolean } = {}): void {
    const forgetPrevious = options.forgetPrevious === true;
    if (payload.length > this.maxPayload)
      throw new DeviceError('StoreFull', `record of ${payload.length} B exceeds the area (${this.maxPayload} B)`);
    const latest = this.#latest();
    const seq = latest === null ? 1 : (latest.seq + 1) >>> 0;
    const record = new Uint8Array(HEADER + pad(payload.length) + DIGEST);
    const view = new DataView(record.buffer);
    view.setUint32(0, MAGIC, true);
    view.setUint32(4, seq, true);
    view.setUint32(8, payload.length, true);
    view.setUint32(12, forgetPrevious ? FORGETS_PREVIOUS : 0, true);
    record.set(payload, HEADER);
    const bodyLength = HEADER + pad(payload.length);
    this.#flash.meter?.charge('sha256.block', sha256Blocks(bodyLength));
    record.set(sha256(record.subarray(0, bodyLength)).subarray(0, DIGEST), bodyLength);

    // Until this save completes, the flash may differ from what is cached: a failure forces a rescan.
    this.#known = undefined;
    // The other sector (or the first one, on a blank area) holds only older state.
    const which = latest === null ? 0 : latest.sector === 0 ? 1 : 0;
    const target = this.#flash.sector(this.#sectors[which]);
    if (!this.#isErased(target.address, target.size)) this.#flash.eraseSector(target.index);
    this.#flash.program(target.address, record);
    // The new base is durable: the previous one (and its secret) can go. A cut here is finished at boot.
    if (forgetPrevious && latest !== null) this.#flash.eraseSector(this.#sectors[latest.sector]);
    this.#known = {
      sector: which,
      seq,
      payload: payload.slice(),
      journal: true,
      forgetsPrevious: forgetPrevious,
      end: record.length,
      sums: new Map(),
      lastValue: new Map(),
      tallies: new Map(),
      damage: null,
    };
  }

  /**
   * Journals an advance of counter `index` by `delta` in the active sector: one tally bit when the
   * counter's open tally has that stride, else a tally entry when the counter's previous advance had
   * the same delta, else a delta entry. Persisted before this returns.
   * @returns false, having written nothing, when the journal cannot take it (no base, a legacy base,
   *   no room, or a value out of an entry's range): the caller then saves a new base instead.
   * @throws PowerLossError from the flash when power is cut; the advance is then done or not done.
   */
  advance(index: number, delta: number): boolean {
    if (!Number.isSafeInteger(delta) || delta < 1 || delta > MAX_ENTRY_VALUE) return false;
    if (!Number.isInteger(index) || index < 0 || index > MAX_ENTRY_INDEX) return false;
    const latest = this.#latest();
    if (latest === null || !latest.journal) return false;
    const sector = this.#flash.sector(this.#sectors[latest.sector]);
    const sum = (latest.sums.get(index) ?? 0) + delta;
    if (!Number.isSafeInteger(sum)) return false;
    const tally = latest.tallies.get(index);
    let program: () => void;
    if (tally !== undefined && tally.stride === delta && tally.count < TALLY_BITS) {
      const step = tallyStep(tally.count);
      program = () => {
        this.#flash.program(sector.address + tally.offset + step.offset, step.word);
        tally.count += 1;
      };
    } else if (latest.lastValue.get(index) === delta && latest.end + ENTRY_BYTES + TALLY_BYTES <= sector.size) {
      const at = latest.end;
      program = () => {
        this.#flash.program(sector.address + at, encodeEntry({ kind: 'tally', index, value: delta }));
        latest.tallies.set(index, { stride: delta, offset: at + ENTRY_BYTES, count: 0 });
        latest.end = at + ENTRY_BYTES + TALLY_BYTES;
      };
    } else if (latest.end + ENTRY_BYTES <= sector.size) {
      const at = latest.end;
      program = () => {
        this.#flash.program(sector.address + at, encodeEntry({ kind: 'delta', index, value: delta }));
        latest.end = at + ENTRY_BYTES;
      };
    } else {
      return false;
    }
    this.#known = undefined;
    program();
    latest.sums.set(index, sum);
    latest.lastValue.set(index, delta);
    this.#known = latest;
    return true;
  }
}

function legacy(sector: 0 | 1, copy: { seq: number; payload: Uint8Array; end: number }): Latest {
  return {
    sector,
    seq: copy.seq,
    payload: copy.payload,
    journal: false,
    forgetsPrevious: false,
    end: copy.end,
    sums: new Map(),
    lastValue: new Map(),
    tallies: new Map(),
    damage: null,
  };
}
