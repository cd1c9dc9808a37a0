/**
 * The broken variants of the secrecy invariants: membership changes without the rekey, in the
 * model and in the implementation alike, as the original SEkey did (no rotation when a member
 * leaves; a joiner gets every key that can still protect). Model and implementation then agree —
 * readability holds, the admin's view equals the model's — and only the ledger's forward and
 * backward secrecy can tell. Test support only: the implementation's variant replaces
 * `impl/kms/rules/rekeyOnLeave.ts` / `rekeyOnJoin.ts` through `vi.mock` in the test files that run
 * these mutants ({@link switchedRekeyOnLeave}, {@link switchedRekeyOnJoin}), and only while
 * {@link BROKEN_REKEY} says so.
 * @module
 */
import { LIVE_KEY_STATES, applyOperation, expireKeys, keyStateOf, sortIds } from '../../model/kms.ts';
import type { KmsOperation, KmsResult, KmsState, UserId } from '../../model/kms.ts';
import { readKeys, stateOf } from '../../impl/kms/kmsRows.ts';
import type { GroupRow } from '../../impl/kms/kmsRows.ts';
import { addHolders, dropHolders } from '../../impl/kms/rules/holders.ts';
import type { Mutation } from '../../impl/kms/rules/mutation.ts';

/** Which rekey the implementation skips now (set by the deployment of a mutant run). */
export const BROKEN_REKEY: { leave: boolean; join: boolean } = { leave: false, join: false };

/** The implementation's removal without the rekey: the leaver is dropped, the keys stay as they were. */
export function removeMemberWithoutRekey(m: Mutation, group: GroupRow, userId: UserId): void {
  const keys = readKeys(m.db, 'owner_group = ?', [group.id]);
  m.db.run('DELETE FROM memberships WHERE group_id = ? AND user_id = ?', [group.id, userId]);
  m.changes.affects(group.members);
  for (const key of keys) dropHolders(m, key.id, [userId]);
}

/** The implementation's join without the rekey: the joiner holds every key that can still protect. */
export function addMemberWithoutRekey(m: Mutation, group: GroupRow, userId: UserId): void {
  m.db.run('INSERT INTO memberships (group_id, user_id) VALUES (?, ?)', [group.id, userId]);
  m.changes.affects([...group.members, userId]);
  for (const key of readKeys(m.db, 'owner_group = ?', [group.id])) {
    const state = stateOf(key);
    if (LIVE_KEY_STATES.includes(state) || (group.shareHistory && state === 'deactivated'))
      addHolders(m, key.id, [userId]);
  }
}

/**
 * The model's operation under the broken rule: validated by the model, then carried out without
 * the rekey (a user's deletion first leaves each of its groups so).
 */
export function applyWithoutRekey(
  state: KmsState,
  op: KmsOperation,
  broken: { readonly leave: boolean; readonly join: boolean },
): KmsResult {
  const checked = applyOperation(state, op);
  if (!checked.ok) return checked;
  if (broken.join && op.type === 'addMember')
    return { ok: true, state: joinWithoutRekey(state, op.groupId, op.userId, op.now) };
  if (broken.leave && op.type === 'removeMember')
    return { ok: true, state: leaveWithoutRekey(state, op.groupId, op.userId, op.now) };
  if (broken.leave && op.type === 'deleteUser') {
    let left = state;
    for (const group of Object.values(state.groups))
      if (group.members.includes(op.userId)) left = leaveWithoutRekey(left, group.id, op.userId, op.now);
    return applyOperation(left, op);
  }
  return checked;
}

function leaveWithoutRekey(state: KmsState, groupId: string, userId: UserId, now: number): KmsState {
  const swept = expireKeys(state, now);
  const group = swept.groups[groupId];
  if (!group) throw new Error('leaveWithoutRekey: the model accepted a removal from a missing group');
  const keys = { ...swept.keys };
  for (const key of Object.values(swept.keys)) {
    if (key.owner === groupId && key.holders.includes(userId))
      keys[key.id] = { ...key, holders: key.holders.filter((h) => h !== userId) };
  }
  const members = group.members.filter((u) => u !== userId);
  return { ...swept, keys, groups: { ...swept.groups, [groupId]: { ...group, members } } };
}

function joinWithoutRekey(state: KmsState, groupId: string, userId: UserId, now: number): KmsState {
  const swept = expireKeys(state, now);
  const group = swept.groups[groupId];
  if (!group) throw new Error('joinWithoutRekey: the model accepted a join to a missing group');
  const keys = { ...swept.keys };
  for (const key of Object.values(swept.keys)) {
    if (key.owner !== groupId) continue;
    const s = keyStateOf(key);
    if (LIVE_KEY_STATES.includes(s) || (group.shareHistory && s === 'deactivated'))
      keys[key.id] = { ...key, holders: sortIds([...key.holders, userId]) };
  }
  const members = sortIds([...group.members, userId]);
  return { ...swept, keys, groups: { ...swept.groups, [groupId]: { ...group, members } } };
}

/** What `vi.mock` puts in place of `impl/kms/rules/rekeyOnLeave.ts`: the real rule unless switched. */
export function switchedRekeyOnLeave(real: typeof import('../../impl/kms/rules/rekeyOnLeave.ts')) {
  return {
    ...real,
    removeMemberAndRekey: (m: Mutation, group: GroupRow, userId: UserId) =>
      (BROKEN_REKEY.leave ? removeMemberWithoutRekey : real.removeMemberAndRekey)(m, group, userId),
  };
}

/** What `vi.mock` puts in place of `impl/kms/rules/rekeyOnJoin.ts`: the real rule unless switched. */
export function switchedRekeyOnJoin(real: typeof import('../../impl/kms/rules/rekeyOnJoin.ts')) {
  return {
    ...real,
    addMemberAndRekey: (m: Mutation, group: GroupRow, userId: UserId) =>
      (BROKEN_REKEY.join ? addMemberWithoutRekey : real.addMemberAndRekey)(m, group, userId),
  };
}

/**
 * The same two `vi.mock` calls, as source for a test file in `reports/` (a reproduction of a run
 * against one of these mutants).
 */
export const RULE_MOCKS_SOURCE = `vi.mock('../impl/kms/rules/rekeyOnLeave.ts', async (importOriginal) =>
  (await import('../properties/deployment/brokenRekey.testkit.ts')).switchedRekeyOnLeave(await importOriginal()),
);
vi.mock('../impl/kms/rules/rekeyOnJoin.ts', async (importOriginal) =>
  (await import('../properties/deployment/brokenRekey.testkit.ts')).switchedRekeyOnJoin(await importOriginal()),
);
`;
