/**
 * Group policy checks: `maxKeys` bounds the keys that can still protect (the original's B4 never
 * enforced it), and a key's cryptoperiod is at most its group's default.
 * @module
 */
import { KmsError, LIVE_KEY_STATES } from '../../../model/kms.ts';
import type { GroupId, GroupPolicy } from '../../../model/kms.ts';
import { cryptoperiodTooLong, liveKeyOutlastsPolicy } from '../../../model/kmsError.ts';
import type { Database } from '../../db/sqlite.ts';
import { readKeys, stateOf } from '../kmsRows.ts';
import type { GroupRow, KeyRow } from '../kmsRows.ts';

/** The group's keys that can still protect. Mirrors `countLiveKeys` of `model/kms.ts`. */
function liveKeysOf(db: Database, groupId: GroupId): KeyRow[] {
  return readKeys(db, 'owner_group = ?', [groupId]).filter((k) => LIVE_KEY_STATES.includes(stateOf(k)));
}

/**
 * Checks a new key of `group` against its policy; returns its cryptoperiod (default: the group's).
 * Mirrors the checks of the `addKey` case of `applyOperation` in `model/kms.ts`.
 */
export function checkNewKey(db: Database, group: GroupRow, requestedMs: number | undefined): number {
  const cryptoperiodMs = requestedMs ?? group.policy.defaultCryptoperiodMs;
  if (!Number.isSafeInteger(cryptoperiodMs) || cryptoperiodMs < 1) {
    throw new KmsError('InvalidCryptoperiod', `cryptoperiodMs must be a positive integer, got ${cryptoperiodMs}`);
  }
  if (cryptoperiodMs > group.policy.defaultCryptoperiodMs) {
    throw cryptoperiodTooLong(group.id, cryptoperiodMs, group.policy.defaultCryptoperiodMs);
  }
  const live = liveKeysOf(db, group.id).length;
  if (live >= group.policy.maxKeys) {
    throw new KmsError('MaxKeysReached', `group ${group.id} already has ${live} of ${group.policy.maxKeys} keys`);
  }
  return cryptoperiodMs;
}

/**
 * Refuses a policy that the group's live keys would break (`PolicyConflict`). Mirrors the checks of
 * the `changePolicy` case of `applyOperation` in `model/kms.ts`.
 */
export function checkPolicyChange(db: Database, groupId: GroupId, policy: GroupPolicy): void {
  const live = liveKeysOf(db, groupId);
  if (live.length > policy.maxKeys) {
    throw new KmsError(
      'PolicyConflict',
      `group ${groupId} has ${live.length} live keys, more than maxKeys ${policy.maxKeys}`,
    );
  }
  const tooLong = live.find((k) => k.lifecycle.context.cryptoperiodMs > policy.defaultCryptoperiodMs);
  if (tooLong) {
    throw liveKeyOutlastsPolicy(tooLong.id, tooLong.lifecycle.context.cryptoperiodMs, policy.defaultCryptoperiodMs);
  }
}
