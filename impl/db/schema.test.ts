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
      'device_groups',
      'device_keys',
      'forgotten_device_keys',
      'forgotten_devices',
      'identity',
      'key_holders',
      'keys',
      'kms_groups',
      'memberships',
      'outbox',
      'pending_device_ops',
      'publication',
      'published_entities',
      'published_members',
      'retired_device_keys',
      'retired_devices',
      'retired_groups',
      'sqlite_sequence',
      'streams',
      'update_state',
      'user_devices',
      'users',
    ]);
  });

  test('version 4 keeps the keys ever delivered and makes the next file of every stream a resync', async () => {
    const db = await openSqlite();
    migrate(db, MIGRATIONS.slice(0, 3));
    db.run("INSERT INTO streams (user_id, sequence, last_hash, resync) VALUES ('U1', 7, x'00', 0)");
    db.run("INSERT INTO published_views VALUES ('U1', '{}')");
    db.run("INSERT INTO delivered_keys VALUES ('U1', 'K2000'), ('U1', 'K2001')");
    expect(migrate(db)).toBe(SCHEMA_VERSION);
    expect(db.exec('SELECT key_id, user_id, held FROM device_keys ORDER BY key_id')[0]?.values).toEqual([
      ['K2000', 'U1', 0],
      ['K2001', 'U1', 0],
    ]);
    expect(db.exec('SELECT sequence, resync, device_view FROM streams')[0]?.values).toEqual([[7, 1, 'none']]);
  });

  test('version 6 gives dropped keys already there a file no earlier than the one ordering the erase', async () => {
    const db = await openSqlite();
    migrate(db, MIGRATIONS.slice(0, 5));
    // U1's last file (7) ordered K2000 erased; U2's next file is a pending resync (8), which will.
    db.run(
      "INSERT INTO streams (user_id, sequence, last_hash, resync) VALUES ('U1', 7, x'00', 0), ('U2', 7, x'00', 1)",
    );
    db.run(
      "INSERT INTO device_keys (key_id, user_id, held) VALUES ('K2000', 'U1', 0), ('K2001', 'U1', 1), " +
        "('K2000', 'U2', 0), ('K2000', 'U3', 0)",
    );
    expect(migrate(db)).toBe(SCHEMA_VERSION);
    expect(
      db.exec('SELECT key_id, user_id, held, dropped_in FROM device_keys ORDER BY user_id, key_id')[0]?.values,
    ).toEqual([
      ['K2000', 'U1', 0, 7],
      ['K2001', 'U1', 1, null],
      ['K2000', 'U2', 0, 8],
      // Never published to: its first file, a resync, orders it erased.
      ['K2000', 'U3', 0, 1],
    ]);
    expect(() => db.run("INSERT INTO device_keys VALUES ('K2002', 'U1', 0, NULL)")).toThrow(/CHECK/);
  });

  test('version 7 drops the records of deleted users whose HSM was provisioned for another user since', async () => {
    const db = await openSqlite();
    migrate(db, MIGRATIONS.slice(0, 6));
    // U1 was deleted and its HSM A reset and provisioned for U2, in service; U3 was deleted, its HSM
    // B never provisioned again. U5 was deleted and its HSM E reset and provisioned for U6, deleted
    // since (U6's record is the later one: its key base is greater). U7 was deleted and its HSM F
    // reset and provisioned for U8, who was given G since (F was retired again, replaced).
    db.run(
      "INSERT INTO user_devices VALUES ('U1', 'A', 0, 1, 5), ('U2', 'A', 1, 6, NULL), ('U3', 'B', 2, 1, 5), " +
        "('U4', 'C', 3, 1, NULL), ('U5', 'E', 4, 1, 5), ('U6', 'E', 5, 6, 10), ('U7', 'F', 6, 1, 5), " +
        "('U8', 'G', 8, 9, NULL)",
    );
    db.run("INSERT INTO retired_devices VALUES ('D', 'U4', 3), ('F', 'U8', 9)");
    for (const u of ['U1', 'U3', 'U5', 'U6', 'U7']) {
      db.run(
        "INSERT INTO streams (user_id, sequence, last_hash, resync, device_view) VALUES (?, 7, x'00', 0, 'empty')",
        [u],
      );
      db.run("INSERT INTO device_keys VALUES ('K2000', ?, 0, 7)", [u]);
      db.run("INSERT INTO device_groups VALUES ('G1', ?)", [u]);
      db.run("INSERT INTO outbox VALUES (?, 7, 'n', x'00', x'00')", [u]);
      db.run("INSERT INTO publication VALUES (?, 'pending', 7, 6, '{}')", [u]);
    }
    expect(migrate(db)).toBe(SCHEMA_VERSION);
    const column = (sql: string) => db.exec(sql)[0]?.values ?? [];
    const users = (sql: string) => column(sql).map((row) => row[0]);
    expect(users('SELECT user_id FROM user_devices ORDER BY user_id')).toEqual(['U2', 'U3', 'U4', 'U6', 'U8']);
    for (const table of ['device_keys', 'device_groups', 'outbox', 'publication'])
      expect(users(`SELECT user_id FROM ${table} ORDER BY user_id`), table).toEqual(['U3', 'U6']);
    // The stream stays the user ID's, its next file a resync; the replaced HSM's keys are not known.
    expect(column('SELECT user_id, sequence, resync, device_view FROM streams ORDER BY user_id')).toEqual([
      ['U1', 7, 1, 'none'],
      ['U3', 7, 0, 'empty'],
      ['U5', 7, 1, 'none'],
      ['U6', 7, 0, 'empty'],
      ['U7', 7, 1, 'none'],
    ]);
    expect(column('SELECT serial, keys_recorded FROM retired_devices ORDER BY serial')).toEqual([
      ['D', 0],
      ['F', 0],
    ]);
    expect(column("SELECT name FROM sqlite_temp_master WHERE type = 'table'")).toEqual([]);
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
