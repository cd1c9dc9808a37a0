import { describe, expect, test } from 'vitest';
import { migrate } from '../db/schema.ts';
import { openSqlite } from '../db/sqlite.ts';
import type { Database } from '../db/sqlite.ts';
import { NOTHING_GIVEN, forgetDeviceView, forgetErased, readDeviceViews, recordDeviceView } from './deviceViews.ts';

async function database(userIds: readonly string[]): Promise<Database> {
  const db = await openSqlite();
  migrate(db);
  for (const u of userIds) db.run("INSERT INTO streams (user_id, sequence, last_hash) VALUES (?, 1, x'00')", [u]);
  return db;
}

describe('what each device was given', () => {
  test('a device given nothing yet, or never published to, holds nothing', async () => {
    const db = await database(['U1']);
    const views = readDeviceViews(db);
    expect(views('U1')).toEqual(NOTHING_GIVEN);
    expect(views('U9')).toEqual(NOTHING_GIVEN);
  });

  test('records its groups and keys; a dropped key stays delivered until its erasure is acknowledged', async () => {
    const db = await database(['U1', 'U2']);
    recordDeviceView(
      db,
      'U1',
      NOTHING_GIVEN,
      { state: 'projected', groups: ['G1', 'G2'], keys: ['K2000', 'K2001'] },
      1,
    );
    recordDeviceView(db, 'U2', NOTHING_GIVEN, { state: 'projected', groups: ['G1'], keys: ['K2000'] }, 1);
    const first = readDeviceViews(db)('U1');
    expect(first).toEqual({
      state: 'projected',
      groups: new Set(['G1', 'G2']),
      keys: new Set(['K2000', 'K2001']),
      delivered: new Set(['K2000', 'K2001']),
    });
    recordDeviceView(db, 'U1', first, { state: 'projected', groups: ['G1'], keys: ['K2001', 'K2002'] }, 2);
    expect(readDeviceViews(db)('U1')).toEqual({
      state: 'projected',
      groups: new Set(['G1']),
      keys: new Set(['K2001', 'K2002']),
      delivered: new Set(['K2000', 'K2001', 'K2002']),
    });
    // A key given back after it was dropped is held again.
    recordDeviceView(db, 'U1', readDeviceViews(db)('U1'), { state: 'projected', groups: [], keys: ['K2000'] }, 3);
    expect(readDeviceViews(db)('U1').keys).toEqual(new Set(['K2000']));
    // Another device's rows are its own.
    expect(readDeviceViews(db)('U2').groups).toEqual(new Set(['G1']));
  });

  test('a dropped key is forgotten once its device acknowledges the ordering file or a later one', async () => {
    const db = await database(['U1', 'U2']);
    recordDeviceView(db, 'U1', NOTHING_GIVEN, { state: 'projected', groups: ['G1'], keys: ['K2000', 'K2001'] }, 1);
    recordDeviceView(db, 'U2', NOTHING_GIVEN, { state: 'projected', groups: ['G1'], keys: ['K2000'] }, 1);
    // File 4 orders K2000 erased, file 6 K2001.
    recordDeviceView(db, 'U1', readDeviceViews(db)('U1'), { state: 'projected', groups: ['G1'], keys: ['K2001'] }, 4);
    recordDeviceView(db, 'U1', readDeviceViews(db)('U1'), { state: 'projected', groups: ['G1'], keys: [] }, 6);
    recordDeviceView(db, 'U2', readDeviceViews(db)('U2'), { state: 'projected', groups: ['G1'], keys: [] }, 4);
    const delivered = () => readDeviceViews(db)('U1').delivered;
    // Acknowledging files before the order proves nothing.
    forgetErased(db, 'U1', 3);
    expect(delivered()).toEqual(new Set(['K2000', 'K2001']));
    forgetErased(db, 'U1', 5);
    expect(delivered()).toEqual(new Set(['K2001']));
    // Another device's acknowledgement is its own.
    expect(readDeviceViews(db)('U2').delivered).toEqual(new Set(['K2000']));
    // A key given back before the acknowledgement is held, and no acknowledgement forgets it.
    recordDeviceView(db, 'U1', readDeviceViews(db)('U1'), { state: 'projected', groups: ['G1'], keys: ['K2001'] }, 7);
    forgetErased(db, 'U1', 7);
    expect(readDeviceViews(db)('U1')).toMatchObject({ keys: new Set(['K2001']), delivered: new Set(['K2001']) });
    expect(() => db.run("UPDATE device_keys SET dropped_in = 3 WHERE key_id = 'K2001'")).toThrow(/CHECK/);
  });

  test('a retired device is recorded as holding nothing', async () => {
    const db = await database(['U1']);
    recordDeviceView(db, 'U1', NOTHING_GIVEN, { state: 'projected', groups: ['G1'], keys: ['K2000'] }, 1);
    recordDeviceView(db, 'U1', readDeviceViews(db)('U1'), { state: 'empty', groups: [], keys: [] }, 2);
    expect(readDeviceViews(db)('U1')).toEqual({
      state: 'empty',
      groups: new Set(),
      keys: new Set(),
      delivered: new Set(['K2000']),
    });
  });

  test('a replaced device is forgotten: the new one holds nothing yet', async () => {
    const db = await database(['U1', 'U2']);
    recordDeviceView(db, 'U1', NOTHING_GIVEN, { state: 'projected', groups: ['G1'], keys: ['K2000'] }, 1);
    recordDeviceView(db, 'U2', NOTHING_GIVEN, { state: 'projected', groups: ['G1'], keys: ['K2000'] }, 1);
    forgetDeviceView(db, 'U1');
    expect(readDeviceViews(db)('U1')).toEqual(NOTHING_GIVEN);
    expect(readDeviceViews(db)('U2').keys).toEqual(new Set(['K2000']));
  });
});
