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
import { query } from '../../db/statementCache.ts';

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

/**
 * The admin database read once, to project many users' views without re-reading it per user. The
 * parts of a view ({@link ProjectionSource.groupsOf}, {@link ProjectionSource.keysOf},
 * {@link ProjectionSource.knows}) cost what the user's own groups and keys cost, not what its whole
 * view costs: a publisher asking whether one renamed user is in a view need not list a thousand
 * co-members to find out.
 */
export interface ProjectionSource {
  /** Every user, group and key, by ID (keys as of the source's time). */
  readonly users: readonly UserRecord[];
  readonly groups: readonly SnapshotGroup[];
  readonly keys: readonly SnapshotKey[];
  /** What `userId`'s device must hold (need-to-know). */
  project(userId: UserId): UserView;
  /** The groups of `userId`'s view (those it is a member of), by ID. */
  groupsOf(userId: UserId): readonly SnapshotGroup[];
  /** The keys of `userId`'s view (those it holds), by ID. */
  keysOf(userId: UserId): readonly SnapshotKey[];
  /** Whether `otherId`'s record is in `userId`'s view: the same user, or one sharing a group with it. */
  knows(userId: UserId, otherId: UserId): boolean;
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
  // Both indexes keep ID order: groups and keys are read sorted and appended in that order.
  const groupsByMember = new Map<UserId, SnapshotGroup[]>();
  for (const g of groups) for (const u of g.members) append(groupsByMember, u, g);
  const holders = new Map<KeyId, UserId[]>();
  const holderRows = query(db, 'SELECT user_id, key_id FROM key_holders') as Array<[string, string]>;
  for (const [userId, keyId] of holderRows) append(holders, keyId, userId);
  const keysByHolder = new Map<UserId, SnapshotKey[]>();
  for (const k of keys) for (const u of holders.get(k.id) ?? []) append(keysByHolder, u, k);
  const groupsOf = (userId: UserId): readonly SnapshotGroup[] => groupsByMember.get(userId) ?? [];
  const keysOf = (userId: UserId): readonly SnapshotKey[] => keysByHolder.get(userId) ?? [];
  return {
    users,
    groups,
    keys,
    groupsOf,
    keysOf,
    knows(userId, otherId) {
      if (userId === otherId) return true;
      const mine = groupsOf(userId);
      return groupsOf(otherId).some((g) => mine.includes(g));
    },
    project(userId) {
      const mine = groupsOf(userId);
      const known = new Set<UserId>([userId, ...mine.flatMap((g) => g.members)]);
      return { userId, users: users.filter((u) => known.has(u.id)), groups: mine, keys: keysOf(userId) };
    },
  };
}

function append<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

/** What `userId`'s device must hold at `now`, read from the admin database. */
export function projectionFromDatabase(db: Database, userId: UserId, now: number): UserView {
  return projectionSource(db, now).project(userId);
}
