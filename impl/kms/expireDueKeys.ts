/**
 * Expiry over SQL: the end of a cryptoperiod is an explicit `EXPIRE` (NIST SP 800-57 Pt 1 §7, T8 and
 * T12), taken by the key life-cycle machine for every due key before any operation at `now`.
 * Mirrors `expireKeys` of `model/kms.ts`.
 * @module
 */
import type { KeyId } from '../../model/kms.ts';
import type { Database } from '../db/sqlite.ts';
import { readKey, readKeys, stepKey, writeKey } from './kmsRows.ts';
import type { KeyRow } from './kmsRows.ts';

/** Keys whose cryptoperiod has ended by `now` and that the machine would expire. */
export function dueKeys(db: Database, now: number): KeyId[] {
  return readKeys(db, "state IN ('active', 'suspended') AND expires_at <= ?", [now])
    .filter((k) => k.lifecycle.can({ type: 'EXPIRE', now }))
    .map((k) => k.id);
}

/** Expires every due key (NIST T8/T12), each stamped with its own end of cryptoperiod by the machine. */
export function expireDueKeys(db: Database, now: number): KeyId[] {
  const due = dueKeys(db, now);
  for (const id of due) writeKey(db, stepKey(readKey(db, id) as KeyRow, { type: 'EXPIRE', now }));
  return due;
}
