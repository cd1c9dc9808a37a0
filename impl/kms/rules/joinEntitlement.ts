/**
 * Backward secrecy on join: a new member's device receives only the group's keys that can still
 * protect — pre-active, active, suspended — plus deactivated ones if the group shares its history;
 * never compromised or destroyed ones.
 * @module
 */
import { LIVE_KEY_STATES } from '../../../model/kms.ts';
import type { UserId } from '../../../model/kms.ts';
import type { KeyState } from '../../../model/keyLifecycle.ts';
import { readKeys, stateOf } from '../kmsRows.ts';
import type { GroupRow } from '../kmsRows.ts';
import { addHolders } from './holders.ts';
import type { Mutation } from './mutation.ts';

/** Whether a joining member gets a key in `state`. */
export function entitledOnJoin(state: KeyState, shareHistory: boolean): boolean {
  return LIVE_KEY_STATES.includes(state) || (shareHistory && state === 'deactivated');
}

/** Adds `userId` to `group` with the keys it is entitled to. Mirrors the `addMember` case of `applyOperation` in `model/kms.ts`. */
export function addMemberWithKeys(m: Mutation, group: GroupRow, userId: UserId): void {
  m.db.run('INSERT INTO memberships (group_id, user_id) VALUES (?, ?)', [group.id, userId]);
  m.changes.affects([...group.members, userId]);
  for (const key of readKeys(m.db, 'owner_group = ?', [group.id])) {
    if (entitledOnJoin(stateOf(key), group.shareHistory)) addHolders(m, key.id, [userId]);
  }
}
