/**
 * Holders: which users' devices must hold a key (the model's `KeyRecord.holders`, here the
 * `key_holders` table). Every change is recorded, and the users it reaches are affected.
 * @module
 */
import type { KeyId, UserId } from '../../../model/kms.ts';
import { holdersOf } from './affectedUsers.ts';
import type { Mutation } from './mutation.ts';
import { execute } from '../../db/statementCache.ts';

/** `users` must now hold `keyId`. */
export function addHolders(m: Mutation, keyId: KeyId, users: readonly UserId[]): void {
  for (const u of users) execute(m.db, 'INSERT INTO key_holders (key_id, user_id) VALUES (?, ?)', [keyId, u]);
  m.changes.holdersGained(keyId, users);
  m.changes.affects(users);
}

/** `users` (default: every holder) must no longer hold `keyId`. */
export function dropHolders(m: Mutation, keyId: KeyId, users?: readonly UserId[]): void {
  const present = holdersOf(m.db, keyId);
  const gone = users === undefined ? present : present.filter((u) => users.includes(u));
  for (const u of gone) execute(m.db, 'DELETE FROM key_holders WHERE key_id = ? AND user_id = ?', [keyId, u]);
  m.changes.holdersLost(keyId, gone);
  m.changes.affects(gone);
}
