/**
 * A documented limit, pinned (`device/deleteOrder.ts`, "Replay"): an erase order carries no
 * sequence number, so the recipient's own host, which can open its update bodies with the user PIN,
 * can replay an old order once the key it names is delivered again (a member removed from a group
 * that shares its history, then added back). The harm is to that user alone, and a resync repairs
 * it. Found by a security review; if orders are ever bound to one delivery, this test must change.
 */
import { expect, test } from 'vitest';
import { deviceKeyNumber } from '../protocol/deviceKeyIds.ts';
import { updateStream } from '../protocol/streams.ts';
import { decodeRecords, parseUpdateFile } from '../protocol/updateFile.ts';
import { TEAM_POLICY, newWorld } from './world.testkit.ts';

test('an erase order replayed by its own host erases a key delivered again; a resync brings it back', async () => {
  const w = await newWorld();
  try {
    w.admin.addUser('U1', 'alice');
    const alice = await w.addDevice('U1');
    w.admin.addUser('U2', 'bob');
    const bob = await w.addDevice('U2');
    w.admin.addGroup('G1', 'team', TEAM_POLICY, { shareHistory: true });
    w.admin.addMember('G1', 'U1');
    w.admin.addMember('G1', 'U2');
    w.admin.activateKey(w.admin.addKey('G1', 'k'));
    await w.syncByFiles();
    const number = deviceKeyNumber(alice.findKeyInGroup('G1').keyId);
    const message = alice.encrypt(['U2'], new TextEncoder().encode('history'));

    // Bob leaves: his next file orders the key erased, and his host reads the order out of it.
    w.admin.removeMember('G1', 'U2');
    await w.publisher.publish();
    const orders: Array<{ keyNumber: number; order: Uint8Array }> = [];
    for (const name of await w.transport.list(updateStream('U2'))) {
      const file = parseUpdateFile((await w.transport.read(updateStream('U2'), name)) as Uint8Array);
      const body = bob.device.open(bob.keyIds.adminToUserKeyId, file.sealedBody, file.headerBytes);
      for (const record of decodeRecords(body)) if (record.type === 'eraseOrder') orders.push(record);
    }
    const order = orders.find((o) => o.keyNumber === number);
    expect(order, 'the erase order of the group key').toBeDefined();
    await w.syncByFiles();
    expect(bob.device.listKeyIds()).not.toContain(number);

    // He is added back: the group shares its history, so the key comes again under the same number.
    w.admin.addMember('G1', 'U2');
    await w.syncByFiles();
    expect(bob.device.listKeyIds()).toContain(number);

    // His host, in a user session, replays the old order: the device takes it.
    expect(bob.device.session).toBe('user');
    expect(bob.device.deleteKeyByOrder(number, order?.order ?? new Uint8Array(), bob.keyIds.adminToUserKeyId)).toBe(
      true,
    );
    expect(() => bob.decrypt(message)).toThrow(expect.objectContaining({ code: 'KeyUnavailable' }));
    // The admin records the key as held: later files do not carry it ...
    await w.syncByFiles();
    expect(bob.device.listKeyIds()).not.toContain(number);
    // ... a resync does.
    w.publisher.requestResync('U2');
    await w.syncByFiles();
    expect(new TextDecoder().decode(bob.decrypt(message))).toBe('history');
  } finally {
    w.close();
  }
});
