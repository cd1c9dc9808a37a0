import { describe, expect, test } from 'vitest';
import type { GroupPolicy } from '../../model/kms.ts';
import { updateStream } from '../protocol/streams.ts';
import { newTeam } from './world.testkit.ts';

const DAY = 86_400_000;
const policy: GroupPolicy = { maxKeys: 3, algorithm: 'AES-256-GCM', defaultCryptoperiodMs: 30 * DAY };
const text = (s: string) => new TextEncoder().encode(s);

const team = newTeam;

describe('distribution by update files', () => {
  test('users converge through files, acknowledge, and only affected users get files', async () => {
    const w = await team();
    const k = w.admin.addKey('G1', 'k');
    w.admin.activateKey(k);
    await w.syncByFiles();
    const alice = w.users.get('U1')!;
    const bob = w.users.get('U2')!;
    const msg = alice.encrypt(['U2'], text('via files'));
    expect(new TextDecoder().decode(bob.decrypt(msg))).toBe('via files');
    expect(w.publisher.publicationStates().map((p) => p.state)).toEqual(['acknowledged', 'acknowledged', 'acknowledged']);
    w.admin.addGroup('G2', 'pair', policy);
    w.admin.addMember('G2', 'U1');
    w.admin.addMember('G2', 'U2');
    const report = await w.publisher.publish();
    expect(report.published.map((p) => p.userId)).toEqual(['U1', 'U2']);
    expect(report.published.every((p) => p.kind === 'incremental')).toBe(true);
    for (const u of w.users.values()) await u.sync(w.transport);
    expect(alice.groups().map((g) => g.id)).toEqual(['G1', 'G2']);
    expect(w.users.get('U3')!.groups().map((g) => g.id)).toEqual(['G1']);
  });

  test('a member removed by file loses the keys on its HSM', async () => {
    const w = await team();
    const k = w.admin.addKey('G1', 'k');
    w.admin.activateKey(k);
    await w.syncByFiles();
    const carol = w.users.get('U3')!;
    expect(carol.device.listKeyIds()).toContain(2000);
    w.admin.removeMember('G1', 'U3');
    await w.syncByFiles();
    expect(carol.keys()).toEqual([]);
    expect(carol.device.listKeyIds()).not.toContain(2000);
  });

  test('a withheld update makes the user stale; a resync brings a blocked user back', async () => {
    const w = await team();
    w.admin.addKey('G1', 'k');
    await w.syncByFiles();
    w.admin.renameGroup('G1', 'renamed');
    await w.publisher.publish();
    // Someone deletes bob's file from the share.
    for (const name of await w.transport.list(updateStream('U2'))) await w.transport.remove(updateStream('U2'), name);
    w.clock.advance(8 * DAY);
    expect(w.publisher.staleUsers()).toEqual(['U1', 'U2', 'U3']);
    for (const u of w.users.values()) await u.sync(w.transport);
    // Acknowledgements waiting on the share count before they are collected, without a commit.
    const generation = w.admin.generation;
    const waiting = await w.publisher.waitingAcknowledgements();
    expect(waiting.map((a) => a.userId)).toEqual(['U1', 'U3']);
    expect(w.publisher.staleUsers(waiting)).toEqual(['U2']);
    expect(w.admin.generation).toBe(generation);
    await w.publisher.collectAcknowledgements();
    expect(w.publisher.staleUsers()).toEqual(['U2']);
    w.publisher.requestResync('U2');
    await w.syncByFiles();
    expect(w.publisher.staleUsers()).toEqual([]);
    expect(w.users.get('U2')!.groups()[0]?.name).toBe('renamed');
  });

  test('a crash between committing a publication and writing it is repaired by flush', async () => {
    const w = await team();
    w.admin.addKey('G1', 'k');
    const failing = { ...w.transport, list: w.transport.list.bind(w.transport), read: w.transport.read.bind(w.transport), remove: w.transport.remove.bind(w.transport), write: async () => { throw new Error('share unreachable'); } };
    const { Publisher } = await import('./publisher.ts');
    await expect(new Publisher(w.admin, failing).publish()).rejects.toThrow('share unreachable');
    expect((await w.users.get('U2')!.sync(w.transport)).applied).toEqual([]);
    expect(await w.publisher.flush()).toBe(3);
    expect(await w.publisher.flush()).toBe(0);
    expect((await w.users.get('U2')!.sync(w.transport)).applied).toHaveLength(1);
  });

  test('a deleted user whose ID is added again: the old device gets nothing new', async () => {
    const w = await team();
    const k = w.admin.addKey('G1', 'k');
    w.admin.activateKey(k);
    await w.syncByFiles();
    const oldCarol = w.users.get('U3')!;
    w.admin.deleteUser('U3');
    await w.syncByFiles();
    expect(oldCarol.keys()).toEqual([]);
    w.admin.addUser('U3', 'carol again');
    w.admin.addMember('G1', 'U3');
    w.admin.activateKey(w.admin.addKey('G1', 'new'));
    await w.syncByFiles();
    expect(oldCarol.keys()).toEqual([]);
    expect(oldCarol.device.listKeyIds().filter((id) => id >= 2000 && id < 0x0c00_0000)).toEqual([]);
    // Only a newly provisioned device brings the user back.
    const newCarol = await w.addDevice('U3');
    await w.syncByFiles();
    expect(newCarol.keys().map((key) => key.state)).toContain('active');
  });

  test('a file lost on its way to the share is written again by the next publish', async () => {
    const w = await team();
    w.admin.addKey('G1', 'a');
    await w.syncByFiles();
    w.admin.renameGroup('G1', 'two');
    await w.publisher.publish();
    for (const name of await w.transport.list(updateStream('U2'))) await w.transport.remove(updateStream('U2'), name);
    w.admin.renameGroup('G1', 'three');
    await w.publisher.publish();
    const report = await w.users.get('U2')!.sync(w.transport);
    expect(report.applied).toHaveLength(2);
    expect(report.refused).toEqual([]);
    expect(w.users.get('U2')!.groups()[0]?.name).toBe('three');
  });

  test('HSM work that fails after an apply does not make the replica unopenable', async () => {
    const w = await team();
    await w.syncByFiles();
    const bob = w.users.get('U2')!;
    const hw = w.hardware.get('U2')!;
    bob.close();
    // Inject owed HSM work that the HSM will refuse (a blob that does not unwrap).
    const { EncryptedDatabase } = await import('../db/encryptedDatabase.ts');
    const { secubeDatabaseDevice } = await import('../db/secubeDatabaseDevice.ts');
    const { User } = await import('./user.ts');
    const db = await EncryptedDatabase.open(secubeDatabaseDevice(bob.device), hw.sd);
    db.transaction((d) => d.run("INSERT INTO pending_device_ops (kind, key_number, data) VALUES ('import', 2999, zeroblob(40))"));
    db.close();
    const reopened = await User.open({ device: bob.device, sd: hw.sd, clock: w.clock });
    expect(reopened.pendingDeviceWork()).toMatchObject({ operations: 1, error: expect.stringMatching(/UnwrapFailed/) });
    expect(reopened.groups().map((g) => g.id)).toEqual(['G1']);
    await expect(reopened.sync(w.transport)).rejects.toThrow(/UnwrapFailed/);
  });
});
