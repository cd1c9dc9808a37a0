import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { CycleMeter } from './costModel.ts';
import { DEFAULT_ENDURANCE, Flash } from './flash.ts';
import type { FlashWrite } from './flash.ts';
import {
  FlashAlignmentError,
  FlashImageError,
  FlashNotErasedError,
  FlashRangeError,
  FlashWearOutError,
} from './flashErrors.ts';
import { FLASH_BASE, STM32F429_FLASH_BYTES, STM32F429_SECTORS } from './flashGeometry.ts';
import { PowerLossError } from './powerLossError.ts';

const S17 = 0x0812_0000;
const S12 = 0x0810_0000;

function bytes(...values: number[]): Uint8Array {
  return Uint8Array.from(values);
}

describe('geometry (RM0090 §3.4)', () => {
  it('has 24 sectors, 2 MiB, two banks of 4x16 + 64 + 7x128 KiB', () => {
    const flash = new Flash();
    expect(flash.sectors).toHaveLength(24);
    expect(flash.size).toBe(STM32F429_FLASH_BYTES);
    const kib = flash.sectors.map((s) => s.size / 1024);
    expect(kib).toEqual([
      16, 16, 16, 16, 64, 128, 128, 128, 128, 128, 128, 128, 16, 16, 16, 16, 64, 128, 128, 128, 128, 128, 128, 128,
    ]);
    expect(flash.sectors.filter((s) => s.bank === 1).map((s) => s.index)).toEqual([
      0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11,
    ]);
  });

  it('puts every sector at its RM0090 address', () => {
    expect(STM32F429_SECTORS[0]?.address).toBe(FLASH_BASE);
    expect(STM32F429_SECTORS[4]?.address).toBe(0x0801_0000);
    expect(STM32F429_SECTORS[5]?.address).toBe(0x0802_0000);
    expect(STM32F429_SECTORS[10]?.address).toBe(0x080c_0000); // the original key store's S0
    expect(STM32F429_SECTORS[11]?.address).toBe(0x080e_0000); // and S1
    expect(STM32F429_SECTORS[12]?.address).toBe(S12);
    expect(STM32F429_SECTORS[16]?.address).toBe(0x0811_0000);
    expect(STM32F429_SECTORS[17]?.address).toBe(S17);
    expect(STM32F429_SECTORS[23]?.address).toBe(0x081e_0000);
    const flash = new Flash();
    expect(flash.sectorAt(0x081f_ffff).index).toBe(23);
    expect(() => flash.sectorAt(0x0820_0000)).toThrow(FlashRangeError);
    expect(() => flash.sector(24)).toThrow(FlashRangeError);
  });
});

describe('NOR semantics', () => {
  it('reads erased cells as 0xFF', () => {
    const flash = new Flash();
    expect(flash.read(S17, 8)).toEqual(new Uint8Array(8).fill(0xff));
  });

  it('inspects a span as read() sees it, charged the same, in a sector never written and in one written', () => {
    const meter = new CycleMeter();
    const flash = new Flash({ meter });
    const spans: [number, number][] = [
      [S17 + 6, 30],
      [S12, 16 * 1024],
      [S17, 0],
    ];
    const seen = (): [number[], number][] =>
      spans.map(([address, length]) => {
        const before = meter.cycles;
        const bytesSeen = flash.inspect(address, length, (cells) => [...cells]);
        const charged = meter.cycles - before;
        expect(bytesSeen).toEqual([...flash.read(address, length)]);
        expect(meter.cycles - before).toBe(2 * charged);
        return [bytesSeen, charged];
      });
    const blank = seen();
    expect(blank[0]?.[0]).toEqual(new Array(30).fill(0xff));
    flash.program(S17 + 8, bytes(1, 2, 3, 4));
    flash.program(S12 + 100, bytes(0, 0, 0, 0));
    const written = seen();
    expect(written[0]?.[0].slice(2, 6)).toEqual([1, 2, 3, 4]);
    expect(written.map(([, charged]) => charged)).toEqual(blank.map(([, charged]) => charged));
    expect(() => flash.inspect(S12 + 16 * 1024 - 4, 8, () => 0)).toThrow(FlashRangeError);
    flash.cutPowerAfter(1);
    expect(() => flash.eraseSector(12)).toThrow(PowerLossError);
    expect(() => flash.inspect(S17, 4, () => 0)).toThrow(PowerLossError);
  });

  it('only clears bits: a 1 written over a 0 stays 0 (AND semantics by default)', () => {
    const flash = new Flash();
    flash.program(S17, bytes(0xf0, 0x0f, 0xaa, 0x55));
    flash.program(S17, bytes(0x3c, 0xff, 0xff, 0x00));
    expect(flash.read(S17, 4)).toEqual(bytes(0x30, 0x0f, 0xaa, 0x00));
  });

  it('refuses 1-over-0 programs in strict mode, writing nothing, but accepts 0xFF padding', () => {
    const flash = new Flash({ strict: true });
    flash.program(S17, bytes(0xf0, 0xff, 0xff, 0xff));
    expect(() => flash.program(S17, bytes(0x0f, 0x00, 0x00, 0x00))).toThrow(FlashNotErasedError);
    expect(flash.read(S17, 4)).toEqual(bytes(0xf0, 0xff, 0xff, 0xff));
    flash.program(S17, bytes(0xff, 0x12, 0xff, 0xff)); // neighbour byte written as padding
    flash.program(S17, bytes(0x10, 0xff, 0xff, 0xff)); // 0xF0 -> 0x10 only clears
    expect(flash.read(S17, 4)).toEqual(bytes(0x10, 0x12, 0xff, 0xff));
  });

  it('erases a whole sector back to 0xFF and counts the cycle', () => {
    const flash = new Flash();
    flash.program(S17, new Uint8Array(16));
    flash.program(S17 + 0x1_fff0, new Uint8Array(16));
    flash.eraseSector(17);
    expect(flash.read(S17, 16).every((b) => b === 0xff)).toBe(true);
    expect(flash.read(S17 + 0x1_fff0, 16).every((b) => b === 0xff)).toBe(true);
    expect(flash.eraseCount(17)).toBe(1);
    expect(flash.eraseCount(18)).toBe(0);
    expect(flash.stats().erases[17]).toBe(1);
  });

  it('keeps programs and reads inside one sector', () => {
    const flash = new Flash();
    expect(() => flash.program(S17 - 4, new Uint8Array(8))).toThrow(FlashRangeError);
    expect(() => flash.read(S17 - 4, 8)).toThrow(FlashRangeError);
  });
});

describe('program parallelism (RM0090 §3.5.4)', () => {
  it('requires address and length to be multiples of PSIZE', () => {
    const x32 = new Flash();
    expect(() => x32.program(S17 + 2, new Uint8Array(4))).toThrow(FlashAlignmentError);
    expect(() => x32.program(S17, new Uint8Array(6))).toThrow(FlashAlignmentError);
    expect(() => x32.program(S17, new Uint8Array(0))).toThrow(FlashAlignmentError);
    const x16 = new Flash({ parallelism: 'x16' });
    x16.program(S17 + 2, new Uint8Array(2));
    expect(() => x16.program(S17 + 1, new Uint8Array(2))).toThrow(FlashAlignmentError);
    const x8 = new Flash({ parallelism: 'x8' });
    x8.program(S17 + 3, new Uint8Array(1));
    expect(x8.read(S17, 4)).toEqual(bytes(0xff, 0xff, 0xff, 0x00));
  });

  it('charges one t_prog per write operation, so x8 costs four times x32 for the same bytes', () => {
    const meter32 = new CycleMeter();
    new Flash({ meter: meter32 }).program(S17, new Uint8Array(36));
    expect(meter32.cycles).toBe(9 * 2688);
    const meter8 = new CycleMeter();
    new Flash({ meter: meter8, parallelism: 'x8' }).program(S17, new Uint8Array(36));
    expect(meter8.cycles).toBe(36 * 2688);
    const override = new CycleMeter();
    new Flash({ meter: override }).program(S17 + 1, new Uint8Array(1), 'x8');
    expect(override.cycles).toBe(2688);
  });

  it('charges the DS9405 erase time for the sector size and parallelism', () => {
    const meter = new CycleMeter();
    const flash = new Flash({ meter });
    flash.eraseSector(17);
    expect(meter.busyMs).toBe(1000);
    meter.reset();
    flash.eraseSector(12, 'x8');
    expect(meter.busyMs).toBe(400);
    meter.reset();
    flash.eraseSector(16, 'x16');
    expect(meter.busyMs).toBe(700);
  });

  it('charges reads per 128-bit line touched', () => {
    const meter = new CycleMeter();
    const flash = new Flash({ meter });
    flash.read(S17 + 8, 16); // straddles two lines
    expect(meter.snapshot().byOp['flash.read']).toEqual({ units: 2, cycles: 12 });
  });
});

describe('counters', () => {
  it('separates bytes written into erased cells from in-place overwrites and padding', () => {
    const flash = new Flash();
    flash.program(S17, bytes(0x01, 0x02, 0xff, 0xff));
    flash.program(S17, bytes(0x00, 0x02, 0xff, 0x7f));
    const s = flash.stats();
    expect(s).toMatchObject({ programCalls: 2, programOps: 2, programBytes: 8, freshBytes: 3, overwriteBytes: 1 });
    flash.resetStats();
    expect(flash.stats()).toMatchObject({ programCalls: 0, programBytes: 0, freshBytes: 0 });
    expect(flash.operations).toBe(2);
  });
});

describe('endurance (DS9405: 10 kcycles)', () => {
  it('never fails a program within the rated endurance', () => {
    const flash = new Flash({ endurance: 5 });
    for (let i = 0; i < 5; i++) flash.eraseSector(12);
    for (let i = 0; i < 200; i++) flash.program(S12 + 4 * i, new Uint8Array(4));
    expect(DEFAULT_ENDURANCE).toBe(10_000);
  });

  it('fails programs with growing probability beyond it, deterministically for a seed', () => {
    const failuresFor = (seed: number): number[] => {
      const flash = new Flash({ endurance: 5, seed });
      for (let i = 0; i < 8; i++) flash.eraseSector(12); // 3 cycles over: p = 0.6
      const failed: number[] = [];
      for (let i = 0; i < 100; i++) {
        try {
          flash.program(S12 + 4 * i, new Uint8Array(4));
        } catch (e) {
          expect(e).toBeInstanceOf(FlashWearOutError);
          expect((e as FlashWearOutError).code).toBe('FlashWearOut');
          failed.push(i);
        }
      }
      return failed;
    };
    const a = failuresFor(3);
    expect(a.length).toBeGreaterThan(40);
    expect(a.length).toBeLessThan(80);
    expect(failuresFor(3)).toEqual(a);
    const flash = new Flash({ endurance: 1 });
    flash.eraseSector(12);
    flash.eraseSector(12);
    flash.eraseSector(12); // 2 over with endurance 1: certain failure
    expect(() => flash.program(S12, new Uint8Array(4))).toThrow(FlashWearOutError);
  });
});

describe('power-cut fault injection', () => {
  it('interrupts the n-th operation from now, then refuses everything until powerOn', () => {
    const flash = new Flash();
    flash.cutPowerAfter(3);
    expect(flash.pendingCut).toBe(3);
    flash.program(S17, new Uint8Array(4));
    flash.read(S17, 4); // reads are not counted as operations
    flash.program(S17 + 4, new Uint8Array(4));
    let error: unknown;
    try {
      flash.eraseSector(18);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(PowerLossError);
    expect((error as PowerLossError).code).toBe('PowerLoss');
    expect((error as PowerLossError).interrupted).toBe(true);
    expect(flash.powered).toBe(false);
    expect(() => flash.read(S17, 4)).toThrow(PowerLossError);
    expect(() => flash.program(S17 + 8, new Uint8Array(4))).toThrow(PowerLossError);
    expect(() => flash.eraseSector(19)).toThrow(PowerLossError);
    flash.powerOn();
    expect(flash.read(S17, 8)).toEqual(new Uint8Array(8));
    expect(flash.eraseCount(18)).toBe(1); // the interrupted erase still stressed the sector
  });

  it('leaves every bit targeted by a cut program either old or new, never a 0 turned to 1', () => {
    let sawMixed = false;
    for (let seed = 1; seed <= 40; seed++) {
      const flash = new Flash({ seed });
      const old = bytes(0xff, 0xf0, 0x0f, 0xff, 0xaa, 0x55, 0xff, 0xff);
      flash.program(S17, old);
      const target = bytes(0x0f, 0x00, 0x33, 0x80, 0x00, 0xff, 0x00, 0x00);
      flash.cutPowerAfter(1);
      expect(() => flash.program(S17, target)).toThrow(PowerLossError);
      flash.powerOn();
      const after = flash.read(S17, 8);
      for (let i = 0; i < 8; i++) {
        const o = old[i] ?? 0;
        const t = target[i] ?? 0;
        const a = after[i] ?? 0;
        expect(a & ~o & 0xff).toBe(0); // no 0 became 1
        expect(a & o & t).toBe(o & t); // bits the program keeps at 1 are untouched
      }
      const stillOld = after.every((b, i) => b === old[i]);
      const allNew = after.every((b, i) => b === ((old[i] ?? 0) & (target[i] ?? 0)));
      if (!stillOld && !allNew) sawMixed = true;
    }
    expect(sawMixed).toBe(true);
  });

  it('leaves garbage in a sector whose erase was cut', () => {
    let notErased = 0;
    for (let seed = 1; seed <= 10; seed++) {
      const flash = new Flash({ seed, geometry: [1024, 1024] });
      flash.program(FLASH_BASE, new Uint8Array(1024));
      flash.cutPowerAfter(1);
      expect(() => flash.eraseSector(0)).toThrow(PowerLossError);
      flash.powerOn();
      const image = flash.read(FLASH_BASE, 1024);
      if (!image.every((b) => b === 0xff)) notErased++;
    }
    expect(notErased).toBeGreaterThanOrEqual(8);
  });

  it('replays the same torn state for the same seed', () => {
    const run = (): Uint8Array => {
      const flash = new Flash({ seed: 99 });
      flash.cutPowerAfter(1);
      expect(() => flash.program(S17, new Uint8Array(64))).toThrow(PowerLossError);
      flash.powerOn();
      return flash.read(S17, 64);
    };
    expect(run()).toEqual(run());
  });

  it('tears a clone reseeded with a seed as a chip built with that seed, whatever the original drew', () => {
    const torn = (flash: Flash): Uint8Array => {
      flash.cutPowerAfter(1);
      expect(() => flash.program(S17, new Uint8Array(64))).toThrow(PowerLossError);
      flash.powerOn();
      return flash.read(S17, 64);
    };
    // The original's generator has moved on: a torn program drew from it.
    const original = new Flash({ seed: 99 });
    original.cutPowerAfter(1);
    expect(() => original.program(S12, new Uint8Array(64))).toThrow(PowerLossError);
    original.powerOn();
    const clones = [7, 8].map((seed) => {
      const clone = original.clone();
      clone.reseedFaults(seed);
      return clone;
    });
    const built = [7, 8].map((seed) => torn(new Flash({ seed })));
    expect(clones.map(torn)).toEqual(built);
    // Else every fork of one snapshot would tear alike, whatever seed it was given.
    expect(built[0]).not.toEqual(built[1]);
    // Without a reseed, a clone goes on with the original's generator.
    expect(torn(original.clone())).toEqual(torn(original));
  });

  it('can disarm a pending cut', () => {
    const flash = new Flash();
    flash.cutPowerAfter(1);
    flash.cancelPowerCut();
    flash.program(S17, new Uint8Array(4));
    expect(flash.powered).toBe(true);
    expect(() => flash.cutPowerAfter(0)).toThrow(RangeError);
  });

  it('a cut between operations interrupts nothing and stops every later access until power is back', () => {
    const flash = new Flash();
    flash.program(S17, new Uint8Array(4));
    flash.cutPowerAfter(3);
    flash.cutPower();
    expect(flash.powered).toBe(false);
    expect(flash.pendingCut).toBeUndefined();
    expect(() => flash.read(S17, 4)).toThrow(PowerLossError);
    expect(() => flash.program(S17 + 4, new Uint8Array(4))).toThrow(PowerLossError);
    expect(() => flash.eraseSector(17)).toThrow(PowerLossError);
    flash.powerOn();
    expect(flash.read(S17, 8)).toEqual(Uint8Array.of(0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff));
  });
});

describe('images', () => {
  it('round-trip contents, erase counters, geometry and configuration', () => {
    const flash = new Flash({ parallelism: 'x16', endurance: 1234, strict: true });
    flash.eraseSector(3);
    flash.eraseSector(3);
    flash.eraseSector(20);
    flash.program(S17 + 10, bytes(0x12, 0x34));
    flash.program(0x0800_0000, bytes(0xab, 0xcd));
    const image = flash.toImage();
    expect(image.length).toBeLessThan(300 * 1024); // erased sectors are stored as a flag only
    const copy = Flash.fromImage(image);
    expect(copy.parallelism).toBe('x16');
    expect(copy.endurance).toBe(1234);
    expect(copy.strict).toBe(true);
    expect(copy.eraseCounts()).toEqual(flash.eraseCounts());
    expect(copy.read(S17 + 8, 6)).toEqual(bytes(0xff, 0xff, 0x12, 0x34, 0xff, 0xff));
    expect(copy.read(0x0800_0000, 2)).toEqual(bytes(0xab, 0xcd));
    expect(Buffer.from(copy.toImage()).equals(Buffer.from(image))).toBe(true);
  });

  it('round-trip a test geometry', () => {
    const flash = new Flash({ geometry: [1024, 1024, 2048] });
    flash.program(FLASH_BASE + 2048, bytes(1, 2, 3, 4));
    const copy = Flash.fromImage(flash.toImage());
    expect(copy.sectors.map((s) => s.size)).toEqual([1024, 1024, 2048]);
    expect(copy.read(FLASH_BASE + 2048, 4)).toEqual(bytes(1, 2, 3, 4));
  });

  it('reject truncated, corrupted or foreign images', () => {
    const image = new Flash().toImage();
    expect(() => Flash.fromImage(image.subarray(0, 10))).toThrow(FlashImageError);
    const corrupted = image.slice();
    corrupted[30] = (corrupted[30] ?? 0) ^ 1;
    expect(() => Flash.fromImage(corrupted)).toThrow(FlashImageError);
    const foreign = image.slice();
    foreign[0] = 0x41;
    expect(() => Flash.fromImage(foreign)).toThrow(/bad magic/);
  });
});

describe('write listener', () => {
  it('hears each completed program and erase after the cells changed, never an interrupted one', () => {
    const flash = new Flash({ geometry: [64, 64] });
    const heard: Array<FlashWrite & { readonly seen: number }> = [];
    flash.setWriteListener((w) => heard.push({ ...w, seen: flash.read(w.address, 1)[0] ?? -1 }));
    flash.program(flash.sector(1).address + 16, new Uint8Array(4).fill(0x5a));
    flash.eraseSector(1);
    expect(heard).toEqual([
      { kind: 'program', sector: 1, address: flash.sector(1).address + 16, length: 4, seen: 0x5a },
      { kind: 'erase', sector: 1, address: flash.sector(1).address, length: 64, seen: 0xff },
    ]);
    flash.cutPowerAfter(1);
    expect(() => flash.program(flash.sector(0).address, new Uint8Array(4))).toThrow(PowerLossError);
    flash.powerOn();
    flash.cutPowerAfter(1);
    expect(() => flash.eraseSector(0)).toThrow(PowerLossError);
    flash.powerOn();
    flash.setWriteListener(undefined);
    flash.program(flash.sector(0).address, new Uint8Array(4));
    expect(heard).toHaveLength(2);
  });

  it('a listener that throws fails the call, after the change was made', () => {
    const flash = new Flash({ geometry: [64] });
    flash.setWriteListener(() => {
      throw new Error('disk full');
    });
    expect(() => flash.program(flash.sector(0).address, bytes(0, 0, 0, 0))).toThrow('disk full');
    expect(flash.read(flash.sector(0).address, 4)).toEqual(bytes(0, 0, 0, 0));
  });
});

describe('printing', () => {
  it('never dumps memory contents', () => {
    const flash = new Flash();
    flash.program(S17, bytes(0xde, 0xad, 0xbe, 0xef));
    const printed = `${inspect(flash)} ${String(flash)}`;
    expect(printed).toContain('24 sectors');
    expect(printed).not.toContain('Uint8Array');
    expect(printed).not.toMatch(/\b(222|173|190|239)\b|deadbeef/i);
  });
});
