/**
 * A fresh database at the latest schema, opened from the image of one that was migrated once in this
 * process instead of replaying every migration again.
 *
 * Why: every new device (admin or user) creates its database, and replaying every migration
 * (`MIGRATIONS` of `schema.ts`) on an empty database costs SQLite many times more than opening their
 * result (the property suites create one per provisioned device). The result is the same database byte for byte: the
 * image is `export()` of a freshly migrated database, and SQLite reopens an image exactly as
 * written (`migratedDatabase.test.ts` compares both, before and after a transaction), so every page
 * the encrypted store seals, and every cycle the device charges for it, is unchanged.
 * @module
 */
import { Buffer } from 'node:buffer';
import { migrate } from './schema.ts';
import { openSqlite } from './sqlite.ts';
import type { Database } from './sqlite.ts';

interface Migrated {
  readonly image: Uint8Array;
  /**
   * Whether `export()` of a database just opened from `image` returns `image` again, checked once by
   * doing it. sql.js exports through SQLite's backup API, which rewrites a few header fields (schema
   * cookie, change counter, page count) of the copy; an image that is itself an export comes back
   * unchanged, and this says so from the bytes rather than from that reading of SQLite.
   */
  readonly exportsItself: boolean;
}

let migrated: Promise<Migrated> | null = null;

function migratedOnce(): Promise<Migrated> {
  migrated ??= (async () => {
    const db = await openSqlite();
    let image: Uint8Array;
    try {
      migrate(db);
      image = db.export().slice();
    } finally {
      db.close();
    }
    const reopened = await openSqlite(image);
    try {
      const again = reopened.export();
      return { image, exportsItself: Buffer.from(again).equals(Buffer.from(image)) };
    } finally {
      reopened.close();
    }
  })();
  return migrated;
}

/** The image of an empty database migrated to the latest schema (computed once, then shared). */
export async function migratedImage(): Promise<Uint8Array> {
  return (await migratedOnce()).image;
}

/** A new, empty database at the latest schema, as `migrate` on a fresh {@link openSqlite} would leave it. */
export async function openMigrated(): Promise<Database> {
  // openSqlite copies the image into SQLite's own file, so the shared image is never written.
  return openSqlite(await migratedImage());
}

/**
 * {@link openMigrated}, with what its `export()` returns now (a copy the caller owns), without the
 * export when the image is known to export as itself: a new device's first commit needs exactly
 * those bytes, and an export copies the whole database through SQLite's backup API.
 */
export async function openMigratedExported(): Promise<{ db: Database; exported: Uint8Array }> {
  const { image, exportsItself } = await migratedOnce();
  const db = await openSqlite(image);
  return { db, exported: exportsItself ? image.slice() : db.export() };
}
