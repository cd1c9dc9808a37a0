/**
 * Who must hear of a change: the users whose device view (need-to-know, `needToKnow.ts`) a change
 * alters. Mirrors `affectedUsers` of `model/projection.ts`, which compares every user's projection
 * before and after; here each rule names the users it reaches as it makes the change:
 * - a user record (added, renamed, deleted): the user and everyone sharing a group with it;
 * - a group (renamed, policy changed, members changed, deleted): its members, leavers and joiners;
 * - a key (generated, a life-cycle step, renamed, holders changed): its holders, old and new.
 * @module
 */
import { sortIds } from '../../../model/kms.ts';
import type { KeyId, UserId } from '../../../model/kms.ts';
import type { Database } from '../../db/sqlite.ts';
import { column } from '../kmsRows.ts';

/** The users whose devices hold `keyId`. */
export function holdersOf(db: Database, keyId: KeyId): UserId[] {
  return sortIds(column(db, 'SELECT user_id FROM key_holders WHERE key_id = ?', [keyId]).map(String));
}

/** `userId` and everyone sharing a group with it: the devices that hold its record. */
export function viewersOfUser(db: Database, userId: UserId): UserId[] {
  const coMembers = column(
    db,
    'SELECT DISTINCT b.user_id FROM memberships a JOIN memberships b ON a.group_id = b.group_id WHERE a.user_id = ?',
    [userId],
  ).map(String);
  return sortIds(new Set([userId, ...coMembers]));
}
