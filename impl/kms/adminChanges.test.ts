import { describe, expect, test } from 'vitest';
import { ChangeRecorder, NO_CHANGES } from './adminChanges.ts';
import { newTeam } from './world.testkit.ts';

const DAY = 86_400_000;

describe('change reports', () => {
  test('a member leaving: the leaver drops the keys, live keys retire, a rekey is generated', async () => {
    const w = await newTeam();
    const active = w.admin.addKey('G1', 'a');
    const pre = w.admin.addKey('G1', 'p');
    w.admin.activateKey(active);
    w.clock.advance(1000);
    const changes = w.admin.removeMember('G1', 'U3');
    expect(changes.transitions).toEqual([
      { keyId: active, from: 'active', to: 'deactivated', cause: 'retirement', at: w.clock.now() },
      { keyId: pre, from: 'preActivation', to: 'destroyed', cause: 'retirement', at: w.clock.now() },
    ]);
    expect(changes.holders).toEqual([
      { keyId: active, gained: [], lost: ['U3'] },
      { keyId: pre, gained: [], lost: ['U1', 'U2', 'U3'] },
    ]);
    expect(changes.created).toHaveLength(1);
    expect(changes.created[0]).toMatchObject({
      cause: 'rekey',
      key: { id: 'K2002', owner: 'G1', state: 'active', holders: ['U1', 'U2'] },
    });
    expect(changes.usersAffected).toEqual(['U1', 'U2', 'U3']);
    expect(changes.renamed).toEqual([]);
  });

  test('compromising an active key names its replacement; destroying drops every holder', async () => {
    const w = await newTeam();
    const k = w.admin.addKey('G1', 'k');
    w.admin.activateKey(k);
    const compromised = w.admin.compromiseKey(k);
    expect(compromised.transitions).toMatchObject([{ keyId: k, from: 'active', to: 'compromised', cause: 'event' }]);
    expect(compromised.created).toMatchObject([
      { cause: 'replacement', replaces: k, key: { state: 'active', holders: ['U1', 'U2', 'U3'] } },
    ]);
    const destroyed = w.admin.destroyKey(k);
    expect(destroyed.transitions).toMatchObject([{ from: 'compromised', to: 'destroyedCompromised' }]);
    expect(destroyed.holders).toEqual([{ keyId: k, gained: [], lost: ['U1', 'U2', 'U3'] }]);
    expect(destroyed.created).toEqual([]);
  });

  test('apply carries out model operations; renames report only real changes', async () => {
    const w = await newTeam();
    const now = w.clock.now();
    const added = w.admin.apply({ type: 'addKey', groupId: 'G1', name: 'k', cryptoperiodMs: DAY, now });
    expect(added.created).toMatchObject([
      { cause: 'added', key: { id: 'K2000', name: 'k', state: 'preActivation', cryptoperiodMs: DAY } },
    ]);
    expect(added.usersAffected).toEqual(['U1', 'U2', 'U3']);
    expect(w.admin.apply({ type: 'renameKey', keyId: 'K2000', name: 'k', now })).toMatchObject({
      renamed: [],
      usersAffected: [],
    });
    expect(w.admin.apply({ type: 'renameKey', keyId: 'K2000', name: 'k2', now }).renamed).toEqual([
      { keyId: 'K2000', from: 'k', to: 'k2' },
    ]);
    expect(w.admin.apply({ type: 'renameUser', userId: 'U1', name: 'alice', now }).usersAffected).toEqual([]);
    expect(w.admin.apply({ type: 'renameGroup', groupId: 'G1', name: 'team', now }).usersAffected).toEqual([]);
    expect(
      w.admin.apply({
        type: 'changePolicy',
        groupId: 'G1',
        policy: { maxKeys: 3, algorithm: 'AES-256-GCM', defaultCryptoperiodMs: 30 * DAY },
        now,
      }).usersAffected,
    ).toEqual([]);
    expect(w.admin.setMaxKeys('G1', 2).usersAffected).toEqual(['U1', 'U2', 'U3']);
    w.admin.addUser('U4', 'dave');
    expect(w.admin.apply({ type: 'addMember', groupId: 'G1', userId: 'U4', now }).holders).toEqual([
      { keyId: 'K2000', gained: ['U4'], lost: [] },
    ]);
    expect(
      w.admin.apply({ type: 'keyEvent', keyId: 'K2000', event: { type: 'ACTIVATE', now } }).transitions,
    ).toMatchObject([{ to: 'active' }]);
    const deleted = w.admin.apply({ type: 'deleteUser', userId: 'U4', now });
    expect(deleted.usersAffected).toEqual(['U1', 'U2', 'U3', 'U4']);
    expect(deleted.created).toMatchObject([{ cause: 'rekey', key: { holders: ['U1', 'U2', 'U3'] } }]);
    const group = w.admin.apply({ type: 'deleteGroup', groupId: 'G1', now });
    expect(group.holders.map((h) => h.lost)).toEqual([
      ['U1', 'U2', 'U3'],
      ['U1', 'U2', 'U3'],
    ]);
    expect(
      w.admin.apply({
        type: 'addGroup',
        groupId: 'G2',
        name: 'g',
        policy: { maxKeys: 1, algorithm: 'AES-256-GCM', defaultCryptoperiodMs: DAY },
        now,
      }),
    ).toEqual(NO_CHANGES);
    expect(w.admin.apply({ type: 'expireKeys', now })).toEqual(NO_CHANGES);
  });

  test('a user leaving two groups rekeys both; status changes by name and explicit expiry', async () => {
    const w = await newTeam();
    w.admin.addGroup('G2', 'pair', { maxKeys: 2, algorithm: 'AES-256-GCM', defaultCryptoperiodMs: DAY });
    for (const u of ['U1', 'U3']) w.admin.addMember('G2', u);
    for (const g of ['G1', 'G2']) w.admin.activateKey(w.admin.addKey(g, 'k'));
    const changes = w.admin.deleteUser('U3');
    expect(changes.created.map((c) => [c.key.owner, c.cause, c.key.holders])).toEqual([
      ['G1', 'rekey', ['U1', 'U2']],
      ['G2', 'rekey', ['U1']],
    ]);
    expect(w.admin.changeKeyStatus('K2002', 'suspended').transitions).toMatchObject([
      { from: 'active', to: 'suspended' },
    ]);
    // An explicit EXPIRE: refused before the end of the cryptoperiod, and after it too, since every
    // operation expires due keys first (keys expire by that sweep alone).
    const expire = () => w.admin.apply({ type: 'keyEvent', keyId: 'K2002', event: { type: 'EXPIRE', now: 0 } });
    expect(expire).toThrow(/it cannot be expired at .*: its cryptoperiod is still running/);
    w.clock.advance(31 * DAY);
    expect(expire).toThrow(/deactivated/);
  });

  test(
    'an expiry is committed and reported by the next operation, stamped with the end of the ' + 'cryptoperiod',
    async () => {
      const w = await newTeam();
      const k = w.admin.addKey('G1', 'k', { cryptoperiodMs: DAY });
      w.admin.activateKey(k);
      const end = w.clock.now() + DAY;
      w.clock.advance(2 * DAY);
      const changes = w.admin.renameUser('U1', 'alice2');
      expect(changes.transitions).toEqual([{ keyId: k, from: 'active', to: 'deactivated', cause: 'expiry', at: end }]);
      expect(changes.usersAffected).toEqual(['U1', 'U2', 'U3']);
      expect(
        w.admin
          .auditLog()
          .slice(-2)
          .map((e) => e.action),
      ).toEqual(['expireKeys', 'renameUser']);
      expect(w.admin.sweep()).toEqual(NO_CHANGES);
    },
  );

  test('the recorder nets out holders gained and lost within one operation', () => {
    const r = new ChangeRecorder();
    r.holdersGained('K1', ['U1', 'U2']);
    r.holdersLost('K1', ['U1']);
    r.holdersLost('K2', ['U3']);
    r.holdersGained('K2', ['U3']);
    r.renamed('K1', 'a', 'b');
    r.renamed('K1', 'b', 'a');
    r.renamed('K3', 'c', 'd');
    r.renamed('K2', 'e', 'f');
    expect(r.report()).toEqual({
      ...NO_CHANGES,
      holders: [{ keyId: 'K1', gained: ['U2'], lost: [] }],
      renamed: [
        { keyId: 'K2', from: 'e', to: 'f' },
        { keyId: 'K3', from: 'c', to: 'd' },
      ],
    });
  });
});
