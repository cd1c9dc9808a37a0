/**
 * Reading and writing KMS records in a device database (admin and user devices share the schema).
 * A key's life cycle is kept as columns (state and every NIST timestamp, for SQL queries and for
 * people reading the database) plus the machine's event history; the machine snapshot every
 * transition starts from is restored from them, and they are written together from the snapshot,
 * so they cannot differ.
 * @module
 */
import { keyLifecycleMachine } from '../../model/keyLifecycle.ts';
import type { KeyLifecycleSnapshot, KeyState } from '../../model/keyLifecycle.ts';
import { restorePersisted, restoreSnapshot } from '../../model/persistedSnapshot.ts';
import { compareIds, sortIds } from '../../model/kms.ts';
import type { Algorithm, GroupId, GroupPolicy, KeyId, UserId, UserRecord } from '../../model/kms.ts';
import { keyViewOf } from '../../model/projection.ts';
import type { KeyView } from '../../model/projection.ts';
import type { Database } from '../db/sqlite.ts';
import { execute, query } from '../db/statementCache.ts';

/** A key as stored: metadata and its life-cycle snapshot. */
export interface KeyRow {
  readonly id: KeyId;
  readonly name: string;
  readonly owner: GroupId;
  readonly algorithm: Algorithm;
  readonly lifecycle: KeyLifecycleSnapshot;
}

/** A group as stored, with its members. */
export interface GroupRow {
  readonly id: GroupId;
  readonly name: string;
  readonly policy: GroupPolicy;
  readonly shareHistory: boolean;
  readonly members: readonly UserId[];
}

type Cell = number | string | Uint8Array | null;

function rows(db: Database, sql: string, params: Cell[] = []): Cell[][] {
  return query(db, sql, params);
}

/** The first column of every row. */
export function column(db: Database, sql: string, params: Cell[] = []): Cell[] {
  return rows(db, sql, params).map((r) => r[0] ?? null);
}

/**
 * Two-column rows grouped by the first column: the second's values of each, sorted by ID. One query
 * for a whole table instead of one per owner when every owner is listed (`readGroups`, the admin's
 * lists): each list is what `column(db, 'SELECT b ... WHERE a = ?', [a])` sorted would give.
 */
export function groupedIds(db: Database, sql: string): Map<string, string[]> {
  const lists = new Map<string, string[]>();
  for (const [owner, value] of rows(db, sql)) {
    const list = lists.get(String(owner));
    if (list) list.push(String(value));
    else lists.set(String(owner), [String(value)]);
  }
  for (const [owner, list] of lists) lists.set(owner, sortIds(list));
  return lists;
}

/** Restores a snapshot persisted by {@link writeKey}. */
export function restoreLifecycle(text: string): KeyLifecycleSnapshot {
  return restoreSnapshot(keyLifecycleMachine, text);
}

/** The state of a stored key. */
export function stateOf(key: KeyRow): KeyState {
  return key.lifecycle.value as KeyState;
}

/**
 * The life-cycle context fields kept as columns, in the context's own order (the persisted text of
 * a snapshot is `JSON.stringify({ value, context })`, and update files carry it byte for byte). The
 * `lifecycle` column holds only what no column holds: the machine's event history (schema 5; it held
 * the whole snapshot before, every time in it twice).
 */
const CONTEXT_COLUMNS = [
  ['id', 'id'],
  ['cryptoperiodMs', 'cryptoperiod_ms'],
  ['createdAt', 'created_at'],
  ['activatedAt', 'activated_at'],
  ['expiresAt', 'expires_at'],
  ['suspendedAt', 'suspended_at'],
  ['resumedAt', 'resumed_at'],
  ['deactivatedAt', 'deactivated_at'],
  ['compromisedAt', 'compromised_at'],
  ['destroyedAt', 'destroyed_at'],
] as const;

const KEY_COLUMNS = `name, owner_group, algorithm, state, ${CONTEXT_COLUMNS.map(([, c]) => c).join(', ')}, lifecycle`;

function toKeyRow(r: Cell[]): KeyRow {
  const context: Record<string, unknown> = {};
  CONTEXT_COLUMNS.forEach(([field], i) => {
    context[field] = r[4 + i] ?? null;
  });
  context['history'] = JSON.parse(String(r[4 + CONTEXT_COLUMNS.length]));
  return {
    id: String(r[4]),
    name: String(r[0]),
    owner: String(r[1]),
    algorithm: String(r[2]) as Algorithm,
    // Through the machine's own restore, which refuses a state it does not declare; the columns
    // hold the context's JSON values, so no text needs writing and parsing in between.
    lifecycle: restorePersisted(keyLifecycleMachine, { value: String(r[3]), context }),
  };
}

/** The history of a snapshot whose context the columns hold exactly (a new context field must get a column). */
function historyOf(key: KeyRow): string {
  const { history, ...rest } = key.lifecycle.context;
  const fields = Object.keys(rest);
  if (fields.length !== CONTEXT_COLUMNS.length || CONTEXT_COLUMNS.some(([f], i) => fields[i] !== f)) {
    throw new Error(`key life-cycle context fields ${fields.join(', ')} do not match the key columns`);
  }
  return JSON.stringify(history);
}

/** One key, or null. */
export function readKey(db: Database, id: KeyId): KeyRow | null {
  const r = rows(db, `SELECT ${KEY_COLUMNS} FROM keys WHERE id = ?`, [id])[0];
  return r ? toKeyRow(r) : null;
}

/** Keys matching an optional SQL condition, by key number. */
export function readKeys(db: Database, where = '1', params: Cell[] = []): KeyRow[] {
  return rows(db, `SELECT ${KEY_COLUMNS} FROM keys WHERE ${where}`, params)
    .map(toKeyRow)
    .sort((a, b) => compareIds(a.id, b.id));
}

/**
 * Inserts or updates a key row, columns derived from its snapshot. An upsert, not `INSERT OR
 * REPLACE`: a replace deletes the row first, and the delete would cascade to the key's holders.
 */
export function writeKey(db: Database, key: KeyRow): void {
  const c = key.lifecycle.context;
  execute(
    db,
    `INSERT INTO keys (id, name, owner_group, algorithm, state, cryptoperiod_ms, created_at, activated_at,
       expires_at, suspended_at, resumed_at, deactivated_at, compromised_at, destroyed_at, lifecycle)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT(id) DO UPDATE SET name = excluded.name, owner_group = excluded.owner_group,
       algorithm = excluded.algorithm, state = excluded.state, cryptoperiod_ms = excluded.cryptoperiod_ms,
       created_at = excluded.created_at, activated_at = excluded.activated_at, expires_at = excluded.expires_at,
       suspended_at = excluded.suspended_at, resumed_at = excluded.resumed_at, deactivated_at = excluded.deactivated_at,
       compromised_at = excluded.compromised_at, destroyed_at = excluded.destroyed_at, lifecycle = excluded.lifecycle`,
    [
      key.id,
      key.name,
      key.owner,
      key.algorithm,
      stateOf(key),
      c.cryptoperiodMs,
      c.createdAt,
      c.activatedAt,
      c.expiresAt,
      c.suspendedAt,
      c.resumedAt,
      c.deactivatedAt,
      c.compromisedAt,
      c.destroyedAt,
      historyOf(key),
    ],
  );
}

/** The metadata view of a key, exactly as the model's projection shows it. */
export const keyView: (key: KeyRow) => KeyView = keyViewOf;

/** Every user, by ID. */
export function readUsers(db: Database): UserRecord[] {
  return rows(db, 'SELECT id, name FROM users')
    .map((r) => ({ id: String(r[0]), name: String(r[1]) }))
    .sort((a, b) => compareIds(a.id, b.id));
}

/** One user, or null. */
export function readUser(db: Database, id: UserId): UserRecord | null {
  const r = rows(db, 'SELECT id, name FROM users WHERE id = ?', [id])[0];
  return r ? { id: String(r[0]), name: String(r[1]) } : null;
}

function toGroupRow(r: Cell[], members: readonly UserId[]): GroupRow {
  return {
    id: String(r[0]),
    name: String(r[1]),
    policy: { maxKeys: Number(r[2]), algorithm: String(r[3]) as Algorithm, defaultCryptoperiodMs: Number(r[4]) },
    shareHistory: Number(r[5]) === 1,
    members,
  };
}

const GROUP_COLUMNS = 'id, name, max_keys, algorithm, default_cryptoperiod_ms, share_history';

/** One group with its members, or null. */
export function readGroup(db: Database, id: GroupId): GroupRow | null {
  const r = rows(db, `SELECT ${GROUP_COLUMNS} FROM kms_groups WHERE id = ?`, [id])[0];
  return r
    ? toGroupRow(r, sortIds(column(db, 'SELECT user_id FROM memberships WHERE group_id = ?', [id]).map(String)))
    : null;
}

/** Every group with its members, by ID. */
export function readGroups(db: Database): GroupRow[] {
  const members = groupedIds(db, 'SELECT group_id, user_id FROM memberships');
  return rows(db, `SELECT ${GROUP_COLUMNS} FROM kms_groups`)
    .map((r) => toGroupRow(r, members.get(String(r[0])) ?? []))
    .sort((a, b) => compareIds(a.id, b.id));
}

/** Inserts or replaces a group's row (not its members). */
export function writeGroup(db: Database, g: Omit<GroupRow, 'members'>): void {
  execute(
    db,
    `INSERT INTO kms_groups (id, name, max_keys, algorithm, default_cryptoperiod_ms, share_history)
     VALUES (?, ?, ?, ?, ?, ?)
     ON CONFLICT(id) DO UPDATE SET name = excluded.name, max_keys = excluded.max_keys, algorithm = excluded.algorithm,
       default_cryptoperiod_ms = excluded.default_cryptoperiod_ms, share_history = excluded.share_history`,
    [g.id, g.name, g.policy.maxKeys, g.policy.algorithm, g.policy.defaultCryptoperiodMs, g.shareHistory ? 1 : 0],
  );
}
