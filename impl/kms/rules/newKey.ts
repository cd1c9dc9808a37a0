/**
 * New keys: generated inside the admin HSM (TRNG), pre-active, held by the group's current members;
 * and the replacement key that the group key policy generates and activates at once.
 * @module
 */
import { newKeyLifecycle } from '../../../model/keyLifecycle.ts';
import type { KeyId } from '../../../model/kms.ts';
import type { KeyCreationCause } from '../adminChanges.ts';
import { writeKey } from '../kmsRows.ts';
import { stepKey } from './stepKey.ts';
import type { GroupRow, KeyRow } from '../kmsRows.ts';
import type { Mutation } from './mutation.ts';
import { execute } from '../../db/statementCache.ts';

/**
 * Generates a pre-active key for `group`, held by its members. Mirrors `allocateKey` of
 * `model/kms.ts` (key IDs are `K` and a counter, as the model's `nextKeyNumber`).
 */
export function insertNewKey(
  m: Mutation,
  group: GroupRow,
  name: string,
  cryptoperiodMs: number,
  cause: KeyCreationCause,
  replaces?: KeyId,
): KeyRow {
  const id = m.generateKey();
  const key: KeyRow = {
    id,
    name,
    owner: group.id,
    algorithm: group.policy.algorithm,
    lifecycle: newKeyLifecycle({ id, cryptoperiodMs, createdAt: m.now }),
  };
  writeKey(m.db, key);
  for (const member of group.members)
    execute(m.db, 'INSERT INTO key_holders (key_id, user_id) VALUES (?, ?)', [id, member]);
  m.changes.created(key, group.members, cause, replaces);
  m.changes.affects(group.members);
  return key;
}

/**
 * A fresh key for the group's current members, activated at once, with the group's default
 * cryptoperiod: the rekey after a member leaves and the replacement of a compromised active key.
 * Mirrors `addReplacementKey` of `model/kms.ts`.
 */
export function activateReplacement(
  m: Mutation,
  group: GroupRow,
  cause: 'rekey' | 'replacement',
  replaces?: KeyId,
): KeyRow {
  const key = insertNewKey(m, group, `replacement in ${group.id}`, group.policy.defaultCryptoperiodMs, cause, replaces);
  const active = stepKey(key, { type: 'ACTIVATE', now: m.now });
  writeKey(m.db, active);
  m.changes.created(active, group.members, cause, replaces);
  return active;
}
