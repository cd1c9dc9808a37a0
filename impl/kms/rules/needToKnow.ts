/**
 * Need-to-know: what one user's device must hold — its own record, its groups, the members of those
 * groups, and the keys it is a holder of; nothing else. Read from the admin database; what the
 * update files deliver and every user's replica converges to. Mirrors `projectUser` of
 * `model/projection.ts`.
 * @module
 */
import type { GroupId, GroupPolicy, KeyId, UserId, UserRecord } from '../../../model/kms.ts';
import type { KeyView } from '../../../model/projection.ts';
import { persistSnapshot } from '../../../model/persistedSnapshot.ts';
import type { Database } from '../../db/sqlite.ts';
import { keyView, readGroups, readKeys, readUsers } from '../kmsRows.ts';
import { keyAsOf } from './expiry.ts';

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

/** What one user's device must hold. */
export interface UserView {
  readonly userId: UserId;
  readonly users: readonly UserRecord[];
  readonly groups: readonly SnapshotGroup[];
  readonly keys: readonly SnapshotKey[];
}

/** The admin database read once, to project many users' views without re-reading it per user. */
export interface ProjectionSource {
  /** What `userId`'s device must hold (need-to-know). */
  project(userId: UserId): UserView;
}

/**
 * Reads users, groups, keys and holders once; projections are then computed in memory. Keys are
 * shown as of `now` (due ones expired, `expiry.ts`), whether or not that expiry is committed yet.
 */
export function projectionSource(db: Database, now: number): ProjectionSource {
  const groups = readGroups(db);
  const users = readUsers(db);
  const keys = readKeys(db).map((row) => {
    const k = keyAsOf(row, now);
    return {
      ...keyView(k),
      lifecycle: persistSnapshot(k.lifecycle),
    };
  });
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
      return {
        userId,
        users: users.filter((u) => known.has(u.id)),
        groups: mine,
        keys: keys.filter((k) => held.has(k.id)),
      };
    },
  };
}

/** What `userId`'s device must hold at `now`, read from the admin database. */
export function projectionFromDatabase(db: Database, userId: UserId, now: number): UserView {
  return projectionSource(db, now).project(userId);
}
