import { describe, expect, test } from 'vitest';
import { migrate } from '../db/schema.ts';
import { openSqlite } from '../db/sqlite.ts';
import type { Database } from '../db/sqlite.ts';
import { contentHash, readPublishedWorld, recordPublishedWorld, worldChanges } from './publishedWorld.ts';
import type { WorldSummary } from './publishedWorld.ts';

function summary(
  users: Record<string, string>,
  groups: Record<string, { hash: string; members: string[] }>,
  keys: Record<string, string> = {},
): WorldSummary {
  return {
    hashes: {
      user: new Map(Object.entries(users)),
      group: new Map(Object.entries(groups).map(([id, g]) => [id, g.hash])),
      key: new Map(Object.entries(keys)),
    },
    members: new Map(Object.entries(groups).map(([id, g]) => [id, g.members])),
  };
}

/**
 * Counts the rows `fn` writes on `db` (SQLite's `total_changes()`: rows inserted, updated or
 * deleted). Every statement of a round writes one row, so this is also its statement count.
 */
function rowsWritten(db: Database, fn: () => void): number {
  const total = () => Number(db.exec('SELECT total_changes()')[0]?.values[0]?.[0]);
  const before = total();
  fn();
  return total() - before;
}

const EMPTY = summary({}, {});

describe('the world as last published', () => {
  test('is empty before the first round, and reads back what a round recorded', async () => {
    const db = await openSqlite();
    migrate(db);
    expect(readPublishedWorld(db)).toEqual(EMPTY);
    const world = summary(
      { U1: 'a', U2: 'b', U3: 'c' },
      { G1: { hash: 'g', members: ['U1', 'U2'] }, G2: { hash: 'h', members: ['U3'] } },
      { K2000: 'k' },
    );
    recordPublishedWorld(db, EMPTY, world);
    expect(readPublishedWorld(db)).toEqual(world);
  });

  test('a round writes only what changed: one renamed user of three hundred is one row', async () => {
    const db = await openSqlite();
    migrate(db);
    const ids = Array.from({ length: 300 }, (_, i) => `U${i + 1}`);
    const users = Object.fromEntries(ids.map((id) => [id, contentHash(id)]));
    const before = summary(users, { G1: { hash: 'g', members: ids } });
    recordPublishedWorld(db, EMPTY, before);
    const renamed = summary({ ...users, U500: 'renamed' }, { G1: { hash: 'g', members: ids } });
    expect(rowsWritten(db, () => recordPublishedWorld(db, before, renamed))).toBe(1);
    // A joiner: its record, the group's hash, one membership.
    const joined = summary({ ...users, U301: 'new' }, { G1: { hash: 'g2', members: [...ids, 'U301'] } });
    expect(rowsWritten(db, () => recordPublishedWorld(db, before, joined))).toBe(3);
    expect(readPublishedWorld(db).members.get('G1')).toHaveLength(301);
  });

  test('deleted users, groups and keys leave the record', async () => {
    const db = await openSqlite();
    migrate(db);
    const before = summary({ U1: 'a', U2: 'b' }, { G1: { hash: 'g', members: ['U1', 'U2'] } }, { K2000: 'k' });
    recordPublishedWorld(db, EMPTY, before);
    const after = summary({ U1: 'a' }, {});
    recordPublishedWorld(db, before, after);
    expect(readPublishedWorld(db)).toEqual(after);
  });

  test('changes: content, new and deleted entities, and groups whose members changed', () => {
    const before = summary(
      { U1: 'a', U2: 'b', U3: 'c' },
      {
        G1: { hash: 'g', members: ['U1', 'U2'] },
        G2: { hash: 'h', members: ['U3'] },
        G3: { hash: 'i', members: [] },
        G5: { hash: 'k', members: ['U1'] },
      },
    );
    const after = summary(
      { U1: 'a', U2: 'B', U4: 'd' },
      {
        G1: { hash: 'G', members: ['U2', 'U1'] },
        G2: { hash: 'H', members: ['U3', 'U4'] },
        G4: { hash: 'j', members: [] },
      },
    );
    const records = ['U1', 'U2', 'U4'].map((id) => ({ id, name: id }));
    const changes = worldChanges(before, after, records);
    expect(changes.users.map((u) => u.id)).toEqual(['U2', 'U4']);
    expect(changes.changed('user', 'U1')).toBe(false);
    expect(changes.changed('user', 'U3')).toBe(true);
    expect(changes.changed('group', 'G1')).toBe(true);
    // Members are a set: the same members in another order did not change; a group deleted (G5) or added
    // with members changes who its members know, an empty one (G3, G4) does not.
    expect([...changes.membersChanged].sort()).toEqual(['G2', 'G5']);
  });

  test('a content hash changes with the content and only with it', () => {
    expect(contentHash({ id: 'U1', name: 'alice' })).toBe(contentHash({ id: 'U1', name: 'alice' }));
    expect(contentHash({ id: 'U1', name: 'alice' })).not.toBe(contentHash({ id: 'U1', name: 'alicia' }));
    expect(contentHash({ id: 'U1' })).toMatch(/^[0-9a-f]{16}$/);
  });
});
