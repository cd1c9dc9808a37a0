import { describe, expect, test } from 'vitest';
import { GENESIS_HASH, appendAudit, auditHash, readAudit, verifyAudit } from './auditLog.ts';
import { migrate } from './schema.ts';
import { openSqlite } from './sqlite.ts';

async function logWith(n: number) {
  const db = await openSqlite();
  migrate(db);
  for (let i = 1; i <= n; i++) appendAudit(db, 1000 + i, 'admin', 'addUser', { userId: `U${i}`, name: `n;${i}` });
  return db;
}

describe('audit log', () => {
  test('entries chain from the genesis hash and verify', async () => {
    const db = await logWith(5);
    const entries = readAudit(db);
    expect(entries.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(entries[0]?.prevHash).toBe(GENESIS_HASH);
    expect(entries[3]?.prevHash).toBe(entries[2]?.hash);
    expect(verifyAudit(db)).toBe(entries[4]?.hash);
  });

  test('field boundaries are unambiguous', () => {
    expect(auditHash(GENESIS_HASH, 1, 1, 'ab', 'c', '{}')).not.toBe(auditHash(GENESIS_HASH, 1, 1, 'a', 'bc', '{}'));
  });

  test.each([
    ['an edited entry', "UPDATE audit_log SET details = '{}' WHERE seq = 3", /entry 3 does not match/],
    ['a deleted entry', 'DELETE FROM audit_log WHERE seq = 2', /entry 2 is missing/],
    ['a re-hashed entry', "UPDATE audit_log SET hash = 'x' WHERE seq = 4", /entry 4 does not match/],
    [
      'swapped entries',
      'UPDATE audit_log SET at = CASE seq WHEN 1 THEN 1002 ELSE 1001 END WHERE seq IN (1, 2)',
      /entry 1 does not match/,
    ],
  ])('detects %s', async (_what, sql, message) => {
    const db = await logWith(5);
    db.run(sql);
    expect(() => verifyAudit(db)).toThrow(message);
  });
});
