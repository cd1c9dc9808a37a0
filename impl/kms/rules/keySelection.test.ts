import { describe, expect, test } from 'vitest';
import { KmsError } from '../../../model/kms.ts';
import { TEAM_POLICY, newAdminWorld, newTeam, newWorld } from '../world.testkit.ts';
import type { World } from '../world.testkit.ts';
import { selectKeyInDatabase } from './keySelection.ts';

const DAY = 86_400_000;

const code = (fn: () => unknown): string => {
  try {
    fn();
    return 'ok';
  } catch (e) {
    if (e instanceof KmsError) return e.code;
    throw e;
  }
};

describe('key selection on a user device', () => {
  test('smallest common group; latest activation, then latest end of cryptoperiod, then highest number', async () => {
    const w = await newTeam();
    w.admin.addUser('U4', 'dave');
    await w.addDevice('U4');
    w.admin.addGroup('G2', 'pair', { maxKeys: 3, algorithm: 'AES-256-GCM', defaultCryptoperiodMs: 30 * DAY });
    for (const u of ['U1', 'U4']) w.admin.addMember('G2', u);
    await w.syncByFiles();
    const alice = w.users.get('U1')!;
    expect(code(() => alice.findKey(['U2']))).toBe('NoUsableKey');
    expect(code(() => alice.findKey(['U2', 'U4']))).toBe('NoCommonGroup');
    const [a, b, c] = [
      w.admin.addKey('G1', 'a', { cryptoperiodMs: DAY }),
      w.admin.addKey('G1', 'b', { cryptoperiodMs: 2 * DAY }),
      w.admin.addKey('G1', 'c', { cryptoperiodMs: 2 * DAY }),
    ];
    w.admin.activateKey(a);
    w.admin.activateKey(b);
    await w.syncByFiles();
    // Same activation time: the later end of cryptoperiod wins.
    expect(alice.findKey(['U2'])).toEqual({ keyId: b, groupId: 'G1' });
    w.admin.activateKey(c);
    await w.syncByFiles();
    // Same activation time and end: the higher key number wins.
    expect(alice.findKey(['U2'])).toEqual({ keyId: c, groupId: 'G1' });
    w.clock.advance(1000);
    w.admin.suspendKey(c);
    w.admin.resumeKey(c);
    w.admin.deactivateKey(b);
    const d = w.admin.addKey('G1', 'd', { cryptoperiodMs: DAY });
    w.admin.activateKey(d);
    await w.syncByFiles();
    // The most recent activation wins over a longer cryptoperiod.
    expect(alice.findKey(['U2'])).toEqual({ keyId: d, groupId: 'G1' });
    // Nobody else: the smallest group of the sender alone that has a usable key.
    expect(alice.findKey([])).toEqual({ keyId: d, groupId: 'G1' });
    const e = w.admin.addKey('G2', 'e');
    w.admin.activateKey(e);
    await w.syncByFiles();
    expect(alice.findKey([])).toEqual({ keyId: e, groupId: 'G2' });
    expect(alice.findKeyInGroup('G1')).toEqual({ keyId: d, groupId: 'G1' });
  });
});

/** alice, bob and carol in G1, on the admin alone: selection needs no device here. */
const adminTeam = (): Promise<World> => newAdminWorld(3, [['G1', 'team', ['U1', 'U2', 'U3']]]);

/** Selection over the admin's database (every group and key): the same rule as on a device, no sync needed. */
const select = (w: World, sender: string, recipients: readonly string[]) =>
  w.admin.readDatabase((db, now) => selectKeyInDatabase(db, sender, recipients, now));

describe('key selection: each tie-break decides where the later ones would not', () => {
  test('the latest activation wins over a later end of cryptoperiod and a higher number', async () => {
    const w = await adminTeam();
    const early = w.admin.addKey('G1', 'early', { cryptoperiodMs: DAY });
    const late = w.admin.addKey('G1', 'late', { cryptoperiodMs: 2 * DAY });
    w.admin.activateKey(late);
    w.clock.advance(1000);
    w.admin.activateKey(early);
    // early: lower number, ends first, activated last.
    expect(select(w, 'U1', ['U2'])).toEqual({ keyId: early, groupId: 'G1' });
  });

  test('at the same activation, the later end of cryptoperiod wins over a higher number', async () => {
    const w = await adminTeam();
    const long = w.admin.addKey('G1', 'long', { cryptoperiodMs: 2 * DAY });
    const short = w.admin.addKey('G1', 'short', { cryptoperiodMs: DAY });
    w.admin.activateKey(long);
    w.admin.activateKey(short);
    expect(select(w, 'U1', ['U2'])).toEqual({ keyId: long, groupId: 'G1' });
  });

  test('the smallest common group wins even when a larger one has a preferred key', async () => {
    const w = await adminTeam();
    w.admin.addGroup('G2', 'pair', TEAM_POLICY);
    for (const u of ['U1', 'U2']) w.admin.addMember('G2', u);
    const pair = w.admin.addKey('G2', 'pair');
    w.admin.activateKey(pair);
    w.clock.advance(1000);
    const team = w.admin.addKey('G1', 'team');
    w.admin.activateKey(team);
    expect(select(w, 'U1', ['U2'])).toEqual({ keyId: pair, groupId: 'G2' });
    expect(select(w, 'U1', ['U3'])).toEqual({ keyId: team, groupId: 'G1' });
  });
});

describe('key selection on a device that has not synced yet', () => {
  test('the sender is never refused as unknown to itself: no group yet, NoCommonGroup', async () => {
    const w = await newWorld();
    w.admin.addUser('U1', 'alice');
    const alice = await w.addDevice('U1');
    // The replica is empty until the first update: not even alice's own record is in it.
    expect(alice.users()).toEqual([]);
    expect(code(() => alice.findKey(['U1']))).toBe('NoCommonGroup');
    expect(code(() => alice.findKey(['U2']))).toBe('UnknownUser');
  });

  test('a deleted sender is UnknownUser, as in the model, not NoCommonGroup', async () => {
    // The kmsImpl suite checks no selection of a deleted user (its projection is null): this one was
    // NoCommonGroup on the device, UnknownUser in the model ("the sender does not exist").
    const w = await newTeam();
    w.admin.deleteUser('U1');
    await w.syncByFiles();
    const alice = w.users.get('U1')!;
    expect(alice.users()).toEqual([]);
    expect(code(() => alice.findKey([]))).toBe('UnknownUser');
    expect(code(() => alice.findKey(['U2']))).toBe('UnknownUser');
    expect(code(() => alice.findKey(['U1']))).toBe('UnknownUser');
  });
});
