/**
 * Attacks a security review tried on a deployment, each written as the property that resists it, and
 * not covered elsewhere (`impl/simulation/attacks.ts`, `properties/updateAttacks.properties.test.ts`,
 * `device/secube.test.ts`). The adversary controls the share, the cards and the host's files and
 * calls the HSMs' public methods; a hole found the same way is `wrappedKeyReplay.test.ts`.
 */
import { expect, test } from 'vitest';
import { SdCard } from '../../device/sdcard.ts';
import { ADMIN_PIN, USER_PIN } from '../../device/secube.testkit.ts';
import { deviceKeyNumber } from '../protocol/deviceKeyIds.ts';
import { concatBytes } from '@noble/hashes/utils.js';
import { UPDATE_SEQUENCE_COUNTER } from '../../device/acknowledgement.ts';
import { encodeAckHeader } from '../protocol/ackFile.ts';
import { ackFileName, ackStream, updateStream } from '../protocol/streams.ts';
import { fileHash } from '../protocol/updateFile.ts';
import { provisionUser } from './distribution.ts';
import { User } from './user.ts';
import { TEST_CARD_SECTORS, newTeam } from './world.testkit.ts';

// The channel keys derive from the two identities alone, so an HSM provisioned again without a factory
// reset opens every file of its earlier service: kept from the share and offered to a fresh replica,
// the first of them would bring back keys its later files erased.
test('an HSM provisioned again takes no old file of its earlier service from the share', async () => {
  const w = await newTeam();
  try {
    const bob = w.users.get('U2') as User;
    const keyId = w.admin.addKey('G1', 'k');
    w.admin.activateKey(keyId);
    await w.publisher.publish();
    // The share keeps a copy of bob's files.
    const kept = new Map<string, Uint8Array>();
    for (const name of await w.transport.list(updateStream('U2')))
      kept.set(name, (await w.transport.read(updateStream('U2'), name)) as Uint8Array);
    await w.syncByFiles();
    const number = deviceKeyNumber(keyId);
    expect(bob.device.listKeyIds()).toContain(number);
    w.admin.removeMember('G1', 'U2');
    await w.syncByFiles();
    expect(bob.device.listKeyIds()).not.toContain(number);

    // The administrator provisions bob's HSM again (it holds no KMS key), with a new replica.
    bob.close();
    const device = bob.device;
    device.logout();
    device.login('admin', ADMIN_PIN);
    const provisioning = provisionUser(w.admin, 'U2', device);
    device.logout();
    device.login('user', USER_PIN);
    // No fresh replica at sequence 0 on it: the HSM's database counter says it holds one.
    await expect(
      User.create({ provisioning, device, sd: new SdCard({ sectorCount: TEST_CARD_SECTORS }), clock: w.clock }),
    ).rejects.toMatchObject({ code: 'Corrupt' });
    // Its replica goes on from where it was: the share's old files are behind it, so nothing comes back.
    const sd = device.sdcard as SdCard;
    const again = await User.open({ device, sd, clock: w.clock });
    try {
      for (const [name, bytes] of kept) await w.transport.write(updateStream('U2'), name, bytes);
      const report = await again.sync(w.transport);
      expect(report.applied).toEqual([]);
      expect(device.listKeyIds()).not.toContain(number);
      // The resync that follows the provisioning applies and gives nothing back either.
      await w.publisher.publish();
      expect((await again.sync(w.transport)).applied.length).toBeGreaterThan(0);
      expect(device.listKeyIds()).not.toContain(number);
    } finally {
      again.close();
    }
  } finally {
    w.close();
  }
});

// The user's HSM reads the serial and the sequence of the header it seals, not the user ID, which it
// does not know: alice's host has it vouch for "U2 applied update N" with the hash of bob's file N.
// The admin judges an acknowledgement by the HSM its database records for the user whose stream it
// lies in, so bob's update stays unacknowledged (and stale once too old).
test("another user's HSM cannot acknowledge a user's update for it", async () => {
  const w = await newTeam();
  try {
    const alice = w.users.get('U1') as User;
    w.admin.activateKey(w.admin.addKey('G1', 'k'));
    await w.syncByFiles();
    w.admin.renameGroup('G1', 'team 2');
    await w.publisher.publish();
    await alice.sync(w.transport);
    const [name] = await w.transport.list(updateStream('U2'));
    const bobs = (await w.transport.read(updateStream('U2'), name as string)) as Uint8Array;
    const sequence = Number((name as string).slice(0, 12));
    expect(alice.device.counterRead(UPDATE_SEQUENCE_COUNTER)).toBeGreaterThanOrEqual(sequence);
    const header = encodeAckHeader({ userId: 'U2', serial: alice.device.serial, sequence, fileHash: fileHash(bobs) });
    const seal = alice.device.acknowledge(alice.keyIds.userToAdminKeyId, header);
    await w.transport.write(ackStream('U2'), ackFileName(sequence), concatBytes(header, seal));

    const collected = await w.publisher.collectAcknowledgements();
    expect(collected.accepted.filter((a) => a.userId === 'U2')).toEqual([]);
    expect(await w.transport.list(updateStream('U2'))).toContain(name);
  } finally {
    w.close();
  }
});
