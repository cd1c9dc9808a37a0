/**
 * The publisher's bookkeeping scales with what changed (issue 11): per member it keeps and rewrites
 * a bounded number of rows whatever the group size, and a round of acknowledgements is one commit.
 */
import { describe, expect, test } from 'vitest';
import { ADMIN_PIN, makeDevice } from '../../device/secube.testkit.ts';
import { provisionUser } from './distribution.ts';
import { ackStream, updateStream } from '../protocol/streams.ts';
import { TEAM_POLICY, newTeam, newWorld } from './world.testkit.ts';
import type { World } from './world.testkit.ts';

/** A world with `members` (at most 9: IDs of one length) provisioned users (HSMs only) in G1, published once. */
async function group(members: number): Promise<World> {
  const w = await newWorld();
  w.admin.addGroup('G1', 'everyone', TEAM_POLICY);
  for (let i = 1; i <= members; i++) {
    const id = `U${i}`;
    w.admin.addUser(id, `user ${i}`);
    const { device } = makeDevice(`publisher-${members}-${i}`);
    device.login('admin', ADMIN_PIN);
    provisionUser(w.admin, id, device);
    w.admin.addMember('G1', id);
  }
  await w.publisher.publish();
  return w;
}

const HOUR = 3_600_000;
const count = (w: World, sql: string): number => w.admin.readDatabase((db) => Number(db.exec(sql)[0]?.values[0]?.[0]));

/** Rows changed (inserted, updated, deleted) in the admin database by `fn`, as SQLite counts them. */
async function rowsChanged(w: World, fn: () => Promise<unknown>): Promise<number> {
  const total = () => count(w, 'SELECT total_changes()');
  const before = total();
  await fn();
  return total() - before;
}

describe('publishing at scale', () => {
  test('the bookkeeping of a device follows its groups and keys, not the size of its groups', async () => {
    const sizes = [3, 6, 9];
    const device: number[] = [];
    const world: number[] = [];
    const churn: number[] = [];
    for (const members of sizes) {
      const w = await group(members);
      w.admin.activateKey(w.admin.addKey('G1', 'new'));
      churn.push(await rowsChanged(w, () => w.publisher.publish()));
      // Bytes the publisher keeps about U1's device: its stream, its groups, its keys.
      device.push(
        count(
          w,
          "SELECT sum(length(user_id) + length(last_hash) + length(device_view)) FROM streams WHERE user_id = 'U1'",
        ) +
          count(w, "SELECT sum(length(group_id) + length(user_id)) FROM device_groups WHERE user_id = 'U1'") +
          count(w, "SELECT sum(length(key_id) + length(user_id)) FROM device_keys WHERE user_id = 'U1'"),
      );
      // The world as published, kept once: every user, the group, the key, every membership.
      expect(count(w, 'SELECT count(*) FROM published_entities')).toBe(members + 2);
      world.push(
        count(w, 'SELECT sum(length(kind) + length(id) + length(hash)) FROM published_entities') +
          count(w, 'SELECT sum(length(group_id) + length(user_id)) FROM published_members'),
      );
    }
    const linear = ([a, b, c]: number[]) => (b as number) - (a as number) === (c as number) - (b as number);
    // The same bytes for U1's device in a group of 3, 6 or 9 (a per-user copy of every co-member's
    // hash grew with the group, so the whole table with its square).
    expect(new Set(device).size).toBe(1);
    expect(linear(world)).toBe(true);
    // Publishing one key changes a fixed number of rows per member (a linear cost, not a square).
    expect(linear(churn)).toBe(true);
    expect(((churn[2] as number) - (churn[1] as number)) / 3).toBeLessThanOrEqual(5);
  });

  test('the audit entry names the acknowledgements taken, and those refused apart', async () => {
    const w = await newTeam();
    w.admin.activateKey(w.admin.addKey('G1', 'k'));
    await w.syncByFiles();
    const alice = w.users.get('U1')!;
    for (const name of ['a', 'b']) {
      w.admin.renameGroup('G1', name);
      await w.publisher.publish();
      await alice.sync(w.transport);
    }
    const at = alice.appliedSequence;
    // Someone who can write the share: the older acknowledgement renamed to sort last, the newer copied.
    const [older, newer] = (await w.transport.list(ackStream('U1'))) as [string, string];
    const bytes = async (name: string) => (await w.transport.read(ackStream('U1'), name))!;
    await w.transport.write(ackStream('U1'), 'zzz.ack', await bytes(older));
    await w.transport.remove(ackStream('U1'), older);
    await w.transport.write(ackStream('U1'), 'yyy.ack', await bytes(newer));
    const { accepted } = await w.publisher.collectAcknowledgements();
    expect(accepted).toEqual([{ userId: 'U1', sequence: at }]);
    expect(JSON.parse(w.admin.auditLog().at(-1)!.details)).toEqual({
      acknowledgements: accepted,
      // In the order judged: the copy under a number taken already, then the older one.
      refused: [
        { userId: 'U1', sequence: at },
        { userId: 'U1', sequence: at - 1 },
      ],
    });
    w.close();
  });

  test('one round of acknowledgements is one database commit and one audit entry', async () => {
    const w = await newTeam();
    w.admin.activateKey(w.admin.addKey('G1', 'k'));
    await w.publisher.publish();
    for (const user of w.users.values()) await user.sync(w.transport);
    const generation = w.admin.generation;
    const accepted = (await w.publisher.collectAcknowledgements()).accepted;
    expect(accepted.map((a) => a.userId)).toEqual(['U1', 'U2', 'U3']);
    expect(w.admin.generation).toBe(generation + 1);
    const entry = w.admin.auditLog().at(-1)!;
    expect(entry.action).toBe('acknowledge');
    expect(JSON.parse(entry.details)).toEqual({ acknowledgements: accepted });
    expect(w.publisher.publicationStates().map((p) => p.state)).toEqual([
      'acknowledged',
      'acknowledged',
      'acknowledged',
    ]);
    // Nothing waiting: no commit at all.
    expect((await w.publisher.collectAcknowledgements()).accepted).toEqual([]);
    expect(w.admin.generation).toBe(generation + 1);
  });

  test('a publication is audited by the files it wrote; one with nothing to say commits nothing', async () => {
    const w = await newTeam();
    w.admin.activateKey(w.admin.addKey('G1', 'k'));
    expect((await w.publisher.publish()).published.length).toBe(3);
    const entry = w.admin.auditLog().at(-1)!;
    expect(entry.action).toBe('publish');
    expect(JSON.parse(entry.details)).toEqual({ files: ['U1 #1 resync', 'U2 #1 resync', 'U3 #1 resync'] });
    // A plain file, named as `sekey admin publish` names it.
    w.admin.renameGroup('G1', 'renamed');
    await w.publisher.publish();
    expect(JSON.parse(w.admin.auditLog().at(-1)!.details)).toEqual({ files: ['U1 #2', 'U2 #2', 'U3 #2'] });
    const generation = w.admin.generation;
    const entries = w.admin.auditLog().length;
    expect((await w.publisher.publish()).published).toEqual([]);
    expect([w.admin.generation, w.admin.auditLog().length]).toEqual([generation, entries]);
    // A change no device sees (a user with no HSM yet) moves the world as published, but sends no
    // file: committed, and audited as a publication of no file.
    w.admin.addUser('U9', 'ivan');
    const before = w.admin.generation;
    expect((await w.publisher.publish()).published).toEqual([]);
    expect(w.admin.generation).toBe(before + 1);
    expect(w.admin.auditLog().at(-1)).toMatchObject({ action: 'publish', details: '{"files":[]}' });
  });

  // From a CLI review: an expired key nobody committed the expiry of (publish does not sweep) was sent
  // to its holders again at every round, a full file each hour under cron: the expiry read as of each
  // round's time was dated by that time in the key's history, so its content never matched the last.
  test('a key past its cryptoperiod is published expired once, not again every round', async () => {
    const w = await newTeam();
    const DAY = 86_400_000;
    w.admin.addGroup('G9', 'short', { ...TEAM_POLICY, defaultCryptoperiodMs: DAY });
    w.admin.addMember('G9', 'U1');
    const key = w.admin.addKey('G9', 'k');
    w.admin.activateKey(key);
    await w.syncByFiles();
    w.clock.advance(2 * DAY);
    const first = await w.publisher.publish();
    expect(first.published.filter((p) => !p.heartbeatOnly).map((p) => p.userId)).toEqual(['U1']);
    await w.syncByFiles();
    expect(
      w.users
        .get('U1')
        ?.keys()
        .find((k) => k.id === key)?.state,
    ).toBe('deactivated');
    for (let round = 0; round < 3; round++) {
      w.clock.advance(HOUR);
      expect((await w.publisher.publish()).published, `round ${round}`).toEqual([]);
    }
    // The expiry committed later (any KMS command sweeps) is the same key: nothing to send either.
    w.admin.sweep();
    expect((await w.publisher.publish()).published).toEqual([]);
  });

  test('a dropped key stays until its erasure is acknowledged; a resync before then orders it again', async () => {
    const w = await newTeam();
    w.admin.activateKey(w.admin.addKey('G1', 'k'));
    await w.syncByFiles();
    const carol = w.users.get('U3')!;
    const dropped = () =>
      w.admin.readDatabase(
        (db) =>
          db.exec("SELECT key_id, dropped_in FROM device_keys WHERE user_id = 'U3' AND held = 0")[0]?.values ?? [],
      );
    w.admin.removeMember('G1', 'U3');
    const first = (await w.publisher.publish()).published.find((p) => p.userId === 'U3')!;
    expect(dropped()).toEqual([['K2000', first.sequence]]);
    // The file is lost before Carol applies it, and a resync is asked for: it orders the key erased again.
    for (const name of await w.transport.list(updateStream('U3'))) await w.transport.remove(updateStream('U3'), name);
    w.publisher.requestResync('U3');
    const resync = (await w.publisher.publish()).published.find((p) => p.userId === 'U3')!;
    expect(resync.kind).toBe('resync');
    expect(dropped()).toEqual([['K2000', first.sequence]]);
    expect(carol.device.listKeyIds()).toContain(2000);
    // Nothing acknowledged yet: still kept.
    expect((await w.publisher.collectAcknowledgements()).accepted).toEqual([]);
    expect(dropped()).toHaveLength(1);
    expect((await carol.sync(w.transport)).applied).toEqual([resync.sequence]);
    expect(carol.device.listKeyIds()).not.toContain(2000);
    expect((await w.publisher.collectAcknowledgements()).accepted).toEqual([
      { userId: 'U3', sequence: resync.sequence },
    ]);
    expect(dropped()).toEqual([]);
    // Bob's rows are untouched: he still holds the key (and the rekey's new one).
    expect(
      w.admin.readDatabase((db) => db.exec("SELECT key_id, held FROM device_keys WHERE user_id = 'U2'")[0]?.values),
    ).toEqual([
      ['K2000', 1],
      ['K2001', 1],
    ]);
  });
});
