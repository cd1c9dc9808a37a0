/**
 * Forward secrecy on leave: when a member leaves a group (removed, or deleted as a user), every key
 * of the group that could still protect is retired and, if the group had an active key, a fresh
 * one is activated for the remaining members. The leaver's device is sent erase orders for the old
 * keys (`deviceViews.ts`), but its host may skip them, and the leaver had the keys anyway: what
 * protects the group is that nothing new is encrypted under them. The original never rotates (W6).
 * @module
 */
import type { UserId } from '../../../model/kms.ts';
import { readKeys, stateOf } from '../kmsRows.ts';
import type { GroupRow } from '../kmsRows.ts';
import { dropHolders } from './holders.ts';
import type { Mutation } from './mutation.ts';
import { activateReplacement } from './newKey.ts';
import { retireKey } from './retire.ts';
import { execute } from '../../db/statementCache.ts';

/** Removes `userId` from `group` and rekeys it. Mirrors `removeMemberNow` of `model/kms.ts`. */
export function removeMemberAndRekey(m: Mutation, group: GroupRow, userId: UserId): void {
  const keys = readKeys(m.db, 'owner_group = ?', [group.id]);
  const hadActive = keys.some((k) => stateOf(k) === 'active');
  execute(m.db, 'DELETE FROM memberships WHERE group_id = ? AND user_id = ?', [group.id, userId]);
  m.changes.affects(group.members);
  for (const key of keys) dropHolders(m, key.id, [userId]);
  for (const key of keys) retireKey(m, key);
  if (hadActive) activateReplacement(m, { ...group, members: group.members.filter((u) => u !== userId) }, 'rekey');
}
