import { describe, expect, test } from 'vitest';
import { KmsError } from '../../../model/kms.ts';
import { newTeam } from '../world.testkit.ts';

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
