/**
 * The world as last published: every user, group and key as the last publication round saw it (a
 * short hash of its content) and every group's members then. Kept once for the whole installation,
 * not once per user: its size follows the KMS (users + groups + keys + memberships), and a round
 * rewrites only the entries that changed.
 *
 * Every round publishes to every provisioned device at once (`Publisher.publish`), so a device's
 * last file brought it each entity of its view exactly as this record has it. A device's diff is
 * then "its own groups and keys as last published (`deviceViews.ts`) against the world as last
 * published", instead of a per-user copy of every co-member's hash, which made publishing to a group
 * of n members cost n² bookkeeping (issue 11).
 * @module
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import type { GroupId, UserId, UserRecord } from '../../model/kms.ts';
import type { Database } from '../db/sqlite.ts';
import type { ProjectionSource } from './rules/needToKnow.ts';
import { execute, query } from '../db/statementCache.ts';
import { utf8 } from '../../device/binaryCodec.ts';

/** The kinds of entity a view holds. */
export type EntityKind = 'user' | 'group' | 'key';

const KINDS: readonly EntityKind[] = ['user', 'group', 'key'];

/** 64 bits of SHA-256 of an entity's JSON: enough to notice a change, not meant to resist collisions. */
export function contentHash(entity: unknown): string {
  return bytesToHex(sha256(utf8(JSON.stringify(entity))).subarray(0, 8));
}

/** A world reduced to what a diff needs: each entity's content hash, and each group's members. */
export interface WorldSummary {
  readonly hashes: Readonly<Record<EntityKind, ReadonlyMap<string, string>>>;
  readonly members: ReadonlyMap<GroupId, readonly UserId[]>;
}

/** The world as last published, read from the admin database (empty before the first round). */
export function readPublishedWorld(db: Database): WorldSummary {
  const hashes: Record<EntityKind, Map<string, string>> = { user: new Map(), group: new Map(), key: new Map() };
  for (const [kind, id, hash] of query(db, 'SELECT kind, id, hash FROM published_entities') as Array<
    [EntityKind, string, string]
  >)
    hashes[kind].set(id, hash);
  const members = new Map<GroupId, UserId[]>();
  for (const [groupId, userId] of query(db, 'SELECT group_id, user_id FROM published_members') as Array<
    [string, string]
  >) {
    const list = members.get(groupId);
    if (list) list.push(userId);
    else members.set(groupId, [userId]);
  }
  return { hashes, members };
}

/** The current world (as `source` shows it) summarised the same way. */
export function summarizeWorld(source: ProjectionSource): WorldSummary {
  const index = (xs: ReadonlyArray<{ readonly id: string }>) => new Map(xs.map((x) => [x.id, contentHash(x)]));
  return {
    hashes: { user: index(source.users), group: index(source.groups), key: index(source.keys) },
    members: new Map(source.groups.map((g) => [g.id, g.members])),
  };
}

/** What changed between the world as last published and now. */
export interface WorldChanges {
  /** Whether the entity's content differs from its published content (or it was not published). */
  changed(kind: EntityKind, id: string): boolean;
  /** The current users whose record is new or changed, by ID. */
  readonly users: readonly UserRecord[];
  /** The groups whose set of members changed (a group added or deleted with members among them). */
  readonly membersChanged: ReadonlySet<GroupId>;
}

/** Compares the current world with the published one. */
export function worldChanges(
  published: WorldSummary,
  current: WorldSummary,
  users: readonly UserRecord[],
): WorldChanges {
  const changed = (kind: EntityKind, id: string) => current.hashes[kind].get(id) !== published.hashes[kind].get(id);
  const membersChanged = new Set<GroupId>();
  for (const id of new Set([...published.members.keys(), ...current.members.keys()]))
    if (!sameMembers(published.members.get(id) ?? [], current.members.get(id) ?? [])) membersChanged.add(id);
  return { changed, users: users.filter((u) => changed('user', u.id)), membersChanged };
}

function sameMembers(a: readonly UserId[], b: readonly UserId[]): boolean {
  if (a.length !== b.length) return false;
  const set = new Set(a);
  return b.every((u) => set.has(u));
}

/**
 * Makes `current` the world as last published, writing only the entries that differ from `published`.
 * @returns the rows written or deleted (0: the world is as published).
 */
export function recordPublishedWorld(db: Database, published: WorldSummary, current: WorldSummary): number {
  let written = 0;
  const write = (sql: string, params: Array<string>): void => {
    execute(db, sql, params);
    written += 1;
  };
  for (const kind of KINDS) {
    const before = published.hashes[kind];
    const now = current.hashes[kind];
    for (const [id, hash] of now) {
      if (before.get(id) === hash) continue;
      write(
        `INSERT INTO published_entities (kind, id, hash) VALUES (?, ?, ?)
         ON CONFLICT(kind, id) DO UPDATE SET hash = excluded.hash`,
        [kind, id, hash],
      );
    }
    for (const id of before.keys())
      if (!now.has(id)) write('DELETE FROM published_entities WHERE kind = ? AND id = ?', [kind, id]);
  }
  for (const groupId of new Set([...published.members.keys(), ...current.members.keys()])) {
    const before = new Set(published.members.get(groupId) ?? []);
    const now = new Set(current.members.get(groupId) ?? []);
    for (const userId of now)
      if (!before.has(userId))
        write('INSERT INTO published_members (group_id, user_id) VALUES (?, ?)', [groupId, userId]);
    for (const userId of before)
      if (!now.has(userId))
        write('DELETE FROM published_members WHERE group_id = ? AND user_id = ?', [groupId, userId]);
  }
  return written;
}
