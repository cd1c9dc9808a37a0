import { describe as group, expect, test, vi } from 'vitest';
import { Admin } from '../../impl/kms/admin.ts';
import { KmsError } from '../../model/kmsError.ts';
import type { KmsOperation } from '../../model/kms.ts';
import { EMPTY_KMS } from '../../model/kmsState.ts';
import type { KeyView } from '../../model/projection.ts';
import type { ReplicaView } from '../../impl/simulation/referenceModel.ts';
import { behindText, describe, describeOp, toldOfRun } from './commands.testkit.ts';
import type { CommandSpec } from './commands.testkit.ts';
import { replayScenario } from './runner.testkit.ts';
import { SuiteStats } from './stats.testkit.ts';

/** A model that has allocated keys up to `K${next - 1}`: all a key named by recency needs. */
const allocated = (next: number) => ({ kms: { ...EMPTY_KMS, nextKeyNumber: next } });

group('the deployment suite says its commands in words', () => {
  const event = (keyId: string): KmsOperation => ({ type: 'keyEvent', keyId, event: { type: 'ACTIVATE', now: 0 } });
  const rename: KmsOperation = { type: 'renameKey', keyId: '#1', name: 'x', now: 0 };

  test('a key named by recency, as the key ID it resolves to in the model, and its rank', () => {
    expect(describeOp(event('#0'), allocated(2004))).toBe('K2003 ACTIVATE (the newest key)');
    expect(describeOp(event('#1'), allocated(2004))).toBe('K2002 ACTIVATE (the 2nd newest key)');
    // Fewer keys than the rank: counted round, as the command resolves it.
    expect(describeOp(event('#3'), allocated(2002))).toBe('K2000 ACTIVATE (the 2nd newest key)');
    expect(describeOp(rename, allocated(2004))).toBe('renameKey K2002 to "x" (the 2nd newest key)');
    expect(describeOp(event('#2'), allocated(2000))).toBe('K2000 ACTIVATE (no key made yet)');
    // A key named by its ID is that key, whatever the model holds.
    expect(describeOp(event('K2010'), allocated(2004))).toBe('K2010 ACTIVATE');
  });

  test('without the model, by recency alone', () => {
    expect(describeOp(event('#0'))).toBe('ACTIVATE the newest key');
    expect(describeOp(rename)).toBe('renameKey the key 1 before the newest to "x"');
    expect(describe({ t: 'admin', op: event('#0') }, allocated(2001))).toBe('admin K2000 ACTIVATE (the newest key)');
  });

  test('an attack by what it aims at: what it did is said once it ran, not as the draw it made it from', () => {
    const attack = { t: 'attack', kind: 'corrupt', user: 'U2', other: 'U1', pick: 12, mask: 43 } as const;
    expect(describe(attack)).toBe('adversary: corrupt on U2, else the next user it can hit');
    expect(describe({ ...attack, kind: 'sdSwap' })).toBe('adversary: sdSwap on U2 (with U1)');
  });

  test('recipients besides the sender, or none: the sender alone, not no one', () => {
    const encrypt = { t: 'encrypt', user: 'U1', to: [], text: 'hello' } as const;
    expect(describe(encrypt)).toBe("U1 encrypts 'hello' to no other recipient");
    expect(describe({ ...encrypt, to: ['U2', 'U3'] })).toBe("U1 encrypts 'hello' to [U2,U3]");
    expect(describe({ t: 'findKey', user: 'U2', to: [] })).toBe('U2 finds the key for no other recipient');
    expect(describe({ t: 'findKey', user: 'U2', to: ['U1'] })).toBe('U2 finds the key for [U1]');
  });

  test('as they ran: the key a `#n` hit, the key an addKey made, a refusal, what an attack did', async () => {
    const steps: CommandSpec[] = [
      { t: 'admin', op: { type: 'addKey', groupId: 'G1', name: 'k', now: 0 } },
      { t: 'admin', op: { type: 'keyEvent', keyId: '#0', event: { type: 'ACTIVATE', now: 0 } } },
      { t: 'admin', op: { type: 'keyEvent', keyId: '#1', event: { type: 'RESUME', now: 0 } } },
      { t: 'publish' },
      { t: 'attack', kind: 'corrupt', user: 'U3', other: 'U1', pick: 5, mask: 0x80 },
      { t: 'attack', kind: 'reorder', user: 'U1', other: 'U2', pick: 0, mask: 1 },
    ];
    await replayScenario(steps, { deploymentSeed: 0 });
    // The run's words stay until the next run starts: the runner reads them after a failure.
    expect(steps.map(toldOfRun())).toEqual([
      'admin addKey to G1 "k" → K2002',
      'admin K2002 ACTIVATE (the newest key)',
      'admin K2001 RESUME (the 2nd newest key)  (refused: IllegalTransition)',
      'admin publishes',
      'adversary: corrupt on U3, else the next user it can hit: flipped byte 5 of updates/U3/000000000002.update ' +
        '(507 bytes) with xor 0x80',
      'adversary: reorder on U1, else the next user it can hit: nothing to attack: updates/U1 holds 1 update file ' +
        "past sequence 1, the last U1 applied, and it needs 2; nor did any other user's stream",
    ]);
  }, 120_000);

  test("a card attack that a check stops: the step's line says what it did up to the check", async () => {
    const steps: CommandSpec[] = [
      { t: 'admin', op: { type: 'renameUser', userId: 'U1', name: 'alice 2', now: 0 } },
      { t: 'publish' },
      { t: 'sync', user: 'U1' },
      { t: 'attack', kind: 'sdRollback', user: 'U1', other: 'U2', pick: 0, mask: 1 },
    ];
    // An SD rollback that takes the flash back too: the old replica opens, and integrity fails at once,
    // in the attack, before it returns what it did.
    await expect(replayScenario(steps, { deploymentSeed: 0, mutant: 'rollbackWholeDevice' })).rejects.toThrow(
      /^invariant integrity: step 25 \(adversary: sdRollback on U1\): U1's HSM opened U1's SD card/,
    );
    expect(steps.map(toldOfRun()).at(-1)).toBe(
      "adversary: sdRollback on U1: put back U1's SD card as imaged before a sync (the oldest of 2 kept): U1's HSM " +
        'opened',
    );
  }, 120_000);

  test('a recording reads as the system wrote it, that name written again since; an empty file as empty', async () => {
    const steps: CommandSpec[] = [
      { t: 'admin', op: { type: 'addKey', groupId: 'G1', name: 'k', now: 0 } },
      { t: 'publish' },
      { t: 'sync', user: 'U1' },
      // U1's acknowledgement of sequence 2 deleted: its next sync seals it anew, other bytes under that name.
      { t: 'attack', kind: 'ackDrop', user: 'U1', other: 'U2', pick: 1, mask: 1 },
      { t: 'sync', user: 'U1' },
      { t: 'attack', kind: 'ackReplay', user: 'U1', other: 'U2', pick: 1, mask: 1 },
      { t: 'attack', kind: 'ackReplay', user: 'U1', other: 'U2', pick: 2, mask: 1 },
      // U2's pending file cut to nothing, then nothing in it to corrupt: U3's stream held a file all along.
      { t: 'attack', kind: 'truncate', user: 'U2', other: 'U1', pick: 0, mask: 1 },
      { t: 'attack', kind: 'corrupt', user: 'U2', other: 'U1', pick: 0, mask: 1 },
    ];
    await replayScenario(steps, { deploymentSeed: 0 });
    expect(steps.slice(3).map(toldOfRun())).toEqual([
      'adversary: ackDrop on U1, else the next user it can hit: deleted acks/U1/000000000002.ack',
      'U1 syncs',
      'adversary: ackReplay on U1: wrote a recorded copy of acks/U1/000000000002.ack (109 bytes, as the system ' +
        'first wrote it: it wrote that name again since) as acks/U1/000000000003.ack',
      'adversary: ackReplay on U1: wrote a recorded copy of acks/U1/000000000002.ack (109 bytes) as ' +
        'acks/U1/000000000004.ack',
      'adversary: truncate on U2, else the next user it can hit: cut updates/U2/000000000002.update from 457 bytes ' +
        'to nothing',
      'adversary: corrupt on U2, else the next user it can hit: nothing to attack: updates/U2/000000000002.update ' +
        'is empty',
    ]);
  }, 120_000);

  test('a rotation picked up: the group, the keys made and who synced; lookups behind, and aimed past', async () => {
    const steps: CommandSpec[] = [
      { t: 'addActiveKeys', pick: 0, count: 2 },
      // U1 synced by the rotation; U2 behind it: judged over what U2's replica holds, and said so.
      { t: 'findKey', user: 'U2', to: [] },
      { t: 'findKey', user: 'U1', to: [] },
      // Every recipient set goes to a synced user first: U1.
      { t: 'findKeys', user: 'U2' },
      // U3 deleted and told so: its replica holds nothing to judge, so its lookup goes to the next user.
      { t: 'admin', op: { type: 'deleteUser', userId: 'U3', now: 0 } },
      { t: 'publish' },
      { t: 'sync', user: 'U3' },
      { t: 'findKey', user: 'U3', to: [] },
    ];
    await replayScenario(steps, { deploymentSeed: 0 });
    expect(steps.map(toldOfRun())).toEqual([
      'admin adds 2 keys to G1, activates them at once and publishes; its first member in service syncs → ' +
        'K2002, K2003; U1 synced',
      'U2 finds the key for no other recipient: U2, behind the model at update 1 (2 published to it), chose K2001@G2',
      'U1 finds the key for no other recipient',
      'U2 finds the key for each set of up to two other users with HSMs (U2 is behind the model: U1, synced, looks ' +
        'up instead)',
      // Carol's leave rekeys G1: every key of hers retired, and one replacement for bob.
      'admin deleteUser U3  (the model: K2000, K2002, K2003 now deactivated; new K2004 active until ' +
        '+7d 00:00:00.000)',
      'admin publishes',
      'U3 syncs',
      "U3 finds the key for no other recipient (U3's lookup is not judged: its replica holds nothing or cannot be " +
        'read; U1 looks up): U1, behind the model at update 2 (3 published to it), chose K2001@G2',
    ]);
    expect(describe({ t: 'addActiveKeys', pick: 1, count: 1 })).toBe(
      'admin adds a key to group 1 (of those that exist), activates it at once and publishes; its first member in ' +
        'service syncs',
    );
  }, 120_000);

  test('a stale rescue in one command, and a re-protection aimed at a user behind the model', async () => {
    const steps: CommandSpec[] = [
      { t: 'encrypt', user: 'U1', to: ['U2'], text: 'secret' },
      { t: 'staleRescue', user: 'U1', pick: 0 },
      // U3 synced nothing: alice, behind (renamed unpublished), re-protects the message under K2001 instead.
      { t: 'reprotect', user: 'U3', pick: 0 },
    ];
    const stats = new SuiteStats();
    await replayScenario(steps, { deploymentSeed: 0, stats });
    expect(steps.slice(1).map(toldOfRun())).toEqual([
      'stale rescue by U1: the admin compromises the key of a message it holds (0), publishes, U1 syncs; an ' +
        'unpublished change, 4d pass, U1 re-protects it: K2001 (message 0) compromised; U1 at update 2, renamed ' +
        'unpublished, 4d on; re-protected under K2002  (the model: K2001 now compromised; new K2002 active until ' +
        '+7d 00:00:00.000)',
      'U3 re-protects ledger message 0 (aimed at U1, behind the model at update 2: message 0, under K2001, ' +
        'compromised on its replica): re-protected under K2002',
    ]);
    // Both past the 3-day window after update 2, judged over the replica's state, where K2001 is compromised.
    expect(stats.counts.invariantChecks).toMatchObject({
      'smallest-group:behind sender, reprotect': 2,
      'smallest-group:behind sender, rescue past the window': 2,
    });
  }, 120_000);

  test('the keys the model made or changed on its own, on the step that did it, and on no other', async () => {
    const DAY = 86_400_000;
    const cut = (n: number, op: KmsOperation): CommandSpec => ({
      t: 'cut',
      where: 'flash',
      n,
      inner: { t: 'admin', op },
    });
    const steps: CommandSpec[] = [
      { t: 'admin', op: { type: 'removeMember', groupId: 'G1', userId: 'U1', now: 0 } },
      { t: 'admin', op: { type: 'addKey', groupId: 'G1', name: 'k', now: 0 } },
      { t: 'admin', op: { type: 'keyEvent', keyId: '#1', event: { type: 'COMPROMISE', now: 0 } } },
      // Bob's removal would retire K2004 and replace it, but the cut keeps the state before (counted below).
      cut(1, { type: 'removeMember', groupId: 'G1', userId: 'U2', now: 0 }),
      // A cut that falls past the command: it ran as it would have.
      cut(1000, { type: 'addKey', groupId: 'G1', name: 'c', now: 0 }),
      { t: 'publish' },
      { t: 'sync', user: 'U2' },
      { t: 'time', ms: 8 * DAY },
      { t: 'admin', op: { type: 'renameUser', userId: 'U2', name: 'b', now: 0 } },
      { t: 'admin', op: { type: 'deleteUser', userId: 'U3', now: 0 } },
      { t: 'provision', user: 'U1' },
      { t: 'forgetOldHsm', pick: 0, fate: 'lost' },
      { t: 'addActiveKeys', pick: 0, count: 2 },
    ];
    const stats = new SuiteStats();
    await replayScenario(steps, { deploymentSeed: 0, stats });
    expect(stats.counts.faultPoints).toMatchObject({ 'admin:flash:before': 1, 'admin:flash:not reached': 1 });
    expect(steps.map(toldOfRun())).toEqual([
      // The leaver's key retired, and the replacement for those who stay, which no step names.
      'admin removeMember U1 from G1  (the model: K2000 now deactivated; new K2002 active until +7d 00:00:00.000)',
      // A key the step names (made, or acted on) is its own words', not the model's.
      'admin addKey to G1 "k" → K2003',
      'admin K2002 COMPROMISE (the 2nd newest key)  (the model: new K2004 active until +7d 00:00:00.000)',
      // The model as before the cut: nothing to say.
      'power cut at flash write #1 of: admin removeMember U2 from G1',
      // The key made is the model's to say: a cut's step says no `→` (whether the cut left the key is the model's).
      'power cut at flash write #1000 of: admin addKey to G1 "c"  (the model: new K2005 preActivation)',
      'admin publishes',
      'U2 syncs',
      'time passes: 8d',
      // Cryptoperiods that ended in the 8 days, expired by the first operation after them.
      'admin renameUser U2 to "b"  (the model: K2001, K2004 now deactivated)',
      // No active key left in G1 to replace: the pre-active ones destroyed, nothing made.
      'admin deleteUser U3  (the model: K2003, K2005 now destroyed)',
      'admin provisions a (new) HSM for U1',
      // Every key alice's old HSM holds compromised when it is lost.
      'admin forgets, by serial, the out-of-service HSM 0 (of those in the drawer) as lost  (the model: K2000, ' +
        'K2001 now compromised)',
      'admin adds 2 keys to G1, activates them at once and publishes; its first member in service syncs → ' +
        'K2006, K2007; U2 synced',
    ]);
  }, 120_000);

  test("a step that fails says the model's keys too: the failure may name them", async () => {
    const steps: CommandSpec[] = [{ t: 'admin', op: { type: 'removeMember', groupId: 'G1', userId: 'U1', now: 0 } }];
    // An admin that refuses the removal the model accepts: model-agreement fails in the step itself.
    const apply = Admin.prototype.apply;
    const spy = vi.spyOn(Admin.prototype, 'apply').mockImplementation(function (this: Admin, op) {
      if (op.type === 'removeMember') throw new KmsError('NotMember', 'broken on purpose');
      return apply.call(this, op);
    });
    try {
      await expect(replayScenario(steps, { deploymentSeed: 0 })).rejects.toThrow(
        /^invariant model-agreement: step 22 \(admin removeMember U1 from G1\): the admin answered NotMember/,
      );
    } finally {
      spy.mockRestore();
    }
    expect(steps.map(toldOfRun())).toEqual([
      'admin removeMember U1 from G1  (the model: K2000 now deactivated; new K2002 active until +7d 00:00:00.000)',
    ]);
  }, 120_000);

  test('why a lookup by a replica at the latest update is behind: what differs, the model or its HSM', () => {
    const key = (id: string) => ({ id }) as KeyView;
    const replica: ReplicaView = { groups: [], users: [], keys: [key('K2000'), key('K2002')] };
    const changed: ReplicaView = { ...replica, users: [{ id: 'U1', name: 'alpha' }] };
    const model = (published: number, now: ReplicaView) => ({
      published: new Map([['U2', published]]),
      currentView: () => now,
    });
    const holding = (...held: string[]) => ({ heldKeys: () => held });
    const all = holding('K2000', 'K2002');
    expect(behindText(model(3, replica), all, 'U2', replica, 2)).toBe('3 published to it');
    expect(behindText(model(2, changed), all, 'U2', replica, 2)).toBe(
      'the latest published to it; the model changed since',
    );
    // The model as the replica has it, only the HSM apart: an import owed (a full key store), or an erasure. Before,
    // these read "the model changed since" too.
    expect(behindText(model(2, replica), holding('K2000'), 'U2', replica, 2)).toBe(
      'the latest published to it; its HSM lacks K2002',
    );
    expect(behindText(model(2, replica), holding('K2000', 'K2001', 'K2002'), 'U2', replica, 2)).toBe(
      'the latest published to it; its HSM still holds K2001',
    );
    expect(behindText(model(2, changed), holding('K2002'), 'U2', replica, 2)).toBe(
      'the latest published to it; the model changed since; its HSM lacks K2000',
    );
  });
});
