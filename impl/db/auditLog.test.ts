import { describe, expect, test } from 'vitest';
import { SdCard } from '../../device/sdcard.ts';
import { GENESIS_HASH, appendAudit, auditHash, lastAuditedAt, readAudit, verifyAudit } from './auditLog.ts';
import type { AuditCard } from './auditLog.ts';
import { EncryptedDatabase } from './encryptedDatabase.ts';
import { auditRegion } from './pageStore.ts';
import { SoftDatabaseDevice } from './softDevice.testkit.ts';
import { migrate } from './schema.ts';
import { openSqlite } from './sqlite.ts';

async function logWith(n: number) {
  const db = await openSqlite();
  migrate(db);
  for (let i = 1; i <= n; i++)
    appendAudit(db, null, [
      { at: 1000 + i, actor: 'admin', action: 'addUser', details: { userId: `U${i}`, name: `n;${i}` } },
    ]);
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

  test('detects an edited entry whose own hash was recomputed: the next entry no longer follows it', async () => {
    // The hash is public (SHA-256 over public fields), so whoever can edit a row can make the row agree
    // with itself; only the next entry's link to it can tell, and must.
    const db = await logWith(5);
    const third = readAudit(db)[2];
    if (third === undefined) throw new Error('the log has five entries');
    const hash = auditHash(third.prevHash, third.seq, third.at, third.actor, third.action, '{}');
    db.run("UPDATE audit_log SET details = '{}', hash = ? WHERE seq = 3", [hash]);
    expect(readAudit(db)[3]?.prevHash, "entry 4's link, unchanged").not.toBe(hash);
    expect(() => verifyAudit(db)).toThrow(/entry 4 does not match/);
  });
});

describe('audit log beside the database (a card larger than 32 MiB)', () => {
  const CARD = 131_072;
  const item = (i: number) => ({ at: 1000 + i, actor: 'admin', action: 'addUser', details: { userId: `U${i}` } });

  async function logged(commits: number) {
    const device = new SoftDatabaseDevice();
    const sd = new SdCard({ sectorCount: CARD });
    const db = await EncryptedDatabase.create(device, sd);
    const card: AuditCard = { device, sd };
    for (let i = 1; i <= commits; i++) db.transaction((d) => appendAudit(d, card, [item(2 * i - 1), item(2 * i)]));
    return { device, sd, db, card };
  }

  test('entries go to sealed records on the card; the database keeps only the head', async () => {
    const { db, card, device, sd } = await logged(4);
    const entries = db.read((d) => readAudit(d, card));
    expect(entries.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(entries[5]?.details).toBe('{"userId":"U6"}');
    expect(db.read((d) => verifyAudit(d, card))).toBe(entries[7]?.hash);
    expect(db.read((d) => d.exec('SELECT count(*) FROM audit_log')[0]?.values[0]?.[0])).toBe(0);
    const region = auditRegion(CARD) as { start: number };
    expect(db.read((d) => d.exec('SELECT seq, hash, next_sector FROM audit_head')[0]?.values[0])).toEqual([
      8,
      entries[7]?.hash,
      region.start + 4,
    ]);
    // No entry in clear on the card. (Markers long enough that random ciphertext cannot hold them by
    // chance: a two-letter one, 'U6', turned up in about one run in thirty.)
    const onCard = new TextDecoder('latin1').decode(sd.read(region.start, 4));
    for (const clear of ['"userId":"U6"', 'addUser', '"actor"']) expect(onCard).not.toContain(clear);
    // The same log after a reopen.
    const again = await EncryptedDatabase.open(device, sd);
    expect(again.read((d) => readAudit(d, card))).toEqual(entries);
    // One read command per record of one sector (the card charges per command: a record's first
    // sector, read for its header, is not read a second time), and a long record in two.
    const stats = () => sd.stats();
    const before = stats().reads;
    again.read((d) => readAudit(d, card));
    expect(stats().reads - before).toBe(4);
    const long = { ...item(9), details: { note: 'x'.repeat(3000) } };
    again.transaction((d) => appendAudit(d, card, [long]));
    const beforeLong = stats().reads;
    expect(again.read((d) => readAudit(d, card))).toHaveLength(9);
    expect(stats().reads - beforeLong).toBe(4 + 2);
  });

  test('the head keeps the latest time audited: an entry dated earlier does not move it back', async () => {
    const { db, card } = await logged(2);
    expect(db.read(lastAuditedAt)).toBe(1004);
    // A clock set back (the library takes any clock; only sekey's sessions refuse one behind this
    // time): the entry is logged as dated, but what a session may not run before stays the latest.
    db.transaction((d) => appendAudit(d, card, [{ ...item(9), at: 500 }]));
    expect(db.read((d) => readAudit(d, card)).map((e) => e.at)).toEqual([1001, 1002, 1003, 1004, 500]);
    expect(db.read(lastAuditedAt)).toBe(1004);
    db.transaction((d) => appendAudit(d, card, [item(10)]));
    expect(db.read(lastAuditedAt)).toBe(1010);
  });

  test('a record of a transaction that never committed is ignored, then overwritten', async () => {
    const { db, card } = await logged(2);
    expect(() =>
      db.transaction((d) => {
        appendAudit(d, card, [item(99)]);
        throw new Error('refused');
      }),
    ).toThrow('refused');
    expect(db.read((d) => readAudit(d, card)).map((e) => e.seq)).toEqual([1, 2, 3, 4]);
    db.transaction((d) => appendAudit(d, card, [item(5)]));
    expect(db.read((d) => readAudit(d, card)).map((e) => e.details)).toContain('{"userId":"U5"}');
    expect(db.read((d) => verifyAudit(d, card))).toMatch(/^[0-9a-f]{64}$/);
  });

  test('a changed, replaced or missing record breaks the chain', async () => {
    const { db, card, sd } = await logged(3);
    const start = (auditRegion(CARD) as { start: number }).start;
    const second = sd.read(start + 1, 1);
    // An authentic record of an attempt that never committed, put where the committed one was.
    expect(() =>
      db.transaction((d) => {
        appendAudit(d, card, [item(50), item(51)]);
        throw new Error('aborted');
      }),
    ).toThrow('aborted');
    const aborted = sd.read(start + 3, 1);
    const cases: Array<[string, Uint8Array, number, RegExp]> = [
      ['a flipped byte', second.map((b, i) => (i === 40 ? b ^ 1 : b)), start + 1, /fails authentication/],
      ['a record moved', second, start + 2, /does not follow/],
      ['a record erased', new Uint8Array(512), start + 1, /is missing/],
    ];
    for (const [what, bytes, at, message] of cases) {
      const copy = new SdCard({ sectorCount: CARD });
      for (let s = 0; s < start + 4; s += 256) copy.write(s, sd.read(s, Math.min(256, start + 4 - s)));
      copy.write(at, bytes);
      expect(() => db.read((d) => verifyAudit(d, { device: card.device, sd: copy })), what).toThrow(message);
    }
    // An authentic record of an aborted attempt in the place of the committed one that followed it:
    // numbered right, but the chain no longer ends at the committed head.
    db.transaction((d) => appendAudit(d, card, [item(7), item(8)]));
    const replaced = new SdCard({ sectorCount: CARD });
    for (let s = 0; s < start + 4; s += 256) replaced.write(s, sd.read(s, Math.min(256, start + 4 - s)));
    expect(replaced.read(start + 3, 1)).not.toEqual(aborted);
    replaced.write(start + 3, aborted);
    expect(() => db.read((d) => verifyAudit(d, { device: card.device, sd: replaced }))).toThrow(
      /not at the committed head/,
    );
    expect(db.read((d) => verifyAudit(d, card))).toMatch(/^[0-9a-f]{64}$/);
  });

  test('a log begun in the table (a card of 32 MiB or less) continues on a larger card', async () => {
    const device = new SoftDatabaseDevice();
    const sd = new SdCard({ sectorCount: CARD });
    const db = await EncryptedDatabase.create(device, sd);
    db.transaction((d) => appendAudit(d, null, [item(1), item(2)]));
    db.transaction((d) => appendAudit(d, { device, sd }, [item(3)]));
    const entries = db.read((d) => readAudit(d, { device, sd }));
    expect(entries.map((e) => e.seq)).toEqual([1, 2, 3]);
    expect(entries[2]?.prevHash).toBe(entries[1]?.hash);
    expect(db.read((d) => verifyAudit(d, { device, sd }))).toBe(entries[2]?.hash);
    // A card without a region keeps every entry in the table.
    expect(auditRegion(65_536)).toBeNull();
  });

  test('a full region refuses the append, and nothing changes', async () => {
    // 65,538 sectors: the second half, 16 MiB, is the region.
    const device = new SoftDatabaseDevice();
    const sd = new SdCard({ sectorCount: 65_538 });
    const db = await EncryptedDatabase.create(device, sd);
    const card: AuditCard = { device, sd };
    db.transaction((d) => appendAudit(d, card, [item(1), item(2)]));
    const before = db.generation;
    const huge = { at: 1, actor: 'admin', action: 'note', details: 'x'.repeat(17 * 1024 * 1024) };
    expect(() => db.transaction((d) => appendAudit(d, card, [huge]))).toThrow(
      expect.objectContaining({ code: 'NoSpace' }),
    );
    expect(db.generation).toBe(before);
    expect(db.read((d) => readAudit(d, card))).toHaveLength(2);
  });
});
