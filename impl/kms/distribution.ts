/**
 * Getting the administrator's decisions onto user devices: provisioning a user's HSM, and projecting
 * what each user's device must hold (need-to-know), which the publisher turns into update files.
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
import { KmsError } from '../../model/kms.ts';
import { persistSnapshot } from '../../model/persistedSnapshot.ts';
import type { GroupId, GroupPolicy, KeyId, UserId, UserRecord } from '../../model/kms.ts';
import type { KeyView } from '../../model/projection.ts';
import type { Admin } from './admin.ts';
import type { Database } from '../db/sqlite.ts';
import { userKeyIds } from '../protocol/deviceKeyIds.ts';
import { column, keyView, readGroups, readKeys, readUser, readUsers } from './kmsRows.ts';
import { SekeyError } from '../protocol/sekeyError.ts';

/** What a user device learns at provisioning: whom to trust and which key IDs to use. */
export interface ProvisioningRecord {
  readonly userId: UserId;
  readonly adminSerial: string;
  readonly userSerial: string;
  readonly keyIds: { readonly adminToUserKeyId: number; readonly userToAdminKeyId: number; readonly wrappingKeyId: number };
  /** Identity fingerprints, to compare out of band (both screens show them). */
  readonly adminFingerprint: string;
  readonly userFingerprint: string;
}

/** A group as a member's device stores it. */
export interface SnapshotGroup {
  readonly id: GroupId;
  readonly name: string;
  readonly policy: GroupPolicy;
  readonly shareHistory: boolean;
  readonly members: readonly UserId[];
}

/** A key as a holder's device stores it: metadata and the persisted life-cycle snapshot. */
export interface SnapshotKey extends KeyView {
  /** The key machine's persisted `{ value, context }`, so the device can run `EXPIRE` itself. */
  readonly lifecycle: string;
}

/** Everything one user's device must hold (need-to-know), metadata only: keys travel wrapped. */
export interface UserProjection {
  readonly userId: UserId;
  readonly users: readonly UserRecord[];
  readonly groups: readonly SnapshotGroup[];
  readonly keys: readonly SnapshotKey[];
}

/**
 * Provisions `userDevice` for `userId` (both HSMs in admin sessions, side by side, as the original's
 * `sekey_init_user_SEcube`, but no key ever crosses the host in clear: W3). Provisioning again
 * replaces the user's device; the old one is retired and can no longer open anything new.
 */
export function provisionUser(admin: Admin, userId: UserId, userDevice: SecubeDevice): ProvisioningRecord {
  return admin.transaction('provisionUser', { userId, serial: userDevice.serial }, (db, now) => {
    if (!readUser(db, userId)) throw new KmsError('UnknownUser', `no user ${userId}`);
    const existing = column(db, 'SELECT key_base FROM user_devices WHERE user_id = ?', [userId])[0];
    const index =
      existing !== undefined
        ? Number(existing)
        : Number(column(db, 'SELECT coalesce(max(key_base) + 1, 0) FROM user_devices')[0]);
    const keyIds = userKeyIds(index);
    const result = provisionUserDevice(admin.device, userDevice, keyIds, { replace: existing !== undefined });
    if (existing !== undefined) {
      db.run('INSERT OR REPLACE INTO retired_devices SELECT serial, user_id, ? FROM user_devices WHERE user_id = ? AND serial <> ?', [
        now,
        userId,
        userDevice.serial,
      ]);
      // A new device holds nothing yet: every key must be delivered again, by a resync that
      // continues the stream's sequence (the new device accepts any sequence for a resync).
      db.run('DELETE FROM delivered_keys WHERE user_id = ?', [userId]);
      db.run('DELETE FROM published_views WHERE user_id = ?', [userId]);
      db.run('DELETE FROM outbox WHERE user_id = ?', [userId]);
      db.run('UPDATE streams SET resync = 1 WHERE user_id = ?', [userId]);
    }
    db.run('INSERT OR REPLACE INTO user_devices (user_id, serial, key_base, provisioned_at, retired_at) VALUES (?, ?, ?, ?, NULL)', [
      userId,
      userDevice.serial,
      index,
      now,
    ]);
    return { userId, userSerial: result.userSerial, adminSerial: result.adminSerial, keyIds, adminFingerprint: result.adminFingerprint, userFingerprint: result.userFingerprint };
  });
}

/**
 * The provisioned device of a user, or an error. `inService` is false once the user was deleted:
 * the device then only ever gets an empty view (erase everything), until a new device is provisioned.
 */
export function userDeviceOf(db: Database, userId: UserId): { serial: string; keyIds: ReturnType<typeof userKeyIds>; inService: boolean } {
  const row = db.exec('SELECT serial, key_base, retired_at FROM user_devices WHERE user_id = ?', [userId])[0]?.values[0];
  if (!row) throw new SekeyError('NotProvisioned', `user ${userId} has no provisioned device`);
  return { serial: String(row[0]), keyIds: userKeyIds(Number(row[1])), inService: row[2] === null };
}

/** The admin database read once, to project many users' views without re-reading it per user. */
export interface ProjectionSource {
  /** What `userId`'s device must hold (need-to-know). */
  project(userId: UserId): UserProjection;
}

/** Reads users, groups, keys and holders once; projections are then computed in memory. */
export function projectionSource(db: Database): ProjectionSource {
  const groups = readGroups(db);
  const users = readUsers(db);
  const keys = readKeys(db).map((k) => ({
    ...keyView(k),
    lifecycle: persistSnapshot(k.lifecycle),
  }));
  const heldBy = new Map<UserId, Set<KeyId>>();
  for (const row of (db.exec('SELECT user_id, key_id FROM key_holders')[0]?.values ?? []) as Array<[string, string]>) {
    const set = heldBy.get(row[0]) ?? new Set<KeyId>();
    set.add(row[1]);
    heldBy.set(row[0], set);
  }
  return {
    project(userId) {
      const mine = groups.filter((g) => g.members.includes(userId));
      const known = new Set<UserId>([userId, ...mine.flatMap((g) => g.members)]);
      const held = heldBy.get(userId) ?? new Set<KeyId>();
      return { userId, users: users.filter((u) => known.has(u.id)), groups: mine, keys: keys.filter((k) => held.has(k.id)) };
    },
  };
}
