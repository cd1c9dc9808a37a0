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
 * What the administrator attests may turn out wrong one way only: an HSM forgotten as destroyed may
 * turn up (for sale, say), lost after all. So one forgotten as destroyed keeps, with its record
 * (`forgotten_devices`), the keys it may hold (`forgotten_device_keys`), and it can be forgotten
 * again as lost, which compromises them; one forgotten as lost has had its keys compromised, and
 * forgetting it again either way is refused (`AlreadyForgotten`), as is forgetting one destroyed as
 * destroyed again.
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
  /** `destroyed` when it had been forgotten as destroyed, and is now known lost; null the first time. */
  readonly previously: 'destroyed' | null;
  /**
   * The keys marked compromised (a lost HSM), as `compromise-key` does: those it may hold that were
   * not compromised already; a destroyed one becomes `destroyedCompromised` (a lost HSM may still
   * hold a key destroyed since: what it protected is exposed).
   */
  readonly compromised: readonly KeyId[];
  /** The keys it may hold that were left as they were: `compromised` or `destroyedCompromised` already. */
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
  /**
   * For an HSM forgotten as destroyed already (no other record of it stands), the users it served,
   * as that record names them: it is being forgotten again, as lost. Null otherwise.
   */
  readonly forgottenFor: readonly UserId[] | null;
}

/**
 * The retired HSM that `hsm` names, to forget as `fate`: a serial, or a user ID (the one retired HSM
 * that user had; failing that, the last one forgotten for it). An HSM forgotten as destroyed is found
 * again to be forgotten as lost.
 * @throws SekeyError `UnknownHsm` (no such HSM on record, or the user had none retired), `HsmInService`,
 * `AlreadyForgotten` (forgotten as lost, or as destroyed and `fate` is destroyed), `AmbiguousHsm` (a
 * user ID that served several retired HSMs).
 */
export function findRetiredHsm(db: Database, hsm: string, fate: HsmFate): RetiredHsm {
  const byUser = checkId('user', hsm) === null;
  const serial = byUser ? retiredSerialOf(db, hsm, fate) : hsm;
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
  if (deletedUsers.length === 0 && replaced === undefined) return forgottenHsm(db, serial, fate, byUser ? hsm : null);
  return {
    serial,
    deletedUsers,
    replacedFor: replaced === undefined ? null : String(replaced[0]),
    keysRecorded: replaced === undefined || Number(replaced[1]) === 1,
    forgottenFor: null,
  };
}

/**
 * An HSM with no record but that of its forgetting: to forget again as lost if it was forgotten as
 * destroyed; refused otherwise. Its rows (one per user it served) were written, and are rewritten,
 * together: they agree on its fate.
 */
function forgottenHsm(db: Database, serial: string, fate: HsmFate, userId: UserId | null): RetiredHsm {
  const rows = query(
    db,
    'SELECT user_id, fate, forgotten_at, keys_recorded FROM forgotten_devices WHERE serial = ? ORDER BY user_id',
    [serial],
  );
  const first = rows[0];
  if (first === undefined) throw new SekeyError('UnknownHsm', `no HSM ${serial} on record`);
  if (fate === 'destroyed' || first[1] === 'lost') throw alreadyForgotten(serial, first.slice(1), userId);
  return {
    serial,
    deletedUsers: [],
    replacedFor: null,
    keysRecorded: rows.every((row) => Number(row[3]) === 1),
    forgottenFor: rows.map((row) => String(row[0])),
  };
}

/** The users a retired HSM served, as its records name them (deleted, replaced for, or forgotten for), sorted. */
export function usersServed(hsm: RetiredHsm): UserId[] {
  const users = new Set([...(hsm.forgottenFor ?? []), ...hsm.deletedUsers.map((d) => d.userId)]);
  if (hsm.replacedFor !== null) users.add(hsm.replacedFor);
  return sortIds(users);
}

/** The serial of the one retired HSM `userId` served (deleted, or replaced), or an error saying why there is none. */
function retiredSerialOf(db: Database, userId: UserId, fate: HsmFate): string {
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
  // One forgotten for it: forgotten again as lost if it was destroyed, or refused as done. With
  // several, one of them destroyed, the one to forget as lost is named by its serial: the order they
  // were forgotten in does not tell which is lost, and a command run again after a power cut must
  // not reach an older one. Its HSM in service comes first: that is the one a user ID names now.
  const rows = query(
    db,
    'SELECT serial, fate FROM forgotten_devices WHERE user_id = ? ORDER BY forgotten_at DESC, serial',
    [userId],
  );
  const destroyed = rows.filter((row) => row[1] === 'destroyed').map((row) => String(row[0]));
  const inService = column(db, 'SELECT serial FROM user_devices WHERE user_id = ? AND retired_at IS NULL', [userId])[0];
  if (inService !== undefined) {
    // Say what became of the earlier ones: running forget-hsm again by the ID (after a power cut, or
    // by mistake) otherwise reads as if the HSM it meant had never been forgotten.
    const named = rows.map((row) => `${String(row[0])} (${String(row[1])})`).join(', ');
    const earlier =
      fate === 'lost' && destroyed.length > 0
        ? `; its earlier HSM ${destroyed.sort().join(', ')}, forgotten as destroyed, is named by its serial`
        : rows.length > 0
          ? `; its earlier HSM${rows.length > 1 ? `s ${named} were` : ` ${named} was`} forgotten already`
          : '';
    throw new SekeyError(
      'HsmInService',
      `${userId} has no retired HSM: its HSM ${String(inService)} is in service (only a retired HSM can be ` +
        `forgotten)${earlier}`,
    );
  }
  if (fate === 'lost' && destroyed.length > 0 && rows.length > 1) {
    const named = rows.map((row) => `${String(row[0])} (${String(row[1])})`).join(', ');
    throw new SekeyError(
      'AmbiguousHsm',
      `${userId} has ${rows.length} forgotten HSMs: ${named}; name the one that is lost by its serial`,
    );
  }
  const forgotten = rows[0];
  if (forgotten !== undefined) return String(forgotten[0]);
  throw new SekeyError('UnknownHsm', `${userId} has no retired HSM on record`);
}

function alreadyForgotten(serial: string, [fate, at]: ReadonlyArray<unknown>, userId: UserId | null): SekeyError {
  const whose = userId === null ? `HSM ${serial}` : `${userId}'s HSM ${serial}`;
  const lost = fate === 'lost' ? '' : ' (if it turns out lost, forget it again as lost)';
  return new SekeyError(
    'AlreadyForgotten',
    `${whose} was forgotten already, as ${String(fate)}, at ${new Date(Number(at)).toISOString()}${lost}`,
  );
}

/**
 * Every key a retired HSM may still hold, as the administrator's records say: for a deleted user's
 * HSM, its view (`device_keys`: the keys last published to it, and those dropped since whose erasure
 * it has not acknowledged); for a replaced one, what that view held when it was replaced; for one
 * forgotten as destroyed, what these said when it was forgotten. A superset of what it holds: it may
 * have applied fewer files than were published to it. Sorted by number.
 */
export function keysRetiredHsmMayHold(db: Database, hsm: RetiredHsm): KeyId[] {
  const keys = new Set<KeyId>();
  for (const { userId } of hsm.deletedUsers)
    for (const keyId of column(db, 'SELECT key_id FROM device_keys WHERE user_id = ?', [userId]))
      keys.add(String(keyId));
  for (const table of ['retired_device_keys', 'forgotten_device_keys'])
    for (const keyId of column(db, `SELECT key_id FROM ${table} WHERE serial = ?`, [hsm.serial]))
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
 * done; forgotten as destroyed, with the keys it may hold (`forgotten_device_keys`), for the day it
 * turns out lost. One forgotten as destroyed already is marked lost, and its keys let go (the
 * caller compromised them). Part of the caller's transaction.
 * @returns the IDs of the channel keys the admin HSM holds for it, to erase once this is committed.
 */
export function forgetRetiredHsm(db: Database, hsm: RetiredHsm, fate: HsmFate, now: number): number[] {
  if (hsm.forgottenFor !== null) {
    execute(db, 'UPDATE forgotten_devices SET fate = ?, forgotten_at = ? WHERE serial = ?', [fate, now, hsm.serial]);
    execute(db, 'DELETE FROM forgotten_device_keys WHERE serial = ?', [hsm.serial]);
    return [];
  }
  if (fate === 'destroyed') {
    for (const keyId of keysRetiredHsmMayHold(db, hsm))
      execute(db, 'INSERT INTO forgotten_device_keys (serial, key_id) VALUES (?, ?)', [hsm.serial, keyId]);
  }
  const channelKeys: number[] = [];
  for (const { userId, keyBase } of hsm.deletedUsers) {
    dropDeletedUsersHsm(db, userId);
    channelKeys.push(...Object.values(userKeyIds(keyBase)));
  }
  execute(db, 'DELETE FROM retired_devices WHERE serial = ?', [hsm.serial]);
  execute(db, 'DELETE FROM retired_device_keys WHERE serial = ?', [hsm.serial]);
  for (const userId of usersServed(hsm)) {
    execute(
      db,
      'INSERT OR REPLACE INTO forgotten_devices (serial, user_id, fate, forgotten_at, keys_recorded) ' +
        'VALUES (?, ?, ?, ?, ?)',
      [hsm.serial, userId, fate, now, hsm.keysRecorded ? 1 : 0],
    );
  }
  return channelKeys;
}
