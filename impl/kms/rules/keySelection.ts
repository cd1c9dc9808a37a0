/**
 * Smallest-group key selection over a device's replica: which key a sender uses to encrypt for a
 * set of recipients (the SEkey paper §IV-F; the original's `sekey_find_key_v1`/`v3`). Among the
 * groups containing the sender and every recipient that own a usable key, the smallest wins; among
 * the usable keys of the groups of that size, the most recently activated, then the one whose
 * cryptoperiod ends last, then the highest key number. Mirrors `selectKey`, `compareKeyPreference`
 * and `canProtect` of `model/selectKey.ts` (read there why this tie-break and this fallback).
 * @module
 */
import { keyUsageAt } from '../../../model/keyLifecycle.ts';
import { KmsError, compareIds } from '../../../model/kms.ts';
import type { GroupId, KeySelection, UserId } from '../../../model/kms.ts';
import type { Database } from '../../db/sqlite.ts';
import { column, readKeys, stateOf } from '../kmsRows.ts';
import type { KeyRow } from '../kmsRows.ts';
import { query } from '../../db/statementCache.ts';

/** Whether `key` may encrypt at `now`: active and within its cryptoperiod. Mirrors `canProtect`. */
export function canProtect(key: KeyRow, now: number): boolean {
  return keyUsageAt(stateOf(key), key.lifecycle.context, now).protect;
}

/** Orders usable keys, preferred first. Mirrors `compareKeyPreference`. */
export function compareKeyPreference(a: KeyRow, b: KeyRow): number {
  // Only keys that can protect are compared, and those have been activated: both times are set.
  const ca = a.lifecycle.context as { activatedAt: number; expiresAt: number };
  const cb = b.lifecycle.context as { activatedAt: number; expiresAt: number };
  return cb.activatedAt - ca.activatedAt || cb.expiresAt - ca.expiresAt || compareIds(b.id, a.id);
}

/** The preferred usable key among the keys of `groupIds` at `now`, if any. */
export function preferredKey(db: Database, groupIds: readonly GroupId[], now: number): KeyRow | undefined {
  return readKeys(db, `owner_group IN (${groupIds.map(() => '?').join(', ')})`, [...groupIds])
    .filter((k) => canProtect(k, now))
    .sort(compareKeyPreference)[0];
}

/**
 * The key `sender` uses for `recipients` at `now`, read from the database of `sender`'s device
 * (which holds only the sender's groups, their members and its keys). Refuses as the model does:
 * `UnknownUser` for a recipient the sender cannot know, `NoCommonGroup`, `NoUsableKey`.
 * Mirrors `selectKey`.
 */
export function selectKeyInDatabase(
  db: Database,
  sender: UserId,
  recipients: readonly UserId[],
  now: number,
): KeySelection {
  const known = new Set(column(db, 'SELECT id FROM users').map(String));
  for (const r of recipients) {
    if (r !== sender && !known.has(r)) throw new KmsError('UnknownUser', `${sender} shares no group with ${r}`);
  }
  const everyone = [...new Set([sender, ...recipients])];
  const marks = everyone.map(() => '?').join(', ');
  // Groups containing everyone, smallest first; a group's size is its member count.
  const groups = query(
    db,
    `SELECT g.id, (SELECT count(*) FROM memberships a WHERE a.group_id = g.id) AS size
       FROM kms_groups g
      WHERE (SELECT count(*) FROM memberships m WHERE m.group_id = g.id AND m.user_id IN (${marks})) = ?
      ORDER BY size`,
    [...everyone, everyone.length],
  ) as Array<[string, number]>;
  if (groups.length === 0)
    throw new KmsError('NoCommonGroup', `no group contains ${sender} and ${recipients.join(', ')}`);
  for (const size of new Set(groups.map(([, s]) => s))) {
    const best = preferredKey(
      db,
      groups.filter(([, s]) => s === size).map(([id]) => id),
      now,
    );
    if (best) return { keyId: best.id, groupId: best.owner };
  }
  throw new KmsError('NoUsableKey', `no active key in ${groups.map(([id]) => id).join(', ')}`);
}
