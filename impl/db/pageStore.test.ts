import { inflateRawSync } from 'node:zlib';
import { sha256 } from '@noble/hashes/sha2.js';
import { describe, expect, test } from 'vitest';
import { SdCard } from '../../device/sdcard.ts';
import { MAX_ATTEMPTS, decodeCommitIntent, encodeCommitIntent, nextCommitIntent } from './commitIntent.ts';
import type { DatabaseDevice } from './databaseDevice.ts';
import { EncryptedDatabase } from './encryptedDatabase.ts';
import { PAGE_SECTORS, PAGE_SIZE, PageStore, cardLayout } from './pageStore.ts';
import { SoftDatabaseDevice } from './softDevice.testkit.ts';

const SECTORS = 4096;

/** A copy of the card, sector by sector (an image of it). */
function clone(sd: SdCard): SdCard {
  const copy = new SdCard({ sectorCount: sd.sectorCount });
  for (let s = 0; s < sd.sectorCount; s += 256) copy.write(s, sd.read(s, Math.min(256, sd.sectorCount - s)));
  copy.sync();
  return copy;
}

const names = (db: EncryptedDatabase) =>
  db.read((d) => (d.exec('SELECT name FROM users ORDER BY id')[0]?.values ?? []).map((r) => String(r[0])));
const addUser = (db: EncryptedDatabase, id: string, name: string) =>
  db.transaction((d) => d.run('INSERT INTO users (id, name) VALUES (?, ?)', [id, name]));

async function openCode(device: DatabaseDevice, sd: SdCard): Promise<string> {
  try {
    (await EncryptedDatabase.open(device, sd)).close();
    return 'ok';
  } catch (error) {
    return (error as { code?: string }).code ?? String(error);
  }
}

describe('page store: commit intent', () => {
  test('a commit interrupted after its manifest is completed on open: it is the one the device recorded', async () => {
    const device = new SoftDatabaseDevice();
    const sd = new SdCard({ sectorCount: SECTORS });
    const db = await EncryptedDatabase.create(device, sd);
    addUser(db, 'U1', 'alice');
    device.cutBeforeNextCounter = true;
    expect(() => addUser(db, 'U2', 'bob')).toThrow('power cut');
    expect(device.committedGeneration()).toBe(2);
    const reopened = await EncryptedDatabase.open(device, sd);
    expect(device.committedGeneration()).toBe(3);
    expect(names(reopened)).toEqual(['alice', 'bob']);
  });

  test(
    'the card of an interrupted commit, saved and put back after the device committed another one, is ' + 'refused',
    async () => {
      const device = new SoftDatabaseDevice();
      const sd = new SdCard({ sectorCount: SECTORS });
      let db = await EncryptedDatabase.create(device, sd);
      addUser(db, 'U1', 'alice');
      const before = clone(sd);
      // An interrupted save: the manifest of "add mallory" is on the card, the counter did not move.
      device.cutBeforeNextCounter = true;
      expect(() => addUser(db, 'U9', 'mallory')).toThrow('power cut');
      const interrupted = clone(sd);
      // The card goes back to before it (or the manifest was lost); the device goes on.
      db = await EncryptedDatabase.open(device, before);
      expect(names(db)).toEqual(['alice']);
      addUser(db, 'U2', 'bob');
      db.close();
      const later = await EncryptedDatabase.open(device, before);
      expect(names(later)).toEqual(['alice', 'bob']);
      later.close();
      // Put back, the saved card would make the admin forget bob and believe in mallory.
      expect(await openCode(device, interrupted)).toBe('RolledBack');
      await expect(EncryptedDatabase.open(device, interrupted)).rejects.toThrow(/not the commit the device recorded/);
      expect(await openCode(device, before)).toBe('ok');
    },
  );

  test(
    'while a later commit is pending, only the committed manifest of the generation before is ' + 'accepted',
    async () => {
      const device = new SoftDatabaseDevice();
      const sd = new SdCard({ sectorCount: SECTORS });
      let db = await EncryptedDatabase.create(device, sd);
      const before = clone(sd);
      device.cutBeforeNextCounter = true;
      expect(() => addUser(db, 'U9', 'mallory')).toThrow('power cut');
      const interrupted = clone(sd);
      db = await EncryptedDatabase.open(device, before);
      addUser(db, 'U2', 'bob'); // generation 2, second attempt
      // The next commit is cut after its intent and manifest; the card goes back to before it.
      const committed = clone(before);
      device.cutBeforeNextCounter = true;
      expect(() => addUser(db, 'U3', 'carol')).toThrow('power cut');
      expect(decodeCommitIntent(device.commitIntent())).toEqual({ generation: 3, previousAttempt: 2, attempt: 1 });
      expect(names(await EncryptedDatabase.open(device, committed))).toEqual(['bob']);
      // Generation 2 of the interrupted card is authentic, but not the attempt the device committed.
      expect(await openCode(device, interrupted)).toBe('RolledBack');
    },
  );

  test('a card of format 1 opens on a device that never recorded an intent; its next commit records one', async () => {
    const soft = new SoftDatabaseDevice();
    const sd = new SdCard({ sectorCount: SECTORS });
    const db = await EncryptedDatabase.create(soft, sd);
    addUser(db, 'U1', 'alice');
    db.close();
    // Rewrite the current manifest as format 1 had it: u64 generation, 'SKDB manifest v1'.
    const { manifestSectors } = cardLayout(SECTORS);
    const slot = (soft.committedGeneration() % 2) * manifestSectors;
    const bytes = sd.read(slot, manifestSectors);
    const length = new DataView(bytes.buffer).getUint32(5);
    const plain = soft.open(bytes.subarray(9, 9 + length), new TextEncoder().encode('SKDB manifest v2'));
    plain.fill(0, 0, 2);
    const sealed = soft.seal(plain, new TextEncoder().encode('SKDB manifest v1'));
    bytes[4] = 1;
    bytes.set(sealed, 9);
    sd.write(slot, bytes);
    sd.sync();
    let legacyIntent = 0;
    const legacy: DatabaseDevice = {
      seal: (p, aad) => soft.seal(p, aad),
      open: (s, aad) => soft.open(s, aad),
      committedGeneration: () => soft.committedGeneration(),
      commitGeneration: (g) => soft.commitGeneration(g),
      commitIntent: () => legacyIntent,
      recordCommitIntent: (v) => {
        legacyIntent = v;
      },
    };
    const reopened = await EncryptedDatabase.open(legacy, sd);
    expect(names(reopened)).toEqual(['alice']);
    addUser(reopened, 'U2', 'bob');
    expect(decodeCommitIntent(legacyIntent)).toEqual({ generation: 3, previousAttempt: 0, attempt: 1 });
    expect(names(await EncryptedDatabase.open(legacy, sd))).toEqual(['alice', 'bob']);
    // With an intent recorded, a format-1 manifest is no longer vouched for.
    expect(
      await openCode(
        {
          ...legacy,
          commitIntent: () => encodeCommitIntent({ generation: 2, previousAttempt: 0, attempt: 1 }),
          committedGeneration: () => 2,
        },
        clone(sd),
      ),
    ).not.toBe('ok');
  });

  test('uncompressed page records (format 1) still open, and mix with compressed ones after a commit', async () => {
    const soft = new SoftDatabaseDevice();
    const sd = new SdCard({ sectorCount: SECTORS });
    const db = await EncryptedDatabase.create(soft, sd);
    addUser(db, 'U1', 'alice');
    db.close();
    // Rewrite every page in use as format 1 wrote it (u64be generation, the page sealed as is under
    // "SKDB page"), and the manifest's digest over the new tags.
    const { manifestSectors, pagesStart } = cardLayout(SECTORS);
    const text = (s: string) => new TextEncoder().encode(s);
    const aad = (label: string, page: number, generation: number) => {
      const out = new Uint8Array(label.length + 12);
      out.set(text(label));
      const view = new DataView(out.buffer);
      view.setUint32(label.length, page);
      view.setBigUint64(label.length + 4, BigInt(generation));
      return out;
    };
    const slot = (soft.committedGeneration() % 2) * manifestSectors;
    const bytes = sd.read(slot, manifestSectors);
    const length = new DataView(bytes.buffer).getUint32(5);
    const plain = soft.open(bytes.subarray(9, 9 + length), text('SKDB manifest v2'));
    const pageCount = new DataView(plain.buffer, plain.byteOffset).getUint32(8);
    const slots = plain.subarray(44);
    const digest = sha256.create();
    for (let page = 0; page < pageCount; page++) {
      const at = pagesStart + (2 * page + (((slots[page >> 3] as number) >> (page & 7)) & 1)) * PAGE_SECTORS;
      const record = sd.read(at, PAGE_SECTORS);
      const view = new DataView(record.buffer, record.byteOffset);
      expect(record[0]).toBe(1);
      const generation = view.getUint16(2) * 2 ** 32 + view.getUint32(4);
      const sealed = record.subarray(12, 12 + view.getUint32(8));
      const page4k = inflateRawSync(soft.open(sealed, aad('SKDB page z', page, generation)));
      const legacy = soft.seal(new Uint8Array(page4k), aad('SKDB page', page, generation));
      const out = new Uint8Array(PAGE_SECTORS * 512);
      new DataView(out.buffer).setBigUint64(0, BigInt(generation));
      out.set(legacy, 8);
      sd.write(at, out);
      const entry = new Uint8Array(28);
      new DataView(entry.buffer).setUint32(0, page);
      new DataView(entry.buffer).setBigUint64(4, BigInt(generation));
      entry.set(legacy.subarray(legacy.length - 16), 12);
      digest.update(entry);
    }
    plain.set(digest.digest(), 12);
    const resealed = soft.seal(plain, text('SKDB manifest v2'));
    bytes.set(resealed, 9);
    sd.write(slot, bytes);
    sd.sync();
    const reopened = await EncryptedDatabase.open(soft, sd);
    expect(names(reopened)).toEqual(['alice']);
    addUser(reopened, 'U2', 'bob');
    expect(reopened.lastCommit?.pagesWritten).toBeLessThan(pageCount);
    expect(names(await EncryptedDatabase.open(soft, sd))).toEqual(['alice', 'bob']);
  });

  test('commits tried with the card out spend no attempt: more than the attempts allowed, then it commits', () => {
    const device = new SoftDatabaseDevice();
    const sd = new SdCard({ sectorCount: SECTORS });
    PageStore.create(device, sd).commit(new Uint8Array(2 * PAGE_SIZE).fill(1));
    const intent = device.commitIntent();
    // Opened, then the card pulled before the commit, again and again (once more than the attempts).
    for (let i = 0; i <= MAX_ATTEMPTS; i++) {
      const store = PageStore.open(device, sd);
      sd.cutPower();
      expect(() => store.commit(new Uint8Array(2 * PAGE_SIZE).fill(2))).toThrow('unpowered');
      sd.powerOn();
    }
    // No attempt spent, no device write: the card back in, the next commit goes through.
    expect(device.commitIntent()).toEqual(intent);
    const store = PageStore.open(device, sd);
    expect(store.commit(new Uint8Array(2 * PAGE_SIZE).fill(3)).generation).toBe(2);
    expect(PageStore.open(device, sd).image).toEqual(new Uint8Array(2 * PAGE_SIZE).fill(3));
  });

  test('an image equal to the committed one writes nothing: no intent, no card write, the same generation', () => {
    const device = new SoftDatabaseDevice();
    const sd = new SdCard({ sectorCount: SECTORS });
    PageStore.create(device, sd).commit(new Uint8Array(2 * PAGE_SIZE).fill(1));
    const store = PageStore.open(device, sd);
    const intent = device.commitIntent();
    const written = sd.stats().bytesWritten;
    // Even with the card out: there is nothing to write.
    sd.cutPower();
    expect(store.commit(new Uint8Array(2 * PAGE_SIZE).fill(1))).toEqual({
      generation: 1,
      pagesWritten: 0,
      bytesEncrypted: 0,
      bytesWritten: 0,
    });
    sd.powerOn();
    expect([device.commitIntent(), device.committedGeneration(), sd.stats().bytesWritten]).toEqual([
      intent,
      1,
      written,
    ]);
    // One byte changed, or one page more, is a commit.
    const changed = new Uint8Array(2 * PAGE_SIZE).fill(1);
    changed[PAGE_SIZE + 7] = 2;
    expect(store.commit(changed)).toMatchObject({ generation: 2, pagesWritten: 1 });
    expect(store.commit(new Uint8Array(3 * PAGE_SIZE).fill(1).fill(2, PAGE_SIZE + 7, PAGE_SIZE + 8))).toMatchObject({
      generation: 3,
      pagesWritten: 1,
    });
    expect(PageStore.open(device, sd).image.length).toBe(3 * PAGE_SIZE);
  });

  test('a card ahead of everything the device committed or started is Tampered', async () => {
    const soft = new SoftDatabaseDevice();
    const sd = new SdCard({ sectorCount: SECTORS });
    const db = await EncryptedDatabase.create(soft, sd);
    addUser(db, 'U1', 'alice');
    addUser(db, 'U2', 'bob');
    // The same key, but counters as if the device had committed generation 1 only.
    const behind: DatabaseDevice = {
      seal: (p, aad) => soft.seal(p, aad),
      open: (s, aad) => soft.open(s, aad),
      committedGeneration: () => 1,
      commitGeneration: () => undefined,
      commitIntent: () => encodeCommitIntent({ generation: 1, previousAttempt: 0, attempt: 1 }),
      recordCommitIntent: () => undefined,
    };
    expect(await openCode(behind, sd)).toBe('Tampered');
  });

  test('an intent that does not fit the committed generation is Tampered', async () => {
    const device = new SoftDatabaseDevice();
    const sd = new SdCard({ sectorCount: SECTORS });
    (await EncryptedDatabase.create(device, sd)).close();
    device.recordCommitIntent(encodeCommitIntent({ generation: 5, previousAttempt: 1, attempt: 1 }));
    expect(await openCode(device, sd)).toBe('Tampered');
  });
});

describe('commit intent encoding', () => {
  test('round trip, and the value only grows', () => {
    const a = { generation: 7, previousAttempt: 3, attempt: 1 };
    expect(decodeCommitIntent(encodeCommitIntent(a))).toEqual(a);
    expect(decodeCommitIntent(0)).toBeNull();
    const retry = nextCommitIntent(a, 6, 3);
    expect(retry).toEqual({ generation: 7, previousAttempt: 3, attempt: 2 });
    const next = nextCommitIntent(retry, 7, 2);
    expect(next).toEqual({ generation: 8, previousAttempt: 2, attempt: 1 });
    expect(encodeCommitIntent(retry)).toBeGreaterThan(encodeCommitIntent(a));
    expect(encodeCommitIntent(next)).toBeGreaterThan(encodeCommitIntent(retry));
    expect(nextCommitIntent(null, 4, 0)).toEqual({ generation: 5, previousAttempt: 0, attempt: 1 });
    expect(
      Number.isSafeInteger(
        encodeCommitIntent({ generation: 2 ** 32, previousAttempt: MAX_ATTEMPTS, attempt: MAX_ATTEMPTS }),
      ),
    ).toBe(true);
  });

  test('refuses an intent of another generation, and a generation attempted too often', () => {
    expect(() => nextCommitIntent({ generation: 9, previousAttempt: 1, attempt: 1 }, 4, 1)).toThrow(
      expect.objectContaining({ code: 'Tampered' }),
    );
    // Not a card that is full: the message says which, and that it lasts.
    expect(() => nextCommitIntent({ generation: 5, previousAttempt: 1, attempt: MAX_ATTEMPTS }, 4, 1)).toThrow(
      expect.objectContaining({
        code: 'NoSpace',
        message: expect.stringMatching(/^commit 5 was attempted 1023 times .* can commit no more/),
      }),
    );
  });
});
