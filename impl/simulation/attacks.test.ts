import { describe, expect, test } from 'vitest';
import { ordinal, runAttack } from './attacks.ts';
import type { AttackKind, AttackOutcome, AttackTally } from './attacks.ts';
import type { SimulationWorld } from './simulationWorld.ts';
import { aliceAndBob } from './testDevices.testkit.ts';

const START = Date.UTC(2026, 0, 1);

/** Counts nothing; a refusal's code is what `answer` says. */
const quiet: AttackTally = {
  count: () => {},
  error: (error) => (error as { code?: string }).code ?? String(error),
};

/**
 * Alice and bob provisioned, published to and synced (their cards imaged before each sync, the
 * admin's before each publication), then a rename published: one update file pending for each.
 */
async function world(): Promise<SimulationWorld> {
  const w = await aliceAndBob('attack-words', START, true);
  await w.sync('U1', 'setup');
  await w.sync('U2', 'setup');
  await w.admin('rename-user', { type: 'renameUser', userId: 'U1', name: 'alice 2', now: START }, 'setup');
  await w.publish('setup');
  await w.r.observe(['U1', 'U2']);
  return w;
}

describe('an attack says what it did', () => {
  test('ordinals', () => {
    expect([1, 2, 3, 4, 11, 12, 13, 21, 22, 101, 111].map(ordinal)).toEqual([
      '1st',
      '2nd',
      '3rd',
      '4th',
      '11th',
      '12th',
      '13th',
      '21st',
      '22nd',
      '101st',
      '111th',
    ]);
  });

  test('the file on the share it touched, the byte and the mask, the card put back and the answer', async () => {
    const w = await world();
    try {
      // What each attack told before its checks (card attacks only: `AttackWordsSoFar`), by kind.
      const soFar = new Map<AttackKind, string[]>();
      const attack = (kind: AttackKind, pick: number, mask: number, user: string): Promise<AttackOutcome> =>
        runAttack(w.m, w.r, { kind, user, other: user === 'U1' ? 'U2' : 'U1', pick, mask }, kind, quiet, (what) =>
          soFar.set(kind, [...(soFar.get(kind) ?? []), what]),
        );
      // In turn, each on what the ones before left: the words are of what was there when it struck.
      const said: string[] = [];
      for (const [kind, pick, mask, user] of [
        ['corrupt', 7, 0x2b, 'U1'],
        ['truncate', 1000, 0x2b, 'U1'],
        ['append', 3, 0xff, 'U1'],
        ['duplicate', 0, 1, 'U1'],
        ['replay', 1, 1, 'U1'],
        ['misdeliver', 0, 1, 'U1'],
        ['reorder', 0, 1, 'U1'],
        ['drop', 0, 1, 'U1'],
        ['renameResync', 0, 1, 'U1'],
        ['ackDrop', 0, 1, 'U2'],
        ['sdRollback', 0, 1, 'U1'],
        ['adminSdRollback', 2, 1, 'U1'],
        ['sdSwap', 0, 1, 'U1'],
        ['foreignInstallation', 1, 1, 'U2'],
        // Nothing to attack (one file pending, two needed): what was missing.
        ['reorder', 0, 1, 'U2'],
        ['ackCorrupt', 0, 1, 'U1'],
      ] as const) {
        const { acted, what } = await attack(kind, pick, mask, user);
        said.push(`${kind}: ${acted ? '' : '(did nothing) '}${what}`);
        // A card attack's last words before a check are the outcome's: what a check that failed would leave.
        if (soFar.has(kind)) expect(soFar.get(kind)?.at(-1)).toBe(what);
      }
      expect([...soFar.keys()]).toEqual(['sdRollback', 'adminSdRollback', 'sdSwap']);
      // The swap's first card, told before the check that it was refused, and before the second card goes in.
      expect(soFar.get('sdSwap')?.[0]).toBe("put U2's SD card into U1's device: U1's HSM refused it (Tampered)");
      // Before the check of the first card put back, the second is not back yet.
      expect(soFar.get('sdSwap')?.[2]).toBe(
        "put U2's SD card into U1's device: U1's HSM refused it (Tampered); put U1's SD card into U2's device: U2's " +
          "HSM refused it (Tampered); U1's own card then put back",
      );
      expect(said).toEqual([
        'corrupt: flipped byte 7 of updates/U1/000000000002.update (139 bytes) with xor 0x2b',
        'truncate: cut updates/U1/000000000002.update from 139 bytes to its first 27 bytes',
        'append: appended 4 bytes 0xff to updates/U1/000000000002.update (27 bytes)',
        'duplicate: copied updates/U1/000000000002.update to updates/U1/000000000003.resync',
        // A file U1's HSM went past, under a resync's name at the number of the file pending for it.
        'replay: wrote a recorded copy of updates/U1/000000000001.resync (139 bytes) (update 1, a resync: the ' +
          'last U1 applied) as updates/U1/000000000002.resync',
        'misdeliver: wrote a recorded copy of updates/U2/000000000001.resync (137 bytes) as ' +
          'updates/U1/000000000004.resync',
        'reorder: swapped the contents of updates/U1/000000000002.resync and updates/U1/000000000002.update',
        'drop: deleted updates/U1/000000000002.resync',
        'renameResync: deleted updates/U1/000000000002.update, and moved updates/U1/000000000003.resync to ' +
          'updates/U1/000000000005.resync',
        'ackDrop: deleted acks/U2/000000000001.ack',
        "sdRollback: put back U1's SD card as imaged before a sync (the only one kept): U1's HSM refused " +
          '(RolledBack); its own card then put back',
        "adminSdRollback: put back the admin's SD card as imaged before a publication (the oldest of 2 kept): " +
          'the admin HSM refused (RolledBack); its own card then put back',
        "sdSwap: put U2's SD card into U1's device: U1's HSM refused it (Tampered); put U1's SD card into U2's " +
          "device: U2's HSM refused it (Tampered); each card then put back",
        'foreignInstallation: wrote the 2nd of the 2 update files a foreign installation made for its U2 as ' +
          'updates/U2/000000000002.update',
        'reorder: (did nothing) nothing to attack: updates/U2 holds 1 update file past sequence 1, the last U2 ' +
          'applied, and it needs 2',
        'ackCorrupt: flipped byte 0 of acks/U1/000000000001.ack (109 bytes) with xor 0x01',
      ]);
    } finally {
      w.r.dispose();
    }
  });
});
