/**
 * Properties of the pure KMS model (model/kms.ts) under random operation sequences: the invariants
 * of docs/spec.md that the model alone can state, and smallest-group selection against a brute-force
 * oracle. CI size: SEKEY_RUNS overrides the run counts; a failure prints the seed and path. An operation
 * (for `npm run properties`) is a KMS operation applied to the model, or a key selection.
 */
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { keyLifecycleMachine, newKeyLifecycle } from '../model/keyLifecycle.ts';
import { transition } from 'xstate';
import { EMPTY_KMS, LIVE_KEY_STATES, applyOperation, keyStateOf, projectUser, selectKey } from '../model/kms.ts';
import type { KeyRecord, KmsOperation, KmsState } from '../model/kms.ts';
import { GROUP_IDS, USER_IDS, operationSequence } from './kmsArbitraries.ts';
import { sequenceText, stateText } from './operationText.testkit.ts';
import { expectContains, expectEqual, expectNotContains } from './fastExpect.testkit.ts';
import { PropertyProgress } from './progress.testkit.ts';
import { historyLength } from '../testing/runConfig.ts';
import { buildSelectionState, selectionText } from './selectionText.testkit.ts';
import type { SelectionCase } from './selectionText.testkit.ts';

const progress = new PropertyProgress('kms');

/**
 * The random operations after the bootstrap: 10 to 60 allowed at CI size, of which fast-check's
 * default size draws 10 to 30; scaled by `SEKEY_SCALE` (`--scale`) for depth (`historyLength`).
 */
const randomOperations = () => operationSequence(historyLength(10, 60));

/**
 * A counterexample of the operation-sequence properties in words: the bootstrap's state, then its
 * operations timed from their start, each with what the model made of it (the key it added, the
 * refusal it met), as the messages name keys by ID. The bootstrap makes no key and records no time,
 * so its state is the same whenever it runs.
 */
const opsText = ([ops]: [KmsOperation[]]) => {
  const start = Date.UTC(2026, 0, 1);
  let from: KmsState = EMPTY_KMS;
  for (const op of bootstrap(start)) {
    const result = applyOperation(from, op);
    if (result.ok) from = result.state;
  }
  return `from the bootstrap's state: ${stateText(from, start)}\n${sequenceText(ops, start, from)}`;
};

const bootstrap = (now: number): KmsOperation[] => [
  ...USER_IDS.map((userId): KmsOperation => ({ type: 'addUser', userId, name: userId.toLowerCase(), now })),
  ...GROUP_IDS.map(
    (groupId): KmsOperation => ({
      type: 'addGroup',
      groupId,
      name: groupId,
      policy: { maxKeys: 3, algorithm: 'AES-256-GCM', defaultCryptoperiodMs: 86_400_000 },
      now,
    }),
  ),
  ...[0, 1, 2].map((i): KmsOperation => ({ type: 'addMember', groupId: 'G1', userId: USER_IDS[i] as string, now })),
];

function run(
  ops: readonly KmsOperation[],
  check: (before: KmsState, op: KmsOperation, after: KmsState) => void,
): KmsState {
  let state = EMPTY_KMS;
  let applied = 0;
  try {
    for (const op of ops) {
      const snapshotBefore = JSON.stringify(state);
      applied += 1;
      const result = applyOperation(state, op);
      expectEqual(JSON.stringify(state), snapshotBefore, 'an operation mutated its input');
      if (result.ok) {
        check(state, op, result.state);
        state = result.state;
      }
    }
  } finally {
    // A failing run (and every shrinking run) counts the operations it applied.
    progress.ran(applied);
  }
  return state;
}

/** Every invariant the model itself must keep, checked on one state. */
function checkInvariants(state: KmsState): void {
  for (const key of Object.values(state.keys)) {
    const keyState = keyStateOf(key);
    const group = state.groups[key.owner];
    // Lifecycle legality: the key's history replays on the machine, event by event, to its state.
    let replay = newKeyLifecycle({
      id: key.id,
      cryptoperiodMs: key.lifecycle.context.cryptoperiodMs,
      createdAt: key.lifecycle.context.createdAt,
    });
    for (const event of key.lifecycle.context.history) {
      if (!replay.can(event)) expect.fail(`${key.id}: ${event.type} at ${event.now} is not a step of the machine`);
      [replay] = transition(keyLifecycleMachine, replay, event);
    }
    expectEqual(replay.value, keyState, `${key.id}: its history replays to another state`);
    if (!group) {
      expectEqual(key.holders, [], `${key.id} of a deleted group still has holders`);
      expectNotContains(LIVE_KEY_STATES, keyState, `${key.id} of a deleted group is live`);
      continue;
    }
    // Need-to-know: only members hold a group's keys; every member holds every live key.
    for (const holder of key.holders) expectContains(group.members, holder, `${key.id}'s holders`);
    if (LIVE_KEY_STATES.includes(keyState)) {
      expectEqual(key.holders, group.members, `${key.id}'s holders`);
      // Cryptoperiod never longer than the group's default.
      // Not `>`: a NaN or missing period is no number at most the default, and toBeLessThanOrEqual fails it.
      if (!(key.lifecycle.context.cryptoperiodMs <= group.policy.defaultCryptoperiodMs))
        expect(key.lifecycle.context.cryptoperiodMs).toBeLessThanOrEqual(group.policy.defaultCryptoperiodMs);
    }
    if (keyState === 'destroyed' || keyState === 'destroyedCompromised')
      expectEqual(key.holders, [], `${key.id} is destroyed`);
  }
  for (const group of Object.values(state.groups)) {
    const live = Object.values(state.keys).filter(
      (k) => k.owner === group.id && LIVE_KEY_STATES.includes(keyStateOf(k)),
    );
    if (!(live.length <= group.policy.maxKeys)) expect(live.length).toBeLessThanOrEqual(group.policy.maxKeys);
    for (const member of group.members)
      if (state.users[member] === undefined) expect.fail(`${group.id}'s member ${member} is no user`);
  }
}

describe('KMS model under random operation sequences', () => {
  test('invariants hold after every step, and refused operations change nothing', () => {
    progress.assert(
      fc.property(randomOperations(), (ops) => {
        const start = ops[0] && 'now' in ops[0] ? ops[0].now : Date.UTC(2026, 0, 1);
        run([...bootstrap(start), ...ops], (_before, _op, after) => checkInvariants(after));
      }),
      progress.params(300, opsText),
    );
  });

  test('a projection holds nothing outside the user’s groups', () => {
    progress.assert(
      fc.property(randomOperations(), (ops) => {
        const state = run([...bootstrap(Date.UTC(2026, 0, 1)), ...ops], () => {});
        for (const userId of Object.keys(state.users)) {
          const view = projectUser(state, userId);
          if (view === null) throw new Error('existing user without projection');
          const myGroups = Object.values(state.groups).filter((g) => g.members.includes(userId));
          expectEqual(view.groups.map((g) => g.id).sort(), myGroups.map((g) => g.id).sort(), `${userId}'s groups`);
          const allowedUsers = new Set([userId, ...myGroups.flatMap((g) => g.members)]);
          for (const u of view.users)
            if (!allowedUsers.has(u.id)) expect.fail(`${userId} sees ${u.id}, in none of its groups`);
          for (const k of view.keys) {
            expectContains(
              myGroups.map((g) => g.id),
              k.owner,
              `${userId} holds ${k.id}`,
            );
            expectNotContains(['destroyed', 'destroyedCompromised'], k.state, `${userId} sees ${k.id}`);
          }
        }
      }),
      progress.params(200, opsText),
    );
  });

  test('forward secrecy: after a member leaves, no key it held can encrypt again', () => {
    progress.assert(
      fc.property(randomOperations(), (ops) => {
        // Keys a leaver held, retired when it left: none may become live again at any later step.
        const retired = new Map<string, string>();
        run([...bootstrap(Date.UTC(2026, 0, 1)), ...ops], (before, op, after) => {
          for (const [keyId, leaver] of retired) {
            const state = keyStateOf(after.keys[keyId] as KeyRecord);
            expectNotContains(LIVE_KEY_STATES, state, `${keyId}, held by ${leaver} before it left, live again`);
          }
          if (op.type !== 'removeMember' && op.type !== 'deleteUser') return;
          const groups =
            op.type === 'removeMember'
              ? [op.groupId]
              : Object.values(before.groups)
                  .filter((g) => g.members.includes(op.userId))
                  .map((g) => g.id);
          const heldKeys = Object.values(before.keys).filter(
            (k) => k.holders.includes(op.userId) && groups.includes(k.owner),
          );
          for (const k of heldKeys) {
            const nowKey = after.keys[k.id] as KeyRecord;
            expectNotContains(LIVE_KEY_STATES, keyStateOf(nowKey), `${k.id} still live after ${op.userId} left`);
            retired.set(k.id, op.userId);
          }
        });
      }),
      progress.params(200, opsText),
    );
  });

  test(
    'backward secrecy: a joiner receives no key that could have protected data before it joined, unless the ' +
      'group shares history',
    () => {
      progress.assert(
        fc.property(randomOperations(), (ops) => {
          run([...bootstrap(Date.UTC(2026, 0, 1)), ...ops], (before, op, after) => {
            if (op.type !== 'addMember') return;
            const group = after.groups[op.groupId];
            if (!group) return;
            for (const key of Object.values(after.keys)) {
              if (key.owner !== op.groupId || !key.holders.includes(op.userId)) continue;
              const s = keyStateOf(key);
              expectNotContains(['compromised', 'destroyed', 'destroyedCompromised'], s, `${op.userId} gets ${key.id}`);
              if (!group.shareHistory) expectContains(LIVE_KEY_STATES, s, `${op.userId} gets ${key.id}`);
              expectNotContains(before.keys[key.id]?.holders ?? [], op.userId, `${key.id}'s holders before the join`);
              if (group.shareHistory) continue;
              // Without shared history the joiner holds only keys that nobody could have used before:
              // new ones, pre-active ones, or ones that nobody held.
              const old = before.keys[key.id];
              if (old !== undefined)
                expectEqual(
                  keyStateOf(old) === 'preActivation' || old.holders.length === 0,
                  true,
                  `${key.id} was usable before the join`,
                );
            }
            // …and every key that could protect for the earlier members is retired for protection.
            if (group.shareHistory) return;
            for (const old of Object.values(before.keys)) {
              if (old.owner !== op.groupId || old.holders.length === 0) continue;
              const s = keyStateOf(old);
              if (s === 'active' || s === 'suspended')
                expectNotContains(
                  ['active', 'suspended'],
                  keyStateOf(after.keys[old.id] as KeyRecord),
                  `${old.id} still protects after a join`,
                );
            }
          });
        }),
        progress.params(200, opsText),
      );
    },
  );
});

/**
 * Whether `key` may protect at `now`, written out from the specification's usage table (protect only
 * in `active`, and only within `[activatedAt, expiresAt)`), not read from the model's `canProtect`:
 * with the model's own usage rule in the oracle, a model that let a suspended key encrypt agreed with it.
 */
function protectsAt(key: KeyRecord, now: number): boolean {
  const { activatedAt, expiresAt } = key.lifecycle.context;
  return (
    keyStateOf(key) === 'active' && activatedAt !== null && expiresAt !== null && activatedAt <= now && now < expiresAt
  );
}

/** The brute-force oracle: every usable key of every group containing everyone, best first. */
function oracle(state: KmsState, sender: string, recipients: readonly string[], now: number): string | null {
  const everyone = [sender, ...recipients];
  const candidates = Object.values(state.keys).filter((k) => {
    const g = state.groups[k.owner];
    return g !== undefined && everyone.every((u) => g.members.includes(u)) && protectsAt(k, now);
  });
  if (candidates.length === 0) return null;
  const size = (k: KeyRecord) => (state.groups[k.owner] as { members: readonly string[] }).members.length;
  const smallest = Math.min(...candidates.map(size));
  // The documented tie-break, written out independently of selectKey.ts: latest activation, then
  // latest end of cryptoperiod, then highest key number.
  const rank = (k: KeyRecord): [number, number, number] => [
    k.lifecycle.context.activatedAt as number,
    k.lifecycle.context.expiresAt as number,
    Number(k.id.slice(1)),
  ];
  let best: KeyRecord | null = null;
  for (const k of candidates.filter((c) => size(c) === smallest)) {
    if (best === null) {
      best = k;
      continue;
    }
    const [a, b] = [rank(k), rank(best)];
    if (a[0] > b[0] || (a[0] === b[0] && (a[1] > b[1] || (a[1] === b[1] && a[2] > b[2])))) best = k;
  }
  return (best as KeyRecord).id;
}

describe('smallest-group selection', () => {
  test('equals the brute-force oracle on random group structures', () => {
    const structure = fc.record({
      groups: fc.array(fc.subarray([...USER_IDS], { minLength: 1 }), { minLength: 1, maxLength: 6 }),
      keys: fc.array(
        fc.record({
          group: fc.nat(5),
          activateAt: fc.integer({ min: 0, max: 50 }),
          cryptoperiod: fc.integer({ min: 1, max: 100 }),
          later: fc.constantFrom('none', 'SUSPEND', 'DEACTIVATE', 'COMPROMISE', 'DESTROY', 'never-activated'),
        }),
        { maxLength: 12 },
      ),
      sender: fc.constantFrom(...USER_IDS),
      recipients: fc.subarray([...USER_IDS], { maxLength: 3 }),
      now: fc.integer({ min: 0, max: 160 }),
    });
    progress.assert(
      fc.property(structure, (drawn) => {
        const { sender, recipients, now } = drawn;
        const { state, applied } = buildSelectionState(drawn);
        const result = selectKey(state, sender, recipients, now);
        progress.ran(applied + 1);
        const expected = oracle(state, sender, recipients, now);
        const query = `${sender} → ${recipients.length === 0 ? '(no other recipient)' : recipients.join(', ')}`;
        if (expected === null) {
          expect(result.ok, `${query}: the oracle finds no key, the model chose one`).toBe(false);
          if (!result.ok) expect(['UnknownUser', 'NoCommonGroup', 'NoUsableKey']).toContain(result.error.code);
        } else {
          expect(result.ok && result.selection.keyId, `${query}: the model's choice against the oracle's`).toBe(
            expected,
          );
        }
      }),
      // In words: each key's activation and end of cryptoperiod decide the choice, not the draw's indexes.
      progress.params<[SelectionCase]>(1000, ([drawn]) => selectionText(drawn)),
    );
  });
});
