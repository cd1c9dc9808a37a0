import { describe, expect, test } from 'vitest';
import { openSqlite } from './sqlite.ts';
import { execute, query } from './statementCache.ts';

async function table() {
  const db = await openSqlite();
  db.run('CREATE TABLE t (id TEXT PRIMARY KEY, n INTEGER, b BLOB)');
  return db;
}

describe('kept prepared statements', () => {
  test('give the rows exec gives, parameters bound afresh at every call', async () => {
    const db = await table();
    for (const [id, n] of [
      ['a', 1],
      ['b', 2],
      ['c', 3],
    ] as const)
      execute(db, 'INSERT INTO t (id, n, b) VALUES (?, ?, ?)', [id, n, new Uint8Array([n, n])]);
    const sql = 'SELECT id, n, b FROM t WHERE n >= ? ORDER BY id';
    for (const min of [0, 2, 9, 1]) expect(query(db, sql, [min])).toEqual(db.exec(sql, [min])[0]?.values ?? []);
    expect(query(db, 'SELECT count(*) FROM t')).toEqual([[3]]);
    db.close();
  });

  test('a failed statement is reset: the next call and the transaction go on', async () => {
    const db = await table();
    db.run('BEGIN IMMEDIATE');
    execute(db, 'INSERT INTO t (id, n) VALUES (?, ?)', ['a', 1]);
    expect(() => execute(db, 'INSERT INTO t (id, n) VALUES (?, ?)', ['a', 2])).toThrow(/UNIQUE/);
    execute(db, 'INSERT INTO t (id, n) VALUES (?, ?)', ['b', 2]);
    db.run('COMMIT');
    // A statement left mid-step would keep a read open and make VACUUM fail.
    expect(query(db, 'SELECT id FROM t ORDER BY id')).toEqual([['a'], ['b']]);
    db.run('VACUUM');
    // Kept statements on a table do not lock it: a migration can still drop it.
    db.run('DROP TABLE t');
    expect(() => query(db, 'SELECT id FROM t ORDER BY id')).toThrow(/no such table/);
    expect(db.export().length).toBeGreaterThan(0);
    db.close();
  });

  test('refuses SQL holding more than one statement (a statement runs only the first)', async () => {
    const db = await table();
    expect(() => execute(db, "INSERT INTO t (id) VALUES ('x'); DELETE FROM t")).toThrow(/one SQL statement/);
    expect(query(db, 'SELECT id FROM t;  ')).toEqual([]);
    db.close();
  });

  test('a database replaced by a new one starts afresh; many texts stay correct past the bound', async () => {
    const first = await table();
    execute(first, 'INSERT INTO t (id, n) VALUES (?, ?)', ['a', 1]);
    const image = first.export();
    first.close();
    const second = await openSqlite(image);
    expect(query(second, 'SELECT id, n FROM t')).toEqual([['a', 1]]);
    for (let i = 0; i < 300; i += 1) expect(query(second, `SELECT ${i} + n FROM t`)).toEqual([[i + 1]]);
    expect(query(second, 'SELECT id, n FROM t')).toEqual([['a', 1]]);
    second.close();
  });
});
