import { describe, expect, test } from 'vitest';
import { newKeyLifecycle } from '../../model/keyLifecycle.ts';
import { persistSnapshot } from '../../model/persistedSnapshot.ts';
import { MIGRATIONS, migrate } from '../db/schema.ts';
import { openSqlite } from '../db/sqlite.ts';
import { readKey, readKeys, writeKey } from './kmsRows.ts';
import { stepKey } from './rules/stepKey.ts';
import type { KeyRow } from './kmsRows.ts';

const DAY = 86_400_000;
const POLICY = [1, 'AES-256-GCM', 30 * DAY] as const;

/** A key in each of several states, stepped through the machine. */
function keys(): KeyRow[] {
  const at = Date.UTC(2026, 0, 1);
  const fresh = (n: number): KeyRow => ({
    id: `K${n}`,
    name: `key ${n}; "quoted"`,
    owner: 'G1',
    algorithm: 'AES-256-GCM',
    lifecycle: newKeyLifecycle({ id: `K${n}`, cryptoperiodMs: 30 * DAY, createdAt: at }),
  });
  const active = stepKey(fresh(2001), { type: 'ACTIVATE', now: at + 1 });
  const suspended = stepKey(stepKey(fresh(2002), { type: 'ACTIVATE', now: at }), { type: 'SUSPEND', now: at + 5 });
  const expired = stepKey(stepKey(fresh(2004), { type: 'ACTIVATE', now: at }), { type: 'EXPIRE', now: at + 40 * DAY });
  const destroyed = stepKey(stepKey(fresh(2003), { type: 'COMPROMISE', now: at + 2 }), {
    type: 'DESTROY',
    now: at + 3,
  });
  return [fresh(2000), active, suspended, destroyed, expired];
}

async function database(migrations = MIGRATIONS) {
  const db = await openSqlite();
  migrate(db, migrations);
  db.run("INSERT INTO kms_groups VALUES ('G1', 'team', ?, ?, ?, 0)", [...POLICY]);
  return db;
}

describe('key rows', () => {
  test('a key reads back as the very snapshot written: same state, context and persisted text', async () => {
    const db = await database();
    const all = keys();
    for (const k of all) writeKey(db, k);
    for (const k of all) {
      const back = readKey(db, k.id) as KeyRow;
      expect(persistSnapshot(back.lifecycle)).toBe(persistSnapshot(k.lifecycle));
      expect({ ...back, lifecycle: null }).toEqual({ ...k, lifecycle: null });
    }
    expect(readKeys(db).map((k) => k.id)).toEqual(['K2000', 'K2001', 'K2002', 'K2003', 'K2004']);
    // Only the history is stored beside the columns.
    const stored = db.exec("SELECT lifecycle FROM keys WHERE id = 'K2002'")[0]?.values[0]?.[0];
    expect(JSON.parse(String(stored))).toEqual(readKey(db, 'K2002')?.lifecycle.context.history);
  });

  test('schema 4 turns stored snapshots into history without changing any key', async () => {
    const db = await database(MIGRATIONS.slice(0, 3));
    const written = keys();
    for (const k of written) {
      const c = k.lifecycle.context;
      db.run(
        `INSERT INTO keys (id, name, owner_group, algorithm, state, cryptoperiod_ms, created_at, activated_at,
           expires_at, suspended_at, resumed_at, deactivated_at, compromised_at, destroyed_at, lifecycle)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        [
          k.id,
          k.name,
          k.owner,
          k.algorithm,
          String(k.lifecycle.value),
          c.cryptoperiodMs,
          c.createdAt,
          c.activatedAt,
          c.expiresAt,
          c.suspendedAt,
          c.resumedAt,
          c.deactivatedAt,
          c.compromisedAt,
          c.destroyedAt,
          persistSnapshot(k.lifecycle),
        ],
      );
      db.run('INSERT INTO key_holders VALUES (?, ?)', [k.id, 'U1']);
    }
    migrate(db);
    for (const k of written)
      expect(persistSnapshot(readKey(db, k.id)?.lifecycle as never)).toBe(persistSnapshot(k.lifecycle));
    expect(db.exec('SELECT count(*) FROM key_holders')[0]?.values[0]?.[0]).toBe(written.length);
    // The pair tables lost their rowids: a WITHOUT ROWID table has no rowid column.
    expect(() => db.exec('SELECT rowid FROM key_holders')).toThrow(/rowid/);
    expect(() => db.exec('SELECT rowid FROM memberships')).toThrow(/rowid/);
    expect(() => db.exec('SELECT rowid FROM device_keys')).toThrow(/rowid/);
  });

  test('a life-cycle context with a field no column holds is refused, not silently dropped', async () => {
    const db = await database();
    const [k] = keys() as [KeyRow];
    const odd = {
      ...k,
      lifecycle: { ...k.lifecycle, context: { ...k.lifecycle.context, extra: 1 } },
    } as unknown as KeyRow;
    expect(() => writeKey(db, odd)).toThrow(/do not match the key columns/);
  });
});
