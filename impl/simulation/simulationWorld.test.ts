import { describe, expect, test } from 'vitest';
import { ATTACK_KINDS, pendingFilesNeeded, targetsOf } from './attacks.ts';
import { ackStream, refusedAckStream, updateStream } from '../protocol/streams.ts';
import { aliceAndBob } from './testDevices.testkit.ts';
import type { SimulationWorld } from './simulationWorld.ts';

const START = Date.UTC(2026, 0, 1);

/** Alice and bob provisioned and published to; then a change waiting to be published. */
async function world(): Promise<SimulationWorld> {
  const w = await aliceAndBob('simulation-world', START, false);
  const policy = { maxKeys: 3, algorithm: 'AES-256-GCM', defaultCryptoperiodMs: 86_400_000 } as const;
  await w.admin('add-group', { type: 'addGroup', groupId: 'G1', name: 'team', policy, now: START }, 'setup');
  await w.admin('add-member', { type: 'addMember', groupId: 'G1', userId: 'U1', now: START }, 'setup');
  w.newDay(1);
  return w;
}

const flashOps = (w: SimulationWorld) => {
  const s = w.r.adminFlash.stats();
  return s.programCalls + s.erases.reduce((a, b) => a + b, 0);
};

describe('SimulationWorld', () => {
  test('a publication a power cut interrupts after its commit counts the same files and bytes', async () => {
    const probe = await world();
    const before = flashOps(probe);
    await probe.publish('probe');
    const cuts = flashOps(probe) - before;
    const published = probe.tally.updates;
    expect(published.filesPublished).toBeGreaterThan(0);
    probe.r.dispose();
    let landed = 0;
    for (let n = 1; n <= cuts; n++) {
      const w = await world();
      const sequences = w.r.streamSequences();
      await w.publish(`cut at flash #${n}`, { where: 'flash', n });
      const after = w.r.streamSequences();
      if ([...after].some(([u, s]) => s > (sequences.get(u) ?? 0))) {
        // Committed before the cut: the report counts what the uncut publication counts.
        landed += 1;
        expect(w.tally.updates, `cut at flash #${n}`).toEqual(published);
      } else expect(w.tally.updates.filesPublished, `cut at flash #${n}`).toBe(0);
      expect(w.violations, `cut at flash #${n}`).toEqual([]);
      w.r.dispose();
    }
    expect(landed).toBeGreaterThan(0);
  }, 900_000);

  test('an attack with nothing to attack counts as such and checks nothing; one that acts, as its kind', async () => {
    const w = await world();
    try {
      const spec = { kind: 'ackDrop', user: 'U1', other: 'U2', pick: 0, mask: 1 } as const;
      // No acknowledgement lies on the share yet: nothing to drop.
      await w.attack(spec, 'attack');
      expect(w.tally.operations).toEqual({ 'attack:ackDrop (nothing to attack)': 1 });
      expect(w.checks.integrity).toBe(0);
      await w.sync('U1', 'sync');
      await w.attack(spec, 'attack');
      expect(w.tally.operations).toMatchObject({ 'attack:ackDrop (nothing to attack)': 1, 'attack:ackDrop': 1 });
      expect(w.checks.integrity).toBe(1);
    } finally {
      w.r.dispose();
    }
  });

  test('each collection checks that no HSM is found ahead of the admin database; one is a violation', async () => {
    const w = await world();
    try {
      await w.collect();
      expect([w.checks.integrity, w.violations]).toEqual([1, []]);
      // A publisher that took a healthy HSM for one ahead (none is restored here) is caught.
      const real = w.r.publisher.collectAcknowledgements.bind(w.r.publisher);
      const ahead = [{ userId: 'U1', serial: 'S', inService: true, published: 2, acknowledged: 3 }];
      w.r.publisher.collectAcknowledgements = async () => ({ ...(await real()), ahead });
      await w.collect();
      expect(w.violations.map((v) => [v.invariant, v.operation, v.detail])).toEqual([
        [
          'integrity',
          'collect-acks',
          'invariant integrity: the admin found HSMs ahead of its database, whose HSM was never restored: U1 ' +
            '(acknowledged #3, published #2)',
        ],
      ]);
    } finally {
      w.r.dispose();
    }
  });

  test('a message under a compromised key is re-protected by a member, checked, and joins the ledger', async () => {
    const w = await world();
    try {
      const keyEvent = (kind: string, keyId: string, type: 'ACTIVATE' | 'COMPROMISE' | 'DESTROY') =>
        w.admin(kind, { type: 'keyEvent', keyId, event: { type, now: START } }, kind);
      const publishAndSync = async () => {
        await w.publish('publish');
        for (const u of ['U1', 'U2']) await w.sync(u, 'sync');
      };
      await w.admin('add-member', { type: 'addMember', groupId: 'G1', userId: 'U2', now: START }, 'setup');
      await w.admin('add-key', { type: 'addKey', groupId: 'G1', name: 'k', now: START }, 'setup');
      const first = Object.keys(w.m.kms.keys)[0] as string;
      await keyEvent('activate-key', first, 'ACTIVATE');
      await publishAndSync();
      expect(await w.encrypt('U1', ['U2'], 'before the leak', 'encrypt')).toBe(true);
      const [entry] = w.m.ledger;
      await keyEvent('compromise-key', first, 'COMPROMISE');
      // The members learn of it; U2 re-protects the message (decrypted and encrypted again inside its
      // HSM), its choice of key checked against the smallest group.
      await publishAndSync();
      await w.reprotect('U2', entry as NonNullable<typeof entry>, 're-protect');
      expect(w.tally.operations).toMatchObject({ reprotect: 1 });
      // The model's rule activated a replacement in G1: the message, re-encrypted under it, joined the ledger.
      expect(w.m.ledger.map((e) => e.keyId)).toEqual([first, expect.not.stringMatching(`^${first}$`)]);
      expect(w.checks['smallest-group']).toBeGreaterThan(0);
      // Destroyed, the key is erased from the members' HSMs: a re-protection from it is refused, and
      // the refusal is judged against the model too.
      const checked = w.checks['smallest-group'] as number;
      await keyEvent('destroy-key', first, 'DESTROY');
      await publishAndSync();
      await w.reprotect('U2', entry as NonNullable<typeof entry>, 're-protect after the destruction');
      expect(w.tally.refusals).toMatchObject({ KeyUnavailable: 1 });
      expect(w.checks['smallest-group']).toBe(checked + 1);
      expect(w.m.ledger).toHaveLength(2);
      expect(w.violations).toEqual([]);
    } finally {
      w.r.dispose();
    }
  });

  test('the admin resyncs a user: its next file is a resync, which it applies', async () => {
    const w = await world();
    try {
      await w.sync('U2', 'sync');
      w.resync('U2');
      expect(w.tally.operations).toMatchObject({ resync: 1 });
      await w.publish('publish');
      expect((await w.r.share.list(updateStream('U2'))).filter((n) => n.endsWith('.resync'))).toHaveLength(1);
      await w.sync('U2', 'sync');
      expect(await w.r.share.list(updateStream('U2'))).not.toEqual([]);
      await w.collect();
      expect(await w.r.share.list(updateStream('U2'))).toEqual([]);
      expect(w.violations).toEqual([]);
    } finally {
      w.r.dispose();
    }
  });

  test('a retired device is done once it applied its last file and the admin holds its acknowledgement', async () => {
    for (const kind of ['ackDrop', 'ackCorrupt'] as const) {
      const w = await world();
      try {
        await w.sync('U2', 'sync');
        await w.collect();
        expect(w.retiredAndDone('U2')).toBe(false); // in service
        await w.admin('delete-user', { type: 'deleteUser', userId: 'U2', now: START }, 'deletes U2');
        await w.publish('publish');
        await w.sync('U2', 'sync');
        // Applied the file that took it out of service; its acknowledgement spoiled before the
        // collection (a corruption of its last byte: the seal's tag, the header intact).
        const [ack] = await w.r.share.list(ackStream('U2'));
        const pick = ((await w.r.share.read(ackStream('U2'), ack as string)) as Uint8Array).length - 1;
        await w.attack({ kind, user: 'U2', other: 'U1', pick, mask: 1 }, 'attack');
        await w.collect();
        expect(w.retiredAndDone('U2'), kind).toBe(false);
        // The collection set a spoiled one aside: either way, the device's next sync finds its
        // acknowledgement missing and sends it again, and the admin's next collection takes it.
        expect(await w.r.share.list(refusedAckStream('U2'))).toEqual(kind === 'ackCorrupt' ? [ack] : []);
        await w.sync('U2', 'sync');
        await w.collect();
        expect(w.retiredAndDone('U2'), kind).toBe(true);
        expect(w.violations).toEqual([]);
      } finally {
        w.r.dispose();
      }
    }
  });

  test('an attack is aimed at the streams holding the files it needs, and acts on each of them', async () => {
    const w = await world();
    try {
      const users = ['U1', 'U2'] as const;
      // Each has the setup's file pending; U1 alone is in G1, so only U1 gets the second file.
      await w.publish('second');
      expect(await targetsOf(w.r, 'renameResync', users)).toEqual(['U1']);
      expect(await targetsOf(w.r, 'reorder', users)).toEqual(['U1']);
      expect(await targetsOf(w.r, 'drop', users)).toEqual(['U1', 'U2']);
      expect(await targetsOf(w.r, 'ackDrop', users)).toEqual([]);
      expect(await targetsOf(w.r, 'sdSwap', users)).toEqual(['U1', 'U2']);
      // Not a target: the attack finds nothing, as targetsOf said.
      await w.attack({ kind: 'renameResync', user: 'U2', other: 'U1', pick: 0, mask: 1 }, 'attack');
      expect(w.tally.operations).toEqual({ publish: 1, 'attack:renameResync (nothing to attack)': 1 });
      // A target: it acts, and the victim's sync refuses the renamed file (a gap stays a gap).
      await w.attack({ kind: 'renameResync', user: 'U1', other: 'U2', pick: 0, mask: 1 }, 'attack');
      expect(w.tally.operations).toMatchObject({ 'attack:renameResync': 1 });
      await w.sync('U1', 'sync');
      expect(w.tally.refusals).toMatchObject({ 'update-refused:gap': 1 });
      // U1 applied nothing (its first file was withheld): no acknowledgement. U2's sync writes one.
      expect(await targetsOf(w.r, 'ackDrop', users)).toEqual([]);
      await w.sync('U2', 'sync');
      expect(await targetsOf(w.r, 'ackDrop', users)).toEqual(['U2']);
      expect(w.violations).toEqual([]);
      // Every kind that needs files says how many; the attacks on acknowledgements need one.
      expect(ATTACK_KINDS.filter((k) => pendingFilesNeeded(k) > 0)).toEqual([
        'reorder',
        'drop',
        'renameResync',
        'duplicate',
        'truncate',
        'corrupt',
        'append',
        'ackDrop',
        'ackCorrupt',
        'forgedAck',
      ]);
    } finally {
      w.r.dispose();
    }
  });
});
