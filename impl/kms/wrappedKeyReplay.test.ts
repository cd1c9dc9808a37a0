/**
 * A wrapped key travels as an AES-KW blob (RFC 3394) under the pair's wrapping key, which the user's
 * HSM keeps for as long as it is provisioned, and its host sees the blob (in the update body its own
 * HSM opens for it; anyone who copied the file from the share keeps it too). A blob bound to nothing
 * (W9 in the original, and here until a security review found it) let the holder of a user HSM and
 * its PIN put a key back after the erase order took it away: a member removed from a group read
 * again what the group protected under it, a deleted user's retired HSM (which keeps its unwrap key)
 * got back every key it held, and a key the administrator destroyed came back on that HSM. The
 * documented limit (`docs/update-format.md`: a compromised host may skip an erase order) needs the
 * host compromised when the order comes; this needed nothing then.
 *
 * Now the blob wraps the key with its key number and its file's sequence (`device/secubeWrap.ts`),
 * and the HSM takes it only while that file is beyond the last it recorded as applied: once the file
 * is recorded, the blob is spent (`SpentKeyMaterial`), so the old blob cannot bring the key back.
 */
import { aeskw } from '@noble/ciphers/aes.js';
import { expect, test } from 'vitest';
import { UPDATE_SEQUENCE_COUNTER } from '../../device/acknowledgement.ts';
import { testOnlyHooks } from '../../device/secube.ts';
import { deviceKeyNumber } from '../protocol/deviceKeyIds.ts';
import { decodeMessage, messageAad } from '../protocol/message.ts';
import { updateStream } from '../protocol/streams.ts';
import { decodeRecords, parseUpdateFile } from '../protocol/updateFile.ts';
import type { Transport } from '../protocol/transport.ts';
import type { KeyId } from '../../model/kms.ts';
import type { User } from './user.ts';
import { newTeam, reopenOwing } from './world.testkit.ts';
import type { World } from './world.testkit.ts';

/** Every key blob of `user`'s stream as it lies on the share now, opened by its own HSM (the host can). */
async function blobsOnShare(transport: Transport, userId: string, user: User): Promise<Map<number, Uint8Array>> {
  const blobs = new Map<number, Uint8Array>();
  for (const name of await transport.list(updateStream(userId))) {
    const file = parseUpdateFile((await transport.read(updateStream(userId), name)) as Uint8Array);
    const body = user.device.open(user.keyIds.adminToUserKeyId, file.sealedBody, file.headerBytes);
    for (const record of decodeRecords(body))
      if (record.type === 'keyMaterial') blobs.set(record.keyNumber, record.blob);
  }
  return blobs;
}

/** How bob loses the key: removed from the group (rekeyed), deleted (his HSM retired), or the key destroyed. */
const LOSSES = {
  'a member removed from its group': (w: World) => w.admin.removeMember('G1', 'U2'),
  'a deleted user': (w: World) => w.admin.deleteUser('U2'),
  'a member whose group key was destroyed': (w: World, keyId: KeyId) => {
    w.admin.deactivateKey(keyId);
    w.admin.destroyKey(keyId);
  },
} as const;

test.each(Object.entries(LOSSES))('%s cannot put the erased key back from the blob it was sent', async (_, lose) => {
  const w = await newTeam();
  try {
    const alice = w.users.get('U1') as User;
    const bob = w.users.get('U2') as User;
    const keyId = w.admin.addKey('G1', 'k');
    w.admin.activateKey(keyId);
    await w.publisher.publish();
    // Bob's host keeps the blob of the group key out of the file its HSM opened.
    const number = deviceKeyNumber(keyId);
    const blob = (await blobsOnShare(w.transport, 'U2', bob)).get(number);
    expect(blob, 'the group key travels to bob wrapped').toBeDefined();
    await w.syncByFiles();
    const secret = alice.encrypt(['U2'], new TextEncoder().encode('before bob left'));

    // Bob loses the key: his HSM erases it by order.
    lose(w, keyId);
    await w.syncByFiles();
    expect(bob.device.listKeyIds()).not.toContain(number);
    expect(() => bob.decrypt(secret)).toThrow();

    // His host, in the user session it has, imports the blob again and asks the HSM to decrypt what the
    // group protected under the key: the blob's file is recorded as applied, so the blob is spent.
    expect(bob.device.session).toBe('user');
    expect(() => bob.device.importWrapped(number, blob as Uint8Array, bob.keyIds.wrappingKeyId)).toThrow(
      expect.objectContaining({ code: 'SpentKeyMaterial' }),
    );
    const { nonce, ciphertext } = decodeMessage(secret);
    expect(() => bob.device.decrypt(number, nonce, ciphertext, messageAad(keyId))).toThrow();
    expect(bob.device.listKeyIds()).not.toContain(number);
  } finally {
    w.close();
  }
});

test(
  'an import owed from a file published before the binding is refused, and does not stop the sync: the ' +
    "administrator's resync delivers the key bound, and the HSM takes it",
  async () => {
    const w = await newTeam();
    try {
      const bob = w.users.get('U2') as User;
      const keyId = w.admin.addKey('G1', 'k');
      w.admin.activateKey(keyId);
      const number = deviceKeyNumber(keyId);
      // The key as a file of the earlier software sent it: wrapped alone under bob's wrapping key,
      // its import owed (a full key store held it back, say, until the software was upgraded).
      const kek = testOnlyHooks(bob.device).readKey(bob.keyIds.wrappingKeyId);
      const unbound = aeskw(kek).encrypt(testOnlyHooks(w.adminDevice).readKey(number));
      const reopened = await reopenOwing(w, 'U2', [['import', number, unbound]]);
      try {
        expect(reopened.pendingDeviceWork().error).toMatch(/UnwrapFailed/);
        // The remedy the format's page gives: a resync, which sends every key bound to its own file.
        w.publisher.requestResync('U2');
        await w.publisher.publish();
        const report = await reopened.sync(w.transport);
        expect(report.applied).toHaveLength(1);
        expect(reopened.pendingDeviceWork()).toEqual({ operations: 0, imports: [], error: null });
        expect(reopened.device.listKeyIds()).toContain(number);
        expect(reopened.device.counterRead(UPDATE_SEQUENCE_COUNTER)).toBe(report.sequence);
      } finally {
        reopened.close();
      }
    } finally {
      w.close();
    }
  },
);
