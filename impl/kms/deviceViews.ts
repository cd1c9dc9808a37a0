/**
 * What each user device was given, as the administrator records it: whether its last file gave it
 * its user's view or an empty one, the groups of that view, the keys it holds, and the keys delivered
 * to it and dropped since whose erasure it has not acknowledged yet (which a resync orders erased
 * again unless the device must still hold them: the admin does not know which files a
 * resynchronised device applied).
 *
 * A dropped key is forgotten once its device acknowledges the file that ordered it erased, or a
 * later one ({@link forgetErased}); before, the row stayed for ever and after a year at the issue's
 * size made up most of the admin database (issue 11). That is safe because a device acknowledges a
 * file only after applying it, and applies files in order: an incremental file only if it extends
 * the chain it applied (from its last resync), a resync whatever came before. So a device that
 * acknowledges sequence `s ≥ d`, `d` the file that ordered key `k` erased, applied either `d` itself
 * or a later resync, and every resync orders erased each dropped key still recorded, `k` included
 * (its row is pruned only by such an acknowledgement). Its HSM seals the acknowledgement only once
 * the host recorded the update applied (`SecubeDevice.acknowledge`), which the host does after the
 * file's erase orders (`User`'s pending device work): the same host that carries out every erase
 * order, the resync's included, so keeping the row would not make the erasure surer.
 *
 * A device's own part only: its groups and keys, never its co-members, whose records and members
 * are the world's (`publishedWorld.ts`). Its size follows the device's groups and keys, not the size
 * of those groups. Rows are clustered by group and by key (`device_groups`, `device_keys`), so a new
 * key given to a whole group adds consecutive rows instead of touching one page per member.
 * @module
 */
import type { GroupId, KeyId, UserId } from '../../model/kms.ts';
import type { Database } from '../db/sqlite.ts';
import { execute, query } from '../db/statementCache.ts';

/**
 * What a device's last file left it holding: `none` before its first file (a new device), `empty`
 * once its user was deleted (it was ordered to erase everything), `projected` for its user's view.
 */
export type DeviceViewState = 'none' | 'empty' | 'projected';

/** A device's view as last published to it. */
export interface DeviceView {
  readonly state: DeviceViewState;
  /** The groups of its view. */
  readonly groups: ReadonlySet<GroupId>;
  /** The keys it holds. */
  readonly keys: ReadonlySet<KeyId>;
  /**
   * Its keys and the keys delivered to it and dropped since whose erasure it has not acknowledged
   * yet: a superset of {@link DeviceView.keys}.
   */
  readonly delivered: ReadonlySet<KeyId>;
}

/** The view of a device that was given nothing yet. */
export const NOTHING_GIVEN: DeviceView = { state: 'none', groups: new Set(), keys: new Set(), delivered: new Set() };

/** Every device's view, read once per publication round. */
export function readDeviceViews(db: Database): (userId: UserId) => DeviceView {
  const views = new Map<
    UserId,
    { state: DeviceViewState; groups: Set<GroupId>; keys: Set<KeyId>; delivered: Set<KeyId> }
  >();
  const view = (userId: UserId) => {
    let v = views.get(userId);
    if (!v) {
      v = { state: 'none', groups: new Set(), keys: new Set(), delivered: new Set() };
      views.set(userId, v);
    }
    return v;
  };
  for (const [userId, state] of query(db, 'SELECT user_id, device_view FROM streams') as Array<
    [string, DeviceViewState]
  >)
    view(userId).state = state;
  for (const [groupId, userId] of query(db, 'SELECT group_id, user_id FROM device_groups') as Array<[string, string]>)
    view(userId).groups.add(groupId);
  for (const [keyId, userId, held] of query(db, 'SELECT key_id, user_id, held FROM device_keys') as Array<
    [string, string, number]
  >) {
    const v = view(userId);
    v.delivered.add(keyId);
    if (held === 1) v.keys.add(keyId);
  }
  return (userId) => views.get(userId) ?? NOTHING_GIVEN;
}

/**
 * Records that `userId`'s device now holds `after` once it applied file `sequence` (which orders
 * erased every key of `before` that `after` does not hold), writing only what differs from `before`.
 * Its stream row must exist (the publisher writes it first, in the same transaction).
 */
export function recordDeviceView(
  db: Database,
  userId: UserId,
  before: DeviceView,
  after: { readonly state: DeviceViewState; readonly groups: readonly GroupId[]; readonly keys: readonly KeyId[] },
  sequence: number,
): void {
  if (after.state !== before.state)
    execute(db, 'UPDATE streams SET device_view = ? WHERE user_id = ?', [after.state, userId]);
  const groups = new Set(after.groups);
  for (const g of groups)
    if (!before.groups.has(g)) execute(db, 'INSERT INTO device_groups (group_id, user_id) VALUES (?, ?)', [g, userId]);
  for (const g of before.groups)
    if (!groups.has(g)) execute(db, 'DELETE FROM device_groups WHERE group_id = ? AND user_id = ?', [g, userId]);
  const keys = new Set(after.keys);
  for (const k of keys) {
    if (before.keys.has(k)) continue;
    execute(
      db,
      `INSERT INTO device_keys (key_id, user_id, held) VALUES (?, ?, 1)
       ON CONFLICT(key_id, user_id) DO UPDATE SET held = 1, dropped_in = NULL`,
      [k, userId],
    );
  }
  for (const k of before.keys) {
    if (keys.has(k)) continue;
    execute(db, 'UPDATE device_keys SET held = 0, dropped_in = ? WHERE key_id = ? AND user_id = ?', [
      sequence,
      k,
      userId,
    ]);
  }
}

/**
 * Forgets the dropped keys whose erasure `userId`'s device confirmed by acknowledging file `sequence`
 * (see the module's comment for why an acknowledgement of that file or a later one confirms it).
 */
export function forgetErased(db: Database, userId: UserId, sequence: number): void {
  execute(db, 'DELETE FROM device_keys WHERE user_id = ? AND held = 0 AND dropped_in <= ?', [userId, sequence]);
}

/**
 * Forgets what `userId`'s device was given: a newly provisioned device holds nothing yet, so every
 * key must be delivered to it again (by a resync the caller requests).
 */
export function forgetDeviceView(db: Database, userId: UserId): void {
  execute(db, 'DELETE FROM device_groups WHERE user_id = ?', [userId]);
  execute(db, 'DELETE FROM device_keys WHERE user_id = ?', [userId]);
  execute(db, "UPDATE streams SET device_view = 'none' WHERE user_id = ?", [userId]);
}
