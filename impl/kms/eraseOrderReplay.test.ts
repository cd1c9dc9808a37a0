/**
 * Erase orders are bound to the update file that carries them (`device/deleteOrder.ts`, "Replay"):
 * the recipient's own host, which can open its update bodies with the user PIN, reads an order out
 * of a file, but once its HSM records that file as applied, the order is spent. Before version 2 of
 * the order, it could replay the order once the key it names was delivered again (a member removed
 * from a group that shares its history, then added back) and erase it. Found by a security review.
 */
import { expect, test } from 'vitest';
import { DELETE_ORDER_AAD, encodeDeleteOrder } from '../../device/deleteOrder.ts';
import { deviceKeyNumber } from '../protocol/deviceKeyIds.ts';
import { updateStream } from '../protocol/streams.ts';
import { decodeRecords, parseUpdateFile } from '../protocol/updateFile.ts';
import { TEAM_POLICY, newWorld, reopenOwing } from './world.testkit.ts';

/** Alice and bob in G1, a group that shares its history, with an active key, synced by files. */
async function sharingHistory() {
  const w = await newWorld();
  w.admin.addUser('U1', 'alice');
  const alice = await w.addDevice('U1');
  w.admin.addUser('U2', 'bob');
  const bob = await w.addDevice('U2');
  w.admin.addGroup('G1', 'team', TEAM_POLICY, { shareHistory: true });
  w.admin.addMember('G1', 'U1');
  w.admin.addMember('G1', 'U2');
  w.admin.activateKey(w.admin.addKey('G1', 'k'));
  await w.syncByFiles();
  return { w, alice, bob };
}

test('a replayed erase order is spent once its file is recorded: a key sent again stays', async () => {
  const { w, alice, bob } = await sharingHistory();
  try {
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

    // His host, in a user session, replays the old order: the HSM recorded its file as applied, so
    // the order is spent, and the key stays.
    expect(bob.device.session).toBe('user');
    expect(() =>
      bob.device.deleteKeyByOrder(number, order?.order ?? new Uint8Array(), bob.keyIds.adminToUserKeyId),
    ).toThrow(expect.objectContaining({ code: 'SpentOrder', message: expect.stringMatching(/recorded as applied/) }));
    expect(bob.device.listKeyIds()).toContain(number);
    expect(new TextDecoder().decode(bob.decrypt(message))).toBe('history');
  } finally {
    w.close();
  }
});

// No genuine order is owed once spent (the HSM records a file only after its work). Should one ever
// be (a host regression, a database put back by hand), it was carried out when its file was: the
// sync skips it rather than refuse every file after it, a resync's included.
test('a spent erase order in the owed HSM work is skipped: the sync goes on, the key stays', async () => {
  const { w, bob } = await sharingHistory();
  try {
    const number = deviceKeyNumber(bob.findKeyInGroup('G1').keyId);
    // The order of update 1, spent: bob's HSM has recorded update 1 (and more) as applied.
    const spent = w.admin.device.seal(
      bob.keyIds.adminToUserKeyId,
      encodeDeleteOrder(bob.device.serial, number, 1),
      DELETE_ORDER_AAD,
    );
    const reopened = await reopenOwing(w, 'U2', [['erase', number, spent]]);
    expect(reopened.pendingDeviceWork()).toEqual({ operations: 0, imports: [], error: null });
    w.admin.renameUser('U2', 'robert');
    await w.publisher.publish();
    expect((await reopened.sync(w.transport)).applied.length).toBe(1);
    expect(bob.device.listKeyIds()).toContain(number);
    reopened.close();
  } finally {
    w.close();
  }
});
