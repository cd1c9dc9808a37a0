import { describe, expect, it } from 'vitest';
import {
  ENTRY_KILL,
  ENTRY_FREE,
  LAYOUT_VERSION,
  LEGACY_LAYOUT_VERSION,
  NO_SOURCE,
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
  type SectorHeader,
} from './keyStoreLayout.ts';
import { SeededPrng } from './seededPrng.ts';

const V2 = LAYOUT_VERSION;

const prng = new SeededPrng(2020);

/** Every value a torn program can leave when `from` was being programmed to `to` (bits only clear). */
function tornValues(from: number, to: number): number[] {
  const clearing = from & ~to & 0xff;
  const out: number[] = [];
  for (let sub = clearing; ; sub = (sub - 1) & clearing) {
    out.push(from & ~sub & 0xff);
    if (sub === 0) break;
  }
  return out.filter((v) => v !== to && v !== from);
}

describe('storeLayout', () => {
  it('fits 3540 256-bit key records in a 128 KiB sector of a 7-sector store', () => {
    const layout = storeLayout(128 * 1024, 7);
    expect(layout.headerBytes).toBe(64);
    expect(layout.slotsPerSector).toBe(3540);
    expect(layout.dataOffset % 4).toBe(0);
    expect(layout.dataOffset + layout.slotsPerSector * SLOT_BYTES).toBeLessThanOrEqual(128 * 1024);
    expect(layout.slotsPerSector).toBeGreaterThanOrEqual(3500);
  });

  it('scales to small sectors and refuses impossible geometries', () => {
    const small = storeLayout(1024, 4);
    expect(small.slotsPerSector).toBeGreaterThanOrEqual(20);
    expect(small.dataOffset + small.slotsPerSector * SLOT_BYTES).toBeLessThanOrEqual(1024);
    expect(() => storeLayout(1024, 1)).toThrow(RangeError);
    expect(() => storeLayout(64, 4)).toThrow(RangeError);
  });
});

describe('records', () => {
  it('round-trip 16, 24 and 32-byte keys through a slot', () => {
    for (const length of [16, 24, 32]) {
      const key = prng.bytes(length);
      const { body, entry } = encodeRecord(0xdead_beef, key, V2);
      expect(body).toHaveLength(SLOT_BYTES);
      const content = classifySlot(entry, body, V2);
      expect(content).toEqual({ kind: 'live', id: 0xdead_beef, keyLength: length });
      expect(keyOfSlot(body, length)).toEqual(key);
    }
  });

  it('classifies erased and zeroed slots, and anything in between as torn', () => {
    expect(classifySlot(ENTRY_FREE, new Uint8Array(SLOT_BYTES).fill(0xff), V2).kind).toBe('free');
    expect(classifySlot(0x00, new Uint8Array(SLOT_BYTES), V2).kind).toBe('dead');
    expect(classifySlot(0xa3 & ENTRY_KILL, new Uint8Array(SLOT_BYTES), V2).kind).toBe('dead');
    const partial = new Uint8Array(SLOT_BYTES).fill(0xff);
    partial[7] = 0x12;
    expect(classifySlot(ENTRY_FREE, partial, V2).kind).toBe('torn'); // body written, never committed
    expect(classifySlot(0x25, partial, V2).kind).toBe('torn'); // tombstoned, zeroing cut
  });

  it('never accepts a torn commit of the entry byte, for any torn bit pattern', () => {
    let checked = 0;
    for (let trial = 0; trial < 300; trial++) {
      const length = [16, 24, 32][trial % 3] ?? 32;
      const version = trial % 2 === 0 ? V2 : LEGACY_LAYOUT_VERSION;
      const { body, entry } = encodeRecord(prng.nextU32(), prng.bytes(length), version);
      for (const v of tornValues(ENTRY_FREE, entry)) {
        expect(classifySlot(v, body, version).kind).toBe('torn');
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(3000);
  });

  it('deletes with a one-bit program: no entry with the alive bit cleared is live, whatever the body', () => {
    for (let entry = 0; entry < 0x100; entry++) {
      const killed = entry & ENTRY_KILL;
      expect(tornValues(entry, killed)).toEqual([]); // at most one targeted bit: nothing in between
      for (let trial = 0; trial < 8; trial++) {
        const body = trial === 0 ? new Uint8Array(SLOT_BYTES) : prng.bytes(SLOT_BYTES);
        expect(classifySlot(killed, body, V2).kind).not.toBe('live');
      }
    }
  });

  it('never shows a live record while a body under an erased entry is written or zeroed', () => {
    const { body } = encodeRecord(7, prng.bytes(32), V2);
    for (let i = 0; i <= SLOT_BYTES; i++) {
      const partial = new Uint8Array(SLOT_BYTES).fill(0xff);
      partial.set(body.subarray(0, i));
      expect(classifySlot(ENTRY_FREE, partial, V2).kind).toBe(i === 0 ? 'free' : 'torn');
    }
  });

  it('detects every single-bit flip of a committed record, in every slot and entry bit (CRC-5/G-704)', () => {
    let checked = 0;
    for (let trial = 0; trial < 300; trial++) {
      const length = [16, 24, 32][trial % 3] ?? 32;
      const { body, entry } = encodeRecord(prng.nextU32(), prng.bytes(length), V2);
      for (let bit = 0; bit < SLOT_BYTES * 8; bit++) {
        body[bit >> 3] = (body[bit >> 3] ?? 0) ^ (1 << (bit & 7)); // flipped in place, then back
        expect(classifySlot(entry, body, V2).kind).toBe('torn');
        body[bit >> 3] = (body[bit >> 3] ?? 0) ^ (1 << (bit & 7));
        checked++;
      }
      for (let bit = 0; bit < 8; bit++) {
        expect(classifySlot(entry ^ (1 << bit), body, V2).kind).toBe('torn');
        checked++;
      }
    }
    expect(checked).toBe(300 * (SLOT_BYTES * 8 + 8));
  });

  it('detects every three-bit flip of a committed body, and every burst of up to 5 bits', () => {
    for (let trial = 0; trial < 3000; trial++) {
      const { body, entry } = encodeRecord(prng.nextU32(), prng.bytes(32), V2);
      const flipped = body.slice();
      const positions = new Set<number>();
      while (positions.size < 3) positions.add(prng.int(SLOT_BYTES * 8));
      for (const p of positions) flipped[p >> 3] = (flipped[p >> 3] ?? 0) ^ (1 << (p & 7));
      expect(classifySlot(entry, flipped, V2).kind).toBe('torn');
      // A burst in the slot's bit order (least significant bit of each byte first, as the CRC reads it).
      const at = prng.int(SLOT_BYTES * 8 - 4);
      const burst = body.slice();
      const pattern = 0b10001 | (prng.int(8) << 1);
      for (let k = 0; k < 5; k++) {
        if ((pattern >> k) & 1) burst[(at + k) >> 3] = (burst[(at + k) >> 3] ?? 0) ^ (1 << ((at + k) & 7));
      }
      expect(classifySlot(entry, burst, V2).kind).toBe('torn');
    }
  });

  it('still reads version-1 records, whose check missed single-bit flips at 15 slot bits', () => {
    // Why version 2 exists: 5 bits of a CRC-32 keep none of the CRC's guarantees. The misses are the
    // same for every record (a CRC is linear: a flip changes it by a constant).
    const missed = new Set<number>();
    for (let trial = 0; trial < 20; trial++) {
      const key = prng.bytes(32);
      const { body, entry } = encodeRecord(trial, key, LEGACY_LAYOUT_VERSION);
      expect(classifySlot(entry, body, LEGACY_LAYOUT_VERSION)).toEqual({ kind: 'live', id: trial, keyLength: 32 });
      expect(keyOfSlot(body, 32)).toEqual(key);
      for (let bit = 0; bit < SLOT_BYTES * 8; bit++) {
        const flipped = body.slice();
        flipped[bit >> 3] = (flipped[bit >> 3] ?? 0) ^ (1 << (bit & 7));
        if (classifySlot(entry, flipped, LEGACY_LAYOUT_VERSION).kind === 'live') missed.add(bit);
      }
    }
    const expected = [74, 101, 102, 103, 137, 138, 139, 140, 141, 182, 228, 229, 246, 274, 275];
    expect([...missed].sort((a, b) => a - b)).toEqual(expected);
  });

  it('re-encodes a version-1 entry for a version-2 sector: same alive bit and code, new check', () => {
    for (const length of [16, 24, 32]) {
      const { body, entry } = encodeRecord(0x1234_5678, prng.bytes(length), LEGACY_LAYOUT_VERSION);
      const moved = reencodeEntry(entry, body, V2);
      expect(moved).toBe(encodeRecord(0x1234_5678, keyOfSlot(body, length), V2).entry);
      expect(moved & 0xe0).toBe(entry & 0xe0);
      expect(classifySlot(moved, body, V2)).toEqual({ kind: 'live', id: 0x1234_5678, keyLength: length });
      expect(reencodeEntry(moved, body, LEGACY_LAYOUT_VERSION)).toBe(entry);
    }
  });
});

describe('sector headers', () => {
  const layout = storeLayout(1024, 4);
  const header: SectorHeader = {
    version: LAYOUT_VERSION,
    position: 2,
    flashIndex: 14,
    epoch: 3,
    seq: 9,
    sourcePos: 1,
    sourceSeq: 7,
    wear: [5, 6, 7, 8],
  };

  function sectorWith(content: Uint8Array, commit?: number, done?: number): Uint8Array {
    const sector = new Uint8Array(1024).fill(0xff);
    sector.set(content);
    const v = new DataView(sector.buffer);
    if (commit !== undefined) v.setUint32(layout.commitOffset, commit, true);
    if (done !== undefined) v.setUint32(layout.doneOffset, done, true);
    return sector;
  }

  it('reads back a committed header, with and without its done word', () => {
    const content = encodeHeaderContent(layout, header);
    const pending = readHeader(layout, sectorWith(content, headerCommitWord(content)));
    expect(pending).toEqual({ kind: 'valid', header, done: false, sameLayout: true });
    const done = readHeader(layout, sectorWith(content, headerCommitWord(content), compactionDoneWord(header)));
    expect(done.kind === 'valid' && done.done).toBe(true);
  });

  it('reads a version-1 header as valid, with its version, and a header of an unknown version as invalid', () => {
    const old = { ...header, version: LEGACY_LAYOUT_VERSION } as const;
    const content = encodeHeaderContent(layout, old);
    expect(content[4]).toBe(1);
    expect(readHeader(layout, sectorWith(content, headerCommitWord(content)))).toEqual({
      kind: 'valid',
      header: old,
      done: false,
      sameLayout: true,
    });
    expect(encodeHeaderContent(layout, header)[4]).toBe(2);
    const future = encodeHeaderContent(layout, header);
    future[4] = 3;
    expect(readHeader(layout, sectorWith(future, headerCommitWord(future))).kind).toBe('invalid');
  });

  it('treats an erased header as erased and an uncommitted or torn one as invalid', () => {
    expect(readHeader(layout, new Uint8Array(1024).fill(0xff)).kind).toBe('erased');
    const content = encodeHeaderContent(layout, header);
    expect(readHeader(layout, sectorWith(content)).kind).toBe('invalid');
    const commit = headerCommitWord(content);
    for (let i = 0; i < 64; i++) {
      const torn = (commit | (prng.nextU32() & ~commit)) >>> 0; // some bits still 1
      if (torn === commit) continue;
      expect(readHeader(layout, sectorWith(content, torn)).kind).toBe('invalid');
    }
  });

  it('never reads a torn done word as done', () => {
    const content = encodeHeaderContent(layout, header);
    const doneWord = compactionDoneWord(header);
    for (let i = 0; i < 64; i++) {
      const torn = (doneWord | (prng.nextU32() & ~doneWord)) >>> 0;
      if (torn === doneWord) continue;
      const r = readHeader(layout, sectorWith(content, headerCommitWord(content), torn));
      expect(r.kind === 'valid' && r.done).toBe(false);
    }
  });

  it('recognises a header of another store configuration', () => {
    const other = storeLayout(1024, 3);
    const content = encodeHeaderContent(other, {
      ...header,
      wear: [1, 2, 3],
      sourcePos: NO_SOURCE,
      sourceSeq: NO_SOURCE,
    });
    const sector = new Uint8Array(1024).fill(0xff);
    sector.set(content);
    new DataView(sector.buffer).setUint32(other.commitOffset, headerCommitWord(content), true);
    const r = readHeader(layout, sector);
    expect(r.kind === 'valid' && !r.sameLayout).toBe(true);
  });
});
