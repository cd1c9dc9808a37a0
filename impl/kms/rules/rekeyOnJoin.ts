/**
 * Backward secrecy on join: a newcomer must not read what was protected before it came (as in MLS,
 * RFC 9420, where every Add is committed into a new epoch and the Welcome gives the joiner that
 * epoch's secrets only; the original SEkey gave a joiner every past key).
 *
 * In a group that does not share its history, every active or suspended key that somebody already
 * holds may have protected earlier messages: it is retired for protection (deactivated, NIST SP
 * 800-57 Pt 1 §7 T8 and T12; the earlier members keep it to process what it protected) and, if one
 * was active, a fresh key is activated for everybody, joiner included. The joiner receives only
 * keys that never protected anything: pre-active ones, keys nobody held, and the fresh one. A group
 * that shares its history gives the joiner every key that can still protect and the deactivated
 * ones, without a rekey. Compromised and destroyed keys are never given.
 * @module
 */
import { LIVE_KEY_STATES, sortIds } from '../../../model/kms.ts';
import type { UserId } from '../../../model/kms.ts';
import { readKeys, stateOf } from '../kmsRows.ts';
import type { GroupRow } from '../kmsRows.ts';
import { holdersOf } from './affectedUsers.ts';
import { addHolders } from './holders.ts';
import type { Mutation } from './mutation.ts';
import { activateReplacement } from './newKey.ts';
import { retireKey } from './retire.ts';
import { execute } from '../../db/statementCache.ts';

/**
 * Adds `userId` to `group` with backward secrecy (see the module comment). Mirrors `addMemberNow`
 * of `model/kms.ts`.
 */
export function addMemberAndRekey(m: Mutation, group: GroupRow, userId: UserId): void {
  execute(m.db, 'INSERT INTO memberships (group_id, user_id) VALUES (?, ?)', [group.id, userId]);
  m.changes.affects([...group.members, userId]);
  let rekey = false;
  for (const key of readKeys(m.db, 'owner_group = ?', [group.id])) {
    const state = stateOf(key);
    const shared = group.shareHistory && (LIVE_KEY_STATES.includes(state) || state === 'deactivated');
    const unused =
      state === 'preActivation' || (LIVE_KEY_STATES.includes(state) && holdersOf(m.db, key.id).length === 0);
    if (shared || (!group.shareHistory && unused)) {
      addHolders(m, key.id, [userId]);
    } else if (!group.shareHistory && LIVE_KEY_STATES.includes(state)) {
      // Active or suspended, and held: it may have protected what the joiner must not read. The
      // group key policy's retirement deactivates it (pre-active keys were handled above).
      rekey ||= state === 'active';
      retireKey(m, key);
    }
  }
  if (rekey) activateReplacement(m, { ...group, members: sortIds([...group.members, userId]) }, 'rekey');
}
