/**
 * Getting the administrator's decisions onto user devices: provisioning a user's HSM, and knowing
 * which device a user has. What each device must hold is `rules/needToKnow.ts`; the publisher turns
 * it into update files.
 *
 * The admin host never sees a key: each key leaves the admin HSM only as an AES-KW blob (RFC 3394)
 * under the wrapping key that the two HSMs derived together at provisioning, and only the user's
 * HSM can unwrap it. Erase orders are sealed by the admin HSM under the admin→user channel key,
 * which the user's HSM can open but not produce, so the user's own host cannot forge one (the
 * original let any user-level session delete keys, W5).
 * @module
 */
import { provisionUserDevice } from '../../device/provisioning.ts';
import type { SecubeDevice } from '../../device/secube.ts';
import type { KeyId, UserId } from '../../model/kms.ts';
import { compareIds } from '../../model/kmsState.ts';
import type { Admin } from './admin.ts';
import type { Database } from '../db/sqlite.ts';
import { isKmsDeviceKey, userKeyIds } from '../protocol/deviceKeyIds.ts';
import { forgetDeviceView } from './deviceViews.ts';
import { dropDeletedUsersHsm } from './retiredHsms.ts';
import { column, readUser } from './kmsRows.ts';
import { requireUser } from './rules/require.ts';
import { SekeyError } from '../protocol/sekeyError.ts';
import { execute, query } from '../db/statementCache.ts';

/** What a user device learns at provisioning: whom to trust and which key IDs to use. */
export interface ProvisioningRecord {
  readonly userId: UserId;
  readonly adminSerial: string;
  readonly userSerial: string;
  readonly keyIds: {
    readonly adminToUserKeyId: number;
    readonly userToAdminKeyId: number;
    readonly wrappingKeyId: number;
  };
  /** Identity fingerprints, to compare out of band (both screens show them). */
  readonly adminFingerprint: string;
  readonly userFingerprint: string;
}

/**
 * Provisions `userDevice` for `userId` (both HSMs in admin sessions, side by side, as the original's
 * `sekey_init_user_SEcube`, but no key ever crosses the host in clear: W3). Provisioning again
 * replaces the user's device; the old one is retired: its channel keys leave the admin HSM and its
 * undelivered files the outbox, so it learns no key created from then on, nor any change of the
 * keys it holds. It keeps those keys, as a lost or stolen device does: replacing a device rekeys
 * nothing, so the old one opens everything protected under them, data that others protect under
 * them later included, for as long as they stay in `active` (and protects under them itself while
 * its view is fresh). To stop new data reaching it, deactivate or compromise the keys it held
 * ({@link keysHeldByDevice}, read before the replacement; `sekey admin provision` lists them) or
 * remove the user from the groups, which rekeys them; what is already under them it can read.
 * That includes a deleted user's device whose last file, the erase order, was still in the outbox
 * when the ID was provisioned again: the file leaves the outbox (a copy already on the share stays
 * until the next publication's resync clears the stream, and the device may still fetch it).
 *
 * Each provisioning takes a fresh index for its keys (`userKeyIds`), never the user's current one:
 * the keys are installed before the commit, and a commit lost to a power cut must leave the device
 * in service with its own channel keys, not overwritten ones (it would refuse every new file as
 * forged, and its acknowledgements would no longer verify). The old device's keys are erased from
 * the admin HSM once the replacement is committed; a crash in between leaves them to `Admin.open`.
 * So the HSM to provision must be a new one or a factory-reset one, and one that is not is refused
 * (`DeviceInUse`, {@link refuseDeviceInUse}).
 */
export function provisionUser(admin: Admin, userId: UserId, userDevice: SecubeDevice): ProvisioningRecord {
  const provisioned = admin.transaction('provisionUser', { userId, serial: userDevice.serial }, (db, now) => {
    requireUser(db, userId);
    const existing = column(db, 'SELECT key_base FROM user_devices WHERE user_id = ?', [userId])[0];
    const index = Number(column(db, 'SELECT coalesce(max(key_base) + 1, 0) FROM user_devices')[0]);
    const keyIds = userKeyIds(index);
    // The admin's own HSM is refused by the provisioning itself (BadArgument), not as one in use.
    if (userDevice.serial !== admin.device.serial) refuseDeviceInUse(db, userId, userDevice);
    // Replacing: the fresh index may hold the keys of an attempt whose commit a power cut lost, on
    // the user's device (and on the admin's until `Admin.open` erased them), which would otherwise
    // refuse this one for good.
    const result = provisionUserDevice(admin.device, userDevice, keyIds, { replace: true });
    if (existing !== undefined) {
      // The old HSM is retired, unless it is this one again or in service for another user since
      // (factory-reset). It keeps the keys its view says it may hold: recorded, so that forgetting
      // it as lost (`Admin.forgetHsm`) compromises them.
      const retiring =
        'WHERE d.user_id = ? AND d.serial <> ? AND ' +
        'd.serial NOT IN (SELECT serial FROM user_devices WHERE user_id <> ? AND retired_at IS NULL)';
      const params = [userId, userDevice.serial, userId];
      execute(
        db,
        'INSERT OR IGNORE INTO retired_device_keys (serial, key_id) SELECT d.serial, k.key_id FROM user_devices d ' +
          `JOIN device_keys k ON k.user_id = d.user_id ${retiring}`,
        params,
      );
      execute(
        db,
        'INSERT OR REPLACE INTO retired_devices (serial, user_id, retired_at, keys_recorded) ' +
          `SELECT d.serial, d.user_id, ?, 1 FROM user_devices d ${retiring}`,
        [now, ...params],
      );
      // A new device holds nothing yet: every key must be delivered again, by a resync that
      // continues the stream's sequence (the new device accepts any sequence for a resync).
      forgetDeviceView(db, userId);
      execute(db, 'DELETE FROM outbox WHERE user_id = ?', [userId]);
      execute(db, 'UPDATE streams SET resync = 1 WHERE user_id = ?', [userId]);
    }
    // A deleted user's retired HSM provisioned for someone else: refuseDeviceInUse made sure it was
    // factory-reset, so it will never apply that user's last file; its record goes, as if forgotten
    // as destroyed (`retiredHsms.ts`), or the deleted user stayed stale for good.
    const reset = query(
      db,
      'SELECT user_id, key_base FROM user_devices WHERE serial = ? AND retired_at IS NOT NULL AND user_id <> ?',
      [userDevice.serial, userId],
    );
    for (const [deleted] of reset) dropDeletedUsersHsm(db, String(deleted));
    execute(
      db,
      'INSERT OR REPLACE INTO user_devices (user_id, serial, key_base, provisioned_at, retired_at) VALUES (?, ?, ?, ' +
        '?, NULL)',
      [userId, userDevice.serial, index, now],
    );
    // In service again (factory-reset since it was retired or forgotten): no longer a retired HSM.
    execute(db, 'DELETE FROM retired_devices WHERE serial = ?', [userDevice.serial]);
    execute(db, 'DELETE FROM retired_device_keys WHERE serial = ?', [userDevice.serial]);
    execute(db, 'DELETE FROM forgotten_devices WHERE serial = ?', [userDevice.serial]);
    execute(db, 'DELETE FROM forgotten_device_keys WHERE serial = ?', [userDevice.serial]);
    const record: ProvisioningRecord = {
      userId,
      userSerial: result.userSerial,
      adminSerial: result.adminSerial,
      keyIds,
      adminFingerprint: result.adminFingerprint,
      userFingerprint: result.userFingerprint,
    };
    const retired = [...(existing === undefined ? [] : [existing]), ...reset.map((row) => row[1])];
    return { record, retired: retired.flatMap((base) => Object.values(userKeyIds(Number(base)))) };
  });
  const held = new Set(admin.device.listKeyIds());
  for (const id of provisioned.retired) if (held.has(id)) admin.device.deleteKey(id);
  return provisioned.record;
}

/**
 * Refuses an HSM that is not new or factory-reset (`DeviceInUse`): one in service for another user
 * (an HSM serves one user; with it, that user's PIN holder would receive this user's channel keys
 * and, by the resync, every key this user holds: one person reading as two); one holding KMS keys
 * (a replaced, found-again HSM keeps those of groups its holder may have left, and the new user's
 * view would never order them erased); and one the admin retired (replaced, or its user deleted)
 * or forgot (`Admin.forgetHsm`: a lost HSM found again) that holds any key at all, which only a
 * factory reset takes away. An HSM in service since it was retired (factory-reset and provisioned
 * again) is no longer the retired one.
 *
 * Channel keys alone are allowed on an HSM the admin has not retired: they are left by a
 * provisioning a power cut lost, run again on the same HSM (at the fresh index, at one another
 * provisioning took since, whose keys pair with nothing the admin holds, or at this user's
 * in-service one on this HSM if the commit landed after all).
 */
function refuseDeviceInUse(db: Database, userId: UserId, userDevice: SecubeDevice): void {
  const serial = userDevice.serial;
  const owner = column(
    db,
    'SELECT user_id FROM user_devices WHERE serial = ? AND retired_at IS NULL AND user_id <> ?',
    [serial, userId],
  )[0];
  if (owner !== undefined) {
    throw new SekeyError(
      'DeviceInUse',
      `HSM ${serial} is in service for ${String(owner)}; retire it first (provision a replacement for ` +
        `${String(owner)}, or delete that user), then factory-reset it`,
    );
  }
  // Retired, unless in service since (for this user: a provisioning run again after it landed); a
  // factory-reset HSM provisioned for another user is that user's now, not the retired one.
  const inService =
    column(db, 'SELECT 1 FROM user_devices WHERE serial = ? AND retired_at IS NULL', [serial]).length > 0;
  const retired =
    !inService &&
    column(
      db,
      'SELECT 1 FROM retired_devices WHERE serial = ? UNION SELECT 1 FROM user_devices WHERE serial = ? AND ' +
        'retired_at IS NOT NULL UNION SELECT 1 FROM forgotten_devices WHERE serial = ?',
      [serial, serial, serial],
    ).length > 0;
  const keys = userDevice.listKeyIds();
  const leftovers = retired ? keys : keys.filter(isKmsDeviceKey);
  if (leftovers.length > 0) {
    throw new SekeyError(
      'DeviceInUse',
      `HSM ${serial} holds ${leftovers.length} key(s) of an earlier use${retired ? ' (the admin retired it)' : ''}; ` +
        'factory-reset it before provisioning it',
    );
  }
}

/**
 * The serial of every user's HSM in service, by user ID: the pairing the admin's images hold, which
 * `installation.json`'s `userHsms` follows (`installation.ts`).
 */
export function devicesInService(db: Database): [UserId, string][] {
  return query(db, 'SELECT user_id, serial FROM user_devices WHERE retired_at IS NULL ORDER BY user_id', []).map(
    (row) => [String(row[0]) as UserId, String(row[1])],
  );
}

/**
 * The provisioned device of a user, or an error. `inService` is false once the user was deleted:
 * the device then only ever gets an empty view (erase everything), until a new device is provisioned.
 */
export function userDeviceOf(
  db: Database,
  userId: UserId,
): { serial: string; keyIds: ReturnType<typeof userKeyIds>; inService: boolean } {
  const row = query(db, 'SELECT serial, key_base, retired_at FROM user_devices WHERE user_id = ?', [userId])[0];
  if (!row) {
    // The same code either way (callers tell "no HSM on record" by it), but in words: a mistyped ID
    // is not a user waiting for an HSM.
    const known = readUser(db, userId) !== null;
    throw new SekeyError(
      'NotProvisioned',
      known ? `user ${userId} has no provisioned device` : `no user ${userId}, and no HSM on record for that ID`,
    );
  }
  return { serial: String(row[0]), keyIds: userKeyIds(Number(row[1])), inService: row[2] === null };
}

/**
 * The keys that `userId`'s device in service may hold and that can still protect new data
 * (pre-active, active or suspended): what the device keeps if it is replaced ({@link provisionUser}
 * rekeys nothing), so what a lost device can go on opening unless they are compromised. The
 * admin's record of what it gave the device, a superset of what the device applied: keys published
 * to it, and keys dropped whose erasure it has not acknowledged. Empty when the user has no device
 * in service (none yet, or its last one ordered to erase everything).
 */
export function keysHeldByDevice(db: Database, userId: UserId): KeyId[] {
  const device = query(db, 'SELECT 1 FROM user_devices WHERE user_id = ? AND retired_at IS NULL', [userId]);
  if (device.length === 0) return [];
  const rows = query(
    db,
    `SELECT d.key_id FROM device_keys d JOIN keys k ON k.id = d.key_id
     WHERE d.user_id = ? AND k.state IN ('preActivation', 'active', 'suspended')`,
    [userId],
  );
  return rows.map((row) => String(row[0])).sort(compareIds);
}
