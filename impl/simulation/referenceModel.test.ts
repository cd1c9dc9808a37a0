import { describe, expect, test } from 'vitest';
import type { GroupPolicy, KmsOperation } from '../../model/kms.ts';
import { DeploymentModel } from './referenceModel.ts';

const START = Date.UTC(2026, 0, 1);
const POLICY: GroupPolicy = { maxKeys: 3, algorithm: 'AES-256-GCM', defaultCryptoperiodMs: 7 * 86_400_000 };

/** Runs each operation as a command of its own (the step advances, as the suite's commands do). */
function run(m: DeploymentModel, ...ops: KmsOperation[]): void {
  for (const op of ops) {
    m.step += 1;
    const result = m.apply(op);
    if (!result.ok) throw result.error;
  }
}

function provision(m: DeploymentModel, userId: string): void {
  m.step += 1;
  m.provisioned(userId);
}

/** Carol (U3) in G1, with a device; then deleted and added again under the same ID. */
function readded(withNewDevice: boolean): DeploymentModel {
  const m = new DeploymentModel(START);
  run(
    m,
    { type: 'addUser', userId: 'U3', name: 'carol', now: START },
    { type: 'addGroup', groupId: 'G1', name: 'team', policy: POLICY, now: START },
    { type: 'addGroup', groupId: 'G2', name: 'pair', policy: POLICY, shareHistory: true, now: START },
    { type: 'addMember', groupId: 'G1', userId: 'U3', now: START },
  );
  provision(m, 'U3');
  run(m, { type: 'deleteUser', userId: 'U3', now: START }, { type: 'addUser', userId: 'U3', name: 'x', now: START });
  if (withNewDevice) provision(m, 'U3');
  run(m, { type: 'addMember', groupId: 'G2', userId: 'U3', now: START });
  return m;
}

describe('the reference model judges devices, not user IDs', () => {
  test("a new HSM for an ID added again serves someone new: none of the old identity's groups", () => {
    const m = readded(true);
    expect(m.everMember('G1', 'U3')).toBe(false);
    expect(m.memberAt('G1', 'U3', 4)).toBe(false);
    expect(m.everMember('G2', 'U3')).toBe(true);
    expect(m.joinedSharingAfter('G2', 'U3', 4)).toBe(true);
  });

  test("the old HSM, retired, keeps the old identity's groups and gains none of the new one's", () => {
    const m = readded(false);
    expect(m.inService('U3')).toBe(false);
    expect(m.everMember('G1', 'U3')).toBe(true);
    expect(m.memberAt('G1', 'U3', 4)).toBe(true);
    // The deletion's leave belongs to the old identity: a member up to it, not after.
    expect(m.memberAt('G1', 'U3', 6)).toBe(false);
    expect(m.everMember('G2', 'U3')).toBe(false);
  });

  test('a power cut that keeps the state before an addition restores the identities too', () => {
    const m = readded(true);
    const saved = m.save();
    run(m, { type: 'deleteUser', userId: 'U3', now: START });
    expect(m.identities.get('U3')?.at(-1)?.to).toBe(m.step);
    m.restore(saved);
    expect(m.identities.get('U3')?.at(-1)?.to).toBe(Number.POSITIVE_INFINITY);
  });

  test('a file published to an earlier HSM of the same ID is not a state of the new one', () => {
    const m = new DeploymentModel(START);
    run(m, { type: 'addUser', userId: 'U3', name: 'carol', now: START });
    provision(m, 'U3');
    m.recordPublished('U3', 1);
    expect(m.viewAtSequence('U3', 1)).not.toBeNull();
    provision(m, 'U3'); // a replacement HSM
    expect(m.viewAtSequence('U3', 1)).toBeNull();
    expect(m.viewAtSequence('U3', 0)).toEqual({ groups: [], users: [], keys: [] });
    m.recordPublished('U3', 2);
    expect(m.viewAtSequence('U3', 2)).not.toBeNull();
  });

  test("a group's shareHistory is read from the join, so it survives the group's deletion", () => {
    const m = readded(true);
    run(m, { type: 'deleteGroup', groupId: 'G2', now: START });
    expect(m.kms.groups.G2).toBeUndefined();
    expect(m.joinedSharingAfter('G2', 'U3', 4)).toBe(true);
    expect(m.joinedSharingAfter('G1', 'U3', 0)).toBe(false);
  });
});

describe('what a replica behind the model knows', () => {
  const DAY = 86_400_000;

  /** Carol (U3) in G1 with a device, one key active and published to her (sequence 1); then a second key. */
  function published(): DeploymentModel {
    const m = new DeploymentModel(START);
    run(
      m,
      { type: 'addUser', userId: 'U3', name: 'carol', now: START },
      { type: 'addGroup', groupId: 'G1', name: 'team', policy: POLICY, now: START },
      { type: 'addMember', groupId: 'G1', userId: 'U3', now: START },
      { type: 'addKey', groupId: 'G1', name: 'k', now: START },
      { type: 'keyEvent', keyId: 'K2000', event: { type: 'ACTIVATE', now: START } },
    );
    provision(m, 'U3');
    m.recordPublished('U3', 1);
    run(m, { type: 'addKey', groupId: 'G1', name: 'later', now: START });
    return m;
  }

  test("the state published up to its sequence, not the model's now", () => {
    const m = published();
    expect(Object.keys(m.knownAt('U3', 1)?.keys ?? {})).toEqual(['K2000']);
    expect(Object.keys(m.kms.keys)).toEqual(['K2000', 'K2001']);
  });

  test('at the time of the question: a cryptoperiod that ended since has ended on the replica too', () => {
    const m = published();
    expect(m.knownAt('U3', 1)?.keys.K2000?.lifecycle.value).toBe('active');
    m.now += 8 * DAY;
    expect(m.knownAt('U3', 1)?.keys.K2000?.lifecycle.value).toBe('deactivated');
    // The record itself is what was published: the sweep is the question's, not stored.
    expect(m.history.get('U3')?.get(1)?.kms.keys.K2000?.lifecycle.value).toBe('active');
  });

  test('nothing for a device told to hold nothing, or never sent that sequence', () => {
    const m = published();
    expect(m.knownAt('U3', 0)).toBeNull();
    expect(m.knownAt('U3', 2)).toBeNull();
    run(m, { type: 'deleteUser', userId: 'U3', now: START });
    m.recordPublished('U3', 2);
    expect(m.knownAt('U3', 2)).toBeNull();
    // The file before the deletion still says what a replica that has not applied it knows.
    expect(m.knownAt('U3', 1)).not.toBeNull();
    provision(m, 'U3'); // a new HSM: the old one's files are not its states
    expect(m.pointAtSequence('U3', 1)).toBeNull();
    expect(m.knownAt('U3', 1)).toBeNull();
  });
});

describe("freshness by the user host's clock", () => {
  const HOUR = 3_600_000;
  const DAY = 24 * HOUR;
  /** U1 with a device, sent update 1 at the start (issued then, by the admin's clock), its host `skew` off. */
  function sent(skew: number): DeploymentModel {
    const m = new DeploymentModel(START, { skews: { U1: skew } });
    run(m, { type: 'addUser', userId: 'U1', name: 'alice', now: START });
    provision(m, 'U1');
    m.recordPublished('U1', 1);
    return m;
  }

  test("on the admin's clock, applied late: the window counts from the issue, not the arrival", () => {
    const m = sent(0);
    m.now += 2 * DAY;
    m.noteApplied('U1', 1);
    m.now += DAY;
    expect(m.fresh('U1', 1)).toBe(true);
    m.now += 1;
    expect(m.fresh('U1', 1)).toBe(false);
  });

  test("a host clock ahead: applied at once, it is stale that much earlier by the admin's clock", () => {
    const m = sent(DAY);
    m.noteApplied('U1', 1);
    expect(m.clockOf('U1')).toBe(START + DAY);
    m.now += 2 * DAY;
    expect(m.fresh('U1', 1)).toBe(true);
    m.now += 1;
    expect(m.fresh('U1', 1)).toBe(false);
    expect(m.freshnessWords('U1', 1)).toContain("(1d ahead of the admin's)");
  });

  test('a host clock behind: the date ahead of the arrival buys nothing; counted from the arrival', () => {
    const m = sent(-DAY);
    m.noteApplied('U1', 1);
    // Seen again later (a check after the command): not applied again.
    m.now += HOUR;
    m.noteApplied('U1', 1);
    m.now += 3 * DAY - HOUR;
    expect(m.fresh('U1', 1)).toBe(true);
    m.now += 1;
    expect(m.fresh('U1', 1)).toBe(false);
  });

  test('dated more than a window ahead of the arrival: no freshness at all', () => {
    const m = sent(-3 * DAY - 1);
    m.noteApplied('U1', 1);
    expect(m.fresh('U1', 1)).toBe(false);
    expect(m.freshnessWords('U1', 1)).toContain('it gives no freshness');
    // At exactly one window ahead the date is accepted, and counted from the arrival.
    const edge = sent(-3 * DAY);
    edge.noteApplied('U1', 1);
    expect(edge.fresh('U1', 1)).toBe(true);
  });
});

describe("a synced replica's keys, on a host clock behind the admin's", () => {
  const DAY = 86_400_000;
  /** U1 in G1 with K2000 active for 7 days, published at the start; its host a minute behind; 7 days on. */
  function ended(): DeploymentModel {
    const m = new DeploymentModel(START, { skews: { U1: -60_000 } });
    run(
      m,
      { type: 'addUser', userId: 'U1', name: 'alice', now: START },
      { type: 'addGroup', groupId: 'G1', name: 'team', policy: POLICY, now: START },
      { type: 'addMember', groupId: 'G1', userId: 'U1', now: START },
      { type: 'addKey', groupId: 'G1', name: 'k', now: START },
      { type: 'keyEvent', keyId: 'K2000', event: { type: 'ACTIVATE', now: START } },
    );
    provision(m, 'U1');
    m.recordPublished('U1', 1);
    m.now += 7 * DAY;
    return m;
  }
  const state = (m: DeploymentModel) => m.currentView('U1').keys.find((k) => k.id === 'K2000')?.state;

  test("ended by the admin's clock, not by its own, and not published since: still active there", () => {
    expect(state(ended())).toBe('active');
  });

  test("published since the end by the admin's clock: ended there too, as the file says", () => {
    const m = ended();
    m.recordPublished('U1', 2);
    expect(state(m)).toBe('deactivated');
    expect(m.sweptFor('U1').keys['K2000']?.lifecycle.value).toBe('deactivated');
  });
});
