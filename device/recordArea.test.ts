import { sha256 } from '@noble/hashes/sha2.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { propertyParams } from '../testing/runConfig.ts';
import { CycleMeter } from './costModel.ts';
import { ENTRY_BYTES, TALLY_BITS, TALLY_BYTES } from './counterJournal.ts';
import { isDeviceError } from './deviceError.ts';
import { Flash } from './flash.ts';
import { PowerLossError } from './powerLossError.ts';
import { RecordArea } from './recordArea.ts';
import type { AreaContent } from './recordArea.ts';

const small = (seed = 1, size = 512): Flash => new Flash({ geometry: [size, size, size, size], seed, strict: true });
const payload = (n: number, len = 40): Uint8Array => new Uint8Array(len).map((_, i) => (n * 31 + i) & 0xff);
const same = (a: Uint8Array | undefined, b: Uint8Array | undefined): boolean =>
  a !== undefined && b !== undefined && Buffer.compare(a, b) === 0;
const sums = (content: AreaContent | undefined): Record<number, number> =>
  Object.fromEntries([...(content?.advances ?? new Map<number, number>())].sort(([a], [b]) => a - b));

/** What the area should hold: the last base and the advances since. */
interface Expected {
  readonly payload: Uint8Array;
  readonly sums: Readonly<Record<number, number>>;
  /** Saved with `forgetPrevious`: then the other sector must be blank once the area is loaded. */
  readonly forget?: boolean;
}
const matches = (content: AreaContent | undefined, want: Expected | undefined): boolean =>
  want === undefined
    ? content === undefined
    : same(content?.payload, want.payload) && JSON.stringify(sums(content)) === JSON.stringify(want.sums);

/** How many of `sectors` read back fully erased. */
const blankSectors = (flash: Flash, sectors: readonly number[]): number =>
  sectors.filter((i) => flash.read(flash.sector(i).address, flash.sector(i).size).every((b) => b === 0xff)).length;

describe('RecordArea', () => {
  it('is blank at first, then returns the latest save, also after a remount', () => {
    const flash = small();
    const area = new RecordArea({ flash, sectors: [1, 2] });
    expect(area.load()).toBeUndefined();
    for (let n = 0; n < 30; n++) area.save(payload(n));
    expect(same(area.load()?.payload, payload(29))).toBe(true);
    expect(same(new RecordArea({ flash, sectors: [1, 2] }).load()?.payload, payload(29))).toBe(true);
    // Sectors 0 and 3 are never touched.
    expect(flash.read(flash.sector(0).address, 512).every((b) => b === 0xff)).toBe(true);
    expect(flash.read(flash.sector(3).address, 512).every((b) => b === 0xff)).toBe(true);
  });

  it('journals advances after the base, adds them up after a remount, and forgets them at the next save', () => {
    const flash = small();
    const area = new RecordArea({ flash, sectors: [0, 1] });
    expect(area.advance(0, 1)).toBe(false); // no base yet
    area.save(payload(1));
    for (let i = 0; i < 10; i++) expect(area.advance(3, 1)).toBe(true);
    expect(area.advance(7, 2 ** 20)).toBe(true);
    expect(area.advance(7, 5)).toBe(true);
    expect(sums(area.load())).toEqual({ 3: 10, 7: 2 ** 20 + 5 });
    expect(sums(new RecordArea({ flash, sectors: [0, 1] }).load())).toEqual({ 3: 10, 7: 2 ** 20 + 5 });
    area.save(payload(2));
    expect(area.load()?.advances.size).toBe(0);
    expect(matches(new RecordArea({ flash, sectors: [0, 1] }).load(), { payload: payload(2), sums: {} })).toBe(true);
  });

  it('refuses what an entry cannot hold, writing nothing', () => {
    const flash = small();
    const area = new RecordArea({ flash, sectors: [0, 1] });
    area.save(payload(1));
    const before = flash.stats().programCalls;
    for (const [index, delta] of [
      [0, 0],
      [0, -1],
      [0, 2 ** 48],
      [256, 1],
      [-1, 1],
      [0, 1.5],
    ] as const)
      expect(area.advance(index, delta)).toBe(false);
    expect(flash.stats().programCalls).toBe(before);
  });

  it('spends one tally bit per repeated advance: a 16 KiB sector takes thousands of advances per erase', () => {
    const meter = new CycleMeter();
    const flash = new Flash({ geometry: [16384, 16384], meter, strict: true });
    const area = new RecordArea({ flash, sectors: [0, 1] });
    area.save(payload(1, 336));
    const fresh = flash.stats().freshBytes;
    const n = 4 * TALLY_BITS;
    for (let i = 0; i < n; i++) {
      expect(area.advance(0, 1)).toBe(true);
      expect(area.advance(1, 2 ** 20)).toBe(true);
    }
    // Per counter: one delta entry, then tally entries of TALLY_BITS + 1 advances each.
    const perCounter = ENTRY_BYTES + Math.ceil((n - 1) / (TALLY_BITS + 1)) * (ENTRY_BYTES + TALLY_BYTES);
    expect(flash.stats().freshBytes - fresh).toBeLessThanOrEqual(2 * perCounter);
    expect(flash.eraseCounts()).toEqual([0, 0]);
    expect(sums(new RecordArea({ flash, sectors: [0, 1] }).load())).toEqual({ 0: n, 1: n * 2 ** 20 });
    // Tally steps are word programs: one write operation each.
    expect(meter.snapshot().byOp['flash.program']?.units).toBeLessThan(2 * n + 400);
  });

  it('says no when the journal is full, and a save (with the advances folded in by the caller) starts over', () => {
    const flash = small(1, 256);
    const area = new RecordArea({ flash, sectors: [0, 1] });
    area.save(payload(1));
    let accepted = 0;
    for (let i = 0; i < 1000 && area.advance(i % 5, i + 1); i++) accepted++;
    expect(accepted).toBe(Math.floor((256 - 16 - 48 - 16) / ENTRY_BYTES));
    expect(area.advance(0, 1)).toBe(false);
    area.save(payload(2));
    expect(area.advance(0, 1)).toBe(true);
    expect(flash.eraseCounts()).toEqual([0, 0, 0, 0]);
    area.save(payload(3)); // back to sector 0, which holds older state: erased first
    expect(flash.eraseCounts()).toEqual([1, 0, 0, 0]);
  });

  it('keeps payloads of any length up to the limit, and refuses larger ones', () => {
    const area = new RecordArea({ flash: small(), sectors: [0, 1] });
    for (const len of [0, 1, 15, 16, 17, area.maxPayload]) {
      area.save(payload(len, len));
      expect(same(area.load()?.payload, payload(len, len))).toBe(true);
    }
    expect(area.advance(0, 1)).toBe(false); // a full-sector base leaves no journal
    try {
      area.save(new Uint8Array(area.maxPayload + 1));
      expect.unreachable();
    } catch (e) {
      expect(isDeviceError(e, 'StoreFull')).toBe(true);
    }
  });

  it('refuses a bad sector pair', () => {
    expect(() => new RecordArea({ flash: small(), sectors: [1, 1] })).toThrow(RangeError);
    expect(() => new RecordArea({ flash: new Flash({ geometry: [32, 32] }), sectors: [0, 1] })).toThrow(/too small/);
  });

  it('charges SHA-256 for the digest of each base', () => {
    const meter = new CycleMeter();
    const area = new RecordArea({ flash: new Flash({ geometry: [512, 512], meter }), sectors: [0, 1] });
    area.save(payload(1));
    expect(meter.snapshot().byOp['sha256.block']?.units).toBeGreaterThan(0);
    expect(meter.snapshot().byOp['flash.program']?.units).toBe(80 / 4);
  });

  it('reads sectors written before the journal (appended whole copies) and moves to the journal format', () => {
    const flash = small();
    const [s0] = flash.sectors;
    // Two legacy copies ('SKST', seq 1 and 2) as the previous format appended them.
    const legacy = (seq: number, body: Uint8Array): Uint8Array => {
      const record = new Uint8Array(16 + Math.ceil(body.length / 16) * 16 + 16);
      const v = new DataView(record.buffer);
      v.setUint32(0, 0x5453_4b53, true);
      v.setUint32(4, seq, true);
      v.setUint32(8, body.length, true);
      record.set(body, 16);
      record.set(sha256(record.subarray(0, record.length - 16)).subarray(0, 16), record.length - 16);
      return record;
    };
    const first = legacy(1, payload(1));
    flash.program(s0?.address ?? 0, first);
    flash.program((s0?.address ?? 0) + first.length, legacy(2, payload(2)));
    const area = new RecordArea({ flash, sectors: [0, 1] });
    expect(matches(area.load(), { payload: payload(2), sums: {} })).toBe(true);
    expect(area.advance(0, 1)).toBe(false); // no journal in a legacy sector: the caller saves a new base
    area.save(payload(3));
    expect(area.advance(0, 1)).toBe(true);
    expect(matches(new RecordArea({ flash, sectors: [0, 1] }).load(), { payload: payload(3), sums: { 0: 1 } })).toBe(
      true,
    );
  });

  it('forgets the previous base at once when asked to, and only then', () => {
    const flash = small();
    const area = new RecordArea({ flash, sectors: [1, 2] });
    area.save(payload(1));
    area.save(payload(2));
    expect(blankSectors(flash, [1, 2])).toBe(0); // the previous base stays, as a fallback
    area.save(payload(3), { forgetPrevious: true });
    expect(blankSectors(flash, [1, 2])).toBe(1);
    expect(area.advance(0, 1)).toBe(true);
    const reloaded = new RecordArea({ flash, sectors: [1, 2] }).load();
    expect(matches(reloaded, { payload: payload(3), sums: { 0: 1 } })).toBe(true);
    // The next ordinary save keeps its previous base again.
    area.save(payload(4));
    expect(blankSectors(flash, [1, 2])).toBe(0);
    expect(same(new RecordArea({ flash, sectors: [1, 2] }).load()?.payload, payload(4))).toBe(true);
  });

  it('a base whose flags were altered is no base: the digest covers them', () => {
    const flash = small();
    const area = new RecordArea({ flash, sectors: [1, 2] });
    area.save(payload(1));
    area.save(payload(2), { forgetPrevious: true }); // in sector 2; sector 1 erased
    const at = flash.sector(2).address;
    // Clearing a bit of the flags word (NOR programs 1 → 0) cannot make it valid: the digest covers it.
    const flags = flash.read(at + 12, 4);
    expect(new DataView(flags.buffer).getUint32(0, true)).toBe(1);
    flash.program(at + 12, Uint8Array.of(0, 0, 0, 0));
    expect(new RecordArea({ flash, sectors: [1, 2] }).load()).toBeUndefined();
  });

  it('a damaged journal is fatal in the newest sector only: the older one counts for nothing', () => {
    // Not strict: the test programs a word over cleared bits to garble a tally block.
    const flash = new Flash({ geometry: [512, 512], seed: 1 });
    const area = new RecordArea({ flash, sectors: [0, 1] });
    area.save(payload(1));
    for (let i = 0; i < 3; i++) area.advance(0, 1); // a delta entry, then a tally entry and its block
    // The last word of that block: clearing it after the first bits' run is no tally a program makes.
    const base = 16 + 48 + 16; // header, 40 B payload padded to 48, digest
    const lastTallyWord = base + 2 * ENTRY_BYTES + TALLY_BYTES - 4;
    const garble = (sector: number): void =>
      flash.program(flash.sector(sector).address + lastTallyWord, Uint8Array.of(0, 0, 0, 0));
    garble(0);
    try {
      new RecordArea({ flash, sectors: [0, 1] }).load();
      expect.unreachable();
    } catch (e) {
      expect(isDeviceError(e, 'StateCorrupt')).toBe(true);
    }
    // The same damage in the sector a newer base left behind (a cut erasing it can leave it so).
    const second = new Flash({ geometry: [512, 512], seed: 1 });
    const area2 = new RecordArea({ flash: second, sectors: [0, 1] });
    area2.save(payload(1));
    for (let i = 0; i < 3; i++) area2.advance(0, 1);
    area2.save(payload(2));
    area2.advance(0, 5);
    second.program(second.sector(0).address + lastTallyWord, Uint8Array.of(0, 0, 0, 0));
    const rebooted = new RecordArea({ flash: second, sectors: [0, 1] });
    expect(matches(rebooted.load(), { payload: payload(2), sums: { 0: 5 } })).toBe(true);
    rebooted.save(payload(3)); // erases the garbled sector first
    expect(matches(new RecordArea({ flash: second, sectors: [0, 1] }).load(), { payload: payload(3), sums: {} })).toBe(
      true,
    );
  });

  it('a cut while a save erases the older sector, whose journal is long, never leaves the area unreadable', () => {
    // A torn erase keeps some old cells, so the older base can stay readable over a garbled journal.
    // Before the newest-only rule, seeds 996, 1389, 2058 and 2441 of these made every boot fail.
    for (let seed = 1; seed <= 3000; seed++) {
      const flash = new Flash({ seed });
      let area = new RecordArea({ flash, sectors: [12, 13] });
      area.save(payload(1, 64));
      for (let i = 0; i < 300; i++) area.advance(1, 1);
      area.save(payload(2, 64));
      for (let i = 0; i < 10; i++) area.advance(1, 1);
      flash.cutPowerAfter(1); // the next save's first operation: erasing sector 12
      expect(() => area.save(payload(3, 64))).toThrow(PowerLossError);
      flash.powerOn();
      area = new RecordArea({ flash, sectors: [12, 13] });
      expect(matches(area.load(), { payload: payload(2, 64), sums: { 1: 10 } }), `seed ${seed}`).toBe(true);
    }
  });

  it('after a power cut at any program or erase of saves and advances, the state before or after is readable', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.record({
              kind: fc.constant('save' as const),
              len: fc.integer({ min: 0, max: 120 }),
              forget: fc.boolean(),
            }),
            fc.record({
              kind: fc.constant('advance' as const),
              index: fc.integer({ min: 0, max: 3 }),
              delta: fc.oneof(fc.constant(1), fc.constant(2 ** 20), fc.integer({ min: 1, max: 2 ** 40 })),
            }),
          ),
          { minLength: 1, maxLength: 120 },
        ),
        fc.integer({ min: 1, max: 150 }),
        fc.integer(),
        (ops, cutAt, seed) => {
          const flash = small(seed, 384);
          const area = new RecordArea({ flash, sectors: [1, 2] });
          let done: Expected | undefined;
          let inFlight: Expected | undefined;
          flash.cutPowerAfter(cutAt);
          try {
            ops.forEach((op, n) => {
              if (op.kind === 'save') {
                inFlight = { payload: payload(n, op.len), sums: {}, forget: op.forget };
                area.save(inFlight.payload, { forgetPrevious: op.forget });
              } else {
                if (done === undefined) return;
                const total = (done.sums[op.index] ?? 0) + op.delta;
                inFlight = { ...done, sums: { ...done.sums, [op.index]: total } };
                // A full journal is the caller's cue to fold: here, a save of the same payload.
                if (!area.advance(op.index, op.delta)) {
                  inFlight = { payload: payload(n, 7), sums: {} };
                  area.save(inFlight.payload);
                }
              }
              done = inFlight;
              inFlight = undefined;
            });
          } catch (e) {
            expect(e).toBeInstanceOf(PowerLossError);
          }
          flash.cancelPowerCut();
          flash.powerOn();
          const rebooted = new RecordArea({ flash, sectors: [1, 2] });
          const got = rebooted.load();
          expect(matches(got, done) || matches(got, inFlight)).toBe(true);
          // A base that forgets its previous one stands alone, also when the cut fell in that erase.
          const loaded = matches(got, done) ? done : inFlight;
          if (loaded?.forget === true) expect(blankSectors(flash, [1, 2])).toBe(1);
          // And the area keeps working after the cut.
          rebooted.save(payload(999, 33));
          expect(rebooted.advance(2, 3)).toBe(true);
          expect(
            matches(new RecordArea({ flash, sectors: [1, 2] }).load(), { payload: payload(999, 33), sums: { 2: 3 } }),
          ).toBe(true);
        },
      ),
      propertyParams(300),
    );
  });
});
