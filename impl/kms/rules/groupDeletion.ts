/**
 * Deleting a group: its keys that could still protect are retired (the original's B1 left them
 * active), every member's device drops the group and all its keys, and the group ID is never
 * reused; the metadata stays for audit.
 * @module
 */
import { readKeys } from '../kmsRows.ts';
import type { GroupRow } from '../kmsRows.ts';
import { dropHolders } from './holders.ts';
import type { Mutation } from './mutation.ts';
import { retireKey } from './retire.ts';
import { execute } from '../../db/statementCache.ts';

/** Deletes `group`, retiring its keys. Mirrors the `deleteGroup` case of `applyOperation` in `model/kms.ts`. */
export function deleteGroupAndRetireKeys(m: Mutation, group: GroupRow): void {
  m.changes.affects(group.members);
  for (const key of readKeys(m.db, 'owner_group = ?', [group.id])) {
    retireKey(m, key);
    dropHolders(m, key.id);
  }
  execute(m.db, 'DELETE FROM kms_groups WHERE id = ?', [group.id]);
  execute(m.db, 'INSERT INTO retired_groups (id) VALUES (?)', [group.id]);
}
