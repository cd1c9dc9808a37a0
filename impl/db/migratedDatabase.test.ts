import { describe, expect, test } from 'vitest';
import { migratedImage, openMigrated, openMigratedExported } from './migratedDatabase.ts';
import { SCHEMA_VERSION, migrate, schemaVersion } from './schema.ts';
import { openSqlite } from './sqlite.ts';
import type { Database } from './sqlite.ts';

async function migratedFresh(): Promise<Database> {
  const db = await openSqlite();
  migrate(db);
  return db;
}

/** A transaction that touches a table, the sequence table and the header. */
function change(db: Database): void {
  db.run('BEGIN');
  db.run("INSERT INTO identity (id, role) VALUES (1, 'admin')");
  db.run("INSERT INTO users (id, name) VALUES ('U1', 'alice')");
  db.run('COMMIT');
}

describe('a database opened from the migrated image', () => {
  test('is the freshly migrated database byte for byte, before and after a transaction', async () => {
    const fresh = await migratedFresh();
    const opened = await openMigrated();
    expect(schemaVersion(opened)).toBe(SCHEMA_VERSION);
    expect(opened.export()).toEqual(fresh.export());
    change(fresh);
    change(opened);
    expect(opened.export()).toEqual(fresh.export());
    expect(Number(opened.exec('PRAGMA auto_vacuum')[0]?.values[0]?.[0])).toBe(1);
    expect(Number(opened.exec('PRAGMA foreign_keys')[0]?.values[0]?.[0])).toBe(1);
  });

  test('never shares its file with the image or another database', async () => {
    const before = (await migratedImage()).slice();
    const a = await openMigrated();
    change(a);
    const b = await openMigrated();
    expect(b.exec('SELECT count(*) FROM users')[0]?.values[0]?.[0]).toBe(0);
    expect(await migratedImage()).toEqual(before);
  });

  test('comes with the bytes its export() gives, in a copy of its own', async () => {
    const { db, exported } = await openMigratedExported();
    expect(exported).toEqual(db.export());
    expect(exported).toEqual(await migratedImage());
    exported.fill(0);
    expect((await openMigratedExported()).exported).toEqual(db.export());
  });
});
