import { describe, expect, test } from 'vitest';
import { DatabaseError } from './databaseError.ts';
import { MIGRATIONS, SCHEMA_VERSION, migrate, schemaVersion } from './schema.ts';
import { openSqlite } from './sqlite.ts';

describe('schema', () => {
  test('migrates an empty database to the latest version, once', async () => {
    const db = await openSqlite();
    expect(schemaVersion(db)).toBe(0);
    expect(migrate(db)).toBe(SCHEMA_VERSION);
    expect(migrate(db)).toBe(SCHEMA_VERSION);
    const tables = db.exec("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")[0]?.values.flat();
    expect(tables).toEqual([
      'audit_head',
      'audit_log',
      'counters',
      'delivered_keys',
      'identity',
      'key_holders',
      'keys',
      'kms_groups',
      'memberships',
      'outbox',
      'pending_device_ops',
      'publication',
      'published_views',
      'retired_devices',
      'retired_groups',
      'sqlite_sequence',
      'streams',
      'update_state',
      'user_devices',
      'users',
    ]);
  });

  test('enforces foreign keys and checks', async () => {
    const db = await openSqlite();
    migrate(db);
    expect(() => db.run("INSERT INTO memberships VALUES ('G1', 'U1')")).toThrow(/FOREIGN KEY/);
    expect(() => db.run("INSERT INTO kms_groups VALUES ('G1', 'g', 0, 'AES-256-GCM', 1, 0)")).toThrow(/CHECK/);
    expect(() =>
      db.run(
        'INSERT INTO keys (id, name, owner_group, algorithm, state, cryptoperiod_ms, created_at, lifecycle) VALUES ' +
          "('K1', 'k', 'G1', 'AES-256-GCM', 'bogus', 1, 0, '{}')",
      ),
    ).toThrow(/CHECK/);
  });

  test('a database from a newer schema is refused; a failing migration leaves nothing behind', async () => {
    const db = await openSqlite();
    db.run('PRAGMA user_version = 99');
    expect(() => migrate(db)).toThrow(DatabaseError);
    const fresh = await openSqlite();
    const broken = [
      ...MIGRATIONS,
      { version: MIGRATIONS.length + 1, description: 'broken', sql: 'CREATE TABLE ok (a); CREATE TABLE nope (' },
    ];
    expect(() => migrate(fresh, broken)).toThrow(/\(broken\) failed/);
    expect(schemaVersion(fresh)).toBe(MIGRATIONS.length);
    expect(fresh.exec("SELECT name FROM sqlite_master WHERE name = 'ok'")).toEqual([]);
  });
});
