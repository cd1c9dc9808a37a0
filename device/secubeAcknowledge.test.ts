import { describe, expect, it } from 'vitest';
import { encodeAckHeader } from './acknowledgement.ts';
import type { SecubeDevice } from './secube.ts';
import {
  expectCode,
  makeProvisionedPair,
  PAIR_IDS,
  reboot,
  recordUpdate,
  relogin,
  USER_PIN,
} from './secube.testkit.ts';

const { adminToUserKeyId: A2U, userToAdminKeyId: U2A, wrappingKeyId: WRAP } = PAIR_IDS;
const header = (d: SecubeDevice, sequence: number, serial = d.serial): Uint8Array =>
  encodeAckHeader({ userId: 'U1', serial, sequence, fileHash: new Uint8Array(32).fill(sequence & 0xff) });

/** A provisioned pair with the user device in a user session and its applied-update counter at `applied`. */
function pair(seed: string, applied: number): ReturnType<typeof makeProvisionedPair> {
  const p = makeProvisionedPair(seed);
  relogin(p.user.device, 'user');
  if (applied > 0) recordUpdate(p.admin.device, p.user.device, applied);
  return p;
}

describe('acknowledge: the HSM vouches only for updates it recorded as applied', () => {
  it('seals an acknowledgement of any applied sequence, which the admin device opens under the same key', () => {
    const { admin, user } = pair('ack-ok', 3);
    for (const sequence of [1, 2, 3]) {
      const h = header(user.device, sequence);
      const seal = user.device.acknowledge(U2A, h);
      expect(seal.length).toBe(12 + 16);
      expect(admin.device.open(U2A, seal, h)).toEqual(new Uint8Array(0));
      // Bound to its header: the seal of sequence 3 is no seal of another header.
      if (sequence > 1) expectCode('AuthFailed', () => admin.device.open(U2A, seal, header(user.device, sequence - 1)));
    }
    // A fresh TRNG nonce each time (NIST SP 800-38D §8.2.2).
    const h = header(user.device, 3);
    expect(user.device.acknowledge(U2A, h).subarray(0, 12)).not.toEqual(
      user.device.acknowledge(U2A, h).subarray(0, 12),
    );
  });

  it('refuses a sequence above the applied-update counter (NotApplied), and accepts it once the counter moved', () => {
    const { admin, user } = pair('ack-not-applied', 0);
    expectCode('NotApplied', () => user.device.acknowledge(U2A, header(user.device, 1)));
    recordUpdate(admin.device, user.device, 4);
    expectCode('NotApplied', () => user.device.acknowledge(U2A, header(user.device, 5)));
    expectCode('NotApplied', () => user.device.acknowledge(U2A, header(user.device, Number.MAX_SAFE_INTEGER)));
    // Another counter does not count.
    user.device.counterAdvance('other', 9);
    expectCode('NotApplied', () => user.device.acknowledge(U2A, header(user.device, 9)));
    // The counter is in flash: after a reboot the device still vouches for what it recorded, and only that.
    const again = reboot(user);
    again.login('user', USER_PIN);
    const h = header(again, 4);
    expect(admin.device.open(U2A, again.acknowledge(U2A, h), h)).toEqual(new Uint8Array(0));
    expectCode('NotApplied', () => again.acknowledge(U2A, header(again, 5)));
  });

  it('refuses a header that does not parse exactly, names another device, or sequence 0 (BadArgument)', () => {
    const { admin, user } = pair('ack-bad-header', 2);
    const u = user.device;
    const good = header(u, 1);
    expectCode('BadArgument', () => u.acknowledge(U2A, good.subarray(0, good.length - 1)));
    expectCode('BadArgument', () => u.acknowledge(U2A, Uint8Array.from([...good, 0])));
    expectCode('BadArgument', () => u.acknowledge(U2A, Uint8Array.from([0, ...good.subarray(1)])));
    expectCode('BadArgument', () =>
      u.acknowledge(U2A, Uint8Array.from([...good.subarray(0, 4), 2, ...good.subarray(5)])),
    );
    expectCode('BadArgument', () => u.acknowledge(U2A, new Uint8Array(0)));
    expectCode('BadArgument', () => u.acknowledge(U2A, 'SKAK' as unknown as Uint8Array));
    expectCode('BadArgument', () => u.acknowledge(U2A, header(u, 1, admin.device.serial)));
    expectCode('BadArgument', () => u.acknowledge(U2A, header(u, 0)));
  });

  it('takes the ack key only, and the ack key seals nothing else', () => {
    const { admin, user } = pair('ack-purpose', 1);
    const u = user.device;
    u.generateKey(77);
    for (const id of [A2U, WRAP, 77]) expectCode('WrongKeyPurpose', () => u.acknowledge(id, header(u, 1)));
    expectCode('UnknownKey', () => u.acknowledge(78, header(u, 1)));
    expectCode('WrongKeyPurpose', () => u.seal(U2A, new Uint8Array(0), header(u, 1)));
    expectCode('WrongKeyPurpose', () => u.encrypt(U2A, new Uint8Array(1)));
    // The admin device holds the same key to open acknowledgements: it can neither make one nor seal under it.
    expectCode('WrongKeyPurpose', () => admin.device.acknowledge(U2A, header(admin.device, 1)));
    expectCode('WrongKeyPurpose', () => admin.device.seal(U2A, new Uint8Array(0), header(u, 1)));
  });

  it('needs a session', () => {
    const { user } = pair('ack-session', 1);
    const h = header(user.device, 1);
    user.device.logout();
    expectCode('NotLoggedIn', () => user.device.acknowledge(U2A, h));
  });
});
