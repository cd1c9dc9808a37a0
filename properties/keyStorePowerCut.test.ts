/**
 * Crash consistency of the flash key store, littlefs-style: for a random workload of inserts,
 * replaces and deletes heavy enough to force compactions, power is cut at every flash operation of
 * every step in turn (and, in some runs, a second time while the following mount repairs the flash).
 * After power-on and mount:
 * - the store holds exactly the state before or the state after the interrupted step (so no
 *   committed key is lost and no torn record is accepted);
 * - no 8-byte piece of any key that is not in that state — deleted, replaced, or never committed —
 *   is left anywhere in the raw flash;
 * - a second mount finds nothing to repair, and the store accepts new writes.
 *
 * The store runs on four 1 KiB sectors (25 slots each) so that a few dozen steps reach compaction
 * many times; the logic is the same as on the 128 KiB sectors (the unit tests sweep a compaction on
 * real 16 KiB sectors). Run size: SEKEY_RUNS (runs), SEKEY_SCALE (workload length), SEKEY_SEED /
 * SEKEY_PATH to replay a failure. An operation (for `npm run properties`) is one cut point: a power cut
 * at a flash operation followed by mount and recovery.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Flash } from '../device/flash.ts';
import { KeyStore, type KeyStoreOptions } from '../device/keyStore.ts';
import { findSecretResidue, hex, rawImage, storeContents } from '../device/keyStore.testkit.ts';
import { KeyStoreFullError } from '../device/keyStoreErrors.ts';
import { PowerLossError } from '../device/powerLossError.ts';
import { SeededPrng } from '../device/seededPrng.ts';
import { scaled } from '../testing/runConfig.ts';
import { PropertyProgress } from './progress.testkit.ts';
import { shrinkBelowMinimum } from './shrinkBelowMinimum.ts';
import { recoveredText, repairsText, stepText, workloadText } from './keyStoreText.testkit.ts';
import type { Step, Workload } from './keyStoreText.testkit.ts';

const GEOMETRY = [1024, 1024, 1024, 1024];
const OPTIONS: KeyStoreOptions = { sectors: [0, 1, 2, 3], maxFill: 1 };
const CI_RUNS = 80;
const progress = new PropertyProgress('keyStorePowerCut');
const MIN_CUT_POINTS_AT_CI_SIZE = 2000;

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('put' as const),
      id: fc.nat(99),
      length: fc.constantFrom(32 as const, 24 as const, 16 as const),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('delete' as const), id: fc.nat(99) }) },
);

const workloadArb: fc.Arbitrary<Workload> = fc.record({
  pool: fc.constantFrom(6, 24, 70),
  prefill: fc.nat(70),
  // Never below the minimum: a small --scale shortens the longest workloads, not the shortest. The
  // minimum binds drawing only: a counterexample shrinks below it, to the steps that matter.
  steps: shrinkBelowMinimum(fc.array(stepArb, { minLength: 20, maxLength: Math.max(20, scaled(80)) })),
  faultSeed: fc.integer(),
  doubleFault: fc.boolean(),
});

type State = ReadonlyMap<number, string>;

function sameState(a: State, b: State): boolean {
  if (a.size !== b.size) return false;
  for (const [id, value] of a) if (b.get(id) !== value) return false;
  return true;
}

/** Applies a step to a store (the model is kept by the caller); a full store refuses a new ID. */
function apply(store: KeyStore, step: Step, id: number, key: Uint8Array | undefined): void {
  if (step.kind === 'delete') {
    store.delete(id);
    return;
  }
  try {
    store.put(id, key ?? new Uint8Array(32));
  } catch (e) {
    if (!(e instanceof KeyStoreFullError)) throw e;
  }
}

/**
 * Runs one workload with a cut at every operation of every step, counting each cut point into
 * `tally` as it is made (a failing workload's count stands at its failure).
 */
function runWorkload(w: Workload, tally: { cuts: number }): void {
  const keys = new SeededPrng(w.faultSeed ^ 0x5eed);
  const faults = new SeededPrng(w.faultSeed);
  const everyValue: Uint8Array[] = [];
  const flash = new Flash({ geometry: GEOMETRY, strict: true, seed: w.faultSeed });
  const store = KeyStore.format(flash, OPTIONS);
  const model = new Map<number, string>();
  for (let id = 0; id < Math.min(w.prefill, w.pool); id++) {
    const key = keys.bytes(32);
    everyValue.push(key);
    store.put(id, key);
    model.set(id, hex(key));
  }

  w.steps.forEach((step, index) => {
    const id = step.id % w.pool;
    const key = step.kind === 'put' ? keys.bytes(step.length) : undefined;
    if (key) everyValue.push(key);
    const image = flash.toImage();
    const before: State = new Map(model);
    apply(store, step, id, key);
    const after: State = storeContents(store);

    for (let cut = 1; ; cut++) {
      // What the cut interrupted (the flash's PowerLossError says: `program of 8 B at 0x40`), and the
      // second cut's operation, drawn from the fault seed: a reader cannot work either out.
      let where = `step ${index + 1}, ${stepText(step, w.pool)}, cut at operation ${cut}`;
      const crashed = Flash.fromImage(image, { seed: faults.nextU32() });
      const replay = KeyStore.mount(crashed, OPTIONS);
      crashed.cutPowerAfter(cut);
      try {
        apply(replay, step, id, key);
        crashed.cancelPowerCut();
        break; // the step needs fewer operations than `cut`: every cut point of it was covered
      } catch (e) {
        if (!(e instanceof PowerLossError)) throw e;
        where += ` [${e.message}]`;
      }
      crashed.powerOn();
      tally.cuts++;

      if (w.doubleFault) {
        const second = 1 + faults.int(6);
        crashed.cutPowerAfter(second);
        try {
          KeyStore.mount(crashed, OPTIONS);
          where += `; the mount after it ended before its cut at operation ${second}`;
        } catch (e) {
          if (!(e instanceof PowerLossError)) throw e;
          where += `; cut again at operation ${second} of the mount after it [${e.message}]`;
          crashed.powerOn();
        }
        crashed.cancelPowerCut();
      }

      const recovered = KeyStore.mount(crashed, OPTIONS);
      const state = storeContents(recovered);
      if (!sameState(state, before) && !sameState(state, after)) {
        expect.fail(`${where}: ${recoveredText(state, before, after)}`);
      }
      const live = new Set(state.values());
      const residue = findSecretResidue(
        rawImage(crashed),
        everyValue.filter((v) => !live.has(hex(v))),
      );
      // Failed by hand: an assertion's message cuts a long string short, the offset included.
      if (residue !== undefined) expect.fail(`${where}: key material left in flash: ${residue}`);

      const again = KeyStore.mount(crashed, OPTIONS);
      const repairs = repairsText(again.lastMount);
      if (repairs.length > 0) expect.fail(`${where}: a second mount still repaired: ${repairs.join(', ')}`);
      again.put(1_000_000, new Uint8Array(16).fill(0xa5));
      expect(KeyStore.mount(crashed, OPTIONS).has(1_000_000), `${where}: store not writable after recovery`).toBe(true);
    }
    model.clear();
    for (const [k, v] of after) model.set(k, v);
  });

  const live = new Set(model.values());
  const residue = findSecretResidue(
    rawImage(flash),
    everyValue.filter((v) => !live.has(hex(v))),
  );
  if (residue !== undefined) expect.fail(`after the last step, with no cut: key material left in flash: ${residue}`);
}

describe('key store under power cuts', () => {
  it('recovers the state before or after every interrupted step, leaving no dead key bytes', () => {
    let cutPoints = 0;
    let runs = 0;
    progress.assert(
      fc.property(workloadArb, (w) => {
        runs++;
        // A failing workload (and each shrinking one) counts the cut points it made.
        const tally = { cuts: 0 };
        try {
          runWorkload(w, tally);
        } finally {
          cutPoints += tally.cuts;
          progress.ran(tally.cuts);
        }
      }),
      progress.params<[Workload]>(CI_RUNS, ([w]) => workloadText(w)),
    );
    // Enough cut points for the size asked for (fast-check may add runs while shrinking a failure).
    console.info(`key store power-cut suite: ${runs} workloads, ${cutPoints} cut points`);
    expect(cutPoints).toBeGreaterThanOrEqual(Math.floor((MIN_CUT_POINTS_AT_CI_SIZE * runs) / CI_RUNS));
  });
});
