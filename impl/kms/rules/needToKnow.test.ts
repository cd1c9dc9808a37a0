/**
 * Need-to-know read from the admin database: what each device must hold ({@link projectionFromDatabase})
 * and whether one user's record is in another's view ({@link ProjectionSource.knows}, which the
 * publisher asks for every renamed user). The worked examples check the views as the devices end up
 * holding them; these check the admin-side reads themselves, on users in several groups and in none.
 */
import { describe, expect, test } from 'vitest';
import { newAdminWorld } from '../world.testkit.ts';
import type { World } from '../world.testkit.ts';
import { projectionFromDatabase, projectionSource } from './needToKnow.ts';
import type { ProjectionSource } from './needToKnow.ts';

/**
 * alice (U1), bob (U2) and carol (U3) in G1; alice and dave (U4) in G2; erin (U5) and frank (U6) in
 * no group. G1 has a key, G2 a key.
 */
async function world(): Promise<World> {
  const w = await newAdminWorld(6, [
    ['G1', 'team', ['U1', 'U2', 'U3']],
    ['G2', 'pair', ['U1', 'U4']],
  ]);
  w.admin.activateKey(w.admin.addKey('G1', 'team key'));
  w.admin.addKey('G2', 'pair key');
  return w;
}

const source = (w: World): ProjectionSource => w.admin.readDatabase((db, now) => projectionSource(db, now));

describe('knows: whose record is in a user’s view', () => {
  test.each([
    { userId: 'U1', otherId: 'U1', knows: true, why: 'itself, in groups' },
    { userId: 'U5', otherId: 'U5', knows: true, why: 'itself, in no group' },
    { userId: 'U1', otherId: 'U2', knows: true, why: 'a co-member of one of its groups' },
    { userId: 'U2', otherId: 'U1', knows: true, why: 'a co-member also in another group' },
    { userId: 'U4', otherId: 'U1', knows: true, why: 'a co-member of its only group' },
    { userId: 'U2', otherId: 'U4', knows: false, why: 'a member of another group only' },
    { userId: 'U1', otherId: 'U5', knows: false, why: 'a user in no group' },
    { userId: 'U5', otherId: 'U6', knows: false, why: 'two users in no group' },
  ])('$userId knows $otherId: $knows ($why)', async ({ userId, otherId, knows }) => {
    const s = source(await world());
    expect(s.knows(userId, otherId)).toBe(knows);
    // The same answer as the user's whole view gives.
    expect(s.project(userId).users.some((u) => u.id === otherId)).toBe(knows);
  });
});

describe('projectionFromDatabase: one user’s view', () => {
  test('its record, its groups with their members, the keys it holds; nothing else', async () => {
    const w = await world();
    const view = w.admin.readDatabase((db, now) => projectionFromDatabase(db, 'U4', now));
    expect(view.userId).toBe('U4');
    expect(view.users.map((u) => [u.id, u.name])).toEqual([
      ['U1', 'alice'],
      ['U4', 'dave'],
    ]);
    expect(view.groups.map((g) => [g.id, g.members])).toEqual([['G2', ['U1', 'U4']]]);
    expect(view.keys.map((k) => [k.id, k.name, k.state])).toEqual([['K2001', 'pair key', 'preActivation']]);
    expect(view).toEqual(source(w).project('U4'));
    const lonely = w.admin.readDatabase((db, now) => projectionFromDatabase(db, 'U5', now));
    expect(lonely).toEqual({ userId: 'U5', users: [{ id: 'U5', name: 'erin' }], groups: [], keys: [] });
  });
});
