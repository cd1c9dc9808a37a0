/**
 * Existence checks shared by the rules: an unknown user, group or key is refused with the model's
 * code. Mirrors `getUser`, `getGroup` and `getKey` of `model/kms.ts`.
 * @module
 */
import { KmsError } from '../../../model/kms.ts';
import type { GroupId, KeyId, UserId, UserRecord } from '../../../model/kms.ts';
import type { Database } from '../../db/sqlite.ts';
import { column, readGroup, readKey, readUser } from '../kmsRows.ts';
import type { GroupRow, KeyRow } from '../kmsRows.ts';

/** Throws `error` unless it is null (the model's checks return an error or null). */
export function throwIf(error: KmsError | null): void {
  if (error) throw error;
}

/**
 * The user, or `UnknownUser`. Only the administrator's database asks (a user's replica refuses an
 * unknown recipient in key selection), so the way out is the administrator's list of users.
 */
export function requireUser(db: Database, userId: UserId): UserRecord {
  const user = readUser(db, userId);
  if (!user)
    throw new KmsError('UnknownUser', `no user ${userId}`, 'Check the ID: `sekey admin users` lists the users.');
  return user;
}

/**
 * The group with its members, or `UnknownGroup`. Only the administrator's database asks, as for
 * users; a group it deleted (`retired_groups`) is said so, with its own way out: its ID is never
 * made again (`DuplicateGroup`), so the general advice to make it with `add-group` would not do.
 */
export function requireGroup(db: Database, groupId: GroupId): GroupRow {
  const group = readGroup(db, groupId);
  if (group) return group;
  if (column(db, 'SELECT id FROM retired_groups WHERE id = ?', [groupId]).length > 0)
    throw new KmsError(
      'UnknownGroup',
      `no group ${groupId}: it was deleted`,
      `${groupId} was deleted, and a group ID is never used again (old keys stay attributed to the group ` +
        'that owned them): `sekey admin groups` lists the groups; `sekey admin add-group` makes a new one ' +
        'under an ID not used before.',
    );
  throw new KmsError('UnknownGroup', `no group ${groupId}`);
}

/** The key, or `UnknownKey`. */
export function requireKey(db: Database, keyId: KeyId): KeyRow {
  const key = readKey(db, keyId);
  if (!key) throw new KmsError('UnknownKey', `no key ${keyId}`);
  return key;
}
