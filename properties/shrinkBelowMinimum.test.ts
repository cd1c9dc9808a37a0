import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { operationTime } from '../model/kms.ts';
import type { KmsOperation } from '../model/kms.ts';
import { applyOperation } from '../model/kms.ts';
import type { KmsState } from '../model/kms.ts';
import { EMPTY_KMS, keyStateOf } from '../model/kmsState.ts';
import { liveOperationSequence, operationSequence } from './kmsArbitraries.ts';
import { shrinkBelowMinimum } from './shrinkBelowMinimum.ts';

const FROM_POLICY = { maxKeys: 3, algorithm: 'AES-256-GCM', defaultCryptoperiodMs: 86_400_000 } as const;

/** Drawn 20 to 30 long; a counterexample needs two 7s among them. */
const DIGITS = fc.array(fc.nat(9), { minLength: 20, maxLength: 30 });
const twoSevens = (arb: fc.Arbitrary<number[]>) => fc.property(arb, (xs) => xs.filter((x) => x === 7).length < 2);

describe('shrinkBelowMinimum', () => {
  test('draws exactly what the inner arbitrary draws, seed for seed', () => {
    for (const seed of [1, 20_201, -7]) {
      expect(fc.sample(shrinkBelowMinimum(DIGITS), { seed, numRuns: 50 })).toEqual(
        fc.sample(DIGITS, { seed, numRuns: 50 }),
      );
    }
  });

  test('the same run fails; only the freed arbitrary shrinks below the minimum, to what matters', () => {
    const params = { seed: 3, numRuns: 500 };
    const plain = fc.check(twoSevens(DIGITS), params);
    const freed = fc.check(twoSevens(shrinkBelowMinimum(DIGITS)), params);
    expect(plain.failed && freed.failed).toBe(true);
    expect(freed.numRuns).toBe(plain.numRuns);
    expect(plain.counterexample?.[0]).toHaveLength(20);
    expect(freed.counterexample?.[0]).toEqual([7, 7]);
  });

  test('the path fast-check reports replays the shrunk counterexample', () => {
    const property = twoSevens(shrinkBelowMinimum(DIGITS));
    const found = fc.check(property, { seed: 3, numRuns: 500 });
    const replayed = fc.check(property, { seed: 3, path: found.counterexamplePath ?? '', endOnFailure: true });
    expect(replayed.failed).toBe(true);
    expect(replayed.counterexample).toEqual(found.counterexample);
  });

  test('removes halves, then quarters, down to single elements; nothing from an empty array', () => {
    const arb = shrinkBelowMinimum(fc.array(fc.nat(), { minLength: 4 }));
    // A value without a context of the inner arbitrary: removals only, largest chunks first.
    const removed = (xs: number[]) => [...arb.shrink(xs, { inner: undefined, fromInner: false })].map((v) => v.value);
    expect(removed([1, 2, 3, 4])).toEqual([
      [3, 4],
      [1, 2],
      [2, 3, 4],
      [1, 3, 4],
      [1, 2, 4],
      [1, 2, 3],
    ]);
    expect(removed([5])).toEqual([[]]);
    expect(removed([])).toEqual([]);
  });

  test('an example given without a context shrinks by removals', () => {
    const found = fc.check(twoSevens(shrinkBelowMinimum(DIGITS)), {
      seed: 1,
      numRuns: 1,
      examples: [[[1, 7, 2, 3, 7, 4, 5, 6, 8, 9, 0, 1, 2, 3, 4, 5, 6, 8, 9, 0, 1, 2]]],
    });
    expect(found.counterexample).toEqual([[7, 7]]);
  });

  test('elements with a clone method are cloned for every run, after removals too', () => {
    let shared = 0;
    const found = fc.check(
      fc.property(shrinkBelowMinimum(fc.array(fc.context(), { minLength: 4, maxLength: 8 })), (contexts) => {
        for (const c of contexts) c.log('this run');
        // A context another run logged into too would hold two entries.
        shared += contexts.filter((c) => c.size() !== 1).length;
        return contexts.length < 2;
      }),
      { seed: 5, numRuns: 10 },
    );
    expect(found.counterexample?.[0]).toHaveLength(2);
    expect(shared).toBe(0);
  });
});

describe('operationSequence', () => {
  /** Whether `ops` adds user U3 and later deletes it. */
  const addsThenDeletesU3 = (ops: readonly KmsOperation[]): boolean => {
    const added = ops.findIndex((op) => op.type === 'addUser' && op.userId === 'U3');
    return added >= 0 && ops.slice(added + 1).some((op) => op.type === 'deleteUser' && op.userId === 'U3');
  };

  test('a counterexample of two operations among 30 or more shrinks to those two, times in order', () => {
    const found = fc.check(
      fc.property(operationSequence({ minLength: 30, maxLength: 40 }), (ops) => !addsThenDeletesU3(ops)),
      { seed: 42, numRuns: 2000 },
    );
    expect(found.failed).toBe(true);
    const [ops] = found.counterexample ?? [[]];
    expect(ops.map((op) => `${op.type} ${'userId' in op ? op.userId : ''}`)).toEqual(['addUser U3', 'deleteUser U3']);
    expect(operationTime(ops[0]!)).toBeLessThanOrEqual(operationTime(ops[1]!));
  });
});

describe('liveOperationSequence', () => {
  const apply = (from: KmsState, ops: readonly KmsOperation[]): KmsState =>
    ops.reduce((state, op) => {
      const result = applyOperation(state, op);
      return result.ok ? result.state : state;
    }, from);
  // kmsImpl's bootstrap: four users, three of them in G1, whose key K2000 is active.
  const FROM = apply(EMPTY_KMS, [
    ...['U1', 'U2', 'U3', 'U4'].map((userId): KmsOperation => ({ type: 'addUser', userId, name: userId, now: 0 })),
    { type: 'addGroup', groupId: 'G1', name: 'all', policy: FROM_POLICY, now: 0 },
    ...['U1', 'U2', 'U3'].map((userId): KmsOperation => ({ type: 'addMember', groupId: 'G1', userId, now: 0 })),
    { type: 'addKey', groupId: 'G1', name: 'first', now: 0 },
    { type: 'keyEvent', keyId: 'K2000', event: { type: 'ACTIVATE', now: 0 } },
  ]);
  /** Whether a key of a group other than G1 is active after `ops`. */
  const activeOutsideG1 = (ops: readonly KmsOperation[]): boolean =>
    Object.values(apply(FROM, ops).keys).some((k) => k.owner !== 'G1' && keyStateOf(k) === 'active');

  test('its operations are made again from what remains as it shrinks: an ACTIVATE names a key left', () => {
    // A group, its key, the key's activation: three operations. Removing only operations as made, an
    // addKey to G1 removed renumbered the keys after it, and a later "K2005 ACTIVATE" named another key or
    // none: every addKey before it stayed (a planted bug's kmsImpl counterexample had eight operations for four).
    const lengths = [1, 2, 3, 4, 5].map((seed) => {
      const found = fc.check(
        fc.property(liveOperationSequence({ minLength: 30, maxLength: 40 }, FROM, 0), (ops) => !activeOutsideG1(ops)),
        { seed, numRuns: 200 },
      );
      expect(found.failed, `seed ${seed}`).toBe(true);
      return found.counterexample?.[0].length;
    });
    // Removing operations as made left 6, 7, 3, 4 and 3 at these seeds.
    expect(lengths).toEqual([3, 3, 3, 3, 3]);
  });
});
