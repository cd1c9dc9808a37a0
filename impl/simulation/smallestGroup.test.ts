import { describe, expect, test } from 'vitest';
import type { KmsOperation } from '../../model/kms.ts';
import { checkEncryption, checkReprotection } from './smallestGroup.ts';
import { DeploymentModel } from './referenceModel.ts';
import type { LedgerEntry } from './referenceModel.ts';

describe('smallest-group judges a re-protection from a replica behind the model, unrecorded, one way', () => {
  /**
   * Just what the check reads of a model: K2000 of G1 in `state` (compromised at some time if the
   * state says so, as the life cycle records it); U1 in service; fresh or not.
   */
  const model = (state: string, fresh: boolean) => {
    const context = { compromisedAt: state === 'compromised' || state === 'destroyedCompromised' ? 1 : null };
    const swept = () => ({
      keys: { K2000: { id: 'K2000', owner: 'G1', holders: ['U1'], lifecycle: { value: state, context } } },
      groups: {},
    });
    return {
      swept,
      // The user's host on the admin's clock: the same state.
      sweptFor: swept,
      fresh: () => fresh,
      freshnessWords: () => "U1's update 3 is past the window",
      inService: () => true,
      // No record of the file the replica applied last: the heartbeat rule alone.
      knownAt: () => null,
      kms: { groups: {} },
    } as unknown as DeploymentModel;
  };
  const entry = { keyId: 'K2000', groupId: 'G1' } as LedgerEntry;
  const behind = { synced: false, sequence: 3, held: ['K2000'], owed: [] };
  const moved = { keyId: 'K2001', groupId: 'G1' };

  test('past the window, a success from a key the model does not know as compromised is a violation', () => {
    for (const state of ['active', 'suspended', 'deactivated'])
      expect(() => checkReprotection(model(state, false), 'U1', entry, behind, moved, 'step 9'), state).toThrow(
        /re-protected under K2001 from a replica behind the model at sequence 3, past the freshness window/,
      );
  });

  test('a synced sender past the window is held to NotFresh too, except from a compromised key', () => {
    const synced = { synced: true, sequence: 3, held: ['K2000'], owed: [] };
    expect(() => checkReprotection(model('deactivated', false), 'U1', entry, synced, moved, 'step 9')).toThrow(
      /re-protected under K2001@G1, the model's smallest group gives NotFresh/,
    );
    expect(checkReprotection(model('active', false), 'U1', entry, synced, { code: 'NotFresh' }, 's')).toBe(
      'protection',
    );
  });

  test('within the window, from a compromised key (the rescue path), or refused: nothing to say', () => {
    expect(checkReprotection(model('active', true), 'U1', entry, behind, moved, 'step 9')).toBe('freshness');
    for (const state of ['compromised', 'destroyedCompromised'])
      expect(checkReprotection(model(state, false), 'U1', entry, behind, moved, 'step 9')).toBe('freshness');
    expect(checkReprotection(model('active', false), 'U1', entry, behind, { code: 'NotFresh' }, 's')).toBe('freshness');
    // A device that applied nothing is not judged.
    expect(
      checkReprotection(
        model('active', false),
        'U1',
        entry,
        { synced: false, sequence: 0, held: [], owed: [] },
        moved,
        's',
      ),
    ).toBe(null);
  });
});

describe('smallest-group judges an encryption from a replica behind the model over what was published to it', () => {
  const START = Date.UTC(2026, 0, 1);
  const DAY = 86_400_000;
  const policy = { maxKeys: 3, algorithm: 'AES-256-GCM', defaultCryptoperiodMs: 7 * DAY } as const;

  /** A model where `ops` were applied and published to U1 (update 1), then `unpublished` applied. */
  function publishedThen(ops: readonly KmsOperation[], unpublished: KmsOperation): DeploymentModel {
    const m = new DeploymentModel(START);
    for (const op of ops) expect(m.apply(op).ok).toBe(true);
    m.provisioned('U1');
    m.recordPublished('U1', 1);
    expect(m.apply(unpublished).ok).toBe(true);
    return m;
  }

  /** U1 alone in G1 with two keys activated together, published (1); then K2001 suspended, not published. */
  function behindModel(): DeploymentModel {
    return publishedThen(
      [
        { type: 'addUser', userId: 'U1', name: 'alice', now: START },
        { type: 'addGroup', groupId: 'G1', name: 'team', policy, now: START },
        { type: 'addMember', groupId: 'G1', userId: 'U1', now: START },
        { type: 'addKey', groupId: 'G1', name: 'a', now: START },
        { type: 'addKey', groupId: 'G1', name: 'b', now: START },
        { type: 'keyEvent', keyId: 'K2000', event: { type: 'ACTIVATE', now: START } },
        { type: 'keyEvent', keyId: 'K2001', event: { type: 'ACTIVATE', now: START } },
      ],
      { type: 'keyEvent', keyId: 'K2001', event: { type: 'SUSPEND', now: START } },
    );
  }
  const behind = { synced: false, sequence: 1, held: ['K2000', 'K2001'], owed: [] };

  test('within the window, the key the rule gives over the replica, not over the model now', () => {
    const m = behindModel();
    // Tied on both times, the higher key number wins on the replica, where K2001 is still active.
    expect(checkEncryption(m, 'U1', [], behind, { keyId: 'K2001', groupId: 'G1' }, 'step 9')).toBe('behind');
    expect(() => checkEncryption(m, 'U1', [], behind, { keyId: 'K2000', groupId: 'G1' }, 'step 9')).toThrow(
      /encrypted under K2000@G1, from a replica behind the model at sequence 1, within the freshness window;.*K2001@G1/,
    );
    expect(() => checkEncryption(m, 'U1', [], behind, { code: 'NoUsableKey' }, 'step 9')).toThrow(/gives K2001@G1/);
  });

  test("at the time of the encryption: a cryptoperiod that ended since the file ended on the replica's clock", () => {
    const m = behindModel();
    // Published on day 5 (K2001 suspended, K2000 active until day 7); encrypting on day 7, within the window.
    m.now += 5 * DAY;
    m.recordPublished('U1', 2);
    m.now += 2 * DAY;
    const at2 = { synced: false, sequence: 2, held: ['K2000', 'K2001'], owed: [] };
    expect(checkEncryption(m, 'U1', [], at2, { code: 'NoUsableKey' }, 's')).toBe('behind');
    expect(() => checkEncryption(m, 'U1', [], at2, { keyId: 'K2000', groupId: 'G1' }, 's')).toThrow(
      /gives NoUsableKey/,
    );
  });

  test('past the window, the heartbeat rule alone: NotFresh', () => {
    const m = behindModel();
    m.now += 4 * DAY;
    expect(checkEncryption(m, 'U1', [], behind, { code: 'NotFresh' }, 'step 9')).toBe('freshness');
    expect(() => checkEncryption(m, 'U1', [], behind, { keyId: 'K2001', groupId: 'G1' }, 'step 9')).toThrow(
      /past the freshness window/,
    );
  });

  test("KeyUnavailable only while the HSM lacks the rule's key (its import still owed)", () => {
    const m = behindModel();
    const owed = { ...behind, held: ['K2000'], owed: ['K2001'] };
    expect(checkEncryption(m, 'U1', [], owed, { code: 'KeyUnavailable' }, 's')).toBe('behind');
    expect(() => checkEncryption(m, 'U1', [], behind, { code: 'KeyUnavailable' }, 's')).toThrow(/gives K2001@G1/);
    // Lacking it with no import owed, the HSM lost it: no excuse either.
    const lost = { ...behind, held: ['K2000'] };
    expect(() => checkEncryption(m, 'U1', [], lost, { code: 'KeyUnavailable' }, 's')).toThrow(/gives K2001@G1/);
    // A key the HSM lacks is no excuse when the rule gives a refusal: NoUsableKey on day 7 (above).
    m.now += 5 * DAY;
    m.recordPublished('U1', 2);
    m.now += 2 * DAY;
    const none = { synced: false, sequence: 2, held: [], owed: [] };
    expect(() => checkEncryption(m, 'U1', [], none, { code: 'KeyUnavailable' }, 's')).toThrow(/gives NoUsableKey/);
  });

  describe('a re-protection, over its replica too', () => {
    const entry = { keyId: 'K2000', groupId: 'G1' } as LedgerEntry;
    const moved = { keyId: 'K2001', groupId: 'G1' };

    test('to the key the rule gives over the replica, where the model now would leave the message as it is', () => {
      const m = behindModel();
      expect(checkReprotection(m, 'U1', entry, behind, moved, 'step 9')).toBe('behind');
      expect(() => checkReprotection(m, 'U1', entry, behind, { keyId: 'K2000', groupId: 'G1' }, 'step 9')).toThrow(
        /K2000@G1, the model, over its replica's state \(a replica behind the model at sequence 1.*, gives K2001@G1/,
      );
      // Synced to the model now, the same re-protection must leave it under K2000 (K2001 is suspended).
      const synced = { synced: true, sequence: 1, held: ['K2000', 'K2001'], owed: [] };
      expect(() => checkReprotection(m, 'U1', entry, synced, moved, 's')).toThrow(/smallest group gives K2000@G1/);
    });

    test('KeyUnavailable while the HSM lacks the old key or the new; a refusal where the replica lacks it', () => {
      const m = behindModel();
      const unavailable = { code: 'KeyUnavailable' };
      const lacking: Array<[string[], string[]]> = [
        [['K2000'], ['K2001']],
        [['K2001'], ['K2000']],
      ];
      for (const [held, owed] of lacking)
        expect(checkReprotection(m, 'U1', entry, { ...behind, held, owed }, unavailable, 's'), `${owed}`).toBe(
          'behind',
        );
      // Lacking one with no import owed, the HSM lost it: no excuse.
      expect(() => checkReprotection(m, 'U1', entry, { ...behind, held: ['K2000'] }, unavailable, 's')).toThrow(
        /refused with KeyUnavailable; .* gives K2001@G1/,
      );
      expect(() => checkReprotection(m, 'U1', entry, behind, { code: 'KeyUnavailable' }, 's')).toThrow(
        /refused with KeyUnavailable; the model, over its replica's state .* gives K2001@G1/,
      );
      // K2002, made after the file the replica applied: not held there, so it must be refused.
      expect(m.apply({ type: 'addKey', groupId: 'G1', name: 'c', now: m.now }).ok).toBe(true);
      const later = { keyId: 'K2002', groupId: 'G1' } as LedgerEntry;
      expect(checkReprotection(m, 'U1', later, behind, { code: 'KeyUnavailable' }, 's')).toBe('behind');
      expect(() => checkReprotection(m, 'U1', later, behind, moved, 's')).toThrow(
        /re-protected under K2001; the model, over its replica's state .* gives a refusal \(U1 does not hold K2002/,
      );
    });

    test('KeyUnavailable for a missing old key only where the rule gives a key: its refusal comes first', () => {
      // User.reprotect refuses NotFresh, and #choose NoUsableKey, before the HSM is asked for either key.
      const m = behindModel();
      m.now += 4 * DAY;
      const lacksOld = { ...behind, held: ['K2001'], owed: ['K2000'] };
      expect(checkReprotection(m, 'U1', entry, lacksOld, { code: 'NotFresh' }, 's')).toBe('behind');
      expect(() => checkReprotection(m, 'U1', entry, lacksOld, { code: 'KeyUnavailable' }, 's')).toThrow(
        /refused with KeyUnavailable; the model, over its replica's state .* gives NotFresh/,
      );
      // Compromised and published (2), behind past the window: the rescue chooses, and nothing is usable there.
      expect(m.apply({ type: 'keyEvent', keyId: 'K2000', event: { type: 'COMPROMISE', now: m.now } }).ok).toBe(true);
      m.recordPublished('U1', 2);
      m.now += 8 * DAY;
      const at2 = { synced: false, sequence: 2, held: ['K2001'], owed: ['K2000'] };
      expect(checkReprotection(m, 'U1', entry, at2, { code: 'NoUsableKey' }, 's')).toBe('behind');
      expect(() => checkReprotection(m, 'U1', entry, at2, { code: 'KeyUnavailable' }, 's')).toThrow(
        /refused with KeyUnavailable; the model, over its replica's state .* gives NoUsableKey/,
      );
    });

    test("for the group's other members on the replica: a leave it has not applied keeps them", () => {
      // U1 and U2 in G1 (K2000), U1 alone in G2 (K2001), published (1); then U2 leaves G1, unpublished.
      const ops: KmsOperation[] = [
        { type: 'addUser', userId: 'U1', name: 'alice', now: START },
        { type: 'addUser', userId: 'U2', name: 'bob', now: START },
        { type: 'addGroup', groupId: 'G1', name: 'team', policy, now: START },
        { type: 'addGroup', groupId: 'G2', name: 'solo', policy, now: START },
        { type: 'addMember', groupId: 'G1', userId: 'U1', now: START },
        { type: 'addMember', groupId: 'G1', userId: 'U2', now: START },
        { type: 'addMember', groupId: 'G2', userId: 'U1', now: START },
        { type: 'addKey', groupId: 'G1', name: 'a', now: START },
        { type: 'addKey', groupId: 'G2', name: 'b', now: START },
        { type: 'keyEvent', keyId: 'K2000', event: { type: 'ACTIVATE', now: START } },
        { type: 'keyEvent', keyId: 'K2001', event: { type: 'ACTIVATE', now: START } },
      ];
      const m = publishedThen(ops, { type: 'removeMember', groupId: 'G1', userId: 'U2', now: START });
      const at1 = { synced: false, sequence: 1, held: ['K2000', 'K2001'], owed: [] };
      // On the replica G1 is still U1 and U2: the message stays under K2000. Over the model's members
      // now (U1 alone), the smallest group would be G2.
      const unchanged = { keyId: 'K2000', groupId: 'G1' };
      expect(checkReprotection(m, 'U1', entry, at1, unchanged, 's')).toBe('behind');
      expect(() => checkReprotection(m, 'U1', entry, at1, { keyId: 'K2001', groupId: 'G2' }, 's')).toThrow(
        /re-protected under K2001@G2, the model, over its replica's state .* gives K2000@G1/,
      );
    });

    test('compromised as the replica knows it: the rescue path only from a key compromised there', () => {
      const m = behindModel();
      // Compromised after the file: the replica does not know, so past the window it must refuse.
      expect(m.apply({ type: 'keyEvent', keyId: 'K2000', event: { type: 'COMPROMISE', now: START } }).ok).toBe(true);
      m.now += 4 * DAY;
      expect(checkReprotection(m, 'U1', entry, behind, { code: 'NotFresh' }, 's')).toBe('behind');
      expect(() => checkReprotection(m, 'U1', entry, behind, moved, 's')).toThrow(/gives NotFresh/);
      // Published compromised (2), then behind again: the rescue re-protects past the window.
      m.recordPublished('U1', 2);
      m.now += 4 * DAY;
      const at2 = { synced: false, sequence: 2, held: ['K2000', 'K2001'], owed: [] };
      expect(() => checkReprotection(m, 'U1', entry, at2, { code: 'NotFresh' }, 's')).toThrow(
        /refused with NotFresh; the model, over its replica's state .* gives NoUsableKey/,
      );
      // Past the window the rescue still chooses: nothing usable is left there (K2001 suspended, K2000
      // compromised, K2002, its replacement, past its 7-day cryptoperiod on day 8).
      expect(checkReprotection(m, 'U1', entry, at2, { code: 'NoUsableKey' }, 's')).toBe('behind');
    });
  });
});
