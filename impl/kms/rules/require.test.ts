/**
 * The lookups every admin rule starts from: the record, or the model's refusal code with a message
 * and, where the situation has its own way out, a remedy for it (`CodedError.remedy`).
 */
import { describe, expect, test } from 'vitest';
import { KmsError } from '../../../model/kms.ts';
import { TEAM_POLICY, newAdminWorld } from '../world.testkit.ts';
import { requireGroup, requireUser } from './require.ts';

/** The refusal `fn` throws. */
function refusal(fn: () => unknown): KmsError {
  try {
    fn();
  } catch (error) {
    if (error instanceof KmsError) return error;
    throw error;
  }
  throw new Error('no refusal');
}

describe('requireUser and requireGroup', () => {
  test('an unknown user: UnknownUser, with the way to the list of users', async () => {
    const w = await newAdminWorld(2, [['G1', 'team', ['U1', 'U2']]]);
    expect(w.admin.readDatabase((db) => requireUser(db, 'U1').name)).not.toBe('');
    const e = refusal(() => w.admin.readDatabase((db) => requireUser(db, 'U9')));
    expect([e.code, e.message, e.remedy]).toEqual([
      'UnknownUser',
      'no user U9',
      'Check the ID: `sekey admin users` lists the users.',
    ]);
  });

  test('a deleted group is said as deleted, with its own remedy; one never made keeps the general one', async () => {
    const w = await newAdminWorld(2, [['G1', 'team', ['U1', 'U2']]]);
    w.admin.addGroup('G2', 'gone', TEAM_POLICY);
    expect(w.admin.readDatabase((db) => requireGroup(db, 'G2').id)).toBe('G2');
    w.admin.deleteGroup('G2');
    const deleted = refusal(() => w.admin.readDatabase((db) => requireGroup(db, 'G2')));
    expect([deleted.code, deleted.message]).toEqual(['UnknownGroup', 'no group G2: it was deleted']);
    expect(deleted.remedy).toBe(
      'G2 was deleted, and a group ID is never used again (old keys stay attributed to the group that owned ' +
        'them): `sekey admin groups` lists the groups; `sekey admin add-group` makes a new one under an ID ' +
        'not used before.',
    );
    const never = refusal(() => w.admin.readDatabase((db) => requireGroup(db, 'G9')));
    expect([never.code, never.message, never.remedy]).toEqual(['UnknownGroup', 'no group G9', undefined]);
    // The group that stays is found as before.
    expect(w.admin.readDatabase((db) => requireGroup(db, 'G1').members)).toEqual(['U1', 'U2']);
  });
});
