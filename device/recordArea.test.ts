import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { propertyParams } from '../testing/runConfig.ts';
import { CycleMeter } from './costModel.ts';
import { isDeviceError } from './deviceError.ts';
import { Flash } from './flash.ts';
import { PowerLossError } from './powerLossError.ts';
import { RecordArea } from './recordArea.ts';

const small = (seed = 1): Flash => new Flash({ geometry: [512, 512, 512, 512], seed, strict: true });
const payload = (n: number, len = 40): Uint8Array => new Uint8Array(len).map((_, i) => (n * 31 + i) & 0xff);
const same = (a: Uint8Array | undefined, b: Uint8Array | undefined): boolean =>
  a !== undefined && b !== undefined && Buffer.compare(a, b) === 0;

describe('RecordArea', () => {
  it('is blank at first, then returns the latest save, also after a remount', () => {
    const flash = small();
    const area = new RecordArea({ flash, sectors: [1, 2] });
    expect(area.load()).toBeUndefined();
    for (let n = 0; n < 30; n++) area.save(payload(n));
    expect(same(area.load(), payload(29))).toBe(true);
    expect(same(new RecordArea({ flash, sectors: [1, 2] }).load(), payload(29))).toBe(true);
    // Sectors 0 and 3 are never touched.
    expect(flash.read(flash.sector(0).address, 512).every((b) => b === 0xff)).toBe(true);
    expect(flash.read(flash.sector(3).address, 512).every((b) => b === 0xff)).toBe(true);
  });

  it('appends several copies per erase and alternates the two sectors (wear spreading)', () => {
    const flash = small();
    const area = new RecordArea({ flash, sectors: [0, 1] });
    for (let n = 0; n < 60; n++) area.save(payload(n));
    const [e0 = 0, e1 = 0] = flash.eraseCounts();
    // 80-byte copies, 6 per 512-byte sector: about one erase per 6 saves, shared by both sectors.
    expect(e0 + e1).toBeLessThanOrEqual(Math.ceil(60 / 6));
    expect(Math.abs(e0 - e1)).toBeLessThanOrEqual(1);
  });

  it('keeps payloads of any length up to the limit, and refuses larger ones', () => {
    const area = new RecordArea({ flash: small(), sectors: [0, 1] });
    for (const len of [0, 1, 15, 16, 17, area.maxPayload]) {
      area.save(payload(len, len));
      expect(same(area.load(), payload(len, len))).toBe(true);
    }
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

  it('charges SHA-256 for the digest of each copy', () => {
    const meter = new CycleMeter();
    const area = new RecordArea({ flash: new Flash({ geometry: [512, 512], meter }), sectors: [0, 1] });
    area.save(payload(1));
    expect(meter.snapshot().byOp['sha256.block']?.units).toBeGreaterThan(0);
    expect(meter.snapshot().byOp['flash.program']?.units).toBe(80 / 4);
  });

  it('after a power cut at any program or erase, the old or the new record is readable — never neither', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 1, max: 60 }),
        fc.integer(),
        fc.integer({ min: 0, max: 200 }),
        (saves, cutAt, seed, len) => {
          const flash = small(seed);
          const area = new RecordArea({ flash, sectors: [1, 2] });
          const size = (n: number): number => (len + n) % 200;
          let lastDone: Uint8Array | undefined;
          let inFlight: Uint8Array | undefined;
          flash.cutPowerAfter(cutAt);
          try {
            for (let n = 0; n < saves; n++) {
              inFlight = payload(n, size(n));
              area.save(inFlight);
              lastDone = inFlight;
              inFlight = undefined;
            }
          } catch (e) {
            expect(e).toBeInstanceOf(PowerLossError);
          }
          flash.cancelPowerCut();
          flash.powerOn();
          const rebooted = new RecordArea({ flash, sectors: [1, 2] });
          const got = rebooted.load();
          if (lastDone === undefined && got === undefined) return;
          expect(same(got, lastDone) || same(got, inFlight)).toBe(true);
          // And the area keeps working after the cut.
          rebooted.save(payload(999, 33));
          expect(same(new RecordArea({ flash, sectors: [1, 2] }).load(), payload(999, 33))).toBe(true);
        },
      ),
      propertyParams(200),
    );
  });
});
