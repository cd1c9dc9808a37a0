import { describe, expect, it } from 'vitest';
import {
  ENTRY_KILL,
  ENTRY_FREE,
  NO_SOURCE,
  SLOT_BYTES,
  classifySlot,
  compactionDoneWord,
  encodeHeaderContent,
  encodeRecord,
  headerCommitWord,
  keyOfSlot,
  readHeader,
  storeLayout,
  type SectorHeader,
} from './keyStoreLayout.ts';
import { SeededPrng } from './seededPrng.ts';

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
      const { body, entry } = encodeRecord(0xdead_beef, key);
      expect(body).toHaveLength(SLOT_BYTES);
      const content = classifySlot(entry, body);
      expect(content).toEqual({ kind: 'live', id: 0xdead_beef, keyLength: length });
      expect(keyOfSlot(body, length)).toEqual(key);
    }
  });

  it('classifies erased and zeroed slots, and anything in between as torn', () => {
    expect(classifySlot(ENTRY_FREE, new Uint8Array(SLOT_BYTES).fill(0xff)).kind).toBe('free');
    expect(classifySlot(0x00, new Uint8Array(SLOT_BYTES)).kind).toBe('dead');
    expect(classifySlot(0xa3 & ENTRY_KILL, new Uint8Array(SLOT_BYTES)).kind).toBe('dead');
    const partial = new Uint8Array(SLOT_BYTES).fill(0xff);
    partial[7] = 0x12;
    expect(classifySlot(ENTRY_FREE, partial).kind).toBe('torn'); // body written, never committed
    expect(classifySlot(0x25, partial).kind).toBe('torn'); // tombstoned, zeroing cut
  });

  it('never accepts a torn commit of the entry byte, for any torn bit pattern', () => {
    let checked = 0;
    for (let trial = 0; trial < 300; trial++) {
      const length = [16, 24, 32][trial % 3] ?? 32;
      const { body, entry } = encodeRecord(prng.nextU32(), prng.bytes(length));
      for (const v of tornValues(ENTRY_FREE, entry)) {
        expect(classifySlot(v, body).kind).toBe('torn');
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
        expect(classifySlot(killed, body).kind).not.toBe('live');
      }
    }
  });

  it('never shows a live record while a body under an erased entry is written or zeroed', () => {
    const { body } = encodeRecord(7, prng.bytes(32));
    for (let i = 0; i <= SLOT_BYTES; i++) {
      const partial = new Uint8Array(SLOT_BYTES).fill(0xff);
      partial.set(body.subarray(0, i));
      expect(classifySlot(ENTRY_FREE, partial).kind).toBe(i === 0 ? 'free' : 'torn');
    }
  });

  it('catches almost every corruption of a committed body (5-bit check: 31/32)', () => {
    let accepted = 0;
    const trials = 4000;
    for (let i = 0; i < trials; i++) {
      const { body, entry } = encodeRecord(i, prng.bytes(32));
      const at = prng.int(SLOT_BYTES);
      body[at] = (body[at] ?? 0) ^ (1 + prng.int(255));
      if (classifySlot(entry, body).kind === 'live') accepted++;
    }
    expect(accepted / trials).toBeLessThan(0.05);
  });
});

describe('sector headers', () => {
  const layout = storeLayout(1024, 4);
  const header: SectorHeader = {
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
