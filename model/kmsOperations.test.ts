import { describe, expect, test } from 'vitest';
import { KEY_EVENT_TYPES } from './keyLifecycle.ts';
import { EMPTY_KMS, applyOperation, selectKey } from './kms.ts';
import type { GroupPolicy, KmsOperation, KmsState } from './kms.ts';
import { GENERAL_REFUSALS, OPERATION_RULES } from './kmsOperations.ts';
import { DAY, EXAMPLE_POLICY, SPEC_EXAMPLES, exampleTime, toKmsOperation } from './specExamples.ts';

/** The states the worked examples reach halfway through and at the end, with their times. */
function corpus(): Array<{ state: KmsState; now: number }> {
  const states: Array<{ state: KmsState; now: number }> = [{ state: EMPTY_KMS, now: exampleTime(0) }];
  for (const example of SPEC_EXAMPLES) {
    let state = EMPTY_KMS;
    example.steps.forEach((step, i) => {
      if ('select' in step) return;
      const r = applyOperation(state, toKmsOperation(step.op, exampleTime(step.day)));
      if (r.ok) state = r.state;
      if (i === Math.floor(example.steps.length / 2) || i === example.steps.length - 1) {
        states.push({ state, now: exampleTime(step.day) });
      }
    });
  }
  return states;
}

const NAMES = ['n', '', 'x'.repeat(101)];
const POLICIES: GroupPolicy[] = [
  EXAMPLE_POLICY,
  { ...EXAMPLE_POLICY, maxKeys: 0 },
  { ...EXAMPLE_POLICY, maxKeys: 1 },
  { ...EXAMPLE_POLICY, defaultCryptoperiodMs: DAY },
  { ...EXAMPLE_POLICY, defaultCryptoperiodMs: 0.5 },
  { ...EXAMPLE_POLICY, algorithm: 'DES' as GroupPolicy['algorithm'] },
];

/** Every operation over the IDs of `state` and some that do not exist or are malformed. */
function battery(state: KmsState, now: number): KmsOperation[] {
  const users = [...Object.keys(state.users), 'U9', 'U01'];
  const groups = [...Object.keys(state.groups), ...state.retiredGroupIds, 'G9', 'G01'];
  const keys = [...Object.keys(state.keys), 'K9'];
  const ops: KmsOperation[] = [{ type: 'expireKeys', now }];
  for (const userId of users) {
    ops.push({ type: 'deleteUser', userId, now });
    for (const name of NAMES)
      ops.push({ type: 'addUser', userId, name, now }, { type: 'renameUser', userId, name, now });
  }
  for (const groupId of groups) {
    ops.push({ type: 'deleteGroup', groupId, now });
    for (const name of NAMES) ops.push({ type: 'renameGroup', groupId, name, now });
    for (const policy of POLICIES) {
      ops.push({ type: 'changePolicy', groupId, policy, now });
      ops.push({ type: 'addGroup', groupId, name: 'g', policy, now, shareHistory: true });
    }
    ops.push({ type: 'addGroup', groupId, name: '', policy: EXAMPLE_POLICY, now });
    for (const userId of users) {
      ops.push({ type: 'addMember', groupId, userId, now }, { type: 'removeMember', groupId, userId, now });
    }
    for (const name of NAMES) ops.push({ type: 'addKey', groupId, name, now });
    for (const cryptoperiodMs of [0, 1.5, DAY, 31 * DAY])
      ops.push({ type: 'addKey', groupId, name: 'k', cryptoperiodMs, now });
  }
  for (const keyId of keys) {
    for (const type of KEY_EVENT_TYPES) ops.push({ type: 'keyEvent', keyId, event: { type, now } });
    for (const name of NAMES) ops.push({ type: 'renameKey', keyId, name, now });
  }
  return ops;
}

describe('the operations as described', () => {
  test("every refusal the model gives is one its operation declares (checked over the examples' states)", () => {
    const declared = new Map(OPERATION_RULES.map((o) => [o.operation, new Set(o.refusals.map((r) => r.code))]));
    const seen = new Map<string, Set<string>>();
    const undeclared: string[] = [];
    const note = (operation: string, code: string) => {
      if (!seen.has(operation)) seen.set(operation, new Set());
      seen.get(operation)?.add(code);
      if (!declared.get(operation as never)?.has(code as never)) undeclared.push(`${operation}: ${code}`);
    };
    for (const { state, now } of corpus()) {
      for (const at of [now, now + 40 * DAY]) {
        for (const op of battery(state, at)) {
          const r = applyOperation(state, op);
          if (!r.ok) note(op.type, r.error.code);
        }
        const users = [...Object.keys(state.users), 'U9'];
        for (const sender of users) {
          for (const recipients of [[], ...users.map((u) => [u]), users.slice(0, 2), users]) {
            const r = selectKey(state, sender, recipients, at);
            if (!r.ok) note('selectKey', r.error.code);
          }
        }
      }
    }
    expect([...new Set(undeclared)]).toEqual([]);
    // And the battery reaches every declared refusal, so it is not vacuous.
    for (const o of OPERATION_RULES)
      expect([...(seen.get(o.operation) ?? [])].sort(), o.operation).toEqual(o.refusals.map((r) => r.code).sort());
  });

  test('a time that is not finite is refused before anything else, whatever the operation', () => {
    for (const now of [Number.NaN, Number.POSITIVE_INFINITY]) {
      const r = applyOperation(EMPTY_KMS, { type: 'addUser', userId: 'U1', name: 'alice', now });
      expect(r.ok ? null : r.error.code).toBe(GENERAL_REFUSALS[0]?.code);
    }
  });

  test('selectKey checks no time: at one no cryptoperiod covers it finds no usable key', () => {
    let state = EMPTY_KMS;
    for (const op of [
      { type: 'addUser', userId: 'U1', name: 'alice', now: 0 },
      { type: 'addGroup', groupId: 'G1', name: 'g', policy: EXAMPLE_POLICY, now: 0 },
      { type: 'addMember', groupId: 'G1', userId: 'U1', now: 0 },
      { type: 'addKey', groupId: 'G1', name: 'k', now: 0 },
      { type: 'keyEvent', keyId: 'K2000', event: { type: 'ACTIVATE', now: 0 } },
    ] as const) {
      const r = applyOperation(state, op);
      if (!r.ok) throw r.error;
      state = r.state;
    }
    expect(selectKey(state, 'U1', [], DAY)).toMatchObject({ ok: true });
    for (const now of [Number.NaN, Number.POSITIVE_INFINITY, -1]) {
      const r = selectKey(state, 'U1', [], now);
      expect(r.ok ? null : r.error.code, String(now)).toBe('NoUsableKey');
    }
  });
});
