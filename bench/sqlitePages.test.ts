import { describe, expect, test } from 'vitest';
import { openSqlite } from '../impl/db/sqlite.ts';
import type { Database } from '../impl/db/sqlite.ts';
import { pageBreakdown } from './sqlitePages.ts';

function roots(db: Database): Array<[string, number]> {
  return (db.exec('SELECT name, rootpage FROM sqlite_master WHERE rootpage > 0')[0]?.values ?? []).map((r) => [
    String(r[0]),
    Number(r[1]),
  ]);
}

describe('pages per B-tree of a SQLite image', () => {
  test('every page of a database without free pages belongs to one tree; larger tables take more pages', async () => {
    const db = await openSqlite();
    db.run('PRAGMA auto_vacuum = NONE');
    db.run('VACUUM');
    db.run('CREATE TABLE big (id INTEGER PRIMARY KEY, text TEXT NOT NULL)');
    db.run('CREATE INDEX big_text ON big(text)');
    db.run('CREATE TABLE small (id TEXT PRIMARY KEY) WITHOUT ROWID');
    db.run('BEGIN');
    for (let i = 0; i < 3000; i++) db.run('INSERT INTO big (text) VALUES (?)', [`row ${i} ${'x'.repeat(i % 50)}`]);
    db.run("INSERT INTO small VALUES ('a'), ('b')");
    db.run('COMMIT');
    const image = db.export();
    const b = pageBreakdown(image, roots(db));
    expect(b.pageSize).toBe(4096);
    expect(b.pages).toBe(image.length / 4096);
    expect(b.other).toBe(0);
    expect(Object.values(b.byTree).reduce((x, y) => x + y, 0)).toBe(b.pages);
    expect(b.byTree['small']).toBe(1);
    expect(b.byTree['sqlite_master']).toBe(1);
    // A multi-level tree: interior pages and their leaves are all counted.
    expect(b.byTree['big']).toBeGreaterThan(20);
    expect(b.byTree['big_text']).toBeGreaterThan(10);
    // Pages freed by a dropped table are on the free list: no tree reaches them.
    db.run('DROP TABLE big');
    const after = pageBreakdown(db.export(), roots(db));
    expect(after.pages).toBe(b.pages);
    expect(after.other).toBe((b.byTree['big'] ?? 0) + (b.byTree['big_text'] ?? 0));
  });
});
