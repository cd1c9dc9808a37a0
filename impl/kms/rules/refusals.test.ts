/**
 * Refusal messages: the CLI prints them to the administrator and the users, so each must name what
 * is wrong — the unknown ID, the offending value, the group or key in the way — besides the model's
 * code (which the worked examples check). Asserted by what they name, not word for word.
 */
import { describe, expect, test } from 'vitest';
import { KmsError } from '../../../model/kms.ts';
import { newAdminWorld } from '../world.testkit.ts';
import type { World } from '../world.testkit.ts';
import { selectKeyInDatabase } from './keySelection.ts';

const DAY = 86_400_000;

/** The refusal `fn` throws: its code and message. */
function refusal(fn: () => unknown): { code: string; message: string } {
  try {
    fn();
  } catch (e) {
    if (e instanceof KmsError) return { code: e.code, message: e.message };
    throw e;
  }
  throw new Error('not refused');
}

/**
 * The admin alone: alice, bob and carol in G1 "team" (TEAM_POLICY, three keys); alice and bob also
 * in G2 "pair"; dave (U4) in no group. G1 has a live key K2000 of thirty days.
 */
async function world(): Promise<World> {
  const w = await newAdminWorld(4, [
    ['G1', 'team', ['U1', 'U2', 'U3']],
    ['G2', 'pair', ['U1', 'U2']],
  ]);
  w.admin.addKey('G1', 'k');
  return w;
}

/** Key selection on the admin's database (every user, group and key): the same rule as on a device. */
const select = (w: World, sender: string, recipients: readonly string[]) => () =>
  w.admin.readDatabase((db, now) => selectKeyInDatabase(db, sender, recipients, now));

describe('refusal messages name what is wrong', () => {
  const cases: ReadonlyArray<{
    name: string;
    refused: (w: World) => () => unknown;
    code: string;
    names: readonly RegExp[];
  }> = [
    {
      name: 'an unknown user',
      refused: (w) => () => w.admin.renameUser('U9', 'x'),
      code: 'UnknownUser',
      names: [/U9/],
    },
    { name: 'an unknown group', refused: (w) => () => w.admin.addKey('G9', 'x'), code: 'UnknownGroup', names: [/G9/] },
    {
      name: 'an unknown key',
      refused: (w) => () => w.admin.activateKey('K9999'),
      code: 'UnknownKey',
      names: [/K9999/],
    },
    {
      name: 'a cryptoperiod that is not a positive integer',
      refused: (w) => () => w.admin.addKey('G1', 'x', { cryptoperiodMs: 1.5 }),
      code: 'InvalidCryptoperiod',
      names: [/1\.5/],
    },
    {
      name: 'a cryptoperiod over the group default',
      refused: (w) => () => w.admin.addKey('G1', 'x', { cryptoperiodMs: 31 * DAY }),
      code: 'CryptoperiodTooLong',
      names: [/31 days/, /G1/, /30 days/],
    },
    {
      // Any safe integer was taken: a key activated under it ended its cryptoperiod where no Date is.
      name: 'a default cryptoperiod over 100 years',
      refused: (w) => () => w.admin.setDefaultCryptoperiod('G1', Number.MAX_SAFE_INTEGER),
      code: 'InvalidPolicy',
      names: [/at most 36525 days/, /9007199254740991/],
    },
    {
      name: 'a group at maxKeys',
      refused: (w) => () => {
        w.admin.setMaxKeys('G1', 1);
        w.admin.addKey('G1', 'x');
      },
      code: 'MaxKeysReached',
      names: [/G1/, /1 of 1/],
    },
    {
      name: 'a maxKeys under the live keys',
      refused: (w) => () => {
        w.admin.addKey('G1', 'x');
        w.admin.setMaxKeys('G1', 1);
      },
      code: 'PolicyConflict',
      names: [/G1/, /2 live keys/, /maxKeys 1/],
    },
    {
      name: 'a default cryptoperiod under a live key’s',
      refused: (w) => () => w.admin.setDefaultCryptoperiod('G1', DAY),
      code: 'PolicyConflict',
      names: [/K2000/, /30 days/, /1 day\b/],
    },
    {
      name: 'a recipient the sender shares no group with',
      refused: (w) => select(w, 'U1', ['U2', 'U9']),
      code: 'UnknownUser',
      names: [/U1/, /U9/],
    },
    {
      name: 'recipients with no common group',
      refused: (w) => select(w, 'U3', ['U1', 'U4']),
      code: 'NoCommonGroup',
      names: [/U3/, /U1, U4/],
    },
    {
      name: 'groups without a usable key',
      refused: (w) => select(w, 'U1', ['U2']),
      code: 'NoUsableKey',
      names: [/G2, G1|G1, G2/],
    },
    {
      // The key machine refuses (stepKey): K2000 is pre-active, so it cannot be resumed.
      name: 'a key event its life cycle does not allow',
      refused: (w) => () => w.admin.resumeKey('K2000'),
      code: 'IllegalTransition',
      names: [/K2000/, /preActivation/, /cannot be resumed/, /can be activated, marked compromised or destroyed/],
    },
  ];
  test.each(cases)('$name', async ({ refused, code, names }) => {
    const w = await world();
    const r = refusal(refused(w));
    expect(r.code).toBe(code);
    for (const n of names) expect(r.message).toMatch(n);
  });
});
