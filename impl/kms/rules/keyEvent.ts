/**
 * A life-cycle event asked for by the administrator, and replacement on compromise: compromising an
 * active key activates a fresh key for its group at once; the group's other keys are left alone
 * (they are not suspect). A destroyed key loses its holders and is erased from the admin HSM after
 * the commit.
 * @module
 */
import { DESTROYED_KEY_STATES } from '../../../model/kms.ts';
import type { KeyEventType } from '../../../model/keyLifecycle.ts';
import { readGroup, stateOf, writeKey } from '../kmsRows.ts';
import { stepKey } from './stepKey.ts';
import type { KeyRow } from '../kmsRows.ts';
import { holdersOf } from './affectedUsers.ts';
import { dropHolders } from './holders.ts';
import type { Mutation } from './mutation.ts';
import { activateReplacement } from './newKey.ts';

/** Sends `type` to `key`'s machine. Mirrors the `keyEvent` case of `applyOperation` in `model/kms.ts`. */
export function applyKeyEvent(m: Mutation, key: KeyRow, type: KeyEventType): void {
  const next = stepKey(key, { type, now: m.now });
  writeKey(m.db, next);
  m.changes.transition(key, next, 'event', m.now);
  m.changes.affects(holdersOf(m.db, key.id));
  if (DESTROYED_KEY_STATES.includes(stateOf(next))) {
    dropHolders(m, key.id);
    if (!DESTROYED_KEY_STATES.includes(stateOf(key))) m.eraseAfterCommit(key.id);
  }
  const group = readGroup(m.db, key.owner);
  if (type === 'COMPROMISE' && stateOf(key) === 'active' && group) activateReplacement(m, group, 'replacement', key.id);
}
