/**
 * A fresh database at the latest schema, opened from the image of one that was migrated once in this
 * process instead of replaying every migration again.
 *
 * Why: every new device (admin or user) creates its database, and replaying the five migrations on
 * an empty database costs SQLite about thirty times more than opening their result (the property
 * suites create one per provisioned device). The result is the same database byte for byte: the
 * image is `export()` of a freshly migrated database, and SQLite reopens an image exactly as
 * written (`migratedDatabase.test.ts` compares both, before and after a transaction), so every page
 * the encrypted store seals, and every cycle the device charges for it, is unchanged.
 * @module
 */
import { migrate } from './schema.ts';
import { openSqlite } from './sqlite.ts';
import type { Database } from './sqlite.ts';

let image: Promise<Uint8Array> | null = null;

/** The image of an empty database migrated to the latest schema (computed once, then shared). */
export function migratedImage(): Promise<Uint8Array> {
  image ??= (async () => {
    const db = await openSqlite();
    try {
      migrate(db);
      return db.export().slice();
    } finally {
      db.close();
    }
  })();
  return image;
}

/** A new, empty database at the latest schema, as `migrate` on a fresh {@link openSqlite} would leave it. */
export async function openMigrated(): Promise<Database> {
  // openSqlite copies the image into SQLite's own file, so the shared image is never written.
  return openSqlite(await migratedImage());
}
