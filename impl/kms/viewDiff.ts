/**
 * The records that take one device from the view it was last given to its view now (need-to-know,
 * `rules/needToKnow.ts`): upserts of what is new or changed, deletions of what left its view, the
 * keys to deliver and the keys to order erased. A resync sends everything after a `reset`.
 *
 * What the device holds is its own groups and keys (`deviceViews.ts`) and the members of those groups
 * as last published (`publishedWorld.ts`). A device whose groups and their members did not change
 * knows the same users as before, so only the users whose record changed are looked at, not every
 * co-member: a round costs what changed, not the square of the group size (issue 11).
 * @module
 */
import type { GroupId, KeyId, UserId, UserRecord } from '../../model/kms.ts';
import { sortIds } from '../../model/kms.ts';
import type { UpdateKind, UpdateRecord } from '../protocol/updateFile.ts';
import type { DeviceView, DeviceViewState } from './deviceViews.ts';
import type { WorldChanges, WorldSummary } from './publishedWorld.ts';
import type { ProjectionSource, SnapshotKey } from './rules/needToKnow.ts';

/** One publication round's view of the world: now, as last published, and what changed between. */
export interface RoundWorld {
  readonly source: ProjectionSource;
  readonly published: WorldSummary;
  readonly changes: WorldChanges;
}

/** What one device must be sent, and what it holds once it applied it. */
export interface ViewDiff {
  /** Replica records (reset, upserts, deletions), in the order the replica's foreign keys need. */
  readonly records: readonly UpdateRecord[];
  /** The keys to deliver (wrapped) with them, by ID. */
  readonly newKeys: readonly SnapshotKey[];
  /** The keys to order erased from the device, by ID. */
  readonly dropped: readonly KeyId[];
  /** The device's view after applying them. */
  readonly after: {
    readonly state: DeviceViewState;
    readonly groups: readonly GroupId[];
    readonly keys: readonly KeyId[];
  };
}

/**
 * The diff for `userId`'s device. `inView` is false for a retired device (its user deleted): it only
 * ever learns that it must hold nothing.
 */
export function diffView(
  world: RoundWorld,
  userId: UserId,
  kind: UpdateKind,
  inView: boolean,
  before: DeviceView,
): ViewDiff {
  const { source, changes } = world;
  const fresh = kind === 'resync';
  const groups = inView ? source.groupsOf(userId) : [];
  const keys = inView ? source.keysOf(userId) : [];
  const users = fresh
    ? { upserts: inView ? source.project(userId).users : [], deletes: [] }
    : changedUsers(world, userId, inView, before);
  const records: UpdateRecord[] = fresh ? [{ type: 'reset' }] : [];
  // Order matters for the replica's foreign keys: users before the groups naming them, groups
  // before their removal of users, keys after their groups.
  for (const u of users.upserts) records.push({ type: 'userUpsert', id: u.id, name: u.name });
  const groupIds = new Set(groups.map((g) => g.id));
  if (!fresh) for (const id of sortIds(before.groups)) if (!groupIds.has(id)) records.push({ type: 'groupDelete', id });
  for (const g of groups) {
    if (fresh || !before.groups.has(g.id) || changes.changed('group', g.id)) {
      records.push({
        type: 'groupUpsert',
        id: g.id,
        name: g.name,
        policy: g.policy,
        shareHistory: g.shareHistory,
        members: g.members,
      });
    }
  }
  const keyIds = new Set(keys.map((k) => k.id));
  if (!fresh) for (const id of sortIds(before.keys)) if (!keyIds.has(id)) records.push({ type: 'keyDelete', id });
  for (const k of keys) {
    if (fresh || !before.keys.has(k.id) || changes.changed('key', k.id)) {
      records.push({
        type: 'keyUpsert',
        id: k.id,
        name: k.name,
        owner: k.owner,
        algorithm: k.algorithm,
        lifecycle: k.lifecycle,
      });
    }
  }
  for (const id of users.deletes) records.push({ type: 'userDelete', id });
  // Erase orders: on a resync for every key ever delivered that the device must not hold, since the
  // admin does not know what a resynchronised device kept; otherwise for the keys just dropped.
  const dropped = sortIds([...(fresh ? before.delivered : before.keys)].filter((id) => !keyIds.has(id)));
  return {
    records,
    newKeys: fresh ? keys : keys.filter((k) => !before.keys.has(k.id)),
    dropped,
    after: { state: inView ? 'projected' : 'empty', groups: [...groupIds], keys: [...keyIds] },
  };
}

/** The user records an incremental file upserts and the user IDs it deletes. */
function changedUsers(
  world: RoundWorld,
  userId: UserId,
  inView: boolean,
  before: DeviceView,
): { upserts: readonly UserRecord[]; deletes: readonly UserId[] } {
  const { source, published, changes } = world;
  const wasInView = before.state === 'projected';
  if (!inView && !wasInView) return { upserts: [], deletes: [] };
  const groups = inView ? source.groupsOf(userId) : [];
  const sameCircle =
    inView === wasInView &&
    groups.length === before.groups.size &&
    groups.every((g) => before.groups.has(g.id) && !changes.membersChanged.has(g.id));
  // The same groups with the same members: the same users, of whom only the changed ones are sent.
  if (sameCircle) return { upserts: changes.users.filter((u) => source.knows(userId, u.id)), deletes: [] };
  const knownBefore = new Set<UserId>(wasInView ? [userId] : []);
  for (const g of before.groups) for (const u of published.members.get(g) ?? []) knownBefore.add(u);
  const after = inView ? source.project(userId).users : [];
  const knownAfter = new Set(after.map((u) => u.id));
  return {
    upserts: after.filter((u) => !knownBefore.has(u.id) || changes.changed('user', u.id)),
    deletes: sortIds([...knownBefore].filter((id) => !knownAfter.has(id))),
  };
}
