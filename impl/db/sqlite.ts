/**
 * One place that loads sql.js (SQLite compiled to WebAssembly), so the wasm module is compiled once
 * per process and every database shares it.
 * @module
 */
import initSqlJs from 'sql.js';
import type { Database, SqlJsStatic, Statement } from 'sql.js';

let loading: Promise<SqlJsStatic> | null = null;

/** The sql.js module, compiled on first use. */
export function loadSqlJs(): Promise<SqlJsStatic> {
  loading ??= initSqlJs();
  return loading;
}

/**
 * Bytes SQLite holds right now (`sqlite3_memory_used`, which sql.js exports but does not type): what
 * its open connections take in sql.js's WebAssembly memory. The garbage collector cannot free
 * these; only `close()` on the connection does, so whatever opens databases over and over (a
 * simulation, a property suite) must close them. Tests read it to show that they do.
 */
export async function sqliteMemoryUsed(): Promise<number> {
  const SQL = (await loadSqlJs()) as SqlJsStatic & { readonly _sqlite3_memory_used: () => bigint | number };
  return Number(SQL._sqlite3_memory_used());
}

/**
 * A fresh database, or one opened from an image exported earlier.
 *
 * Two settings keep the image small, since every page of it is sealed by the HSM and decrypted at
 * every open: `auto_vacuum = FULL` (set before the first table; SQLite then returns the pages a
 * commit frees by truncating the file, instead of keeping them on a free list), and `secure_delete`
 * (deleted rows are overwritten with zeros: nothing deleted lingers in a page, and zeros compress).
 */
export async function openSqlite(image?: Uint8Array): Promise<Database> {
  const SQL = await loadSqlJs();
  const db = image === undefined ? new SQL.Database() : new SQL.Database(image);
  if (image === undefined) db.run('PRAGMA auto_vacuum = FULL');
  return configureConnection(db);
}

/**
 * The settings of every connection (they are not stored in the image): foreign keys, secure delete,
 * and two that only spare the host work, since the file SQLite writes lives in sql.js's in-memory
 * file system and is never what is durable (the encrypted store commits the exported image):
 *
 * - `locking_mode = EXCLUSIVE`: the connection keeps its lock, so SQLite no longer looks for a hot
 *   journal (a `stat` of the journal's path through the emulated file system) at the start of
 *   every statement; nothing else ever opens the file.
 * - `journal_mode = MEMORY`: the rollback journal is kept in memory rather than created, written
 *   and deleted as a file on every write transaction; ROLLBACK works as before. What SQLite says
 *   about a crash in this mode (the file may be left corrupt) cannot matter here: a crash loses the
 *   in-memory file anyway, and the database is reopened from the card.
 *
 * Neither changes a page: `export()` gives the same bytes with or without them (`sqlite.test.ts`).
 */
export function configureConnection(db: Database): Database {
  db.run('PRAGMA foreign_keys = ON');
  db.run('PRAGMA secure_delete = ON');
  db.run('PRAGMA locking_mode = EXCLUSIVE');
  db.run('PRAGMA journal_mode = MEMORY');
  return db;
}

/**
 * Turns `auto_vacuum` on for a database created without it (before this version), which takes one
 * `VACUUM`: every page is rewritten once. Returns whether it did.
 */
export function enableAutoVacuum(db: Database): boolean {
  if (Number(db.exec('PRAGMA auto_vacuum')[0]?.values[0]?.[0]) !== 0) return false;
  db.run('PRAGMA auto_vacuum = FULL');
  db.run('VACUUM');
  return true;
}

export type { Database, Statement };
