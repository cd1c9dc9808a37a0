/**
 * Expiry: the end of a cryptoperiod is an explicit `EXPIRE` (NIST SP 800-57 Pt 1 §7, T8 and T12),
 * taken by the key life-cycle machine for every due key before any operation at `now`, and stamped
 * by the machine with the key's own end of cryptoperiod. Mirrors `expireKeys` of `model/kms.ts`.
 *
 * Only operations that change the KMS commit an expiry; a read shows keys as an expiry at its time
 * would leave them ({@link keyAsOf}) without writing anything.
 * @module
 */
import { KEY_STATES, KEY_TRANSITIONS } from '../../../model/keyLifecycle.ts';
import type { KeyId } from '../../../model/kms.ts';
import type { Database } from '../../db/sqlite.ts';
import type { ChangeRecorder } from '../adminChanges.ts';
import { readKeys, writeKey } from '../kmsRows.ts';
import { stepKey } from './stepKey.ts';
import type { KeyRow } from '../kmsRows.ts';
import { holdersOf } from './affectedUsers.ts';

/** States the machine can leave by `EXPIRE` (a narrowing for SQL; the machine has the last word). */
const EXPIRABLE_STATES = KEY_STATES.filter((s) => KEY_TRANSITIONS[s].EXPIRE !== undefined);

function dueRows(db: Database, now: number): KeyRow[] {
  return readKeys(db, `state IN (${EXPIRABLE_STATES.map(() => '?').join(', ')}) AND expires_at <= ?`, [
    ...EXPIRABLE_STATES,
    now,
  ]).filter((k) => k.lifecycle.can({ type: 'EXPIRE', now }));
}

/** Keys whose cryptoperiod has ended by `now` and that the machine would expire. */
export function dueKeys(db: Database, now: number): KeyId[] {
  return dueRows(db, now).map((k) => k.id);
}

/**
 * Expires every due key (NIST T8/T12), each stamped with its own end of cryptoperiod by the
 * machine; records each step and its holders in `changes`, if given.
 * @returns the IDs of the keys it expired.
 */
export function expireDueKeys(db: Database, now: number, changes?: ChangeRecorder): KeyId[] {
  const due = dueRows(db, now);
  for (const key of due) {
    const expired = stepKey(key, { type: 'EXPIRE', now });
    writeKey(db, expired);
    changes?.transition(key, expired, 'expiry', expired.lifecycle.context.deactivatedAt ?? now);
    changes?.affects(holdersOf(db, key.id));
  }
  return due.map((k) => k.id);
}

/** `key` as the expiry at `now` would leave it: what a read shows, nothing written. */
export function keyAsOf(key: KeyRow, now: number): KeyRow {
  const event = { type: 'EXPIRE', now } as const;
  return key.lifecycle.can(event) ? stepKey(key, event) : key;
}
