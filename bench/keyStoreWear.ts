/**
 * Flash key-store bench: density, write amplification, wear evenness, projected lifetime and
 * modelled time, for `device/keyStore.ts` ("ours") against a model of the original SEcube firmware
 * store ("original", `bench/originalKeyStore.ts`), both on the simulated STM32F429 flash.
 *
 * Workload ("random rotation"): fill the store to a share of its capacity with 256-bit keys, then
 * repeatedly pick a stored key uniformly at random and replace its value with fresh random bytes.
 * Ours replaces in place of the ID (`put`), the original deletes then inserts, as its firmware API
 * requires. A warm-up brings the log to steady state before anything is measured.
 *
 * Definitions (all measured in the steady-state window):
 * - write amplification = bytes written into erased flash (bytes that were 0xFF and were programmed
 *   to another value: record bodies, index/commit bytes, headers, magic, compaction or swap copies)
 *   ÷ logical bytes (36 per rotation: the 4-byte ID and the 32-byte key). In-place overwrites of
 *   programmed bytes — deletion zeroisation and tombstones — consume no erased space and cause no
 *   erase, so they are reported separately (`writeAmplificationWithOverwrites`).
 * - erase max/mean: largest per-sector erase count ÷ mean, over the store's sectors (1 is ideal).
 * - lifetime: years until the most-erased sector reaches the 10,000-cycle endurance (DS9405 N_END)
 *   at 1,000 rotations a day, extrapolated from the window's per-sector erase rate.
 * - capacity share ("full50", "full90"): live keys ÷ the layout's key capacity — ours:
 *   `KeyStore.capacity.maxKeys`; original: 2016 blocks − 4 system nodes.
 * @module
 */
import { CLOCK_HZ, CycleMeter } from '../device/costModel.ts';
import { Flash } from '../device/flash.ts';
import { KeyStore } from '../device/keyStore.ts';
import { SeededPrng } from '../device/seededPrng.ts';
import type { BenchContext, BenchModule, BenchOutput } from './benchModule.ts';
import {
  ORIGINAL_BLOCKS_PER_SECTOR,
  ORIGINAL_KEY_CAPACITY,
  ORIGINAL_SECTORS,
  OriginalKeyStore,
} from './originalKeyStore.ts';

/** Seed of every workload in this bench. */
export const WEAR_BENCH_SEED = 20_201;
/** Logical bytes of one key record: 4-byte ID + 256-bit key. */
export const LOGICAL_RECORD_BYTES = 36;
/** Endurance used for lifetime projections (DS9405: N_END 10 kcycles minimum). */
export const ENDURANCE_CYCLES = 10_000;
/** Paper's claim of 256-bit keys per 128 KiB sector. */
export const PAPER_KEYS_PER_SECTOR = 4096;

/** A key store under test, seen through the operations the workload needs. */
interface Subject {
  readonly sectors: readonly number[];
  readonly capacity: number;
  readonly keysPerSector: number;
  insert(id: number, key: Uint8Array): void;
  rotate(id: number, key: Uint8Array): void;
  remove(id: number): void;
}

type SubjectName = 'ours' | 'original';

function makeSubject(name: SubjectName, flash: Flash): Subject {
  if (name === 'ours') {
    const store = KeyStore.format(flash);
    return {
      sectors: [17, 18, 19, 20, 21, 22, 23],
      capacity: store.capacity.maxKeys,
      keysPerSector: store.capacity.slotsPerSector,
      insert: (id, key) => store.put(id, key),
      rotate: (id, key) => store.put(id, key),
      remove: (id) => void store.delete(id),
    };
  }
  const store = new OriginalKeyStore(flash);
  return {
    sectors: [...ORIGINAL_SECTORS],
    capacity: ORIGINAL_KEY_CAPACITY,
    keysPerSector: ORIGINAL_BLOCKS_PER_SECTOR,
    insert: (id, key) => store.insert(id, key),
    rotate: (id, key) => {
      store.delete(id);
      store.insert(id, key);
    },
    remove: (id) => void store.delete(id),
  };
}

/** Steady-state figures of one (layout, fill) run. */
export interface WearFigures {
  readonly liveKeys: number;
  readonly rotations: number;
  readonly writeAmplification: number;
  readonly writeAmplificationWithOverwrites: number;
  readonly erasesPerKeyWrite: number;
  readonly windowErases: readonly number[];
  readonly eraseMaxOverMean: number;
  readonly eraseCoefficientOfVariation: number;
  /** littlefs's wear statistic Σ(w − w̄)² / Σw (its tests require < 8). */
  readonly littlefsWearStatistic: number;
  readonly lifetimeYears: {
    readonly rot100: number | null;
    readonly rot1000: number | null;
    readonly rot10000: number | null;
  };
  readonly rotationCycles: { readonly mean: number; readonly p50: number; readonly p99: number; readonly max: number };
  readonly rotationMs: { readonly mean: number; readonly p50: number; readonly p99: number; readonly max: number };
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? 0;
}

function round(value: number, digits = 3): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

function years(maxErasesPerRotation: number, perDay: number): number | null {
  if (maxErasesPerRotation <= 0) return null;
  return round(ENDURANCE_CYCLES / (maxErasesPerRotation * perDay * 365.25), 1);
}

function runWear(
  name: SubjectName,
  fill: number,
  warmup: number,
  rotations: number,
  context: BenchContext,
): WearFigures {
  const meter = new CycleMeter();
  const flash = new Flash({ meter, seed: WEAR_BENCH_SEED });
  const subject = makeSubject(name, flash);
  const prng = new SeededPrng(WEAR_BENCH_SEED);
  const live = Math.floor(fill * subject.capacity);
  for (let id = 0; id < live; id++) subject.insert(id, prng.bytes(32));
  const label = `${name} full${Math.round(fill * 100)}`;
  const total = warmup + rotations;
  const step = Math.max(1, Math.floor(total / 10));
  for (let r = 0; r < warmup; r++) {
    subject.rotate(prng.int(live), prng.bytes(32));
    if ((r + 1) % step === 0) context.progress(`${label}: ${Math.round((100 * (r + 1)) / total)}% (warm-up)`);
  }
  flash.resetStats();
  meter.reset();
  const latency = new Float64Array(rotations);
  let last = 0;
  for (let r = 0; r < rotations; r++) {
    subject.rotate(prng.int(live), prng.bytes(32));
    const now = meter.cycles;
    latency[r] = now - last;
    last = now;
    if ((warmup + r + 1) % step === 0) context.progress(`${label}: ${Math.round((100 * (warmup + r + 1)) / total)}%`);
  }
  const stats = flash.stats();
  const windowErases = subject.sectors.map((s) => stats.erases[s] ?? 0);
  const sum = windowErases.reduce((a, b) => a + b, 0);
  const mean = sum / windowErases.length;
  const max = Math.max(...windowErases);
  const variance = windowErases.reduce((a, w) => a + (w - mean) ** 2, 0) / windowErases.length;
  const logical = rotations * LOGICAL_RECORD_BYTES;
  const sorted = latency.slice().sort();
  const toMs = (c: number): number => round((c / CLOCK_HZ) * 1000, 4);
  const cycles = {
    mean: round(last / rotations, 0),
    p50: percentile(sorted, 0.5),
    p99: percentile(sorted, 0.99),
    max: sorted[sorted.length - 1] ?? 0,
  };
  return {
    liveKeys: live,
    rotations,
    writeAmplification: round(stats.freshBytes / logical, 4),
    writeAmplificationWithOverwrites: round((stats.freshBytes + stats.overwriteBytes) / logical, 4),
    erasesPerKeyWrite: round(sum / rotations, 6),
    windowErases,
    eraseMaxOverMean: mean > 0 ? round(max / mean, 4) : 0,
    eraseCoefficientOfVariation: mean > 0 ? round(Math.sqrt(variance) / mean, 4) : 0,
    littlefsWearStatistic: sum > 0 ? round((variance * windowErases.length) / sum, 4) : 0,
    lifetimeYears: {
      rot100: years(max / rotations, 100),
      rot1000: years(max / rotations, 1000),
      rot10000: years(max / rotations, 10_000),
    },
    rotationCycles: cycles,
    rotationMs: { mean: toMs(cycles.mean), p50: toMs(cycles.p50), p99: toMs(cycles.p99), max: toMs(cycles.max) },
  };
}

/** Mean modelled cost of inserting and of deleting one 256-bit key, away from compaction. */
function operationCycles(name: SubjectName): { insert: number; delete: number; insertOps: number; deleteOps: number } {
  const meter = new CycleMeter();
  const flash = new Flash({ meter, seed: WEAR_BENCH_SEED });
  const subject = makeSubject(name, flash);
  const prng = new SeededPrng(WEAR_BENCH_SEED + 1);
  const n = 256;
  for (let id = 0; id < 1000; id++) subject.insert(id, prng.bytes(32)); // a store in use, not empty
  meter.reset();
  let ops = flash.stats().programOps;
  for (let i = 0; i < n; i++) subject.insert(10_000 + i, prng.bytes(32));
  const insert = meter.cycles / n;
  const insertOps = (flash.stats().programOps - ops) / n;
  meter.reset();
  ops = flash.stats().programOps;
  for (let i = 0; i < n; i++) subject.remove(10_000 + i);
  return {
    insert: round(insert, 0),
    delete: round(meter.cycles / n, 0),
    insertOps,
    deleteOps: (flash.stats().programOps - ops) / n,
  };
}

function us(cycles: number): number {
  return round((cycles / CLOCK_HZ) * 1e6, 1);
}

/** The bench, for `bench/run.ts`. */
export const keyStoreWearBench: BenchModule = {
  name: 'keyStoreWear',
  section: 'flash',
  async run(context: BenchContext): Promise<BenchOutput> {
    const scale = context.quick ? 0.1 : 1;
    const plan: { name: SubjectName; fill: number; warmup: number; rotations: number }[] = [
      { name: 'ours', fill: 0.5, warmup: 60_000, rotations: Math.round(800_000 * scale) },
      { name: 'ours', fill: 0.9, warmup: 60_000, rotations: Math.round(1_500_000 * scale) },
      { name: 'original', fill: 0.5, warmup: 10_000, rotations: Math.round(200_000 * scale) },
      { name: 'original', fill: 0.9, warmup: 10_000, rotations: Math.round(200_000 * scale) },
    ];
    const figures = new Map<string, WearFigures>();
    for (const p of plan) {
      figures.set(`${p.name}${p.fill}`, runWear(p.name, p.fill, p.warmup, p.rotations, context));
      await Promise.resolve(); // let progress output flush between phases
    }
    const get = (name: SubjectName, fill: number): WearFigures => {
      const f = figures.get(`${name}${fill}`);
      if (!f) throw new Error(`missing run ${name} ${fill}`);
      return f;
    };
    const ourCycles = operationCycles('ours');
    const originalCycles = operationCycles('original');
    const probe = KeyStore.format(new Flash());
    const pair = <K extends keyof WearFigures>(
      key: K,
      fill: number,
    ): { ours: WearFigures[K]; original: WearFigures[K] } => ({
      ours: get('ours', fill)[key],
      original: get('original', fill)[key],
    });

    const data = {
      keysPerSector: {
        ours: probe.capacity.slotsPerSector,
        original: ORIGINAL_BLOCKS_PER_SECTOR,
        paper: PAPER_KEYS_PER_SECTOR,
      },
      capacityKeys: {
        ours: probe.capacity.maxKeys,
        oursSectors: probe.capacity.sectors,
        original: ORIGINAL_KEY_CAPACITY,
        originalSectors: ORIGINAL_SECTORS.length,
      },
      writeAmplification: { full50: pair('writeAmplification', 0.5), full90: pair('writeAmplification', 0.9) },
      writeAmplificationWithOverwrites: {
        full50: pair('writeAmplificationWithOverwrites', 0.5),
        full90: pair('writeAmplificationWithOverwrites', 0.9),
      },
      erasesPerKeyWrite: { full50: pair('erasesPerKeyWrite', 0.5), full90: pair('erasesPerKeyWrite', 0.9) },
      eraseMaxOverMean: { full50: pair('eraseMaxOverMean', 0.5), full90: pair('eraseMaxOverMean', 0.9) },
      eraseCoefficientOfVariation: { full90: pair('eraseCoefficientOfVariation', 0.9) },
      littlefsWearStatistic: { full90: pair('littlefsWearStatistic', 0.9) },
      windowErasesPerSector: { full50: pair('windowErases', 0.5), full90: pair('windowErases', 0.9) },
      sectorsThatWear: { ours: probe.capacity.sectors, original: ORIGINAL_SECTORS.length },
      lifetimeYears: {
        rot100: {
          full50: { ours: get('ours', 0.5).lifetimeYears.rot100, original: get('original', 0.5).lifetimeYears.rot100 },
          full90: { ours: get('ours', 0.9).lifetimeYears.rot100, original: get('original', 0.9).lifetimeYears.rot100 },
        },
        rot1000: {
          full50: {
            ours: get('ours', 0.5).lifetimeYears.rot1000,
            original: get('original', 0.5).lifetimeYears.rot1000,
          },
          full90: {
            ours: get('ours', 0.9).lifetimeYears.rot1000,
            original: get('original', 0.9).lifetimeYears.rot1000,
          },
        },
        rot10000: {
          full50: {
            ours: get('ours', 0.5).lifetimeYears.rot10000,
            original: get('original', 0.5).lifetimeYears.rot10000,
          },
          full90: {
            ours: get('ours', 0.9).lifetimeYears.rot10000,
            original: get('original', 0.9).lifetimeYears.rot10000,
          },
        },
      },
      cycles: {
        keyInsert: { ours: ourCycles.insert, original: originalCycles.insert },
        keyDelete: { ours: ourCycles.delete, original: originalCycles.delete },
        keyInsertUs: { ours: us(ourCycles.insert), original: us(originalCycles.insert) },
        keyDeleteUs: { ours: us(ourCycles.delete), original: us(originalCycles.delete) },
        flashWriteOpsPerInsert: { ours: ourCycles.insertOps, original: originalCycles.insertOps },
        flashWriteOpsPerDelete: { ours: ourCycles.deleteOps, original: originalCycles.deleteOps },
        rotationFull90: { ours: get('ours', 0.9).rotationCycles, original: get('original', 0.9).rotationCycles },
      },
      rotationLatencyMs: { full90: pair('rotationMs', 0.9) },
      workload: {
        seed: WEAR_BENCH_SEED,
        quick: context.quick,
        plan: plan.map((p) => ({ ...p, liveKeys: get(p.name, p.fill).liveKeys })),
        rotation: 'uniformly random stored key gets a fresh 32-byte value (ours: put; original: delete + insert)',
        cyclesProfile: 'typical (DS9405 typical timings)',
      },
      definitions: {
        writeAmplification:
          'bytes written into erased flash (0xFF -> other value) / (36 B x rotations); in-place overwrites ' +
          '(zeroisation, tombstones) excluded and reported as writeAmplificationWithOverwrites',
        eraseMaxOverMean: 'max per-sector erases / mean per-sector erases over the store sectors, steady-state window',
        lifetimeYears:
          'years until the most-erased sector reaches 10,000 erase cycles at N rotations/day, extrapolated from the ' +
          'window erase rate',
        fullNN:
          'live keys = NN% of the layout capacity (ours: KeyStore.capacity.maxKeys; original: 2016 blocks - 4 ' +
          'system nodes)',
      },
    };

    const f = (v: number | null, digits = 3): string => (v === null ? 'n/a' : String(round(v, digits)));
    const table: string[][] = [
      ['keys per 128 KiB sector (paper: 4096)', String(data.keysPerSector.ours), String(data.keysPerSector.original)],
      [
        'key capacity (sectors)',
        `${data.capacityKeys.ours} (${probe.capacity.sectors})`,
        `${ORIGINAL_KEY_CAPACITY} (2)`,
      ],
      [
        'write amplification, 50% full',
        f(data.writeAmplification.full50.ours),
        f(data.writeAmplification.full50.original),
      ],
      [
        'write amplification, 90% full',
        f(data.writeAmplification.full90.ours),
        f(data.writeAmplification.full90.original),
      ],
      [
        '  incl. in-place overwrites, 90%',
        f(data.writeAmplificationWithOverwrites.full90.ours),
        f(data.writeAmplificationWithOverwrites.full90.original),
      ],
      [
        'erases per key write, 90%',
        f(data.erasesPerKeyWrite.full90.ours, 6),
        f(data.erasesPerKeyWrite.full90.original, 6),
      ],
      ['erase max/mean, 90%', f(data.eraseMaxOverMean.full90.ours), f(data.eraseMaxOverMean.full90.original)],
      [
        'lifetime years, 1000 rot/day, 90%',
        f(data.lifetimeYears.rot1000.full90.ours, 1),
        f(data.lifetimeYears.rot1000.full90.original, 1),
      ],
      [
        'lifetime years, 1000 rot/day, 50%',
        f(data.lifetimeYears.rot1000.full50.ours, 1),
        f(data.lifetimeYears.rot1000.full50.original, 1),
      ],
      [
        'key insert, cycles (µs)',
        `${ourCycles.insert} (${us(ourCycles.insert)})`,
        `${originalCycles.insert} (${us(originalCycles.insert)})`,
      ],
      [
        'key delete, cycles (µs)',
        `${ourCycles.delete} (${us(ourCycles.delete)})`,
        `${originalCycles.delete} (${us(originalCycles.delete)})`,
      ],
      [
        'rotation p99 / max ms, 90%',
        `${get('ours', 0.9).rotationMs.p99} / ${get('ours', 0.9).rotationMs.max}`,
        `${get('original', 0.9).rotationMs.p99} / ${get('original', 0.9).rotationMs.max}`,
      ],
    ];
    return { data, table, columns: ['flash key store', 'ours', 'original'] };
  },
};
