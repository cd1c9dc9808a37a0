import { Buffer } from 'node:buffer';
import { describe, expect, test } from 'vitest';
import { migratedImage } from './migratedDatabase.ts';
import { loadSqlJs, openSqlite } from './sqlite.ts';
import type { Database } from './sqlite.ts';

/** Transaction `i` of a mixed run: inserts of growing rows, deletes, updates, and every seventh rolled back. */
function transaction(db: Database, i: number): void {
  db.run('BEGIN IMMEDIATE');
  db.run('INSERT INTO users (id, name) VALUES (?, ?)', [`U${i}`, 'x'.repeat((i * 37) % 900)]);
  if (i % 3 === 0) db.run('DELETE FROM users WHERE id = ?', [`U${i - 2}`]);
  if (i % 5 === 0) db.run("UPDATE users SET name = name || 'y' WHERE id = ?", [`U${i - 1}`]);
  db.run(i % 7 === 0 ? 'ROLLBACK' : 'COMMIT');
}

describe('configureConnection', () => {
  test('its host-only settings (exclusive lock, journal in memory) change no exported byte', async () => {
    const SQL = await loadSqlJs();
    const image = await migratedImage();
    const configured = await openSqlite(image);
    expect(configured.exec('PRAGMA locking_mode')[0]?.values[0]?.[0]).toBe('exclusive');
    expect(configured.exec('PRAGMA journal_mode')[0]?.values[0]?.[0]).toBe('memory');
    // The connection as it was before those two settings.
    const plain = new SQL.Database(image);
    plain.run('PRAGMA foreign_keys = ON');
    plain.run('PRAGMA secure_delete = ON');
    for (let i = 0; i < 120; i++) {
      transaction(configured, i);
      transaction(plain, i);
      // Buffer#equals: a native comparison of the two images (150 KB each, 120 times).
      expect(Buffer.from(configured.export()).equals(Buffer.from(plain.export())), `after transaction ${i}`).toBe(true);
    }
    expect(configured.exec('SELECT count(*) FROM users')).toEqual(plain.exec('SELECT count(*) FROM users'));
  });
});
