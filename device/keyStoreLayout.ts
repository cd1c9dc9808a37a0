/**
 * On-flash format of the key store: sector header, commit index and 36-byte record slots.
 *
 * ```
 * sector  = header (H bytes) | index (S bytes, padded to 4) | data (S x 36-byte slots)
 * header  = magic 'SKS1' | layout (version, N, S) | self (store position, RM0090 sector)
 *           | epoch | seq | sourcePos | sourceSeq | wear[N] | commit | done      (little-endian u32s)
 * slot    = id u32 | key area 32 B   (16/24-byte keys: key, 0xFF padding, length in byte 35)
 * index   = one entry byte per slot: alive (bit 7) | code (bits 6..5) | check (bits 4..0)
 *           0xFF = free; alive 0 = deleted (tombstone); code 01 = 32-byte key, 10 = short key;
 *           check = version 2: CRC-5/G-704 (ITU-T G.704 §2.2.3.2) over slot | code byte
 *                   version 1: low 5 bits of CRC-32 over slot | code word (read only, see below)
 * ```
 *
 * Why these choices:
 * - Density: 36 B of slot + 1 B of index per 256-bit key gives S = 3540 records in a 128 KiB sector
 *   (the original SEcube layout: 2016 64-byte blocks). Slots are fixed-size so that a dead or torn slot
 *   never hides where the next one starts.
 * - Crash safety does not rest on the checksum: every state change programs one field strictly
 *   after the previous one completed, and no torn program (bits only move 1 → 0, some of them not
 *   yet) can produce a valid value that was not intended:
 *   - commit (0xFF → entry): codes 01/10 are an antichain and the check bits must all land, so a
 *     torn commit is never valid;
 *   - delete and scrub clear the single alive bit first — a one-bit program is all or nothing —
 *     and only then zero the slot, so no half-zeroed body is ever read under a live-looking entry
 *     (a first design took the entry from its value to 0x00 in one program, which passes through
 *     valid-looking values; the power-cut property suite found it);
 *   - the 32-bit commit/done words of headers reserve 0xFFFFFFFF for "not written".
 * - The check is what catches corruption of a committed record, chiefly retention errors: this
 *   flash has no ECC, and reading a key trusts the check alone. CRC-5/G-704's polynomial
 *   (x + 1)(x^4 + x + 1) detects every error of odd weight in slot | code (so every single-bit
 *   flip), every burst of at most 5 bits, and every two-bit error less than 15 bit positions apart;
 *   a flip in the check bits is always seen, in a code bit gives an invalid code, in the alive bit a
 *   torn slot. Other patterns pass with probability about 1/32. Sector headers, the only structures
 *   a torn *erase* can fake, carry a full CRC-32.
 * - Version 1 stores took the low 5 bits of a CRC-32, which keeps none of those guarantees: it
 *   missed single-bit flips at 15 of the 288 slot bits. The version is per sector, in its header:
 *   a version-1 sector is still read, and appended to while it is the active one, with its own
 *   check, until compaction copies its records into a sector opened at version 2, re-encoding
 *   each entry byte there; mount never erases a sector for its version, so an old store keeps its
 *   keys, and rotation makes every sector version 2 over time.
 * - CRC-32 is the STM32 CRC unit's polynomial (RM0090 §4), so the firmware computes the header CRC
 *   (and version 1's record check) in hardware at 4 cycles a word; that unit has no other
 *   polynomial, so the CRC-5 is a software table look-up per byte.
 * @module
 */
import { crc32Stm32 } from './crc32.ts';
import { crc5G704 } from './crc5.ts';
import { isErased } from './erased.ts';

/** Bytes per record slot: 4-byte ID + 32-byte key area. */
export const SLOT_BYTES = 36;
/** Key lengths the store accepts (AES-128/192/256 keys). */
export const KEY_LENGTHS: readonly number[] = Object.freeze([16, 24, 32]);
/** Entry byte of a never-written slot (erased flash). */
export const ENTRY_FREE = 0xff;
/** Programmed over an entry to delete its record: clears the alive bit only (0xFF bits change nothing). */
export const ENTRY_KILL = 0x7f;
const ALIVE = 0x80;
/** Sector header magic, the bytes 'SKS1'. */
const SECTOR_MAGIC = 0x3153_4b53;
/** Layout version written in every header from now on: records checked by CRC-5/G-704. */
export const LAYOUT_VERSION = 2;
/** Layout version of stores written before the CRC-5: records checked by 5 bits of CRC-32. Still read. */
export const LEGACY_LAYOUT_VERSION = 1;
/** A layout version this code reads: it fixes how the records of a sector are checked. */
export type LayoutVersion = typeof LEGACY_LAYOUT_VERSION | typeof LAYOUT_VERSION;
/** sourcePos/sourceSeq value of a sector that is not a compaction target. */
export const NO_SOURCE = 0xffff_ffff;

const CODE_FULL = 0b01;
const CODE_SHORT = 0b10;
const DONE_TAG = 0x454e_4f44; // 'DONE'
const WORD_ERASED = 0xffff_ffff;

/** Offsets and counts of the format for one sector size and store size. */
export interface StoreLayout {
  readonly sectorSize: number;
  readonly sectorCount: number;
  readonly commitOffset: number;
  readonly doneOffset: number;
  readonly headerBytes: number;
  readonly indexOffset: number;
  readonly dataOffset: number;
  readonly slotsPerSector: number;
}

/** Computes the format for `sectorCount` sectors of `sectorSize` bytes each. */
export function storeLayout(sectorSize: number, sectorCount: number): StoreLayout {
  if (!Number.isSafeInteger(sectorCount) || sectorCount < 2 || sectorCount > 255) {
    throw new RangeError(`a key store needs 2..255 sectors, got ${sectorCount}`);
  }
  const commitOffset = 0x1c + 4 * sectorCount;
  const doneOffset = commitOffset + 4;
  const headerBytes = roundUp(doneOffset + 4, 16);
  let slots = Math.floor((sectorSize - headerBytes) / (SLOT_BYTES + 1));
  while (slots > 0 && headerBytes + roundUp(slots, 4) + slots * SLOT_BYTES > sectorSize) slots--;
  if (slots < 2 || slots > 0xffff)
    throw new RangeError(`sector size ${sectorSize} gives ${slots} slots; need 2..65535`);
  return {
    sectorSize,
    sectorCount,
    commitOffset,
    doneOffset,
    headerBytes,
    indexOffset: headerBytes,
    dataOffset: headerBytes + roundUp(slots, 4),
    slotsPerSector: slots,
  };
}

/** CRC-32 words processed for one version-1 record check (slot plus code word), for the cycle meter. */
export const RECORD_CHECK_WORDS = SLOT_BYTES / 4 + 1;
/** Bytes processed for one version-2 record check (slot plus code byte), for the cycle meter. */
export const RECORD_CHECK_BYTES = SLOT_BYTES + 1;

function recordCheck(body: Uint8Array, code: number, version: LayoutVersion): number {
  if (version === LEGACY_LAYOUT_VERSION) return crc32Stm32(Uint8Array.of(code, 0, 0, 0), crc32Stm32(body)) & 0x1f;
  return crc5G704(Uint8Array.of(code), crc5G704(body));
}

/**
 * Slot body and entry byte for a record in a sector of layout `version`. `key` must be 16, 24 or 32
 * bytes (checked by the caller).
 */
export function encodeRecord(id: number, key: Uint8Array, version: LayoutVersion): { body: Uint8Array; entry: number } {
  const body = new Uint8Array(SLOT_BYTES).fill(0xff);
  new DataView(body.buffer).setUint32(0, id, true);
  body.set(key, 4);
  const code = key.length === 32 ? CODE_FULL : CODE_SHORT;
  if (code === CODE_SHORT) body[SLOT_BYTES - 1] = key.length;
  return { body, entry: ALIVE | (code << 5) | recordCheck(body, code, version) };
}

/**
 * The entry byte of a live record `entry` | `body` moved into a sector of layout `version`: same
 * alive bit and code, check recomputed (compaction out of a version-1 sector).
 */
export function reencodeEntry(entry: number, body: Uint8Array, version: LayoutVersion): number {
  return (entry & ~0x1f & 0xff) | recordCheck(body, (entry >>> 5) & 0b11, version);
}

/** What a slot holds, as read from flash. */
export type SlotContent =
  | { readonly kind: 'free' }
  | { readonly kind: 'dead' }
  | { readonly kind: 'torn' }
  | { readonly kind: 'live'; readonly id: number; readonly keyLength: number };

/**
 * Classifies a slot of a sector of layout `version`: free (entry and body erased), dead (alive bit
 * clear, body zero), live (alive, valid code, check matching the body), or torn — anything else: an
 * interrupted append, commit, delete or scrub, which mount turns into dead, or a corrupted record.
 */
export function classifySlot(entry: number, body: Uint8Array, version: LayoutVersion): SlotContent {
  if (entry === ENTRY_FREE) return isErased(body) ? { kind: 'free' } : { kind: 'torn' };
  if ((entry & ALIVE) === 0) return body.every((b) => b === 0) ? { kind: 'dead' } : { kind: 'torn' };
  const code = (entry >>> 5) & 0b11;
  if (code !== CODE_FULL && code !== CODE_SHORT) return { kind: 'torn' };
  if ((entry & 0x1f) !== recordCheck(body, code, version)) return { kind: 'torn' };
  const keyLength = code === CODE_FULL ? 32 : (body[SLOT_BYTES - 1] ?? 0);
  if (keyLength !== 16 && keyLength !== 24 && keyLength !== 32) return { kind: 'torn' };
  const id = new DataView(body.buffer, body.byteOffset, body.byteLength).getUint32(0, true);
  return { kind: 'live', id, keyLength };
}

/** The key bytes of a live slot (a copy). */
export function keyOfSlot(body: Uint8Array, keyLength: number): Uint8Array {
  return body.slice(4, 4 + keyLength);
}

/**
 * Header fields. `wear` holds the erase count of every store sector when the header was written;
 * `version` says how the sector's records are checked.
 */
export interface SectorHeader {
  readonly version: LayoutVersion;
  readonly position: number;
  readonly flashIndex: number;
  readonly epoch: number;
  readonly seq: number;
  readonly sourcePos: number;
  readonly sourceSeq: number;
  readonly wear: readonly number[];
}

/** Header bytes [0, commitOffset): everything but the commit and done words. */
export function encodeHeaderContent(layout: StoreLayout, h: SectorHeader): Uint8Array {
  const content = new Uint8Array(layout.commitOffset);
  const v = new DataView(content.buffer);
  v.setUint32(0x00, SECTOR_MAGIC, true);
  v.setUint32(0x04, (h.version | (layout.sectorCount << 8) | (layout.slotsPerSector << 16)) >>> 0, true);
  v.setUint32(0x08, (h.position | (h.flashIndex << 8) | 0xffff_0000) >>> 0, true);
  v.setUint32(0x0c, h.epoch, true);
  v.setUint32(0x10, h.seq, true);
  v.setUint32(0x14, h.sourcePos, true);
  v.setUint32(0x18, h.sourceSeq, true);
  for (let i = 0; i < layout.sectorCount; i++) v.setUint32(0x1c + 4 * i, h.wear[i] ?? 0, true);
  return content;
}

/** A 32-bit commit value derived from a CRC; never the erased pattern, which means "not written". */
function commitValue(crc: number): number {
  return crc === WORD_ERASED ? 0xffff_fffe : crc;
}

/** Commit word of a header: programmed after the content, it makes the header valid. */
export function headerCommitWord(content: Uint8Array): number {
  return commitValue(crc32Stm32(content));
}

/** Done word of a compaction target: programmed after the last live record was copied. */
export function compactionDoneWord(h: SectorHeader): number {
  const words = new Uint8Array(16);
  const v = new DataView(words.buffer);
  v.setUint32(0, h.epoch, true);
  v.setUint32(4, h.seq, true);
  v.setUint32(8, h.sourcePos, true);
  v.setUint32(12, (h.sourceSeq ^ DONE_TAG) >>> 0, true);
  return commitValue(crc32Stm32(words));
}

/** How a sector's header reads. */
export type HeaderReading =
  | { readonly kind: 'erased' }
  | { readonly kind: 'invalid' }
  | { readonly kind: 'valid'; readonly header: SectorHeader; readonly done: boolean; readonly sameLayout: boolean };

/**
 * Reads the header at the start of a sector image. A header whose own layout word differs from
 * `layout` is still recognised (its CRC is computed with its own size) so that mount can tell "another
 * store configuration" from garbage, and so that format can carry the wear table over. Both layout
 * versions are valid (the reading says which, for the records); any other version reads as invalid.
 */
export function readHeader(layout: StoreLayout, sector: Uint8Array): HeaderReading {
  const v = new DataView(sector.buffer, sector.byteOffset, sector.byteLength);
  if (sector.length < 0x20) return { kind: 'invalid' };
  if (v.getUint32(0, true) === WORD_ERASED && isErased(sector.subarray(0, layout.headerBytes))) {
    return { kind: 'erased' };
  }
  if (v.getUint32(0, true) !== SECTOR_MAGIC) return { kind: 'invalid' };
  const layoutWord = v.getUint32(4, true);
  const count = (layoutWord >>> 8) & 0xff;
  const version = knownVersion(layoutWord & 0xff);
  if (version === undefined || count < 2) return { kind: 'invalid' };
  const commitOffset = 0x1c + 4 * count;
  if (commitOffset + 8 > sector.length) return { kind: 'invalid' };
  const content = sector.subarray(0, commitOffset);
  if (v.getUint32(commitOffset, true) !== headerCommitWord(content)) return { kind: 'invalid' };
  const self = v.getUint32(8, true);
  const wear: number[] = [];
  for (let i = 0; i < count; i++) wear.push(v.getUint32(0x1c + 4 * i, true));
  const header: SectorHeader = {
    version,
    position: self & 0xff,
    flashIndex: (self >>> 8) & 0xff,
    epoch: v.getUint32(0x0c, true),
    seq: v.getUint32(0x10, true),
    sourcePos: v.getUint32(0x14, true),
    sourceSeq: v.getUint32(0x18, true),
    wear,
  };
  const sameLayout = count === layout.sectorCount && layoutWord >>> 16 === layout.slotsPerSector;
  const done = v.getUint32(commitOffset + 4, true) === compactionDoneWord(header);
  return { kind: 'valid', header, done, sameLayout };
}

function knownVersion(v: number): LayoutVersion | undefined {
  return v === LAYOUT_VERSION || v === LEGACY_LAYOUT_VERSION ? v : undefined;
}

function roundUp(n: number, to: number): number {
  return Math.ceil(n / to) * to;
}
