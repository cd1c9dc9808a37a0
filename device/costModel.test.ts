import { describe, expect, it } from 'vitest';
import {
  CLOCK_HZ,
  COST_TABLE,
  CycleMeter,
  hmacSha256Compressions,
  msToCycles,
  sha256Blocks,
  usToCycles,
  type CostOp,
  type CostRow,
} from './costModel.ts';

const rows = Object.entries(COST_TABLE) as [CostOp, CostRow][];

describe('COST_TABLE', () => {
  it('gives every row a positive cost, a unit and a cited source', () => {
    expect(rows.length).toBeGreaterThanOrEqual(20);
    for (const [op, row] of rows) {
      expect(row.cycles, op).toBeGreaterThan(0);
      expect(row.per.length, op).toBeGreaterThan(5);
      // A source names a document clause, a datasheet table, an RFC/FIPS/spec, or a measurement.
      expect(row.source, op).toMatch(
        /RM0090 §|DS9405|RFC \d+|FIPS|USB 2\.0 §|mbed|Schwabe|Lenngren|SD Physical Layer|ARM DDI 0439/,
      );
      if (row.maxCycles !== undefined) expect(row.maxCycles, op).toBeGreaterThanOrEqual(row.cycles);
    }
  });

  it('converts datasheet flash timings to cycles at 168 MHz', () => {
    expect(CLOCK_HZ).toBe(168_000_000);
    expect(usToCycles(16)).toBe(2688);
    expect(msToCycles(1)).toBe(168_000);
    expect(COST_TABLE['flash.program'].cycles).toBe(2688); // 16 µs typ
    expect(COST_TABLE['flash.program'].maxCycles).toBe(16_800); // 100 µs max
    expect(COST_TABLE['flash.erase128K.x32'].cycles).toBe(168_000_000); // 1 s typ
    expect(COST_TABLE['flash.erase128K.x8'].maxCycles).toBe(672_000_000); // 4 s max
    expect(COST_TABLE['flash.erase16K.x32'].cycles).toBe(42_000_000); // 250 ms
  });

  it('orders erase times by sector size and by parallelism as the datasheet does', () => {
    for (const size of ['16K', '64K', '128K'] as const) {
      const x8 = COST_TABLE[`flash.erase${size}.x8`].cycles;
      const x16 = COST_TABLE[`flash.erase${size}.x16`].cycles;
      const x32 = COST_TABLE[`flash.erase${size}.x32`].cycles;
      expect(x8).toBeGreaterThan(x16);
      expect(x16).toBeGreaterThan(x32);
    }
    expect(COST_TABLE['flash.erase64K.x32'].cycles).toBeGreaterThan(COST_TABLE['flash.erase16K.x32'].cycles);
    expect(COST_TABLE['flash.erase128K.x32'].cycles).toBeGreaterThan(COST_TABLE['flash.erase64K.x32'].cycles);
  });

  it('keeps the derived figures consistent with their inputs', () => {
    expect(COST_TABLE['trng.word'].cycles).toBe(140); // 40 periods of 48 MHz at 168 MHz
    // Software CRC-5, per byte: LDRB 2 + EOR 1 + LDRB 2 + SUBS 1 + BNE (1 + P), P = 1..3.
    expect(COST_TABLE['crc5.byte'].cycles).toBe(2 + 1 + 2 + 1 + (1 + 1));
    expect(COST_TABLE['crc5.byte'].maxCycles).toBe(2 + 1 + 2 + 1 + (1 + 3));
    expect(COST_TABLE['sha256.block'].cycles).toBeCloseTo(64 * COST_TABLE['sha256.byte'].cycles, -1);
    expect(COST_TABLE['usb.byte'].cycles).toBeCloseTo(168e6 / 53.248e6, 3);
    // 512 B over a 4-bit bus at 24 MHz: 1024 clocks = 42.67 µs = 7168 cycles; written at 10 MB/s: 51.2 µs.
    expect(COST_TABLE['sd.sectorRead'].cycles).toBe(7168);
    expect(COST_TABLE['sd.sectorWrite'].cycles).toBe(8602);
    // A 4 KiB random command costs the A1 floor: 1500 reads/s, 500 writes/s.
    const fourKiB = (command: number, sector: number): number => command + 8 * sector;
    expect(fourKiB(COST_TABLE['sd.readCommand'].cycles, COST_TABLE['sd.sectorRead'].cycles)).toBe(168e6 / 1500);
    expect(fourKiB(COST_TABLE['sd.writeCommand'].cycles, COST_TABLE['sd.sectorWrite'].cycles)).toBe(168e6 / 500);
  });

  it('counts HMAC and SHA-256 compressions from the padding rule', () => {
    expect(sha256Blocks(0)).toBe(1);
    expect(sha256Blocks(55)).toBe(1);
    expect(sha256Blocks(56)).toBe(2);
    expect(hmacSha256Compressions(32)).toBe(4);
    expect(hmacSha256Compressions(7600)).toBe(Math.ceil(7609 / 64) + 3);
  });
});

describe('CycleMeter', () => {
  it('charges units, converts to busy time, snapshots and resets', () => {
    const meter = new CycleMeter();
    meter.charge('flash.program', 10);
    meter.charge('trng.word');
    meter.charge('trng.word', 0);
    expect(meter.cycles).toBe(26_880 + 140);
    expect(meter.busyMs).toBeCloseTo((26_880 + 140) / 168_000, 9);
    const snap = meter.snapshot();
    expect(snap.byOp['flash.program']).toEqual({ units: 10, cycles: 26_880 });
    expect(snap.byOp['trng.word']).toEqual({ units: 1, cycles: 140 });
    expect(snap.profile).toBe('typical');
    meter.charge('trng.word');
    expect(snap.cycles).toBe(27_020); // a snapshot does not move with the meter
    meter.reset();
    expect(meter.cycles).toBe(0);
    expect(meter.snapshot().byOp).toEqual({});
  });

  it('charges datasheet maxima in the max profile, typical values where no maximum exists', () => {
    const meter = new CycleMeter('max');
    meter.charge('flash.erase128K.x32');
    expect(meter.busyMs).toBe(2000);
    meter.reset();
    meter.charge('trng.word');
    expect(meter.cycles).toBe(140);
  });

  it('refuses negative or non-finite unit counts', () => {
    const meter = new CycleMeter();
    expect(() => meter.charge('aes256.byte', -1)).toThrow(RangeError);
    expect(() => meter.charge('aes256.byte', Number.NaN)).toThrow(RangeError);
    expect(meter.cycles).toBe(0);
  });
});
