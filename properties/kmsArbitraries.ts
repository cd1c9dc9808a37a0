/**
 * fast-check generators of KMS operation sequences over a small universe of IDs, so that random runs
 * hit the interesting collisions (same user in several groups, keys of deleted groups, repeated
 * events) instead of wandering through fresh IDs. Shared by the model suites and the
 * model-against-implementation suites.
 * @module
 */
import fc from 'fast-check';
import { KEY_EVENT_TYPES } from '../model/keyLifecycle.ts';
import type { GroupPolicy, KmsOperation } from '../model/kms.ts';
import { shrinkBelowMinimum } from './shrinkBelowMinimum.ts';

/** User IDs random runs draw from. */
export const USER_IDS = ['U1', 'U2', 'U3', 'U4', 'U5', 'U6'] as const;
/** Group IDs random runs draw from. */
export const GROUP_IDS = ['G1', 'G2', 'G3', 'G4'] as const;
/** Key IDs random runs draw from (the KMS allocates from K2000 up; runs make a handful of keys). */
export const KEY_IDS = Array.from({ length: 8 }, (_, i) => `K${2000 + i}`);

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

const userId = fc.constantFrom(...USER_IDS);
const groupId = fc.constantFrom(...GROUP_IDS);
// Low numbers first: those are the keys a run has most likely created.
const keyId = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...KEY_IDS.slice(0, 3)) },
  { weight: 1, arbitrary: fc.constantFrom(...KEY_IDS) },
);
const name = fc.oneof(
  fc.constantFrom('alice', 'bob; DROP TABLE users;--', "o'brien", 'ünïcødé', 'x'.repeat(100)),
  fc.string({ minLength: 0, maxLength: 12 }),
);
const policy: fc.Arbitrary<GroupPolicy> = fc.record({
  maxKeys: fc.integer({ min: 1, max: 4 }),
  algorithm: fc.constant('AES-256-GCM' as const),
  defaultCryptoperiodMs: fc.constantFrom(HOUR, DAY, 7 * DAY),
});

/** An operation whose time is filled in by the runner. */
export type TimedOperation = (now: number) => KmsOperation;

/** One random operation, weighted towards what grows an interesting state. */
export const operationArbitrary: fc.Arbitrary<TimedOperation> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.tuple(userId, name).map(
      ([u, n]): TimedOperation =>
        (now) => ({ type: 'addUser', userId: u, name: n, now }),
    ),
  },
  {
    weight: 1,
    arbitrary: userId.map(
      (u): TimedOperation =>
        (now) => ({ type: 'deleteUser', userId: u, now }),
    ),
  },
  {
    weight: 1,
    arbitrary: fc.tuple(userId, name).map(
      ([u, n]): TimedOperation =>
        (now) => ({ type: 'renameUser', userId: u, name: n, now }),
    ),
  },
  {
    weight: 2,
    arbitrary: fc.tuple(groupId, name, policy, fc.boolean()).map(
      ([g, n, p, h]): TimedOperation =>
        (now) => ({ type: 'addGroup', groupId: g, name: n, policy: p, shareHistory: h, now }),
    ),
  },
  {
    weight: 1,
    arbitrary: groupId.map(
      (g): TimedOperation =>
        (now) => ({ type: 'deleteGroup', groupId: g, now }),
    ),
  },
  {
    weight: 1,
    arbitrary: fc.tuple(groupId, name).map(
      ([g, n]): TimedOperation =>
        (now) => ({ type: 'renameGroup', groupId: g, name: n, now }),
    ),
  },
  {
    weight: 1,
    arbitrary: fc.tuple(groupId, policy).map(
      ([g, p]): TimedOperation =>
        (now) => ({ type: 'changePolicy', groupId: g, policy: p, now }),
    ),
  },
  {
    weight: 5,
    arbitrary: fc.tuple(groupId, userId).map(
      ([g, u]): TimedOperation =>
        (now) => ({ type: 'addMember', groupId: g, userId: u, now }),
    ),
  },
  {
    weight: 2,
    arbitrary: fc.tuple(groupId, userId).map(
      ([g, u]): TimedOperation =>
        (now) => ({ type: 'removeMember', groupId: g, userId: u, now }),
    ),
  },
  {
    weight: 5,
    arbitrary: fc
      .tuple(groupId, name, fc.option(fc.constantFrom(HOUR / 2, HOUR, DAY, 30 * DAY), { nil: undefined }))
      .map(
        ([g, n, c]): TimedOperation =>
          (now) =>
            c === undefined
              ? { type: 'addKey', groupId: g, name: n, now }
              : { type: 'addKey', groupId: g, name: n, cryptoperiodMs: c, now },
      ),
  },
  {
    weight: 10,
    arbitrary: fc.tuple(keyId, fc.constantFrom(...KEY_EVENT_TYPES)).map(
      ([k, type]): TimedOperation =>
        (now) => ({ type: 'keyEvent', keyId: k, event: { type, now } }),
    ),
  },
  {
    weight: 1,
    arbitrary: fc.tuple(keyId, name).map(
      ([k, n]): TimedOperation =>
        (now) => ({ type: 'renameKey', keyId: k, name: n, now }),
    ),
  },
  { weight: 1, arbitrary: fc.constant((now: number): KmsOperation => ({ type: 'expireKeys', now })) },
);

/** Time steps between operations: mostly small, sometimes past a cryptoperiod. */
export const timeStepArbitrary: fc.Arbitrary<number> = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 0, max: 10 * 60_000 }) },
  { weight: 2, arbitrary: fc.integer({ min: HOUR / 2, max: 2 * DAY }) },
  { weight: 1, arbitrary: fc.constantFrom(HOUR, DAY, 7 * DAY) },
);

/**
 * A sequence of operations with their times (monotonic, starting at `start`), at least `minLength`
 * long when drawn; a counterexample shrinks below that, to the operations that matter
 * (`shrinkBelowMinimum.ts`).
 */
export function operationSequence(
  minLength: number,
  maxLength: number,
  start = Date.UTC(2026, 0, 1),
): fc.Arbitrary<KmsOperation[]> {
  const drawn = fc.array(fc.tuple(timeStepArbitrary, operationArbitrary), { minLength, maxLength }).map((steps) => {
    let now = start;
    return steps.map(([dt, make]) => {
      now += dt;
      return make(now);
    });
  });
  return minLength === 0 ? drawn : shrinkBelowMinimum(drawn);
}
