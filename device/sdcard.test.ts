import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { propertyParams } from '../testing/runConfig.ts';
import { COST_TABLE, CycleMeter } from './costModel.ts';
import { PowerLossError } from './powerLossError.ts';
import { SD_SECTOR_SIZE, SdCard } from './sdcard.ts';
import type { SectorOutcome } from './sdcard.ts';

const filled = (byte: number, sectors = 1): Uint8Array => new Uint8Array(sectors * SD_SECTOR_SIZE).fill(byte);
/** Byte equality without vitest's deep diff (which is slow inside property loops). */
const same = (a: Uint8Array, b: Uint8Array): boolean => Buffer.compare(a, b) === 0;

describe('SdCard basics', () => {
  it('reads zeros where nothing was written and reads back what was written', () => {
    const card = new SdCard({ sectorCount: 8 });
    expect(card.read(3)).toEqual(filled(0));
    card.write(2, filled(0xaa, 2));
    expect(card.read(2, 2)).toEqual(filled(0xaa, 2));
    expect(card.read(1, 3).subarray(0, SD_SECTOR_SIZE)).toEqual(filled(0));
    card.sync();
    expect(card.read(3)).toEqual(filled(0xaa));
  });

  it('refuses out-of-range sectors and partial-sector writes', () => {
    const card = new SdCard({ sectorCount: 4 });
    expect(() => card.read(4)).toThrow(RangeError);
    expect(() => card.read(-1)).toThrow(RangeError);
    expect(() => card.write(3, filled(1, 2))).toThrow(RangeError);
    expect(() => card.write(0, new Uint8Array(100))).toThrow(RangeError);
    expect(() => card.write(0, new Uint8Array(0))).toThrow(RangeError);
    expect(() => new SdCard({ sectorCount: 0 })).toThrow(RangeError);
  });

  it('copies written data, so later changes to the caller buffer do not leak in', () => {
    const card = new SdCard({ sectorCount: 2 });
    const buf = filled(7);
    card.write(0, buf);
    buf.fill(9);
    card.sync();
    expect(card.read(0)).toEqual(filled(7));
  });

  it('counts reads, writes, bytes and syncs, and resets the counters', () => {
    const card = new SdCard({ sectorCount: 16 });
    card.write(0, filled(1, 3));
    card.write(5, filled(2));
    card.read(0, 4);
    card.sync();
    expect(card.stats()).toEqual({
      reads: 1,
      sectorsRead: 4,
      bytesRead: 4 * SD_SECTOR_SIZE,
      writes: 2,
      sectorsWritten: 4,
      bytesWritten: 4 * SD_SECTOR_SIZE,
      syncs: 1,
      powerCuts: 0,
    });
    card.resetStats();
    expect(card.stats().writes).toBe(0);
  });
});

describe('SdCard crash model (SQLite crash VFS: written / dropped / garbage)', () => {
  const outcomes: readonly SectorOutcome[] = ['written', 'dropped', 'garbage'];
  for (const outcome of outcomes) {
    it(`resolves every pending write as ${outcome} when forced`, () => {
      const card = new SdCard({ sectorCount: 4 });
      card.write(0, filled(0x11));
      card.sync();
      card.write(0, filled(0x22));
      expect(card.pendingWrites).toBe(1);
      const report = card.cutPower(42, { outcome });
      expect(report.outcomes).toEqual([{ sector: 0, outcome }]);
      expect(card.powered).toBe(false);
      card.powerOn();
      const after = card.read(0);
      if (outcome === 'written') expect(after).toEqual(filled(0x22));
      if (outcome === 'dropped') expect(after).toEqual(filled(0x11));
      if (outcome === 'garbage') {
        expect(after).not.toEqual(filled(0x11));
        expect(after).not.toEqual(filled(0x22));
      }
    });
  }

  it('is powered off after a cut: every operation throws PowerLossError until powerOn', () => {
    const card = new SdCard({ sectorCount: 4 });
    card.cutPower(1);
    expect(() => card.read(0)).toThrow(PowerLossError);
    expect(() => card.write(0, filled(1))).toThrow(PowerLossError);
    expect(() => card.sync()).toThrow(PowerLossError);
    card.powerOn();
    expect(card.read(0)).toEqual(filled(0));
    expect(card.stats().powerCuts).toBe(1);
  });

  it('cutPowerAfter(n) counts like the flash: the n-th write from now is interrupted', () => {
    const card = new SdCard({ sectorCount: 8, seed: 5 });
    card.write(7, filled(0x77));
    card.sync();
    card.cutPowerAfter(3);
    card.write(0, filled(1));
    card.write(1, filled(2));
    expect(() => card.write(2, filled(3))).toThrow(PowerLossError);
    expect(card.powered).toBe(false);
    card.powerOn();
    expect(card.read(7)).toEqual(filled(0x77));
    expect(card.pendingWrites).toBe(0);
  });

  it('cutPowerAtSync(n): the n-th sync from now crashes instead of syncing', () => {
    const card = new SdCard({ sectorCount: 8, seed: 3 });
    card.cutPowerAtSync(2);
    card.write(0, filled(1));
    card.sync();
    card.write(0, filled(2));
    expect(() => card.sync()).toThrow(PowerLossError);
    card.powerOn();
    const s0 = card.read(0);
    // The first sync made 0x01 durable; the crashed one may have kept it or replaced part of it.
    expect(s0.some((b) => b === 1) || s0.every((b) => b === 2)).toBe(true);
  });

  it('an armed cut can force how the pending writes resolve, as cutPower can', () => {
    for (const outcome of ['written', 'dropped'] as const) {
      const card = new SdCard({ sectorCount: 8, seed: 5 });
      card.cutPowerAfter(2, { outcome });
      card.write(0, filled(1));
      expect(() => card.write(1, filled(2))).toThrow(PowerLossError);
      card.powerOn();
      const expected = outcome === 'written' ? [filled(1), filled(2)] : [filled(0), filled(0)];
      expect([card.read(0), card.read(1)]).toEqual(expected);
    }
    const card = new SdCard({ sectorCount: 8, seed: 5 });
    card.cutPowerAtSync(1, { outcome: 'written' });
    card.write(3, filled(4));
    expect(() => card.sync()).toThrow(PowerLossError);
    card.powerOn();
    expect(card.read(3)).toEqual(filled(4));
  });

  it('cancelPowerCut disarms an armed cut, and bad counts are refused', () => {
    const card = new SdCard({ sectorCount: 2 });
    expect(() => card.cutPowerAfter(0)).toThrow(RangeError);
    expect(() => card.cutPowerAtSync(0)).toThrow(RangeError);
    card.cutPowerAfter(1);
    card.cancelPowerCut();
    card.write(0, filled(5));
    card.sync();
    expect(card.read(0)).toEqual(filled(5));
  });

  it('synced data always survives, unsynced data resolves per the report, reproducibly', () => {
    const op = fc.oneof(
      fc.record({
        kind: fc.constant('write' as const),
        sector: fc.nat(15),
        fill: fc.integer({ min: 1, max: 255 }),
        count: fc.integer({ min: 1, max: 3 }),
      }),
      fc.record({ kind: fc.constant('sync' as const) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 30 }), fc.integer(), (ops, seed) => {
        const run = (): {
          card: SdCard;
          synced: Map<number, number>;
          pending: { sector: number; fill: number }[];
          report: ReturnType<SdCard['cutPower']>;
        } => {
          const card = new SdCard({ sectorCount: 18 });
          const synced = new Map<number, number>();
          let pending: { sector: number; fill: number }[] = [];
          for (const o of ops) {
            if (o.kind === 'sync') {
              card.sync();
              for (const p of pending) synced.set(p.sector, p.fill);
              pending = [];
            } else {
              card.write(o.sector, filled(o.fill, o.count));
              for (let i = 0; i < o.count; i++) pending.push({ sector: o.sector + i, fill: o.fill });
            }
          }
          const report = card.cutPower(seed);
          card.powerOn();
          return { card, synced, pending, report };
        };
        const { card, synced, pending, report } = run();
        // The report lists exactly the pending writes, in issue order.
        expect(report.outcomes.map((o) => o.sector)).toEqual(pending.map((p) => p.sector));
        // Replay the report: written → that write's content; dropped → unchanged; garbage → unknown.
        const expected = new Map<number, number | 'garbage'>(synced);
        report.outcomes.forEach((o, i) => {
          const p = pending[i];
          if (p === undefined) throw new Error('report longer than pending list');
          if (o.outcome === 'written') expected.set(o.sector, p.fill);
          if (o.outcome === 'garbage') expected.set(o.sector, 'garbage');
        });
        for (let s = 0; s < 18; s++) {
          const want = expected.get(s) ?? 0;
          if (want !== 'garbage') expect(same(card.read(s), filled(want))).toBe(true);
        }
        // Same seed, same result.
        expect(same(run().card.toImage(), card.toImage())).toBe(true);
      }),
      propertyParams(100),
    );
  });

  it('after a sync nothing is pending, so a cut loses nothing', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(7), fc.integer({ min: 0, max: 255 })), { maxLength: 20 }),
        fc.integer(),
        (writes, seed) => {
          const card = new SdCard({ sectorCount: 8 });
          const model = new Map<number, number>();
          for (const [sector, fill] of writes) {
            card.write(sector, filled(fill));
            model.set(sector, fill);
          }
          card.sync();
          expect(card.cutPower(seed).outcomes).toEqual([]);
          card.powerOn();
          for (let s = 0; s < 8; s++) expect(same(card.read(s), filled(model.get(s) ?? 0))).toBe(true);
        },
      ),
      propertyParams(100),
    );
  });

  it('cutPowerAfter(n+1) completes exactly n writes and never touches synced sectors that were not rewritten', () => {
    fc.assert(
      fc.property(fc.nat(10), fc.integer(), (n, seed) => {
        const card = new SdCard({ sectorCount: 32, seed });
        card.write(31, filled(0xee));
        card.sync();
        card.cutPowerAfter(n + 1);
        let completed = 0;
        try {
          for (let i = 0; i < 20; i++) {
            card.write(i, filled(i + 1));
            completed += 1;
          }
        } catch (e) {
          expect(e).toBeInstanceOf(PowerLossError);
        }
        expect(completed).toBe(Math.min(n, 20));
        card.powerOn();
        expect(same(card.read(31), filled(0xee))).toBe(true);
      }),
      propertyParams(50),
    );
  });
});

describe('SdCard images', () => {
  it('round-trips the durable content; pending writes are not in the image', () => {
    const card = new SdCard({ sectorCount: 1000 });
    card.write(0, filled(1));
    card.write(999, filled(2));
    card.sync();
    card.write(500, filled(3));
    const copy = SdCard.fromImage(card.toImage());
    expect(copy.sectorCount).toBe(1000);
    expect(copy.read(0)).toEqual(filled(1));
    expect(copy.read(999)).toEqual(filled(2));
    expect(copy.read(500)).toEqual(filled(0));
  });

  it('is sparse: an image holds only non-zero sectors', () => {
    const card = new SdCard({ sectorCount: 2 ** 21 }); // a 1 GiB card
    card.write(123_456, filled(9));
    card.sync();
    expect(card.toImage().length).toBeLessThan(2 * SD_SECTOR_SIZE);
  });

  it('refuses damaged or foreign images', () => {
    const card = new SdCard({ sectorCount: 4 });
    card.write(1, filled(4));
    card.sync();
    const image = card.toImage();
    const flipped = image.slice();
    flipped[40] = (flipped[40] ?? 0) ^ 1;
    expect(() => SdCard.fromImage(flipped)).toThrow(/digest/);
    expect(() => SdCard.fromImage(image.subarray(0, 10))).toThrow(/too short/);
    const foreign = image.slice();
    foreign[0] = 0;
    expect(() => SdCard.fromImage(foreign)).toThrow(/magic/);
    expect(() => SdCard.fromImage(image.subarray(0, image.length - 1))).toThrow(RangeError);
  });
});

describe('SdCard cost', () => {
  it('charges an access time per command and a transfer time per sector, and nothing for a sync', () => {
    const meter = new CycleMeter();
    const card = new SdCard({ sectorCount: 8, meter });
    card.write(0, filled(1, 3));
    card.sync();
    card.read(0, 2);
    const byOp = meter.snapshot().byOp;
    expect(byOp['sd.writeCommand']).toEqual({ units: 1, cycles: COST_TABLE['sd.writeCommand'].cycles });
    expect(byOp['sd.sectorWrite']).toEqual({ units: 3, cycles: 3 * COST_TABLE['sd.sectorWrite'].cycles });
    expect(byOp['sd.readCommand']).toEqual({ units: 1, cycles: COST_TABLE['sd.readCommand'].cycles });
    expect(byOp['sd.sectorRead']).toEqual({ units: 2, cycles: 2 * COST_TABLE['sd.sectorRead'].cycles });
    expect(Object.keys(byOp).sort()).toEqual(['sd.readCommand', 'sd.sectorRead', 'sd.sectorWrite', 'sd.writeCommand']);
    const copy = SdCard.fromImage(card.toImage(), { meter });
    copy.read(0);
    expect(meter.snapshot().byOp['sd.sectorRead']?.units).toBe(3);
    expect(meter.snapshot().byOp['sd.readCommand']?.units).toBe(2);
  });

  it('costs one long command less than the same sectors one command each', () => {
    const cost = (commands: number): number => {
      const meter = new CycleMeter();
      const card = new SdCard({ sectorCount: 64, meter });
      const per = 64 / commands;
      for (let i = 0; i < commands; i++) card.write(i * per, filled(i, per));
      return meter.snapshot().cycles;
    };
    expect(cost(1)).toBe(COST_TABLE['sd.writeCommand'].cycles + 64 * COST_TABLE['sd.sectorWrite'].cycles);
    expect(cost(64)).toBe(64 * (COST_TABLE['sd.writeCommand'].cycles + COST_TABLE['sd.sectorWrite'].cycles));
  });

  it('cutPower() without a seed uses the card seed, reproducibly', () => {
    const run = (): Uint8Array => {
      const card = new SdCard({ sectorCount: 4, seed: 77 });
      for (let s = 0; s < 4; s++) card.write(s, filled(s + 1));
      card.cutPower();
      card.powerOn();
      return card.read(0, 4);
    };
    expect(same(run(), run())).toBe(true);
  });
});
