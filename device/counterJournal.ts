/**
 * The entries of the counter journal that follows the device-state record in its flash sector
 * (`recordArea.ts`): how a monotonic counter advances by a few bits of NOR flash instead of a whole
 * new copy of the record.
 *
 * NOR flash programs 1 → 0 at any time without an erase (RM0090 §3.5.4: "successive write
 * operations are possible without the need of an erase operation when changing bits from '1' to
 * '0'"), so the journal is written into erased space and never rewritten except by clearing more
 * bits. Two kinds of entry, each 8 bytes (two x32 words) at an 8-byte boundary:
 *
 * ```
 * entry (u64le) = value (bits 0..47) | index (48..55) | kind (56..57) | check (58..63)
 *   kind 10 = delta:  counter `index` advanced by `value`
 *   kind 01 = tally:  counter `index` advanced by `value` (the stride), and again by the stride for
 *                     every bit cleared in the TALLY_BYTES block that follows the entry
 *   check   = number of 0 bits among bits 0..57 (a Berger code)
 * tally block = TALLY_BYTES bytes whose bits are cleared in order, bit 0 of the first byte first:
 *               a thermometer code, one bit per further advance by the stride
 * ```
 *
 * Why a Berger code: a torn program only leaves some of the bits it was clearing at 1 (the flash
 * fault model, `flash.ts`), a unidirectional error; a Berger check detects every unidirectional
 * error (Berger 1961, "A note on error detection codes for asymmetric channels"): the torn data
 * has fewer zeros than intended while the torn check field reads as a larger number, so they can
 * agree only if nothing was torn. The erased pattern (all ones: no zeros, check 63) is never valid.
 * A tally bit is a one-bit program, which lands or does not (old or new value, never another).
 *
 * Garbage from a torn erase never reaches the journal that counts: a base record is only programmed
 * into a sector read back as fully erased, and the active sector is never erased. A torn erase of
 * the *older* sector can leave its base readable over a garbled journal; that journal counts for
 * nothing, and `recordArea.ts` reads it without failing the boot.
 * @module
 */

/** Bytes of one journal entry (two x32 words, RM0090 §3.5.4 PSIZE x32). */
export const ENTRY_BYTES = 8;
/** Bytes of the bit block that follows a tally entry: 192 further advances. */
export const TALLY_BYTES = 24;
/** Advances a tally block records after its entry. */
export const TALLY_BITS = TALLY_BYTES * 8;
/** Largest value (delta or stride) an entry holds: 48 bits. */
export const MAX_ENTRY_VALUE = 2 ** 48 - 1;
/** Largest counter index an entry names. */
export const MAX_ENTRY_INDEX = 0xff;

/** Entry kinds. */
export type EntryKind = 'delta' | 'tally';

const KIND_CODE: Readonly<Record<EntryKind, number>> = { delta: 0b10, tally: 0b01 };
const DATA_BITS = 58;
const HI_DATA_BITS = DATA_BITS - 32;

/** A decoded journal entry. */
export interface JournalEntry {
  readonly kind: EntryKind;
  /** The counter's index (its meaning belongs to the caller, `stateJournal.ts`). */
  readonly index: number;
  /** The delta, or the tally's stride. */
  readonly value: number;
}

function zeros(word: number, bits: number): number {
  let n = 0;
  for (let b = 0; b < bits; b++) if (((word >>> b) & 1) === 0) n++;
  return n;
}

/** The 8 bytes of `entry`. @throws RangeError on an index or value out of range. */
export function encodeEntry(entry: JournalEntry): Uint8Array {
  const { index, value } = entry;
  if (!Number.isSafeInteger(value) || value < 1 || value > MAX_ENTRY_VALUE)
    throw new RangeError(`a journal value is 1..2^48-1, got ${value}`);
  if (!Number.isInteger(index) || index < 0 || index > MAX_ENTRY_INDEX)
    throw new RangeError(`a journal index is 0..255, got ${index}`);
  const lo = value % 2 ** 32;
  const hiData = Math.floor(value / 2 ** 32) | (index << 16) | (KIND_CODE[entry.kind] << 24);
  const check = zeros(lo, 32) + zeros(hiData, HI_DATA_BITS);
  const out = new Uint8Array(ENTRY_BYTES);
  const view = new DataView(out.buffer);
  view.setUint32(0, lo >>> 0, true);
  view.setUint32(4, (hiData | (check << HI_DATA_BITS)) >>> 0, true);
  return out;
}

/** How 8 journal bytes read: erased (the journal's end), a valid entry, or anything else (torn). */
export type EntryReading =
  | { readonly kind: 'erased' }
  | { readonly kind: 'invalid' }
  | { readonly kind: 'entry'; readonly entry: JournalEntry };

/** Reads the entry in `bytes` (8 bytes). */
export function readEntry(bytes: Uint8Array): EntryReading {
  const view = new DataView(bytes.buffer, bytes.byteOffset, ENTRY_BYTES);
  const lo = view.getUint32(0, true);
  const hi = view.getUint32(4, true);
  if (lo === 0xffff_ffff && hi === 0xffff_ffff) return { kind: 'erased' };
  const hiData = hi & ((1 << HI_DATA_BITS) - 1);
  if (hi >>> HI_DATA_BITS !== zeros(lo, 32) + zeros(hiData, HI_DATA_BITS)) return { kind: 'invalid' };
  const code = hiData >>> 24;
  const kind = code === KIND_CODE.delta ? 'delta' : code === KIND_CODE.tally ? 'tally' : undefined;
  const value = (hiData & 0xffff) * 2 ** 32 + lo;
  if (kind === undefined || value === 0) return { kind: 'invalid' };
  return { kind: 'entry', entry: { kind, index: (hiData >>> 16) & 0xff, value } };
}

/**
 * Bits cleared in a tally block, which must be a prefix (bit 0 of byte 0 first).
 * @returns the count, or undefined when the cleared bits are not a prefix (not written by a tally).
 */
export function tallyCount(block: Uint8Array): number | undefined {
  let count = 0;
  let ended = false;
  for (const byte of block) {
    for (let b = 0; b < 8; b++) {
      const cleared = ((byte >>> b) & 1) === 0;
      if (cleared && ended) return undefined;
      if (cleared) count++;
      else ended = true;
    }
  }
  return count;
}

/**
 * The one x32 word to program to take a tally from `count` to `count + 1` cleared bits: its byte
 * offset in the block and its new value (every earlier bit of the word cleared too, so the program
 * is the same whatever a torn earlier one left).
 */
export function tallyStep(count: number): { readonly offset: number; readonly word: Uint8Array } {
  if (!Number.isInteger(count) || count < 0 || count >= TALLY_BITS)
    throw new RangeError(`a tally holds 0..${TALLY_BITS - 1} before a step, got ${count}`);
  const wordIndex = Math.floor(count / 32);
  const bitsInWord = (count % 32) + 1;
  const value = bitsInWord === 32 ? 0 : ~((2 ** bitsInWord - 1) >>> 0) >>> 0;
  const word = new Uint8Array(4);
  new DataView(word.buffer).setUint32(0, value, true);
  return { offset: wordIndex * 4, word };
}
