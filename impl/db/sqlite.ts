/**
 * One place that loads sql.js (SQLite compiled to WebAssembly), so the wasm module is compiled once
 * per process and every database shares it.
 * @module
 */
import initSqlJs from 'sql.js';
import type { Database, SqlJsStatic } from 'sql.js';

let loading: Promise<SqlJsStatic> | null = null;

/** The sql.js module, compiled on first use. */
export function loadSqlJs(): Promise<SqlJsStatic> {
  loading ??= initSqlJs();
  return loading;
}

/** A fresh database, or one opened from an image exported earlier. */
export async function openSqlite(image?: Uint8Array): Promise<Database> {
  const SQL = await loadSqlJs();
  const db = image === undefined ? new SQL.Database() : new SQL.Database(image);
  db.run('PRAGMA foreign_keys = ON');
  return db;
}

export type { Database };
