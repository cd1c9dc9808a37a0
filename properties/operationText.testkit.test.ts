import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import type { KmsOperation } from '../model/kms.ts';
import { applyOperation } from '../model/kms.ts';
import type { KmsState } from '../model/kms.ts';
import { EMPTY_KMS } from '../model/kmsState.ts';
import {
  FailedOperations,
  durationText,
  offsetText,
  operationText,
  sequenceText,
  stateText,
} from './operationText.testkit.ts';

const START = Date.UTC(2026, 0, 1);
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

describe('KMS operations in words', () => {
  test('durations in the largest units that write them exactly', () => {
    expect(
      [0, 90, 1000, 45_250, 60_000, 1.5 * HOUR, DAY, 30 * DAY, 2 * DAY + 500, DAY + HOUR].map(durationText),
    ).toEqual(['0s', '90ms', '1s', '45.25s', '1m', '1h30m', '1d', '30d', '2d0h0m0.5s', '1d1h']);
  });

  test('times as offsets from the start, to the millisecond, with days when there are any', () => {
    expect(offsetText(START, START)).toBe('+00:00:00.000');
    expect(offsetText(START + 23 * 60_000 + 52_030, START)).toBe('+00:23:52.030');
    expect(offsetText(START + 2 * DAY + HOUR, START)).toBe('+2d 01:00:00.000');
    expect(offsetText(START - 1, START)).toBe('-00:00:00.001');
  });

  test('every kind of operation, and a sequence numbered from 1', () => {
    const policy = { maxKeys: 4, algorithm: 'AES-256-GCM', defaultCryptoperiodMs: DAY } as const;
    const ops: KmsOperation[] = [
      { type: 'addUser', userId: 'U1', name: 'alice', now: START },
      { type: 'addGroup', groupId: 'G1', name: 'ops', policy, shareHistory: true, now: START },
      { type: 'addMember', groupId: 'G1', userId: 'U1', now: START + 1 },
      { type: 'addKey', groupId: 'G1', name: '', cryptoperiodMs: 30 * DAY, now: START + 1 },
      { type: 'addKey', groupId: 'G1', name: 'k', now: START + 1 },
      { type: 'keyEvent', keyId: 'K2000', event: { type: 'ACTIVATE', now: START + HOUR } },
      { type: 'renameKey', keyId: 'K2000', name: 'o"k', now: START + HOUR },
      { type: 'changePolicy', groupId: 'G1', policy: { ...policy, maxKeys: 1 }, now: START + HOUR },
      { type: 'renameGroup', groupId: 'G1', name: 'x', now: START + HOUR },
      { type: 'renameUser', userId: 'U1', name: '', now: START + HOUR },
      { type: 'removeMember', groupId: 'G1', userId: 'U1', now: START + DAY },
      { type: 'expireKeys', now: START + DAY },
      { type: 'deleteGroup', groupId: 'G1', now: START + DAY },
      { type: 'deleteUser', userId: 'U1', now: START + DAY },
    ];
    expect(sequenceText(ops, START).split('\n')).toEqual([
      ' 1. +00:00:00.000  addUser U1 "alice"',
      ' 2. +00:00:00.000  addGroup G1 "ops" (at most 4 keys, AES-256-GCM, keys for 1d, history shared)',
      ' 3. +00:00:00.001  addMember U1 to G1',
      ' 4. +00:00:00.001  addKey to G1 "" for 30d',
      ' 5. +00:00:00.001  addKey to G1 "k"',
      ' 6. +01:00:00.000  K2000 ACTIVATE',
      ' 7. +01:00:00.000  renameKey K2000 to "o\\"k"',
      ' 8. +01:00:00.000  changePolicy G1 (at most 1 key, AES-256-GCM, keys for 1d)',
      ' 9. +01:00:00.000  renameGroup G1 to "x"',
      '10. +01:00:00.000  renameUser U1 to ""',
      '11. +1d 00:00:00.000  removeMember U1 from G1',
      '12. +1d 00:00:00.000  expireKeys',
      '13. +1d 00:00:00.000  deleteGroup G1',
      '14. +1d 00:00:00.000  deleteUser U1',
    ]);
    expect(sequenceText([], START)).toBe('(no operation)');
    expect(operationText({ type: 'keyEvent', keyId: 'K7', event: { type: 'COMPROMISE', now: 0 } })).toBe(
      'K7 COMPROMISE',
    );
  });

  test('the state a sequence starts from, in one line', () => {
    const policy = { maxKeys: 3, algorithm: 'AES-256-GCM', defaultCryptoperiodMs: DAY } as const;
    const ops: KmsOperation[] = [
      { type: 'addUser', userId: 'U2', name: 'bob', now: START },
      { type: 'addUser', userId: 'U10', name: 'eve', now: START },
      { type: 'addUser', userId: 'U1', name: 'alice', now: START },
      { type: 'addGroup', groupId: 'G2', name: 'empty', policy, now: START },
      { type: 'addGroup', groupId: 'G1', name: 'all', policy, now: START },
      { type: 'addMember', groupId: 'G1', userId: 'U2', now: START },
      { type: 'addMember', groupId: 'G1', userId: 'U1', now: START },
      { type: 'addKey', groupId: 'G1', name: 'a', now: START },
      { type: 'addKey', groupId: 'G1', name: 'b', now: START },
      { type: 'keyEvent', keyId: 'K2001', event: { type: 'ACTIVATE', now: START } },
    ];
    let state: KmsState = EMPTY_KMS;
    for (const op of ops) {
      const result = applyOperation(state, op);
      if (!result.ok) throw result.error;
      state = result.state;
    }
    expect(stateText(state, START).split('; ')).toEqual([
      'users U1, U2, U10',
      'G1 "all" (at most 3 keys, AES-256-GCM, keys for 1d) with U1, U2, keys K2000 preActivation, K2001 active ' +
        'until +1d 00:00:00.000',
      'G2 "empty" (at most 3 keys, AES-256-GCM, keys for 1d) no member, no key',
    ]);
    expect(stateText(EMPTY_KMS, START)).toBe('users none');

    // A cryptoperiod's end is said of a key that can still use it: not "deactivated until".
    const apply = (op: KmsOperation) => {
      const result = applyOperation(state, op);
      if (!result.ok) throw result.error;
      state = result.state;
    };
    apply({ type: 'keyEvent', keyId: 'K2000', event: { type: 'ACTIVATE', now: START } });
    apply({ type: 'keyEvent', keyId: 'K2000', event: { type: 'SUSPEND', now: START + HOUR } });
    expect(stateText(state, START).split('; ')[1]).toBe(
      'G1 "all" (at most 3 keys, AES-256-GCM, keys for 1d) with U1, U2, keys K2000 suspended, cryptoperiod ending ' +
        '+1d 00:00:00.000, K2001 active until +1d 00:00:00.000',
    );
    apply({ type: 'expireKeys', now: START + DAY });
    expect(stateText(state, START).split('; ')[1]).toBe(
      'G1 "all" (at most 3 keys, AES-256-GCM, keys for 1d) with U1, U2, keys K2000 deactivated, K2001 deactivated',
    );
  });

  test('the keys the model adds or changes on its own are said on the operation that did it', () => {
    const policy = { maxKeys: 3, algorithm: 'AES-256-GCM', defaultCryptoperiodMs: DAY } as const;
    let state: KmsState = EMPTY_KMS;
    for (const op of [
      { type: 'addUser', userId: 'U1', name: 'alice', now: START },
      { type: 'addUser', userId: 'U2', name: 'bob', now: START },
      { type: 'addGroup', groupId: 'G1', name: 'all', policy, now: START },
      { type: 'addMember', groupId: 'G1', userId: 'U1', now: START },
      { type: 'addMember', groupId: 'G1', userId: 'U2', now: START },
      { type: 'addKey', groupId: 'G1', name: 'a', now: START },
      { type: 'keyEvent', keyId: 'K2000', event: { type: 'ACTIVATE', now: START } },
    ] satisfies KmsOperation[]) {
      const result = applyOperation(state, op);
      if (!result.ok) throw result.error;
      state = result.state;
    }
    const ops: KmsOperation[] = [
      // The leaver held the active key: the model retires it and adds a replacement, which no line names.
      { type: 'removeMember', groupId: 'G1', userId: 'U1', now: START + HOUR },
      { type: 'addKey', groupId: 'G1', name: 'b', now: START + HOUR },
      // A compromised active key: its own line says the event, the model's replacement is said after it.
      { type: 'keyEvent', keyId: 'K2001', event: { type: 'COMPROMISE', now: START + HOUR } },
      // Expiry at an operation's time is the model's doing too.
      { type: 'renameUser', userId: 'U2', name: 'b', now: START + 2 * DAY },
      { type: 'keyEvent', keyId: 'K2002', event: { type: 'ACTIVATE', now: START + 2 * DAY } },
      { type: 'addKey', groupId: 'G1', name: 'c', now: START + 2 * DAY },
      { type: 'keyEvent', keyId: 'K2004', event: { type: 'ACTIVATE', now: START + 2 * DAY } },
      // Keys that come to one state are said together: a leaver's, here two.
      { type: 'removeMember', groupId: 'G1', userId: 'U2', now: START + 2 * DAY },
    ];
    expect(sequenceText(ops, START, state).split('\n')).toEqual([
      '1. +01:00:00.000  removeMember U1 from G1  (the model: K2000 now deactivated; new K2001 active until ' +
        '+1d 01:00:00.000)',
      '2. +01:00:00.000  addKey to G1 "b" → K2002',
      '3. +01:00:00.000  K2001 COMPROMISE  (the model: new K2003 active until +1d 01:00:00.000)',
      '4. +2d 00:00:00.000  renameUser U2 to "b"  (the model: K2003 now deactivated)',
      '5. +2d 00:00:00.000  K2002 ACTIVATE',
      '6. +2d 00:00:00.000  addKey to G1 "c" → K2004',
      '7. +2d 00:00:00.000  K2004 ACTIVATE',
      '8. +2d 00:00:00.000  removeMember U2 from G1  (the model: K2002, K2004 now deactivated; new K2005 active ' +
        'until +3d 00:00:00.000)',
    ]);
  });

  test('a run that failed at an operation is listed up to it: the rest never ran, and is counted, not told', () => {
    const policy = { maxKeys: 3, algorithm: 'AES-256-GCM', defaultCryptoperiodMs: DAY } as const;
    const ops: KmsOperation[] = [
      { type: 'addUser', userId: 'U1', name: 'a', now: START },
      { type: 'addGroup', groupId: 'G1', name: 'g', policy, now: START },
      { type: 'addMember', groupId: 'G1', userId: 'U1', now: START },
      { type: 'addKey', groupId: 'G1', name: 'k', now: START },
      { type: 'keyEvent', keyId: 'K2000', event: { type: 'ACTIVATE', now: START } },
      { type: 'removeMember', groupId: 'G1', userId: 'U1', now: START + HOUR },
    ];
    expect(sequenceText(ops, START, EMPTY_KMS, 2).split('\n')).toEqual([
      '1. +00:00:00.000  addUser U1 "a"',
      '2. +00:00:00.000  addGroup G1 "g" (at most 3 keys, AES-256-GCM, keys for 1d)',
      '3. +00:00:00.000  addMember U1 to G1',
      '… 3 more operations, not run',
    ]);
    expect(sequenceText(ops, START, EMPTY_KMS, 4).split('\n').slice(-2)).toEqual([
      '5. +00:00:00.000  K2000 ACTIVATE',
      '… 1 more operation, not run',
    ]);
    // Failed at the last, or after them all: every operation ran.
    expect(sequenceText(ops, START, EMPTY_KMS, 5)).toBe(sequenceText(ops, START, EMPTY_KMS));
    expect(sequenceText(ops, START, EMPTY_KMS, undefined).split('\n')).toHaveLength(6);
  });

  test("the operation a run failed at is the counterexample's: found, shrunk, or cut short", () => {
    const stoppedAt = new FailedOperations();
    // Fails at the first 7, after which nothing runs; a check after them all fails on a sum over 60.
    const property = fc.property(fc.array(fc.nat(9), { minLength: 12, maxLength: 20 }), (ops) => {
      for (const [index, op] of ops.entries()) {
        stoppedAt.reached(ops, index);
        if (op === 7) throw new Error(`operation ${index + 1}`);
      }
      stoppedAt.ranAll(ops);
      if (ops.reduce((a, b) => a + b, 0) > 60) throw new Error('after them all');
    });
    for (const endOnFailure of [true, false]) {
      const details = fc.check(property, { seed: 42, numRuns: 200, endOnFailure });
      expect(details.failed).toBe(true);
      const [ops] = details.counterexample as [number[]];
      const first7 = ops.indexOf(7);
      expect(stoppedAt.at(ops)).toBe(first7 === -1 ? undefined : first7);
      if (first7 !== -1) expect(String(details.errorInstance)).toContain(`operation ${first7 + 1}`);
    }
  });

  test('a model that throws is said, not thrown: the counterexample of a failing model is still reported', () => {
    const damaged = { ...EMPTY_KMS, keys: { K1: { id: 'K1' } } } as unknown as KmsState;
    const ops: KmsOperation[] = [
      { type: 'keyEvent', keyId: 'K1', event: { type: 'ACTIVATE', now: START } },
      { type: 'expireKeys', now: START + 1 },
    ];
    const lines = sequenceText(ops, START, damaged).split('\n');
    expect(lines[0]).toMatch(/^1\. \+00:00:00\.000 {2}K1 ACTIVATE {2}\(the model threw: /);
    expect(lines[1]).toBe('2. +00:00:00.001  expireKeys');
  });
});
