/**
 * An admin HSM restored from a backup (its folder put back: README, "Restoring an HSM's folder") is
 * not what its users' HSMs last heard from. Their acknowledgements say so: an authentic one of a file
 * the database never published is reported `ahead` at every collection, and a new HSM is the remedy.
 */
import { describe, expect, test } from 'vitest';
import { Admin } from './admin.ts';
import { Publisher } from './publisher.ts';
import type { PublishReport } from './publisher.ts';
import { encodeAckHeader } from '../protocol/ackFile.ts';
import { ackFileName, ackStream, updateStream } from '../protocol/streams.ts';
import { newTeam, provisionDevice, restoreAdmin } from './world.testkit.ts';
import type { World } from './world.testkit.ts';

/**
 * The team with one active key, synced; then the admin HSM is copied (the backup), and two more keys
 * reach alice (U1) and bob (U2), not carol (U3), who does not sync. Returns the restored admin.
 */
async function restoredTeam(): Promise<{ w: World; admin: Admin; publisher: Publisher }> {
  const w = await newTeam();
  w.admin.activateKey(w.admin.addKey('G1', 'before'));
  await w.syncByFiles();
  const backup = w.adminDevice.simulatorClone().device;
  for (const name of ['lost-1', 'lost-2']) {
    w.admin.activateKey(w.admin.addKey('G1', name));
    await w.publisher.publish();
    for (const u of ['U1', 'U2']) await w.users.get(u)?.sync(w.transport);
    await w.publisher.collectAcknowledgements();
  }
  return { w, ...(await restoreAdmin(w, backup)) };
}

/**
 * While alice (U1) is offline, the restored admin publishes #2 (K2001 given to "again") and #3, then
 * resyncs her, stale (#4): the resync's publication removes every file below it from the share.
 * Returns what that last publication published.
 */
async function resyncPastAlice(admin: Admin, publisher: Publisher): Promise<PublishReport> {
  admin.activateKey(admin.addKey('G1', 'again'));
  await publisher.publish();
  admin.renameGroup('G1', 'renamed');
  await publisher.publish();
  publisher.requestResync('U1');
  return publisher.publish();
}

describe('an admin HSM restored from a backup', () => {
  test('the HSMs that applied the lost files acknowledge their last one again, and are reported ahead', async () => {
    const { w, admin, publisher } = await restoredTeam();
    const [alice, bob, carol] = [w.users.get('U1')!, w.users.get('U2')!, w.users.get('U3')!];
    expect([alice.appliedSequence, bob.appliedSequence, carol.appliedSequence]).toEqual([3, 3, 1]);
    // The lost files were acknowledged and collected: nothing on the share tells of them.
    expect(await w.transport.list(ackStream('U1'))).toEqual([]);
    // The restored admin gives the number of a lost key again, to another key, and publishes file #2.
    const again = admin.addKey('G1', 'again');
    admin.activateKey(again);
    expect(again).toBe('K2001');
    expect((await publisher.publish()).published.map((p) => [p.userId, p.sequence])).toEqual([
      ['U1', 2],
      ['U2', 2],
      ['U3', 2],
    ]);
    // Alice passes over #2 unread (she applied a #2), and acknowledges her last file again.
    const synced = await alice.sync(w.transport);
    expect([synced.applied, synced.refused, alice.appliedSequence]).toEqual([[], [], 3]);
    expect(synced.writtenSince).toEqual(['000000000002.update']);
    expect(await w.transport.list(ackStream('U1'))).toEqual([ackFileName(3)]);
    // Carol never applied a lost file: #2 is news to her, and she is not ahead.
    expect((await carol.sync(w.transport)).applied).toEqual([2]);
    const before = admin.auditLog().length;
    const collected = await publisher.collectAcknowledgements();
    expect(collected.accepted).toEqual([{ userId: 'U3', sequence: 2 }]);
    const aliceAhead = { userId: 'U1', serial: alice.device.serial, inService: true, published: 2, acknowledged: 3 };
    expect(collected.ahead).toEqual([aliceAhead]);
    // Recorded and audited once, with the acknowledgements collected in the same transaction.
    expect(
      admin
        .auditLog()
        .slice(before)
        .map((e) => [e.action, JSON.parse(e.details)]),
    ).toEqual([['acknowledge', { acknowledgements: [{ userId: 'U3', sequence: 2 }], ahead: [aliceAhead] }]]);
    // Said again by every collection and by a read of the share alone, with nothing more committed:
    // recorded, it needs no acknowledgement on the share (the admin leaves it there all the same).
    await w.transport.remove(ackStream('U1'), ackFileName(3));
    expect((await publisher.collectAcknowledgements()).ahead).toEqual([aliceAhead]);
    expect((await publisher.inspectAcknowledgements()).ahead).toEqual([aliceAhead]);
    expect(admin.auditLog()).toHaveLength(before + 1);
    // Nothing more is published to alice's HSM, a resync included; carol and bob go on.
    admin.renameGroup('G1', 'after the restore');
    publisher.requestResync('U1');
    expect((await publisher.publish()).published.map((p) => [p.userId, p.sequence])).toEqual([
      ['U2', 3],
      ['U3', 3],
    ]);
    // Bob says so at his next sync (he applied a #3 too), and is held from then on.
    await bob.sync(w.transport);
    expect((await publisher.collectAcknowledgements()).ahead.map((a) => [a.userId, a.acknowledged])).toEqual([
      ['U1', 3],
      ['U2', 3],
    ]);
    // Durable: the database that records it is reopened as every command opens it.
    const device = admin.device;
    admin.close();
    const reopened = await Admin.open({ device, sd: device.sdcard!, clock: w.clock });
    const afterReopen = await new Publisher(reopened, w.transport).collectAcknowledgements();
    expect(afterReopen.ahead.map((a) => a.userId)).toEqual(['U1', 'U2']);
    reopened.close();
    w.close();
  });

  test('an acknowledgement under a number the database did publish, of another file, is ahead too', async () => {
    const { w, admin, publisher } = await restoredTeam();
    const alice = w.users.get('U1')!;
    for (const name of ['again-1', 'again-2']) {
      admin.activateKey(admin.addKey('G1', name));
      await publisher.publish();
    }
    // Files #2 and #3 of the restored admin: alice applied a #2 and a #3 of the lost time.
    await alice.sync(w.transport);
    expect((await publisher.collectAcknowledgements()).ahead).toEqual([
      { userId: 'U1', serial: alice.device.serial, inService: true, published: 3, acknowledged: 3 },
    ]);
    admin.close();
    w.close();
  });

  test('a resync past the lost files, with nothing below it on the share: applied, then found ahead', async () => {
    const { w, admin, publisher } = await restoredTeam();
    const alice = w.users.get('U1')!;
    expect((await resyncPastAlice(admin, publisher)).published.find((p) => p.userId === 'U1')).toMatchObject({
      sequence: 4,
      kind: 'resync',
    });
    expect(await w.transport.list(updateStream('U1'))).toEqual(['000000000004.resync']);
    // Nothing at or below #3 tells her anything; the resync applies (nothing in it says whose chain it
    // follows), but her acknowledgement of #3 goes first, and the admin kept the hash of its own #3.
    const synced = await alice.sync(w.transport);
    expect([synced.writtenSince, synced.applied]).toEqual([[], [4]]);
    expect(await w.transport.list(ackStream('U1'))).toEqual([ackFileName(3), ackFileName(4)]);
    const collected = await publisher.collectAcknowledgements();
    expect(collected.ahead).toEqual([
      { userId: 'U1', serial: alice.device.serial, inService: true, published: 4, acknowledged: 3 },
    ]);
    expect(collected.accepted).toContainEqual({ userId: 'U1', sequence: 4 });
    // Found after the fact: her HSM holds lost-1's key under K2001, which her replica now calls "again".
    const carol = w.users.get('U3')!;
    await carol.sync(w.transport);
    const message = carol.encrypt(['U1', 'U3'], new TextEncoder().encode('after the restore'));
    expect(() => alice.decrypt(message)).toThrow();
    // Held from then on.
    admin.renameGroup('G1', 'again renamed');
    expect((await publisher.publish()).published.map((p) => p.userId)).toEqual(['U2', 'U3']);
    admin.close();
    w.close();
  });

  test("the acknowledgement sent before a resync's, delivered after it (a synced folder): still found", async () => {
    const { w, admin, publisher } = await restoredTeam();
    const alice = w.users.get('U1')!;
    await resyncPastAlice(admin, publisher);
    expect((await alice.sync(w.transport)).applied).toEqual([4]);
    const late = (await w.transport.read(ackStream('U1'), ackFileName(3))) as Uint8Array;
    await w.transport.remove(ackStream('U1'), ackFileName(3));
    const first = await publisher.collectAcknowledgements();
    expect([first.accepted, first.ahead]).toEqual([[{ userId: 'U1', sequence: 4 }], []]);
    // The resync's acknowledgement deleted the outbox up to #4, but not the hashes the resync superseded.
    await w.transport.write(ackStream('U1'), ackFileName(3), late);
    expect((await publisher.collectAcknowledgements()).ahead.map((a) => [a.userId, a.acknowledged])).toEqual([
      ['U1', 3],
    ]);
    admin.close();
    w.close();
  });

  test('a resync to an HSM that applied no lost file: its acknowledgement of its last file is a leftover', async () => {
    const w = await newTeam();
    w.admin.activateKey(w.admin.addKey('G1', 'k'));
    await w.syncByFiles();
    const alice = w.users.get('U1')!;
    w.publisher.requestResync('U1');
    await w.publisher.publish();
    const last = alice.appliedSequence;
    // The acknowledgement of #last was collected; the resync draws it again, with the resync's own.
    expect((await alice.sync(w.transport)).applied).toEqual([last + 1]);
    expect(await w.transport.list(ackStream('U1'))).toEqual([ackFileName(last), ackFileName(last + 1)]);
    const collected = await w.publisher.collectAcknowledgements();
    expect([collected.accepted, collected.ahead]).toEqual([[{ userId: 'U1', sequence: last + 1 }], []]);
    expect(await w.transport.list(ackStream('U1'))).toEqual([]);
    w.close();
  });

  test('a resync cannot repair an HSM ahead of the database; a new HSM does', async () => {
    const { w, admin, publisher } = await restoredTeam();
    const [alice, carol] = [w.users.get('U1')!, w.users.get('U3')!];
    admin.activateKey(admin.addKey('G1', 'again'));
    await publisher.publish();
    // A resync is numbered past what the database published, not past what alice applied: she
    // passes over it as a file she applied (what the README offered before the admin could tell).
    publisher.requestResync('U1');
    const resync = (await publisher.publish()).published.find((p) => p.userId === 'U1');
    expect([resync?.kind, resync?.sequence]).toEqual(['resync', 3]);
    expect((await alice.sync(w.transport)).applied).toEqual([]);
    // She holds the lost K2001 under the number the database gave to "again".
    expect(alice.keyInfo('K2001').name).toBe('lost-1');
    expect((await publisher.collectAcknowledgements()).ahead.map((a) => a.userId)).toEqual(['U1']);
    // A new HSM for alice holds nothing: the provisioning's resync brings everything, "again" included.
    const { user: newAlice } = await provisionDevice(admin, 'U1', 'restored-U1-new', w.clock);
    expect((await publisher.publish()).published.map((p) => [p.userId, p.kind])).toContainEqual(['U1', 'resync']);
    expect((await newAlice.sync(w.transport)).applied).toHaveLength(1);
    expect(newAlice.keyInfo('K2001').name).toBe('again');
    // The old HSM's acknowledgement, still on the share, is no longer judged: nothing is ahead.
    const collected = await publisher.collectAcknowledgements();
    expect(collected.ahead).toEqual([]);
    expect(collected.accepted.map((a) => a.userId)).toContain('U1');
    // Carol never applied a lost file: she and the new alice share "again", and the old HSM cannot open it.
    await carol.sync(w.transport);
    expect(carol.findKey(['U1', 'U3']).keyId).toBe('K2001');
    const message = carol.encrypt(['U1', 'U3'], new TextEncoder().encode('after the restore'));
    expect(new TextDecoder().decode(newAlice.decrypt(message))).toBe('after the restore');
    expect(() => alice.decrypt(message)).toThrow();
    newAlice.close();
    admin.close();
    w.close();
  });

  test('a file the lost time collected is not written back to an HSM found ahead', async () => {
    const w = await newTeam();
    w.admin.activateKey(w.admin.addKey('G1', 'before'));
    await w.syncByFiles();
    const alice = w.users.get('U1')!;
    w.admin.renameGroup('G1', 'renamed');
    await w.publisher.publish();
    for (const u of ['U1', 'U2']) await w.users.get(u)!.sync(w.transport);
    // The backup, with alice's and bob's acknowledgements of that file on the share, not collected.
    const backup = w.adminDevice.simulatorClone().device;
    w.admin.activateKey(w.admin.addKey('G1', 'lost'));
    await w.publisher.publish();
    await w.publisher.collectAcknowledgements();
    await alice.sync(w.transport);
    const { admin, publisher } = await restoreAdmin(w, backup);
    expect((await publisher.collectAcknowledgements()).ahead.map((a) => a.userId)).toEqual(['U1']);
    // The restored database still waits for the file the lost time's collection removed from the
    // share: it writes it back to bob's stream (flush: bob applied no lost file), never to alice's.
    const before = await w.transport.list(updateStream('U1'));
    const report = await publisher.publish();
    expect(report.rewritten.map((r) => r.userId)).not.toContain('U1');
    expect(report.rewritten.map((r) => r.userId)).toContain('U2');
    // (The lost file, numbered past what this database published, was removed: removeStrays.)
    expect(before).toEqual(['000000000003.update']);
    expect(await w.transport.list(updateStream('U1'))).toEqual([]);
    admin.close();
    w.close();
  });

  test('an HSM provisioned after the backup is unknown to the restored admin: its files name the old HSM', async () => {
    const w = await newTeam();
    w.admin.activateKey(w.admin.addKey('G1', 'before'));
    await w.syncByFiles();
    const oldCarol = w.users.get('U3')!.device.serial;
    const backup = w.adminDevice.simulatorClone().device;
    // The lost time: carol gets a new HSM, which applies its resync.
    const carol = await w.addDevice('U3');
    await w.syncByFiles();
    expect(carol.appliedSequence).toBeGreaterThan(0);
    const { admin, publisher } = await restoreAdmin(w, backup);
    // The restored database seals carol's files for the HSM it knows: the new one cannot open them,
    // publication after publication, and says which HSM they name. They never count towards a block.
    // First #2, a number it applied (its resync): passed over, as any HSM ahead does.
    expect(carol.appliedSequence).toBe(2);
    admin.renameGroup('G1', 'after');
    await publisher.publish();
    expect((await carol.sync(w.transport)).writtenSince).toEqual(['000000000002.update']);
    for (const sequence of [3, 4]) {
      admin.renameGroup('G1', `round ${sequence}`);
      await publisher.publish();
      const synced = await carol.sync(w.transport);
      expect([synced.applied, carol.appliedSequence, carol.blocked]).toEqual([[], 2, false]);
      // Not remembered (it counts for nothing): judged again at each sync, with the new file.
      expect(synced.refused.map((r) => [r.name, r.reason, r.namesHsm])).toEqual(
        [3, 4].filter((s) => s <= sequence).map((s) => [`00000000000${s}.update`, 'forged', oldCarol]),
      );
    }
    // It acknowledged its last file again, on seeing #2 written: a file from an HSM the database has
    // no record of, whose seal it cannot check. Nothing is committed for it, and every collection
    // reports it while it lies on the share.
    const unknown = { userId: 'U3', serial: carol.device.serial, sequence: 2, name: ackFileName(2) };
    const generation = admin.generation;
    for (const round of [1, 2]) {
      const collected = await publisher.collectAcknowledgements();
      expect([collected.accepted, collected.ahead, collected.unrecordedHsms], `round ${round}`).toEqual([
        [],
        [],
        [unknown],
      ]);
    }
    expect((await publisher.inspectAcknowledgements()).unrecordedHsms).toEqual([unknown]);
    expect(admin.generation).toBe(generation);
    admin.close();
    w.close();
  });

  test("acknowledgements of HSMs on record count for nothing; others are reported until U's are removed", async () => {
    const w = await newTeam();
    w.admin.activateKey(w.admin.addKey('G1', 'k'));
    await w.publisher.publish();
    const [alice, bob] = [w.users.get('U1')!, w.users.get('U2')!];
    await alice.sync(w.transport);
    const [aliceOld, bobSerial] = [alice.device.serial, bob.device.serial];
    // Alice's acknowledgement is not collected before her HSM is replaced: that HSM is retired, known.
    await w.addDevice('U1');
    // Files anyone can write: a header naming the user and a serial, any seal.
    const forge = async (stream: string, userId: string, serial: string, sequence: number) => {
      const header = encodeAckHeader({ userId, serial, sequence, fileHash: new Uint8Array(32).fill(7) });
      const name = ackFileName(sequence);
      await w.transport.write(ackStream(stream), name, Uint8Array.from([...header, ...new Uint8Array(28)]));
      return { userId, serial, sequence, name };
    };
    await forge('U1', 'U1', 'FAKE-A', 5);
    const highest = await forge('U1', 'U1', 'FAKE-A', 9);
    const other = await forge('U2', 'U2', 'FAKE-B', 4);
    // Known serials: bob's, in service for another user; and nothing is judged in a stream it does not name.
    await forge('U1', 'U1', bobSerial, 6);
    await forge('U2', 'U3', 'FAKE-C', 7);
    const generation = w.admin.generation;
    const collected = await w.publisher.collectAcknowledgements();
    expect([collected.accepted, collected.unrecordedHsms]).toEqual([[], [highest, other]]);
    expect(w.admin.generation).toBe(generation);
    const removed = await w.publisher.removeUnrecordedHsmAcknowledgements('U1');
    expect(removed.map((u) => [u.serial, u.sequence]).sort()).toEqual([
      ['FAKE-A', 5],
      ['FAKE-A', 9],
    ]);
    // The retired HSM's acknowledgement and the one naming bob's HSM stay: they count for nothing.
    expect(await w.transport.list(ackStream('U1'))).toEqual([ackFileName(1), ackFileName(6)]);
    expect((await w.transport.read(ackStream('U1'), ackFileName(1)))?.length).toBeGreaterThan(0);
    expect(aliceOld).not.toBe(w.users.get('U1')!.device.serial);
    expect((await w.publisher.inspectAcknowledgements()).unrecordedHsms).toEqual([other]);
    w.close();
  });

  test('old files put back on the share are acknowledged again and cleared; nothing is reported ahead', async () => {
    const w = await newTeam();
    w.admin.activateKey(w.admin.addKey('G1', 'k'));
    await w.publisher.publish();
    const old = new Map((await w.transport.list(updateStream('U1'))).map((n) => [n, n]));
    const saved = new Map<string, Uint8Array>();
    for (const name of old.keys()) saved.set(name, (await w.transport.read(updateStream('U1'), name))!);
    for (const user of w.users.values()) await user.sync(w.transport);
    await w.publisher.collectAcknowledgements();
    w.admin.renameGroup('G1', 'later');
    await w.syncByFiles();
    expect(await w.transport.list(updateStream('U1'))).toEqual([]);
    // Someone who can write the share puts alice's first file back.
    for (const [name, bytes] of saved) await w.transport.write(updateStream('U1'), name, bytes);
    const alice = w.users.get('U1')!;
    const synced = await alice.sync(w.transport);
    expect([synced.applied, synced.refused, synced.writtenSince]).toEqual([[], [], [...saved.keys()]]);
    expect(await w.transport.list(ackStream('U1'))).toEqual([ackFileName(alice.appliedSequence)]);
    // The admin takes it for an acknowledgement it collected: it clears it and the files it covers.
    const collected = await w.publisher.collectAcknowledgements();
    expect([collected.accepted, collected.ahead]).toEqual([[], []]);
    expect(await w.transport.list(updateStream('U1'))).toEqual([]);
    expect(await w.transport.list(ackStream('U1'))).toEqual([]);
    w.close();
  });
});
