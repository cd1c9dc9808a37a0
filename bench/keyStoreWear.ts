/**
 * Flash key-store bench: write amplification, wear, projected lifetime, usable density and
 * rotation latency of `device/keyStore.ts` ("ours") against a model of the original SEcube firmware
 * store ("original", `bench/originalKeyStore.ts`), both on the simulated STM32F429 flash, like for
 * like: the same flash budget and the same live keys.
 *
 * Workload ("random rotation"): fill the store with N live 256-bit keys, then repeatedly pick a
 * stored key uniformly at random and replace its value with fresh random bytes. Ours replaces in
 * place of the ID (`put`), the original deletes then inserts, as its firmware API requires. A warm-up
 * brings the log to steady state before anything is measured.
 *
 * Comparisons:
 * - equal budget, 2 sectors: both stores on two 128 KiB sectors with the original's 90 % load,
 *   1,810 live keys (2,012 × 0.9); and write amplification against raw-slot utilisation (live keys
 *   ÷ raw slots of the budget: ours 2 × 3,540, the original 2 × 2,016) at the same live keys for both;
 * - 7 sectors: ours on its default 7 sectors with the same 1,810 keys; the original's layout cannot
 *   use more than its two ping-pong sectors, so it has no figure there;
 * - full90: ours on its default 7 sectors at 90 % of its admitted capacity (8,920 keys), for the
 *   latency tail (p99.9, max) and how often compaction runs.
 *
 * Definitions (all measured in the steady-state window):
 * - write amplification = bytes written into erased flash (bytes that were 0xFF and were programmed
 *   to another value: record bodies, index/commit bytes, headers, magic, compaction or swap copies)
 *   ÷ logical bytes (36 per rotation: the 4-byte ID and the 32-byte key). In-place overwrites of
 *   programmed bytes — deletion zeroisation and tombstones — consume no erased space and cause no
 *   erase, so they are reported separately (`writeAmplificationWithOverwrites`).
 * - lifetime: years until the most-erased sector reaches the 10,000-cycle endurance (DS9405 N_END)
 *   at 1,000 rotations a day, extrapolated from the window's per-sector erase rate.
 * - compactions per rotation: store sector erases in the window ÷ rotations (ours erases exactly one
 *   victim per compaction; the original one sector per swap).
 * - usable keys per sector: the keys a store admits ÷ the sectors it occupies (ours: the default
 *   `KeyStore.capacity.maxKeys` over 7 sectors; original: 2,016 blocks − 4 system nodes over 2).
 * @module
 */
import { CLOCK_HZ, CycleMeter } from '../device/costModel.ts';
import { Flash } from '../device/flash.ts';
import { DEFAULT_KEY_STORE_SECTORS, KeyStore } from '../device/keyStore.ts';
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
/** The original's 90 % load: the live keys of every equal-budget comparison. */
export const EQUAL_BUDGET_KEYS = Math.floor(0.9 * ORIGINAL_KEY_CAPACITY);
/** Ours on the original's budget: two 128 KiB sectors of bank 2. */
const TWO_SECTORS: readonly number[] = [17, 18];

/** A key store under test, seen through the operations the workload needs. */
interface Subject {
  readonly sectors: readonly number[];
  readonly rawSlots: number;
  insert(id: number, key: Uint8Array): void;
  rotate(id: number, key: Uint8Array): void;
  remove(id: number): void;
}

type SubjectName = 'ours' | 'original';

/** A layout on a flash budget: ours on `sectors` (admitting every live key), or the original's two. */
interface Layout {
  readonly name: SubjectName;
  readonly sectors: readonly number[];
}

function makeSubject(layout: Layout, flash: Flash): Subject {
  if (layout.name === 'ours') {
    const store = KeyStore.format(flash, { sectors: layout.sectors, maxFill: 1 });
    return {
      sectors: layout.sectors,
      rawSlots: store.capacity.rawSlots,
      insert: (id, key) => store.put(id, key),
      rotate: (id, key) => store.put(id, key),
      remove: (id) => void store.delete(id),
    };
  }
  const store = new OriginalKeyStore(flash);
  return {
    sectors: [...ORIGINAL_SECTORS],
    rawSlots: ORIGINAL_SECTORS.length * ORIGINAL_BLOCKS_PER_SECTOR,
    insert: (id, key) => store.insert(id, key),
    rotate: (id, key) => {
      store.delete(id);
      store.insert(id, key);
    },
    remove: (id) => void store.delete(id),
  };
}

/** Latency percentiles of one run. */
interface Latency {
  readonly mean: number;
  readonly p50: number;
  readonly p99: number;
  readonly p999: number;
  /** p99.99: with compaction rarer than 1 in 1,000 rotations, the first percentile that shows it. */
  readonly p9999: number;
  readonly max: number;
}

/** Steady-state figures of one (layout, live keys) run. */
export interface WearFigures {
  readonly liveKeys: number;
  readonly sectors: number;
  readonly rawSlotUtilisation: number;
  readonly rotations: number;
  readonly writeAmplification: number;
  readonly writeAmplificationWithOverwrites: number;
  readonly compactionsPerRotation: number;
  readonly windowErases: readonly number[];
  readonly eraseMaxOverMean: number;
  /** Years at 1,000 rotations a day. */
  readonly lifetimeYears: number | null;
  readonly rotationCycles: Latency;
  readonly rotationMs: Latency;
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

function runWear(layout: Layout, live: number, warmup: number, rotations: number, context: BenchContext): WearFigures {
  const meter = new CycleMeter();
  const flash = new Flash({ meter, seed: WEAR_BENCH_SEED });
  const subject = makeSubject(layout, flash);
  const prng = new SeededPrng(WEAR_BENCH_SEED);
  for (let id = 0; id < live; id++) subject.insert(id, prng.bytes(32));
  const label = `${layout.name} ${layout.sectors.length} sectors, ${live} keys`;
  const total = warmup + rotations;
  const step = Math.max(1, Math.floor(total / 4));
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
  const logical = rotations * LOGICAL_RECORD_BYTES;
  const sorted = latency.slice().sort();
  const cycles: Latency = {
    mean: round(last / rotations, 0),
    p50: percentile(sorted, 0.5),
    p99: percentile(sorted, 0.99),
    p999: percentile(sorted, 0.999),
    p9999: percentile(sorted, 0.9999),
    max: sorted[sorted.length - 1] ?? 0,
  };
  const toMs = (c: number): number => round((c / CLOCK_HZ) * 1000, 4);
  return {
    liveKeys: live,
    sectors: subject.sectors.length,
    rawSlotUtilisation: round(live / subject.rawSlots, 4),
    rotations,
    writeAmplification: round(stats.freshBytes / logical, 4),
    writeAmplificationWithOverwrites: round((stats.freshBytes + stats.overwriteBytes) / logical, 4),
    compactionsPerRotation: round(sum / rotations, 7),
    windowErases,
    eraseMaxOverMean: mean > 0 ? round(max / mean, 4) : 0,
    lifetimeYears: years(max / rotations, 1000),
    rotationCycles: cycles,
    rotationMs: {
      mean: toMs(cycles.mean),
      p50: toMs(cycles.p50),
      p99: toMs(cycles.p99),
      p999: toMs(cycles.p999),
      p9999: toMs(cycles.p9999),
      max: toMs(cycles.max),
    },
  };
}

/** Mean modelled cost of inserting and of deleting one 256-bit key, away from compaction. */
function operationCycles(layout: Layout): { insert: number; delete: number; insertOps: number; deleteOps: number } {
  const meter = new CycleMeter();
  const flash = new Flash({ meter, seed: WEAR_BENCH_SEED });
  const subject = makeSubject(layout, flash);
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

const OURS_2: Layout = { name: 'ours', sectors: TWO_SECTORS };
const OURS_7: Layout = { name: 'ours', sectors: DEFAULT_KEY_STORE_SECTORS };
const ORIGINAL: Layout = { name: 'original', sectors: ORIGINAL_SECTORS };

/** Live keys of the write-amplification curve on two sectors: the same for both stores. */
const CURVE_KEYS: readonly number[] = [403, 1006, 1512, EQUAL_BUDGET_KEYS, 2000];

/** The bench, for `bench/run.ts`. */
export const keyStoreWearBench: BenchModule = {
  name: 'key-store-wear',
  summary: 'key store: flash wear, lifetime, density, rotation latency; vs the original firmware',
  section: 'flash',
  async run(context: BenchContext): Promise<BenchOutput> {
    const scale = context.quick ? 0.1 : 1;
    const n = (rotations: number): number => Math.round(rotations * scale);
    const probe = KeyStore.format(new Flash());
    const full90 = Math.floor(0.9 * probe.capacity.maxKeys);

    const curve: { ours: WearFigures[]; original: WearFigures[] } = { ours: [], original: [] };
    for (const keys of CURVE_KEYS) {
      curve.ours.push(runWear(OURS_2, keys, 20_000, n(300_000), context));
      // Near its capacity the original swaps every few rotations: fewer rotations give as many swaps.
      curve.original.push(runWear(ORIGINAL, keys, 10_000, n(keys >= 2000 ? 20_000 : 150_000), context));
      await Promise.resolve(); // let progress output flush between phases
    }
    const at1810 = (list: WearFigures[]): WearFigures => {
      const f = list.find((w) => w.liveKeys === EQUAL_BUDGET_KEYS);
      if (f === undefined) throw new Error('the curve lacks the equal-budget point');
      return f;
    };
    const ours2 = at1810(curve.ours);
    const original2 = at1810(curve.original);
    const ours7 = runWear(OURS_7, EQUAL_BUDGET_KEYS, 20_000, n(600_000), context);
    const oursFull90 = runWear(OURS_7, full90, 60_000, n(1_500_000), context);
    const ourCycles = operationCycles(OURS_7);
    const originalCycles = operationCycles(ORIGINAL);
    const ratio = (a: number | null, b: number | null): number | null =>
      a === null || b === null || b === 0 ? null : round(a / b, 2);
    const point = (w: WearFigures) => ({
      liveKeys: w.liveKeys,
      rawSlotUtilisation: w.rawSlotUtilisation,
      writeAmplification: w.writeAmplification,
      compactionsPerRotation: w.compactionsPerRotation,
      lifetimeYears: w.lifetimeYears,
    });

    const data = {
      usableKeysPerSector: {
        ours: Math.floor(probe.capacity.maxKeys / probe.capacity.sectors),
        original: ORIGINAL_KEY_CAPACITY / ORIGINAL_SECTORS.length,
      },
      rawSlotsPerSector: { ours: probe.capacity.slotsPerSector, original: ORIGINAL_BLOCKS_PER_SECTOR },
      equalBudget: {
        sectors2: {
          [`keys${EQUAL_BUDGET_KEYS}`]: {
            writeAmplification: { ours: ours2.writeAmplification, original: original2.writeAmplification },
            writeAmplificationWithOverwrites: {
              ours: ours2.writeAmplificationWithOverwrites,
              original: original2.writeAmplificationWithOverwrites,
            },
            lifetimeYears: { ours: ours2.lifetimeYears, original: original2.lifetimeYears },
            lifetimeRatio: ratio(ours2.lifetimeYears, original2.lifetimeYears),
            rawSlotUtilisation: { ours: ours2.rawSlotUtilisation, original: original2.rawSlotUtilisation },
            compactionsPerRotation: { ours: ours2.compactionsPerRotation, original: original2.compactionsPerRotation },
            windowErasesPerSector: { ours: ours2.windowErases, original: original2.windowErases },
            rotationMs: { ours: ours2.rotationMs, original: original2.rotationMs },
            rotations: { ours: ours2.rotations, original: original2.rotations },
          },
        },
        sectors7: {
          [`keys${EQUAL_BUDGET_KEYS}`]: {
            writeAmplification: { ours: ours7.writeAmplification, original: null },
            lifetimeYears: { ours: ours7.lifetimeYears, original: null },
            rawSlotUtilisation: { ours: ours7.rawSlotUtilisation, original: null },
            compactionsPerRotation: { ours: ours7.compactionsPerRotation, original: null },
            eraseMaxOverMean: { ours: ours7.eraseMaxOverMean, original: null },
            original: "n/a: the original firmware's layout uses exactly two ping-pong sectors",
          },
        },
      },
      writeAmplificationVsUtilisation: {
        sectors2: { ours: curve.ours.map(point), original: curve.original.map(point) },
      },
      full90: {
        ours: {
          liveKeys: oursFull90.liveKeys,
          rawSlotUtilisation: oursFull90.rawSlotUtilisation,
          writeAmplification: oursFull90.writeAmplification,
          eraseMaxOverMean: oursFull90.eraseMaxOverMean,
          lifetimeYears: oursFull90.lifetimeYears,
          rotations: oursFull90.rotations,
        },
      },
      rotationLatencyMs: { full90: { ours: oursFull90.rotationMs } },
      rotationLatencyCycles: { full90: { ours: oursFull90.rotationCycles } },
      compactionsPerRotation: { full90: { ours: oursFull90.compactionsPerRotation } },
      cycles: {
        keyInsert: { ours: ourCycles.insert, original: originalCycles.insert },
        keyDelete: { ours: ourCycles.delete, original: originalCycles.delete },
        flashWriteOpsPerInsert: { ours: ourCycles.insertOps, original: originalCycles.insertOps },
        flashWriteOpsPerDelete: { ours: ourCycles.deleteOps, original: originalCycles.deleteOps },
      },
      workload: {
        seed: WEAR_BENCH_SEED,
        quick: context.quick,
        rotation: 'uniformly random stored key gets a fresh 32-byte value (ours: put; original: delete + insert)',
        cyclesProfile: 'typical (DS9405 typical timings)',
        full90: `ours on its default 7 sectors at 90% of KeyStore.capacity.maxKeys (${full90} keys)`,
      },
      definitions: {
        writeAmplification:
          'bytes written into erased flash (0xFF -> other value) / (36 B x rotations); in-place overwrites ' +
          '(zeroisation, tombstones) excluded and reported as writeAmplificationWithOverwrites',
        rawSlotUtilisation: 'live keys / raw slots of the budget (ours 3,540 per sector, original 2,016 per sector)',
        lifetimeYears:
          'years until the most-erased sector reaches 10,000 erase cycles at 1,000 rotations/day, extrapolated from ' +
          'the window erase rate',
        compactionsPerRotation: 'store sector erases in the window / rotations',
        usableKeysPerSector:
          'keys the store admits / sectors it occupies (ours: default maxKeys over 7 sectors; original: 2,012 over 2)',
      },
    };

    const f = (v: number | null, digits = 3): string => (v === null ? 'n/a' : String(round(v, digits)));
    const table: string[][] = [
      ['usable keys per sector', String(data.usableKeysPerSector.ours), String(data.usableKeysPerSector.original)],
      [
        `write amplification, 2 sectors, ${EQUAL_BUDGET_KEYS} keys`,
        f(ours2.writeAmplification),
        f(original2.writeAmplification),
      ],
      [
        `lifetime years, 2 sectors, ${EQUAL_BUDGET_KEYS} keys, 1000 rot/day`,
        f(ours2.lifetimeYears, 1),
        f(original2.lifetimeYears, 1),
      ],
      [
        `write amplification / lifetime, 7 sectors, ${EQUAL_BUDGET_KEYS} keys`,
        `${f(ours7.writeAmplification)} / ${f(ours7.lifetimeYears, 1)} y`,
        'n/a (2 sectors only)',
      ],
      ...curve.ours.map((o, i) => {
        const g = curve.original[i];
        return [
          `  WA at ${o.liveKeys} keys (utilisation ours / original)`,
          `${f(o.writeAmplification)} (${f(o.rawSlotUtilisation, 2)})`,
          g === undefined ? 'n/a' : `${f(g.writeAmplification)} (${f(g.rawSlotUtilisation, 2)})`,
        ];
      }),
      [
        `rotation p50 / p99.9 / p99.99 / max ms, full90 (${full90} keys)`,
        [
          oursFull90.rotationMs.p50,
          oursFull90.rotationMs.p999,
          oursFull90.rotationMs.p9999,
          oursFull90.rotationMs.max,
        ].join(' / '),
        '',
      ],
      ['compactions per rotation, full90', f(oursFull90.compactionsPerRotation, 6), ''],
    ];
    return { data, table, columns: ['flash key store', 'ours', 'original'] };
  },
};
