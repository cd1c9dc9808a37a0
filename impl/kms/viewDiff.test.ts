import { describe, expect, test } from 'vitest';
import type { UserId } from '../../model/kms.ts';
import type { UpdateKind } from '../protocol/updateFile.ts';
import type { DeviceView } from './deviceViews.ts';
import { NOTHING_GIVEN } from './deviceViews.ts';
import { summarizeWorld, worldChanges } from './publishedWorld.ts';
import type { WorldSummary } from './publishedWorld.ts';
import { projectionSource } from './rules/needToKnow.ts';
import type { ProjectionSource } from './rules/needToKnow.ts';
import { diffView } from './viewDiff.ts';
import { TEAM_POLICY, newWorld } from './world.testkit.ts';
import type { World } from './world.testkit.ts';

/** What a device holds after being given its whole view from `source`. */
function given(source: ProjectionSource, userId: UserId): DeviceView {
  const keys = new Set(source.keysOf(userId).map((k) => k.id));
  return { state: 'projected', groups: new Set(source.groupsOf(userId).map((g) => g.id)), keys, delivered: keys };
}

/** The world as published now, and what each named device was given. */
function snapshot(w: World, users: readonly UserId[]): { world: WorldSummary; views: Map<UserId, DeviceView> } {
  return w.admin.readDatabase((db, now) => {
    const source = projectionSource(db, now);
    return { world: summarizeWorld(source), views: new Map(users.map((u) => [u, given(source, u)])) };
  });
}

/** The diff of `userId`'s device against what `before` published. */
function diff(
  w: World,
  before: ReturnType<typeof snapshot>,
  userId: UserId,
  options: { kind?: UpdateKind; inView?: boolean; view?: DeviceView } = {},
) {
  return w.admin.readDatabase((db, now) => {
    const source = projectionSource(db, now);
    const changes = worldChanges(before.world, summarizeWorld(source), source.users);
    const view = options.view ?? before.views.get(userId) ?? NOTHING_GIVEN;
    return diffView(
      { source, published: before.world, changes },
      userId,
      options.kind ?? 'incremental',
      options.inView ?? true,
      view,
    );
  });
}

/** U1…U4; U1, U2, U3 in G1 with an active key; U4 in no group. */
async function fourUsers(): Promise<World> {
  const w = await newWorld();
  for (const [id, name] of [
    ['U1', 'alice'],
    ['U2', 'bob'],
    ['U3', 'carol'],
    ['U4', 'dan'],
  ] as const)
    w.admin.addUser(id, name);
  w.admin.addGroup('G1', 'team', TEAM_POLICY);
  for (const u of ['U1', 'U2', 'U3']) w.admin.addMember('G1', u);
  w.admin.activateKey(w.admin.addKey('G1', 'k'));
  return w;
}

const ALL = ['U1', 'U2', 'U3', 'U4'];

describe('the diff of a device view', () => {
  test('a renamed co-member is the only record its group receives; nobody else hears of it', async () => {
    const w = await fourUsers();
    const before = snapshot(w, ALL);
    w.admin.renameUser('U2', 'robert');
    for (const u of ['U1', 'U3']) {
      const d = diff(w, before, u);
      expect(d.records).toEqual([{ type: 'userUpsert', id: 'U2', name: 'robert' }]);
      expect(d).toMatchObject({ newKeys: [], dropped: [] });
      expect(d.after).toEqual({ state: 'projected', groups: ['G1'], keys: ['K2000'] });
    }
    expect(diff(w, before, 'U4').records).toEqual([]);
    expect(diff(w, before, 'U2').records).toEqual([{ type: 'userUpsert', id: 'U2', name: 'robert' }]);
  });

  test('a joiner is introduced to the group, and the group to the joiner', async () => {
    const w = await fourUsers();
    const before = snapshot(w, ALL);
    w.admin.addMember('G1', 'U4');
    const types = (u: UserId) => diff(w, before, u).records.map((r) => `${r.type} ${'id' in r ? r.id : ''}`);
    // The group is rekeyed on a join (backward secrecy): K2000 retires, K2001 is new.
    expect(types('U1')).toEqual(['userUpsert U4', 'groupUpsert G1', 'keyUpsert K2000', 'keyUpsert K2001']);
    expect(types('U4')).toEqual([
      'userUpsert U1',
      'userUpsert U2',
      'userUpsert U3',
      'groupUpsert G1',
      'keyUpsert K2001',
    ]);
    expect(diff(w, before, 'U4').newKeys.map((k) => k.id)).toEqual(['K2001']);
    expect(diff(w, before, 'U4').after).toEqual({ state: 'projected', groups: ['G1'], keys: ['K2001'] });
  });

  test('a leaver drops the group, its keys and the co-members it no longer shares a group with', async () => {
    const w = await fourUsers();
    w.admin.addGroup('G2', 'pair', TEAM_POLICY);
    w.admin.addMember('G2', 'U1');
    w.admin.addMember('G2', 'U3');
    const before = snapshot(w, ALL);
    w.admin.removeMember('G1', 'U3');
    const leaver = diff(w, before, 'U3');
    expect(leaver.records).toEqual([
      { type: 'groupDelete', id: 'G1' },
      { type: 'keyDelete', id: 'K2000' },
      { type: 'userDelete', id: 'U2' },
    ]);
    expect(leaver.dropped).toEqual(['K2000']);
    expect(leaver.after).toEqual({ state: 'projected', groups: ['G2'], keys: [] });
    const stayer = diff(w, before, 'U2');
    expect(stayer.records.map((r) => r.type)).toEqual(['groupUpsert', 'keyUpsert', 'keyUpsert', 'userDelete']);
    expect(stayer.records.at(-1)).toEqual({ type: 'userDelete', id: 'U3' });
    // U1 still shares G2 with U3: it keeps U3's record.
    expect(diff(w, before, 'U1').records.some((r) => r.type === 'userDelete')).toBe(false);
  });

  test('a retired device is told to hold nothing, once', async () => {
    const w = await fourUsers();
    const before = snapshot(w, ALL);
    w.admin.deleteUser('U3');
    const last = diff(w, before, 'U3', { inView: false });
    expect(last.records).toEqual([
      { type: 'groupDelete', id: 'G1' },
      { type: 'keyDelete', id: 'K2000' },
      { type: 'userDelete', id: 'U1' },
      { type: 'userDelete', id: 'U2' },
      { type: 'userDelete', id: 'U3' },
    ]);
    expect(last.dropped).toEqual(['K2000']);
    expect(last.after).toEqual({ state: 'empty', groups: [], keys: [] });
    const emptied: DeviceView = { state: 'empty', groups: new Set(), keys: new Set(), delivered: new Set(['K2000']) };
    // Even if its ID is added again and joins the group, the old device hears nothing more.
    w.admin.addUser('U3', 'carol again');
    w.admin.addMember('G1', 'U3');
    expect(diff(w, snapshot(w, []), 'U3', { inView: false, view: emptied }).records).toEqual([]);
  });

  test('a resync sends the whole view after a reset, and orders erased every key delivered but not held', async () => {
    const w = await fourUsers();
    const before = snapshot(w, ALL);
    w.admin.removeMember('G1', 'U2');
    const u1 = before.views.get('U1')!;
    const view: DeviceView = { ...u1, delivered: new Set(['K2000', 'K1999']) };
    const d = diff(w, before, 'U1', { kind: 'resync', view });
    expect(d.records.map((r) => `${r.type} ${'id' in r ? r.id : ''}`)).toEqual([
      'reset ',
      'userUpsert U1',
      'userUpsert U3',
      'groupUpsert G1',
      'keyUpsert K2000',
      'keyUpsert K2001',
    ]);
    expect(d.newKeys.map((k) => k.id)).toEqual(['K2000', 'K2001']);
    expect(d.dropped).toEqual(['K1999']);
  });

  test('nothing changed: nothing to send', async () => {
    const w = await fourUsers();
    const before = snapshot(w, ALL);
    for (const u of ALL) expect(diff(w, before, u)).toMatchObject({ records: [], newKeys: [], dropped: [] });
  });
});
