/**
 * Crash-safe, wear-levelled, log-structured key store in the SEcube's internal flash.
 *
 * Replaces the original firmware's two-sector ping-pong store (no checksums, deleted key bytes left in
 * flash until the next swap, two sectors worn). Format on flash: see `keyStoreLayout.ts`.
 *
 * Operations and their commit points (each a single flash program that a torn write cannot fake):
 * - put: program the slot body, then its entry byte (commit). A replace then deletes the old record;
 *   until it does, mount sees two records of the ID and keeps the newer one (by sector sequence
 *   number, then slot), so a replace is atomic.
 * - delete: clear the entry's alive bit (commit: the tombstone, in place; a one-bit program lands or
 *   does not, in the flash model: see `flash.ts` on reads after a fault), then overwrite the whole
 *   slot, ID and key, with zeros at once. NOR flash allows 1 → 0 at any time (RM0090 §3.5.4), so
 *   no erase is needed and no copy of the key outlives the call.
 * - compaction: when the active sector is full and only the reserve sector is free, the sector with
 *   the fewest live records (or, when erase counts drift apart, the least-worn one: static wear
 *   levelling) is the victim (`compactionVictim.ts`). Its live records are copied into the
 *   least-worn free sector under a new header naming the victim, a "done" word is programmed, and
 *   only then is the victim erased.
 * - mount: an uncommitted compaction target is erased (roll back); a done one gets its victim erased
 *   (roll forward); garbage (torn erases, torn headers, sectors of an older format epoch) is erased
 *   (planned from the headers by `keyStoreRecovery.ts`); torn slots are scrubbed to zero;
 *   duplicate IDs are resolved. Mount is idempotent and itself crash-safe. A sector of layout
 *   version 1 (an older record check, `keyStoreLayout.ts`) is not garbage: its records are read
 *   and appended with its own check until compaction moves them into a version-2 sector.
 *
 * Capacity: a store of N sectors of S slots admits `maxKeys` = ⌊maxFill × N × S⌋ live keys (never more
 * than (N−1)·S − 2, which keeps one sector free for compaction). Compaction cost grows as 1/(1−u) with
 * u the victim's live fraction, so the headroom is what keeps write amplification low: the same
 * over-provisioning trade-off as an SSD's spare area.
 *
 * Simplifications: all store sectors must have the same size; 16- and 24-byte keys take a full
 * 36-byte slot; erase counts are the store's own (persisted in every header, since real flash keeps
 * none; see "Erase counts" below); a sector that reads
 * back fully erased is trusted as erased (the flash model has no weakly erased cells, `flash.ts`;
 * firmware on real cells would erase a cut compaction's victim again before reusing it); a worn-out
 * sector is not retired: `FlashWearOutError` (flashErrors.ts) reaches the caller and the store must
 * be mounted again.
 *
 * Erase counts: an erase is on flash once a header written after it carries the table (a
 * compaction's victim erase is implied by the target's done word; format counts its erases in its
 * header beforehand). Mount's recovery erases (garbage, rolled-back targets) are recorded at once
 * by a header mount writes when it needs no extra erase for it (`#recordRecoveryErases`). What the
 * store reports can therefore fall below the flash's true count only through power cuts: a
 * recovery erase is lost when the power fails again before the header recording it lands, or, for
 * the redo of a compaction victim's torn erase (mount then has only the reserve sector free, so it
 * writes no header), before the store writes its next header; so an erase that cuts made mount
 * redo may count once however many tries it took. It can run above the flash's count where format
 * pre-counted an erase that a cut then made mount repeat.
 * @module
 */
import { chooseCompactionVictim, leastWorn } from './compactionVictim.ts';
import type { Flash } from './flash.ts';
import { PSIZE_BYTES } from './flash.ts';
import type { SectorInfo } from './flashGeometry.ts';
import {
  KeyStoreConfigError,
  KeyStoreCorruptError,
  KeyStoreFullError,
  KeyStoreInvalidKeyError,
  KeyStoreKeyNotFoundError,
  KeyStoreRemountRequiredError,
} from './keyStoreErrors.ts';
import {
  ENTRY_FREE,
  ENTRY_KILL,
  KEY_LENGTHS,
  LAYOUT_VERSION,
  LEGACY_LAYOUT_VERSION,
  NO_SOURCE,
  RECORD_CHECK_BYTES,
  RECORD_CHECK_WORDS,
  SLOT_BYTES,
  classifySlot,
  compactionDoneWord,
  encodeHeaderContent,
  encodeRecord,
  headerCommitWord,
  keyOfSlot,
  readHeader,
  reencodeEntry,
  storeLayout,
  type LayoutVersion,
  type SectorHeader,
  type StoreLayout,
} from './keyStoreLayout.ts';
import { planRecovery } from './keyStoreRecovery.ts';
import { PowerLossError } from './powerLossError.ts';
import { isErased } from './erased.ts';

/**
 * The 128 KiB sectors of bank 2 (RM0090 §3.4: sectors 17..23, 0x0812_0000..0x081F_FFFF). Bank 2 because
 * the firmware runs from bank 1 and the dual-bank part can read one bank while it programs or erases
 * the other (RM0090 §3.6.5), so a 1-second compaction erase does not freeze the CPU.
 */
export const DEFAULT_KEY_STORE_SECTORS: readonly number[] = Object.freeze([17, 18, 19, 20, 21, 22, 23]);

/**
 * Default share of the raw slots admitted as live keys. At 90 % of the resulting capacity, greedy
 * compaction over 7 sectors keeps write amplification under 1.25 (see bench/keyStoreWear.ts).
 */
export const DEFAULT_MAX_FILL = 0.4;

/** Default erase-count spread that triggers a static wear-levelling move. */
const DEFAULT_WEAR_LEVEL_THRESHOLD = 4;

/** Options of {@link KeyStore.format} and {@link KeyStore.mount}; mount must use the format's values. */
export interface KeyStoreOptions {
  /** RM0090 sector indices, all the same size; default {@link DEFAULT_KEY_STORE_SECTORS}. */
  readonly sectors?: readonly number[];
  /** Share of raw slots admitted as live keys, in (0, 1]; default {@link DEFAULT_MAX_FILL}. */
  readonly maxFill?: number;
  /** Erase-count spread (max − min) beyond which compaction picks the least-worn sector; default 4. */
  readonly wearLevelThreshold?: number;
}

/** Size figures of a store. */
export interface KeyStoreCapacity {
  readonly sectors: number;
  readonly slotsPerSector: number;
  readonly rawSlots: number;
  /** Most live keys the store admits. */
  readonly maxKeys: number;
  /** Live keys now. */
  readonly keys: number;
  readonly freeSectors: number;
}

/** What the last mount had to repair. */
export interface MountReport {
  /** RM0090 indices of sectors erased by mount (garbage, rolled-back or completed compaction). */
  readonly erasedSectors: readonly number[];
  readonly rolledBackCompaction: boolean;
  readonly completedCompaction: boolean;
  /** Torn slots overwritten with zeros. */
  readonly scrubbedSlots: number;
  /** Older records of a replaced ID deleted (interrupted replace completed). */
  readonly duplicatesResolved: number;
}

interface SectorState {
  used: boolean;
  seq: number;
  /** Layout version of the sector's header: how its records are checked (keyStoreLayout.ts). */
  version: LayoutVersion;
  live: number;
  readonly ids: Uint32Array;
  readonly liveFlags: Uint8Array;
}

interface Location {
  readonly pos: number;
  readonly slot: number;
}

const INSPECT = Symbol.for('nodejs.util.inspect.custom');

let deviceRead: (store: KeyStore, id: number) => Uint8Array;

/**
 * The key store. IDs are u32; values are 16, 24 or 32 bytes. No method returns key bytes: only the
 * device-internal {@link readKeyMaterialForDevice} reads them.
 */
export class KeyStore {
  readonly #flash: Flash;
  readonly #options: KeyStoreOptions;
  readonly #sectors: readonly SectorInfo[];
  readonly #layout: StoreLayout;
  readonly #maxKeys: number;
  readonly #wlThreshold: number;
  readonly #unit: number;
  readonly #state: SectorState[];
  #wear: number[];
  #index = new Map<number, Location>();
  #active = 0;
  #next = 0;
  #epoch = 0;
  #maxSeq = 0;
  #broken = false;
  #recording = false;
  #lastMount: MountReport | undefined;

  static {
    deviceRead = (store, id) => store.#readKey(id);
  }

  private constructor(flash: Flash, options: KeyStoreOptions) {
    const indices = options.sectors ?? DEFAULT_KEY_STORE_SECTORS;
    if (new Set(indices).size !== indices.length) throw new KeyStoreConfigError('key store sectors must be distinct');
    this.#flash = flash;
    this.#options = options;
    this.#sectors = indices.map((i) => flash.sector(i));
    const size = this.#sectors[0]?.size ?? 0;
    if (!this.#sectors.every((s) => s.size === size))
      throw new KeyStoreConfigError('key store sectors must all have the same size');
    this.#layout = storeLayout(size, this.#sectors.length);
    const maxFill = options.maxFill ?? DEFAULT_MAX_FILL;
    if (!(maxFill > 0 && maxFill <= 1)) throw new RangeError(`maxFill must be in (0, 1], got ${maxFill}`);
    const s = this.#layout.slotsPerSector;
    const n = this.#sectors.length;
    this.#maxKeys = Math.max(1, Math.min(Math.floor(maxFill * n * s), (n - 1) * s - 2));
    this.#wlThreshold = options.wearLevelThreshold ?? DEFAULT_WEAR_LEVEL_THRESHOLD;
    if (!Number.isSafeInteger(this.#wlThreshold) || this.#wlThreshold < 1)
      throw new RangeError('wearLevelThreshold must be an integer >= 1');
    this.#unit = PSIZE_BYTES[flash.parallelism];
    this.#state = this.#sectors.map(() => emptySectorState(s));
    this.#wear = this.#sectors.map(() => 0);
  }

  /**
   * Creates an empty store. Atomic under power loss: the new store exists from the moment its first
   * header commits (it carries a higher format epoch, which makes every older sector garbage); until
   * then a previous store in the same sectors is untouched, because the header goes into a sector
   * that is already erased (a healthy store always keeps one). Erase counts of a previous store are
   * carried over so that wear levelling keeps its history.
   */
  static format(flash: Flash, options: KeyStoreOptions = {}): KeyStore {
    const store = new KeyStore(flash, options);
    store.#format();
    return store;
  }

  /**
   * Opens the store in `options.sectors`, repairing whatever an interrupted operation left (module
   * doc), and writes a header recording the erases those repairs made when it can without an extra
   * erase (module doc, "Erase counts"). The result holds exactly the keys committed before the last
   * power loss.
   * @throws KeyStoreNotFormattedError when no store is found
   * @throws KeyStoreConfigError when the sectors hold a store of another configuration
   * @throws PowerLossError when power fails during the repairs (mount again after power-on)
   */
  static mount(flash: Flash, options: KeyStoreOptions = {}): KeyStore {
    const store = new KeyStore(flash, options);
    try {
      store.#mount(true);
    } catch (error) {
      // Recording the recovery erases is worth a header, not the keys: if writing it fails (a
      // worn-out sector refusing the program, say), mount again without it, as the store was
      // before. A power cut still ends the mount, as during any repair.
      if (!store.#recording || error instanceof PowerLossError) throw error;
      const again = new KeyStore(flash, options);
      again.#mount(false);
      const first = store.#lastMount;
      const second = again.#lastMount;
      if (first && second) {
        again.#lastMount = {
          erasedSectors: [...first.erasedSectors, ...second.erasedSectors],
          rolledBackCompaction: first.rolledBackCompaction || second.rolledBackCompaction,
          completedCompaction: first.completedCompaction || second.completedCompaction,
          scrubbedSlots: first.scrubbedSlots + second.scrubbedSlots,
          duplicatesResolved: first.duplicatesResolved + second.duplicatesResolved,
        };
      }
      return again;
    }
    return store;
  }

  /**
   * SIMULATOR ONLY: this store's RAM state (index, sector states, wear, epoch, write position) over
   * `flash`, which must be an exact copy of this store's flash (`Flash.clone`): the copy behaves, and
   * charges, exactly as this store would (`SecubeDevice.simulatorClone`).
   */
  cloneOnto(flash: Flash): KeyStore {
    const copy = new KeyStore(flash, this.#options);
    this.#state.forEach((st, i) => {
      const to = copy.#state[i] as SectorState;
      to.used = st.used;
      to.seq = st.seq;
      to.version = st.version;
      to.live = st.live;
      to.ids.set(st.ids);
      to.liveFlags.set(st.liveFlags);
    });
    copy.#wear = [...this.#wear];
    copy.#index = new Map(this.#index);
    copy.#active = this.#active;
    copy.#next = this.#next;
    copy.#epoch = this.#epoch;
    copy.#maxSeq = this.#maxSeq;
    copy.#broken = this.#broken;
    copy.#lastMount = this.#lastMount;
    return copy;
  }

  /** Number of live keys. */
  get size(): number {
    return this.#index.size;
  }

  /** Capacity figures. */
  get capacity(): KeyStoreCapacity {
    const s = this.#layout.slotsPerSector;
    return {
      sectors: this.#sectors.length,
      slotsPerSector: s,
      rawSlots: s * this.#sectors.length,
      maxKeys: this.#maxKeys,
      keys: this.#index.size,
      freeSectors: this.#state.filter((st) => !st.used).length,
    };
  }

  /** Repairs done by the mount that created this instance (undefined after format). */
  get lastMount(): MountReport | undefined {
    return this.#lastMount;
  }

  /** The store's own erase count per store sector, as persisted in its headers (wear levelling input). */
  eraseCounts(): number[] {
    return [...this.#wear];
  }

  /** Whether a key with this ID is stored. */
  has(id: number): boolean {
    this.#requireUsable();
    return this.#index.has(id);
  }

  /** Stored IDs in ascending order. */
  ids(): number[] {
    this.#requireUsable();
    return [...this.#index.keys()].sort((a, b) => a - b);
  }

  /**
   * Inserts a key or atomically replaces the key with this ID. The caller keeps ownership of `key`
   * (and should wipe it).
   * @throws KeyStoreInvalidKeyError on a bad ID or length
   * @throws KeyStoreFullError when a new ID would exceed {@link KeyStoreCapacity.maxKeys}
   */
  put(id: number, key: Uint8Array): void {
    this.#requireUsable();
    checkId(id);
    if (!KEY_LENGTHS.includes(key.length))
      throw new KeyStoreInvalidKeyError(`key must be 16, 24 or 32 bytes, got ${key.length}`);
    if (!this.#index.has(id) && this.#index.size >= this.#maxKeys) throw new KeyStoreFullError(this.#maxKeys);
    this.#guard(() => {
      this.#ensureSlot();
      const old = this.#index.get(id); // compaction may just have moved it
      const loc = this.#append(id, key);
      if (old) this.#kill(old);
      this.#index.set(id, loc);
    });
  }

  /**
   * Deletes a key: tombstone, then its ID and key bytes overwritten with zeros in place, before this
   * returns. Returns false when no key had this ID.
   */
  delete(id: number): boolean {
    this.#requireUsable();
    checkId(id);
    const loc = this.#index.get(id);
    if (!loc) return false;
    this.#guard(() => {
      this.#kill(loc);
      this.#index.delete(id);
    });
    return true;
  }

  /** A summary without any key material. */
  toString(): string {
    return (
      `KeyStore(${this.#sectors.length} sectors [${this.#sectors.map((s) => s.index).join(',')}], ` +
      `${this.#index.size}/${this.#maxKeys} keys)`
    );
  }

  /** Same summary for JSON.stringify. */
  toJSON(): { sectors: number[]; keys: number; maxKeys: number } {
    return { sectors: this.#sectors.map((s) => s.index), keys: this.#index.size, maxKeys: this.#maxKeys };
  }

  [INSPECT](): string {
    return this.toString();
  }

  /** Whether a flash-changing step failed half-way: memory and flash may be apart until a remount. */
  get needsRemount(): boolean {
    return this.#broken;
  }

  // ---- internals -------------------------------------------------------------------------------

  #requireUsable(): void {
    if (this.#broken) throw new KeyStoreRemountRequiredError();
  }

  /** Runs a flash-mutating step; any failure leaves memory and flash possibly apart: remount. */
  #guard(step: () => void): void {
    try {
      step();
    } catch (error) {
      this.#broken = true;
      throw error;
    }
  }

  #readKey(id: number): Uint8Array {
    this.#requireUsable();
    const loc = this.#index.get(id);
    if (!loc) throw new KeyStoreKeyNotFoundError(id);
    const entry = this.#flash.read(this.#entryAddress(loc), 1)[0] ?? 0;
    const body = this.#flash.read(this.#slotAddress(loc), SLOT_BYTES);
    const version = this.#versionAt(loc.pos);
    this.#chargeCheck(version);
    const content = classifySlot(entry, body, version);
    if (content.kind !== 'live' || content.id !== id)
      throw new KeyStoreCorruptError(`record of key ${id} no longer verifies`);
    const key = keyOfSlot(body, content.keyLength);
    body.fill(0);
    return key;
  }

  #format(): void {
    const flash = this.#flash;
    const layout = this.#layout;
    let newest: { header: SectorHeader; done: boolean } | undefined;
    let maxEpoch = 0;
    const erased: boolean[] = [];
    for (const sector of this.#sectors) {
      // Looked at in place (no copy of each 128 KiB sector): readHeader keeps only decoded numbers.
      const reading = flash.inspect(sector.address, sector.size, (image) => {
        erased.push(isErased(image));
        return readHeader(layout, image);
      });
      if (reading.kind !== 'valid') continue;
      maxEpoch = Math.max(maxEpoch, reading.header.epoch);
      if (reading.sameLayout && (!newest || later(reading.header, newest.header))) newest = reading;
    }
    this.#wear = this.#sectors.map((_, i) => newest?.header.wear[i] ?? 0);
    // As in mount: the newest header predates the erase of its own compaction victim.
    const victim = newest?.done ? newest.header.sourcePos : NO_SOURCE;
    if (victim < this.#wear.length) this.#wear[victim] = (this.#wear[victim] ?? 0) + 1;
    this.#epoch = (maxEpoch + 1) >>> 0;
    this.#maxSeq = 0;
    for (const st of this.#state) st.used = false;
    let target = leastWorn(
      this.#wear,
      this.#sectors.map((_, i) => i).filter((i) => erased[i]),
    );
    if (target === undefined) {
      target =
        leastWorn(
          this.#wear,
          this.#sectors.map((_, i) => i),
        ) ?? 0;
      this.#erase(target);
      erased[target] = true;
    }
    // The sectors still holding data are erased after the new header lands (a cut in between must
    // find the new epoch, never an old store), but the header carries the wear table: their erases
    // are counted in it first, or the next mount, adopting the header's table, would lose them.
    // A cut after the header and before those erases makes the mount erase them, and count them, once
    // more: the table then runs one erase ahead of the flash for each (a fresh-eyes review). Kept so,
    // as an over-count errs on the safe side (wear levelling spares a sector a little early);
    // marking the pre-count in the header would change its format.
    const stale = this.#sectors.map((_, i) => i).filter((i) => i !== target && !erased[i]);
    for (const i of stale) this.#wear[i] = (this.#wear[i] ?? 0) + 1;
    this.#openSector(target, undefined);
    this.#active = target;
    this.#next = 0;
    for (const i of stale) this.#erase(i, { counted: true });
    this.#index.clear();
    this.#broken = false;
  }

  #mount(recordErases: boolean): void {
    const flash = this.#flash;
    const layout = this.#layout;
    const images = this.#sectors.map((s) => flash.read(s.address, s.size));
    const plan = planRecovery(
      images.map((image, pos) => {
        const reading = readHeader(layout, image);
        // Only an erased-looking header needs the whole image checked (a torn erase).
        return {
          reading,
          blank: reading.kind === 'erased' && isErased(image),
          flashIndex: this.#sectors[pos]?.index ?? -1,
        };
      }),
    );
    this.#epoch = plan.epoch;
    this.#maxSeq = plan.maxSeq;
    this.#wear = [...plan.wear];

    const erasedSectors: number[] = [];
    for (const st of this.#state) st.used = false;
    for (const pos of plan.toErase) {
      this.#erase(pos);
      erasedSectors.push(this.#sectors[pos]?.index ?? -1);
    }

    // Records of the surviving sectors, oldest sector first so that later records supersede.
    const survivors = plan.survivors;
    const best = new Map<number, Location>();
    const toScrub: Location[] = [];
    const toKill: Location[] = [];
    const s = layout.slotsPerSector;
    for (const c of survivors) {
      const image = images[c.pos] ?? new Uint8Array(0);
      const st = this.#state[c.pos];
      if (!st) continue;
      st.used = true;
      st.seq = c.header.seq;
      st.version = c.header.version;
      let usedEnd = 0;
      for (let slot = 0; slot < s; slot++) {
        const entry = image[layout.indexOffset + slot] ?? 0;
        const at = layout.dataOffset + slot * SLOT_BYTES;
        const content = classifySlot(entry, image.subarray(at, at + SLOT_BYTES), st.version);
        if (content.kind === 'free') continue;
        usedEnd = slot + 1;
        if (content.kind === 'dead') continue;
        if (content.kind === 'torn') {
          toScrub.push({ pos: c.pos, slot });
          continue;
        }
        this.#chargeCheck(st.version);
        const loc = { pos: c.pos, slot };
        const previous = best.get(content.id);
        if (previous) toKill.push(previous);
        best.set(content.id, loc);
        st.ids[slot] = content.id;
        st.liveFlags[slot] = 1;
        st.live++;
      }
      if (c === survivors[survivors.length - 1]) {
        this.#active = c.pos;
        this.#next = usedEnd;
      }
    }
    for (const loc of toScrub) this.#scrub(loc, images[loc.pos]);
    for (const loc of toKill) this.#kill(loc);
    this.#index = best;

    if (survivors.length === 0) {
      // Only reachable if every store sector was being erased; start an empty log (its header
      // records the erases).
      const target =
        leastWorn(
          this.#wear,
          this.#sectors.map((_, i) => i),
        ) ?? 0;
      this.#openSector(target, undefined);
      this.#active = target;
      this.#next = 0;
    }
    this.#lastMount = {
      erasedSectors,
      rolledBackCompaction: plan.rolledBackCompaction,
      completedCompaction: plan.completedCompaction,
      scrubbedSlots: toScrub.length,
      duplicatesResolved: toKill.length,
    };
    if (recordErases && survivors.length > 0 && plan.unrecordedErases.length > 0) this.#recordRecoveryErases();
  }

  /**
   * Writes a header now, so that the erases mount just made are on flash (every header carries the
   * wear table): otherwise the next mount, reading the same newest header, would forget them. Only
   * where no extra erase is needed: a full active sector gets the room the next put needs anyway
   * (a fresh sector, or the compaction a rolled-back one was doing), and a sector with room left is
   * followed by a fresh one only while another free sector stays in reserve for compaction. Else
   * (a compaction victim's torn erase repeated, only the reserve free) the erase waits for the
   * next header the store writes, and a power cut before that forgets it.
   */
  #recordRecoveryErases(): void {
    this.#recording = true;
    const free = this.#freePositions();
    if (this.#next >= this.#layout.slotsPerSector) {
      if (free.length > 0) this.#ensureSlot();
      return;
    }
    const target = free.length >= 2 ? leastWorn(this.#wear, free) : undefined;
    if (target === undefined) return;
    this.#openSector(target, undefined);
    this.#active = target;
    this.#next = 0;
  }

  /** Makes room for one append: opens a fresh sector, or compacts when only the reserve is free. */
  #ensureSlot(): void {
    const s = this.#layout.slotsPerSector;
    let staticAllowed = true;
    for (let round = 0; this.#next >= s; round++) {
      if (round > 2 * this.#sectors.length + 2) throw new KeyStoreCorruptError('compaction made no progress');
      const free = this.#freePositions();
      const target = leastWorn(this.#wear, free);
      if (target === undefined) throw new KeyStoreCorruptError('no free sector left for compaction');
      if (free.length >= 2) {
        this.#openSector(target, undefined);
        this.#active = target;
        this.#next = 0;
        continue;
      }
      this.#compact(
        chooseCompactionVictim({
          sectors: this.#state,
          wear: this.#wear,
          wearLevelThreshold: this.#wlThreshold,
          slotsPerSector: s,
          staticAllowed,
        }),
        target,
      );
      staticAllowed = false;
    }
  }

  #compact(victim: number, target: number): void {
    const layout = this.#layout;
    const vs = this.#state[victim];
    const ts = this.#state[target];
    const vsector = this.#sectors[victim];
    if (!vs || !ts || !vsector) throw new KeyStoreCorruptError('bad compaction positions');
    const entries = this.#flash.read(vsector.address + layout.indexOffset, layout.slotsPerSector);
    const data = this.#flash.read(vsector.address + layout.dataOffset, layout.slotsPerSector * SLOT_BYTES);
    const header = this.#openSector(target, { pos: victim, seq: vs.seq });
    let k = 0;
    for (let slot = 0; slot < layout.slotsPerSector; slot++) {
      if (!vs.liveFlags[slot]) continue;
      const body = data.subarray(slot * SLOT_BYTES, (slot + 1) * SLOT_BYTES);
      const entry = entries[slot] ?? 0;
      this.#chargeCheck(vs.version);
      const content = classifySlot(entry, body, vs.version);
      const id = vs.ids[slot] ?? 0;
      if (content.kind !== 'live' || content.id !== id)
        throw new KeyStoreCorruptError(`record of key ${id} no longer verifies`);
      const loc = { pos: target, slot: k };
      this.#flash.program(this.#slotAddress(loc), body);
      // A record leaving an older-version sector gets the target's check (the body is the same).
      let moved = entry;
      if (vs.version !== ts.version) {
        this.#chargeCheck(ts.version);
        moved = reencodeEntry(entry, body, ts.version);
      }
      this.#programEntry(loc, moved);
      ts.ids[k] = id;
      ts.liveFlags[k] = 1;
      ts.live++;
      this.#index.set(id, loc);
      k++;
    }
    data.fill(0);
    this.#programWord(this.#sectorAddress(target) + layout.doneOffset, compactionDoneWord(header));
    this.#erase(victim);
    this.#active = target;
    this.#next = k;
  }

  /** Writes a committed header into an erased sector and makes it the newest. */
  #openSector(pos: number, source: { pos: number; seq: number } | undefined): SectorHeader {
    const sector = this.#sectors[pos];
    const st = this.#state[pos];
    if (!sector || !st) throw new KeyStoreCorruptError(`no store sector at position ${pos}`);
    this.#maxSeq = (this.#maxSeq + 1) >>> 0;
    const header: SectorHeader = {
      version: LAYOUT_VERSION,
      position: pos,
      flashIndex: sector.index,
      epoch: this.#epoch,
      seq: this.#maxSeq,
      sourcePos: source?.pos ?? NO_SOURCE,
      sourceSeq: source?.seq ?? NO_SOURCE,
      wear: [...this.#wear],
    };
    const content = encodeHeaderContent(this.#layout, header);
    this.#flash.meter?.charge('crc32.word', content.length / 4);
    this.#flash.program(sector.address, content);
    this.#programWord(sector.address + this.#layout.commitOffset, headerCommitWord(content));
    st.used = true;
    st.seq = header.seq;
    st.version = header.version;
    st.live = 0;
    st.ids.fill(0);
    st.liveFlags.fill(0);
    return header;
  }

  #append(id: number, key: Uint8Array): Location {
    // The active sector may be a version-1 one mounted from an older store: its records keep its check.
    const version = this.#versionAt(this.#active);
    const { body, entry } = encodeRecord(id, key, version);
    this.#chargeCheck(version);
    const loc = { pos: this.#active, slot: this.#next };
    this.#flash.program(this.#slotAddress(loc), body);
    body.fill(0);
    this.#programEntry(loc, entry);
    this.#next++;
    const st = this.#state[loc.pos];
    if (st) {
      st.ids[loc.slot] = id;
      st.liveFlags[loc.slot] = 1;
      st.live++;
    }
    return loc;
  }

  /** Tombstone (alive bit), then zero the slot. */
  #kill(loc: Location): void {
    this.#clearAlive(loc, this.#flash.read(this.#entryAddress(loc), 1)[0] ?? ENTRY_FREE);
    this.#flash.program(this.#slotAddress(loc), new Uint8Array(SLOT_BYTES));
    const st = this.#state[loc.pos];
    if (st?.liveFlags[loc.slot]) {
      st.liveFlags[loc.slot] = 0;
      st.live--;
    }
  }

  /**
   * Turns a torn slot into a dead one: alive bit first (so that no partly zeroed body is ever read
   * under a live-looking entry), then the body, each only if not already done.
   */
  #scrub(loc: Location, image: Uint8Array | undefined): void {
    const layout = this.#layout;
    const entry = image?.[layout.indexOffset + loc.slot] ?? ENTRY_FREE;
    if ((entry & ~ENTRY_KILL & 0xff) !== 0) this.#clearAlive(loc, entry);
    const at = layout.dataOffset + loc.slot * SLOT_BYTES;
    if (!image?.subarray(at, at + SLOT_BYTES).every((b) => b === 0)) {
      this.#flash.program(this.#slotAddress(loc), new Uint8Array(SLOT_BYTES));
    }
  }

  /** Erases the sector at `pos`, counting the erase in the wear table unless it was `counted` already. */
  #erase(pos: number, options: { readonly counted?: boolean } = {}): void {
    const sector = this.#sectors[pos];
    const st = this.#state[pos];
    if (!sector || !st) throw new KeyStoreCorruptError(`no store sector at position ${pos}`);
    st.used = false;
    st.live = 0;
    st.liveFlags.fill(0);
    if (options.counted !== true) this.#wear[pos] = (this.#wear[pos] ?? 0) + 1;
    this.#flash.eraseSector(sector.index);
  }

  /** Programs one entry byte; the rest of its PSIZE unit is written as 0xFF, which changes nothing. */
  #programEntry(loc: Location, value: number): void {
    const address = this.#entryAddress(loc);
    const unitStart = address - (address % this.#unit);
    const data = new Uint8Array(this.#unit).fill(0xff);
    data[address - unitStart] = value;
    this.#flash.program(unitStart, data);
  }

  /**
   * Clears the alive bit of an entry whose current value is `entry`. Only that bit is targeted, so
   * the program is all-or-nothing even when cut; the other bits are written as they are.
   */
  #clearAlive(loc: Location, entry: number): void {
    this.#programEntry(loc, entry & ENTRY_KILL);
  }

  #programWord(address: number, value: number): void {
    const data = new Uint8Array(4);
    new DataView(data.buffer).setUint32(0, value, true);
    this.#flash.program(address, data);
  }

  /** Charges one record check: the CRC unit for version 1 (RM0090 §4), a software CRC-5 for version 2. */
  #chargeCheck(version: LayoutVersion): void {
    if (version === LEGACY_LAYOUT_VERSION) this.#flash.meter?.charge('crc32.word', RECORD_CHECK_WORDS);
    else this.#flash.meter?.charge('crc5.byte', RECORD_CHECK_BYTES);
  }

  #versionAt(pos: number): LayoutVersion {
    return this.#state[pos]?.version ?? LAYOUT_VERSION;
  }

  #freePositions(): number[] {
    return this.#state.map((st, pos) => (st.used ? -1 : pos)).filter((pos) => pos >= 0);
  }

  #sectorAddress(pos: number): number {
    const sector = this.#sectors[pos];
    if (!sector) throw new KeyStoreCorruptError(`no store sector at position ${pos}`);
    return sector.address;
  }

  #slotAddress(loc: Location): number {
    return this.#sectorAddress(loc.pos) + this.#layout.dataOffset + loc.slot * SLOT_BYTES;
  }

  #entryAddress(loc: Location): number {
    return this.#sectorAddress(loc.pos) + this.#layout.indexOffset + loc.slot;
  }
}

/**
 * DEVICE-INTERNAL. Reads the key material stored under `id` into a fresh array, for the HSM's own
 * crypto engine only: nothing on the host side may call it, and the caller must wipe the result
 * after use. Host-facing code reaches keys by ID, or as blobs wrapped inside the device.
 * @throws KeyStoreKeyNotFoundError when no key has this ID
 */
export function readKeyMaterialForDevice(store: KeyStore, id: number): Uint8Array {
  return deviceRead(store, id);
}

function emptySectorState(slots: number): SectorState {
  return {
    used: false,
    seq: 0,
    version: LAYOUT_VERSION,
    live: 0,
    ids: new Uint32Array(slots),
    liveFlags: new Uint8Array(slots),
  };
}

function later(a: SectorHeader, b: SectorHeader): boolean {
  return a.epoch > b.epoch || (a.epoch === b.epoch && a.seq > b.seq);
}

function checkId(id: number): void {
  if (!Number.isSafeInteger(id) || id < 0 || id > 0xffff_ffff)
    throw new KeyStoreInvalidKeyError(`key id must be a u32, got ${id}`);
}
