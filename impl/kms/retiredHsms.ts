/**
 * The HSMs the administrator retired, and forgetting them.
 *
 * An HSM is retired when its user is deleted (its record stays in `user_devices`, `retired_at` set,
 * and the publisher owes it one last file, ordering it to erase every key, until it acknowledges
 * it) or when its user is provisioned a replacement (`retired_devices`: nothing is published to it
 * any more, and the keys it holds stay on it, `retired_device_keys`). One that never acknowledges
 * its last file (destroyed, lost, factory-reset before it synced) left its user stale for good and
 * the publisher owing it that file, with nothing the administrator could do about it.
 * {@link forgetRetiredHsm} is that remedy (`Admin.forgetHsm`, `sekey admin forget-hsm`): the
 * administrator attests that the HSM is gone, and every table that tracks it lets go of it.
 *
 * A deleted user's stream itself (`streams`: its sequence and last file's hash) belongs to the user
 * ID, not to the HSM: it stays, marked for a resync, so that a new HSM provisioned for the same ID
 * continues its sequence (file names on the share are never reused) and its first file, a resync,
 * clears what is left of the old stream on the share.
 * @module
 */
import { checkId, sortIds } from '../../model/kms.ts';
import type { KeyId, UserId } from '../../model/kms.ts';
import type { KeyState } from '../../model/keyLifecycle.ts';
import type { AdminChanges } from './adminChanges.ts';
import type { Database } from '../db/sqlite.ts';
import { execute, query } from '../db/statementCache.ts';
import { userKeyIds } from '../protocol/deviceKeyIds.ts';
import { SekeyError } from '../protocol/sekeyError.ts';
import { forgetDeviceView } from './deviceViews.ts';
import { column } from './kmsRows.ts';

/**
 * What the administrator attests of a retired HSM it forgets: `destroyed` (physically, or its key
 * store erased: it holds no key) or `lost` (it may still hold every key it was given).
 */
export type HsmFate = 'destroyed' | 'lost';

/** What forgetting a retired HSM did (`Admin.forgetHsm`). */
export interface ForgottenHsm {
  readonly serial: string;
  /** The users it served whose records it left: deleted users, the user it was replaced for. */
  readonly users: readonly UserId[];
  readonly fate: HsmFate;
  /** The keys marked compromised (a lost HSM): those it may hold that were neither compromised nor destroyed. */
  readonly compromised: readonly KeyId[];
  /**
   * The keys it may hold that were left as they were: compromised already, or destroyed (a lost HSM
   * may still hold a destroyed key: what it protected is exposed all the same).
   */
  readonly skipped: ReadonlyArray<{ readonly keyId: KeyId; readonly state: KeyState }>;
  /**
   * A lost HSM replaced before schema version 7, whose keys were not recorded: the administrator
   * does not know what it holds, and compromised nothing for it.
   */
  readonly keysUnknown: boolean;
  /** What the compromises did: their life-cycle steps and the replacements of active keys. */
  readonly changes: AdminChanges;
}

/** A retired HSM as the administrator's records hold it. */
export interface RetiredHsm {
  readonly serial: string;
  /**
   * The deleted users it served whose records still stand (usually one), each with the index of its
   * channel keys in the admin HSM: their streams are owed a last file until it acknowledges.
   */
  readonly deletedUsers: ReadonlyArray<{ readonly userId: UserId; readonly keyBase: number }>;
  /** The user it served until that user was provisioned a replacement, if it was replaced. */
  readonly replacedFor: UserId | null;
  /**
   * Whether the keys a replaced HSM kept were recorded (always, since schema version 7; not for an
   * HSM replaced before): false means the administrator does not know what it holds.
   */
  readonly keysRecorded: boolean;
}

/**
 * The retired HSM that `hsm` names: a serial, or a user ID (the one retired HSM that user had).
 * @throws SekeyError `UnknownHsm` (no such HSM on record, or the user had none retired), `HsmInService`,
 * `AlreadyForgotten`, `AmbiguousHsm` (a user ID that served several retired HSMs).
 */
export function findRetiredHsm(db: Database, hsm: string): RetiredHsm {
  const serial = checkId('user', hsm) === null ? retiredSerialOf(db, hsm) : hsm;
  const owner = column(db, 'SELECT user_id FROM user_devices WHERE serial = ? AND retired_at IS NULL', [serial])[0];
  if (owner !== undefined) {
    throw new SekeyError(
      'HsmInService',
      `HSM ${serial} is in service for ${String(owner)}: only a retired HSM can be forgotten (provision a ` +
        `replacement for ${String(owner)}, or delete that user, first)`,
    );
  }
  const deletedUsers = query(
    db,
    'SELECT user_id, key_base FROM user_devices WHERE serial = ? AND retired_at IS NOT NULL ORDER BY user_id',
    [serial],
  ).map(([userId, keyBase]) => ({ userId: String(userId), keyBase: Number(keyBase) }));
  const replaced = query(db, 'SELECT user_id, keys_recorded FROM retired_devices WHERE serial = ?', [serial])[0];
  if (deletedUsers.length === 0 && replaced === undefined) {
    const forgotten = query(db, 'SELECT fate, forgotten_at FROM forgotten_devices WHERE serial = ?', [serial])[0];
    if (forgotten !== undefined) throw alreadyForgotten(serial, forgotten);
    throw new SekeyError('UnknownHsm', `no HSM ${serial} on record`);
  }
  return {
    serial,
    deletedUsers,
    replacedFor: replaced === undefined ? null : String(replaced[0]),
    keysRecorded: replaced === undefined || Number(replaced[1]) === 1,
  };
}

/** The serial of the one retired HSM `userId` served (deleted, or replaced), or an error saying why there is none. */
function retiredSerialOf(db: Database, userId: UserId): string {
  const serials = column(
    db,
    `SELECT serial FROM user_devices WHERE user_id = ? AND retired_at IS NOT NULL
     UNION SELECT serial FROM retired_devices WHERE user_id = ? ORDER BY serial`,
    [userId, userId],
  ).map(String);
  if (serials.length > 1) {
    throw new SekeyError(
      'AmbiguousHsm',
      `${userId} has ${serials.length} retired HSMs: ${serials.join(', ')}; name the one to forget by its serial`,
    );
  }
  if (serials.length === 1) return serials[0] as string;
  const forgotten = query(
    db,
    'SELECT serial, fate, forgotten_at FROM forgotten_devices WHERE user_id = ? ORDER BY forgotten_at DESC, serial',
    [userId],
  )[0];
  if (forgotten !== undefined) throw alreadyForgotten(String(forgotten[0]), forgotten.slice(1), userId);
  const inService = column(db, 'SELECT serial FROM user_devices WHERE user_id = ? AND retired_at IS NULL', [userId])[0];
  if (inService !== undefined) {
    throw new SekeyError(
      'HsmInService',
      `${userId} has no retired HSM: its HSM ${String(inService)} is in service (only a retired HSM can be forgotten)`,
    );
  }
  throw new SekeyError('UnknownHsm', `${userId} has no retired HSM on record`);
}

function alreadyForgotten(serial: string, [fate, at]: ReadonlyArray<unknown>, userId?: UserId): SekeyError {
  const whose = userId === undefined ? `HSM ${serial}` : `${userId}'s HSM ${serial}`;
  return new SekeyError(
    'AlreadyForgotten',
    `${whose} was forgotten already, as ${String(fate)}, at ${new Date(Number(at)).toISOString()}`,
  );
}

/**
 * Every key a retired HSM may still hold, as the administrator's records say: for a deleted user's
 * HSM, its view (`device_keys`: the keys last published to it, and those dropped since whose erasure
 * it has not acknowledged); for a replaced one, what that view held when it was replaced. A superset
 * of what it holds: it may have applied fewer files than were published to it. Sorted by number.
 */
export function keysRetiredHsmMayHold(db: Database, hsm: RetiredHsm): KeyId[] {
  const keys = new Set<KeyId>();
  for (const { userId } of hsm.deletedUsers)
    for (const keyId of column(db, 'SELECT key_id FROM device_keys WHERE user_id = ?', [userId]))
      keys.add(String(keyId));
  for (const keyId of column(db, 'SELECT key_id FROM retired_device_keys WHERE serial = ?', [hsm.serial]))
    keys.add(String(keyId));
  return sortIds(keys);
}

/**
 * Drops the record of `userId`'s retired HSM (its user deleted): the publisher owes it nothing any
 * more (its outbox, its publication state and its view go), and `stale` no longer names it. The
 * stream stays, marked for a resync (see the module comment). The caller erases the HSM's channel
 * keys from the admin HSM once this is committed (`Admin.open` erases them if a crash comes first).
 */
export function dropDeletedUsersHsm(db: Database, userId: UserId): void {
  forgetDeviceView(db, userId);
  execute(db, 'DELETE FROM outbox WHERE user_id = ?', [userId]);
  execute(db, 'UPDATE streams SET resync = 1 WHERE user_id = ?', [userId]);
  execute(db, 'DELETE FROM publication WHERE user_id = ?', [userId]);
  execute(db, 'DELETE FROM user_devices WHERE user_id = ? AND retired_at IS NOT NULL', [userId]);
}

/**
 * Forgets a retired HSM: drops every record of it (`user_devices`, and for its deleted users'
 * streams the outbox, publication state and device view; `retired_devices`, `retired_device_keys`)
 * and remembers it as forgotten (`forgotten_devices`), so that forgetting it again is refused as
 * done. Part of the caller's transaction.
 * @returns the IDs of the channel keys the admin HSM holds for it, to erase once this is committed.
 */
export function forgetRetiredHsm(db: Database, hsm: RetiredHsm, fate: HsmFate, now: number): number[] {
  const channelKeys: number[] = [];
  for (const { userId, keyBase } of hsm.deletedUsers) {
    dropDeletedUsersHsm(db, userId);
    channelKeys.push(...Object.values(userKeyIds(keyBase)));
  }
  execute(db, 'DELETE FROM retired_devices WHERE serial = ?', [hsm.serial]);
  execute(db, 'DELETE FROM retired_device_keys WHERE serial = ?', [hsm.serial]);
  const users = new Set(hsm.deletedUsers.map((d) => d.userId));
  if (hsm.replacedFor !== null) users.add(hsm.replacedFor);
  for (const userId of users) {
    execute(db, 'INSERT OR REPLACE INTO forgotten_devices (serial, user_id, fate, forgotten_at) VALUES (?, ?, ?, ?)', [
      hsm.serial,
      userId,
      fate,
      now,
    ]);
  }
  return channelKeys;
}
