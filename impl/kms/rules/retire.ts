/**
 * Retirement: what the group key policy does to a key that could still protect when its group
 * loses a member or is deleted. Pre-active keys are destroyed (NIST SP 800-57 Pt 1 §7, T2), active
 * and suspended ones deactivated (T8, T12); other keys are left as they are.
 * @module
 */
import { DESTROYED_KEY_STATES, LIVE_KEY_STATES } from '../../../model/kms.ts';
import { stateOf, writeKey } from '../kmsRows.ts';
import { stepKey } from './stepKey.ts';
import type { KeyRow } from '../kmsRows.ts';
import { holdersOf } from './affectedUsers.ts';
import { dropHolders } from './holders.ts';
import type { Mutation } from './mutation.ts';

/** The key retired at `now`, or the same key if it cannot protect any more. Mirrors `retire` of `model/kms.ts`. */
export function retire(key: KeyRow, now: number): KeyRow {
  const s = stateOf(key);
  if (!LIVE_KEY_STATES.includes(s)) return key;
  return stepKey(key, { type: s === 'preActivation' ? 'DESTROY' : 'DEACTIVATE', now });
}

/**
 * Retires `key` and writes it. A destroyed key loses its holders and is erased from the admin HSM
 * after the commit (the model's `stepKey` empties the holders of a destroyed key).
 */
export function retireKey(m: Mutation, key: KeyRow): KeyRow {
  const retired = retire(key, m.now);
  if (retired === key) return key;
  writeKey(m.db, retired);
  m.changes.transition(key, retired, 'retirement', m.now);
  m.changes.affects(holdersOf(m.db, key.id));
  if (DESTROYED_KEY_STATES.includes(stateOf(retired))) {
    dropHolders(m, key.id);
    m.eraseAfterCommit(key.id);
  }
  return retired;
}
