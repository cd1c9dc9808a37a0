import { describe, expect, test } from 'vitest';
import { PowerLossError } from '../../device/powerLossError.ts';
import { SdCard } from '../../device/sdcard.ts';
import { DatabaseError } from './databaseError.ts';
import { EncryptedDatabase } from './encryptedDatabase.ts';
import { PAGE_SIZE, cardLayout } from './pageStore.ts';
import { SCHEMA_VERSION, schemaVersion } from './schema.ts';
import { SoftDatabaseDevice } from './softDevice.testkit.ts';
import { sqliteMemoryUsed } from './sqlite.ts';

const count = (db: EncryptedDatabase) =>
  db.read((d) => Number(d.exec('SELECT count(*) FROM users')[0]?.values[0]?.[0]));

describe('EncryptedDatabase', () => {
  test('create migrates and commits generation 1; open finds it; a second create is refused', async () => {
    const device = new SoftDatabaseDevice();
    const sd = new SdCard({ sectorCount: 4096 });
    const db = await EncryptedDatabase.create(device, sd);
    expect(db.generation).toBe(1);
    expect(device.committedGeneration()).toBe(1);
    const again = await EncryptedDatabase.open(device, sd);
    expect(again.read(schemaVersion)).toBe(SCHEMA_VERSION);
    await expect(EncryptedDatabase.create(device, sd)).rejects.toThrow(/already holds a database/);
  });

  test('opening a blank card is NotFound; a blank card for a used device is Tampered', async () => {
    const sd = new SdCard({ sectorCount: 4096 });
    await expect(EncryptedDatabase.open(new SoftDatabaseDevice(), sd)).rejects.toMatchObject({ code: 'NotFound' });
    const used = new SoftDatabaseDevice();
    used.commitGeneration(3);
    await expect(EncryptedDatabase.open(used, sd)).rejects.toMatchObject({ code: 'Tampered' });
  });

  test('a page record naming a generation above 2^53 - 1 is Tampered, not a crash', async () => {
    const device = new SoftDatabaseDevice();
    const sd = new SdCard({ sectorCount: 4096 });
    await EncryptedDatabase.create(device, sd);
    const first = cardLayout(4096).pagesStart; // page 0, slot 0: written by generation 1
    const sector = sd.read(first);
    sector.fill(0xff, 0, 8);
    sd.write(first, sector);
    sd.sync();
    await expect(EncryptedDatabase.open(device, sd)).rejects.toMatchObject({
      code: 'Tampered',
      message: /impossible generation/,
    });
  });

  test('a transaction that throws changes nothing, in memory or on the card', async () => {
    const device = new SoftDatabaseDevice();
    const sd = new SdCard({ sectorCount: 4096 });
    const db = await EncryptedDatabase.create(device, sd);
    expect(() =>
      db.transaction((d) => {
        d.run("INSERT INTO users VALUES ('U1', 'a')");
        throw new Error('changed my mind');
      }),
    ).toThrow('changed my mind');
    expect(count(db)).toBe(0);
    expect(db.generation).toBe(1);
    db.transaction((d) => d.run("INSERT INTO users VALUES ('U1', 'a')"));
    expect(db.generation).toBe(2);
    expect(count(await EncryptedDatabase.open(device, sd))).toBe(1);
  });

  test('a commit that does not fit is refused and memory returns to the committed state', async () => {
    const device = new SoftDatabaseDevice();
    const sd = new SdCard({ sectorCount: 800 });
    const db = await EncryptedDatabase.create(device, sd);
    const max = cardLayout(800).maxPages;
    const error = (() => {
      try {
        db.transaction((d) => {
          d.run('CREATE TABLE big (b BLOB)');
          d.run('INSERT INTO big VALUES (zeroblob(?))', [max * PAGE_SIZE]);
        });
      } catch (e) {
        return e;
      }
      return null;
    })();
    expect(error).toBeInstanceOf(DatabaseError);
    expect((error as DatabaseError).code).toBe('NoSpace');
    expect(db.read((d) => d.exec("SELECT name FROM sqlite_master WHERE name = 'big'"))).toEqual([]);
    db.transaction((d) => d.run("INSERT INTO users VALUES ('U1', 'a')"));
    expect(count(await EncryptedDatabase.open(device, sd))).toBe(1);
  });

  test('a single-row commit writes a few pages and one manifest, not the file', async () => {
    const device = new SoftDatabaseDevice();
    const sd = new SdCard({ sectorCount: 16384 });
    const db = await EncryptedDatabase.create(device, sd);
    db.transaction((d) => {
      d.run('CREATE TABLE filler (b BLOB)');
      for (let i = 0; i < 200; i++) d.run('INSERT INTO filler VALUES (zeroblob(3000))');
    });
    db.transaction((d) => d.run("INSERT INTO users VALUES ('U1', 'a')"));
    const stats = db.lastCommit;
    expect(stats?.pagesWritten).toBeLessThanOrEqual(3);
    expect(stats?.bytesEncrypted).toBeLessThan(4 * PAGE_SIZE);
    expect(db.read((d) => Number(d.exec('PRAGMA page_count')[0]?.values[0]?.[0]))).toBeGreaterThan(150);
  });

  test('closed databases refuse use', async () => {
    const db = await EncryptedDatabase.create(new SoftDatabaseDevice(), new SdCard({ sectorCount: 4096 }));
    db.close();
    expect(() => count(db)).toThrow(/reopened/);
  });

  test('a create or open that fails frees its SQLite connection: the caller never gets one to close', async () => {
    const device = new SoftDatabaseDevice();
    const sd = new SdCard({ sectorCount: 4096 });
    const before = await sqliteMemoryUsed();
    sd.cutPowerAfter(1);
    await expect(
      EncryptedDatabase.create(device, sd, (d) => d.run('INSERT INTO users (id, name) VALUES (1, 2)')),
    ).rejects.toThrow(PowerLossError);
    expect(await sqliteMemoryUsed()).toBe(before);
  });

  test('an open refused after reading (a schema newer than this program) frees its connection too', async () => {
    const device = new SoftDatabaseDevice();
    const sd = new SdCard({ sectorCount: 4096 });
    const db = await EncryptedDatabase.create(device, sd);
    db.transaction((d) => d.run('PRAGMA user_version = 999'));
    db.close();
    const before = await sqliteMemoryUsed();
    await expect(EncryptedDatabase.open(device, sd)).rejects.toMatchObject({ code: 'SchemaTooNew' });
    expect(await sqliteMemoryUsed()).toBe(before);
  });
});
