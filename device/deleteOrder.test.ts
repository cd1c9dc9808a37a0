import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { propertyParams } from '../testing/runConfig.ts';
import {
  DELETE_ORDER_AAD,
  DELETE_ORDER_LABEL,
  DELETE_ORDER_V1_LABEL,
  decodeDeleteOrder,
  deleteOrderAad,
  encodeDeleteOrder,
  encodeDeleteOrderV1,
} from './deleteOrder.ts';
import { PowerLossError } from './powerLossError.ts';
import { encodeAckHeader } from './acknowledgement.ts';
import { MAX_KEY_ID, testOnlyHooks } from './secube.ts';
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
import type { TestDevice } from './secube.testkit.ts';

const { adminToUserKeyId: A2U, userToAdminKeyId: U2A, wrappingKeyId: WRAP } = PAIR_IDS;
const GROUP_KEY = 5000;
const OTHER_KEY = 5001;

/**
 * A provisioned pair where the user device holds two group keys imported from the admin, and is in
 * a user session: the situation in which the admin has to make it forget one.
 */
function withGroupKeys(seed: string): {
  admin: SecubeDevice;
  user: SecubeDevice;
  userT: TestDevice;
  adminT: TestDevice;
} {
  const { admin, user } = makeProvisionedPair(seed);
  for (const id of [GROUP_KEY, OTHER_KEY]) {
    admin.device.generateKey(id);
    user.device.importWrapped(id, admin.device.exportWrapped(id, WRAP, 1).blob, WRAP);
  }
  relogin(user.device, 'user');
  return { admin: admin.device, user: user.device, adminT: admin, userT: user };
}

/** The admin's order to erase `keyId`, carried by update file `sequence` (1: the first file). */
function orderFor(admin: SecubeDevice, serial: string, keyId: number, sequence = 1): Uint8Array {
  return admin.seal(A2U, encodeDeleteOrder(serial, keyId, sequence), DELETE_ORDER_AAD);
}

/** The same order as an administrator before version 2 sent it: no update sequence. */
function v1OrderFor(admin: SecubeDevice, serial: string, keyId: number): Uint8Array {
  return admin.seal(A2U, encodeDeleteOrderV1(serial, keyId), deleteOrderAad(1));
}

describe('delete order encoding', () => {
  it('is u8 serial length ‖ UTF-8 serial ‖ u32be key ID ‖ u64be update sequence, under the AAD label', () => {
    expect(Buffer.from(encodeDeleteOrder('AB', 0x01020304, 0x0506070809)).toString('hex')).toBe(
      '024142' + '01020304' + '0000000506070809',
    );
    expect(Buffer.from(DELETE_ORDER_AAD).toString()).toBe('SEKEY delete-order v2');
    expect(DELETE_ORDER_LABEL).toBe('SEKEY delete-order v2');
    const copy = deleteOrderAad();
    expect(copy).toEqual(DELETE_ORDER_AAD);
    expect(copy).not.toBe(deleteOrderAad());
    // Version 1: no sequence, its own label.
    expect(Buffer.from(encodeDeleteOrderV1('AB', 0x01020304)).toString('hex')).toBe('024142' + '01020304');
    expect(Buffer.from(deleteOrderAad(1)).toString()).toBe(DELETE_ORDER_V1_LABEL);
    expect(DELETE_ORDER_V1_LABEL).toBe('SEKEY delete-order v1');
  });

  it('round-trips any serial of 1..255 UTF-8 bytes, key ID in 1..MAX_KEY_ID and sequence, in both versions', () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 1, maxLength: 60, unit: 'binary' }),
        fc.integer({ min: 1, max: MAX_KEY_ID }),
        fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
        (serial, keyId, sequence) => {
          expect(decodeDeleteOrder(encodeDeleteOrder(serial, keyId, sequence))).toEqual({ serial, keyId, sequence });
          expect(decodeDeleteOrder(encodeDeleteOrderV1(serial, keyId), 1)).toEqual({ serial, keyId, sequence: null });
        },
      ),
      propertyParams(100),
    );
  });

  it('refuses to encode or decode anything else (BadOrder)', () => {
    for (const [serial, keyId] of [
      ['', 1],
      ['x'.repeat(256), 1],
      ['AB', 0],
      ['AB', MAX_KEY_ID + 1],
      ['AB', 1.5],
      ['AB', -1],
    ] as const) {
      expectCode('BadOrder', () => encodeDeleteOrder(serial, keyId, 1));
      expectCode('BadOrder', () => encodeDeleteOrderV1(serial, keyId));
    }
    for (const sequence of [0, -1, 1.5, Number.MAX_SAFE_INTEGER + 1]) {
      expectCode('BadOrder', () => encodeDeleteOrder('AB', 7, sequence));
    }
    expect(decodeDeleteOrder(encodeDeleteOrder('x'.repeat(255), MAX_KEY_ID, 1)).keyId).toBe(MAX_KEY_ID);
    const good = encodeDeleteOrder('AB', 7, 1);
    const v1 = encodeDeleteOrderV1('AB', 7);
    const sequence = (...bytes: number[]) => Uint8Array.of(2, 0x41, 0x42, 0, 0, 0, 7, ...bytes);
    for (const bad of [
      new Uint8Array(0),
      good.subarray(0, good.length - 1),
      Uint8Array.of(...good, 0),
      v1, // a version 1 plaintext read as version 2: no sequence
      Uint8Array.of(0, 0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0, 1), // empty serial
      Uint8Array.of(2, 0xc3, 0x28, 0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0, 1), // invalid UTF-8
      Uint8Array.of(2, 0x41, 0x42, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1), // key ID 0
      Uint8Array.of(2, 0x41, 0x42, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1), // key ID above MAX_KEY_ID
      sequence(0, 0, 0, 0, 0, 0, 0, 0), // sequence 0
      sequence(0, 0x20, 0, 0, 0, 0, 0, 0), // sequence above 2^53 - 1
    ]) {
      expectCode('BadOrder', () => decodeDeleteOrder(bad));
    }
    // Version 1 read strictly too: a version 2 plaintext is no version 1 order.
    expectCode('BadOrder', () => decodeDeleteOrder(good, 1));
    expect(decodeDeleteOrder(v1, 1)).toEqual({ serial: 'AB', keyId: 7, sequence: null });
  });
});

describe('deleteKeyByOrder (authorised deletion in a user session)', () => {
  it(
    'a user session cannot delete keys (W5), but carries out an admin order: the key is gone and zeroised in ' +
      'flash',
    () => {
      const { admin, user, userT } = withGroupKeys('order-ok');
      expectCode('AccessDenied', () => user.deleteKey(GROUP_KEY));
      const key = testOnlyHooks(user).readKey(GROUP_KEY);
      const image = (): Buffer => Buffer.from(userT.flash.toImage());
      expect(image().includes(Buffer.from(key))).toBe(true);
      expect(user.deleteKeyByOrder(GROUP_KEY, orderFor(admin, user.serial, GROUP_KEY), A2U)).toBe(true);
      expect(user.listKeyIds()).toEqual([A2U, U2A, WRAP, OTHER_KEY]);
      expectCode('UnknownKey', () => user.encrypt(GROUP_KEY, Uint8Array.of(1)));
      expect(image().includes(Buffer.from(key.subarray(0, 8)))).toBe(false);
      // Survives a reboot: the deletion was committed in flash.
      const again = reboot(userT);
      again.login('user', USER_PIN);
      expect(again.listKeyIds()).toEqual([A2U, U2A, WRAP, OTHER_KEY]);
    },
  );

  it('an order carried out again before its file is recorded finds its key gone: the answer is false', () => {
    const { admin, user } = withGroupKeys('order-replay');
    const order = orderFor(admin, user.serial, GROUP_KEY);
    expect(user.deleteKeyByOrder(GROUP_KEY, order, A2U)).toBe(true);
    expect(user.deleteKeyByOrder(GROUP_KEY, order, A2U)).toBe(false);
    expect(user.listKeyIds()).toContain(OTHER_KEY);
  });

  it(
    'an order is spent once its update file is recorded as applied: replayed on the key delivered again by a ' +
      'later file, it is refused and erases nothing',
    () => {
      const { admin, user } = withGroupKeys('order-spent');
      // Update 1 orders the key erased; the host carries the order out, then the HSM records update 1.
      const order = orderFor(admin, user.serial, GROUP_KEY, 1);
      expect(user.deleteKeyByOrder(GROUP_KEY, order, A2U)).toBe(true);
      recordUpdate(admin, user, 1);
      // Update 2 delivers the key again (the user rejoined a group that shares its history).
      user.importWrapped(GROUP_KEY, admin.exportWrapped(GROUP_KEY, WRAP, 2).blob, WRAP);
      recordUpdate(admin, user, 2);
      // The host replays update 1's order: spent. So is an order of update 2 once it is recorded.
      expect(() => user.deleteKeyByOrder(GROUP_KEY, order, A2U)).toThrow(/update 1, which this HSM recorded/);
      expectCode('SpentOrder', () => user.deleteKeyByOrder(GROUP_KEY, order, A2U));
      expectCode('SpentOrder', () => user.deleteKeyByOrder(GROUP_KEY, orderFor(admin, user.serial, GROUP_KEY, 2), A2U));
      expect(user.listKeyIds()).toContain(GROUP_KEY);
      // A spent order for a key that is gone is no refusal: nothing to erase, as ever.
      expect(user.deleteKeyByOrder(OTHER_KEY, orderFor(admin, user.serial, OTHER_KEY, 3), A2U)).toBe(true);
      expect(user.deleteKeyByOrder(OTHER_KEY, orderFor(admin, user.serial, OTHER_KEY, 1), A2U)).toBe(false);
      // An order of a file beyond the recorded one is taken: the administrator ordered that erasure.
      expect(user.deleteKeyByOrder(GROUP_KEY, orderFor(admin, user.serial, GROUP_KEY, 3), A2U)).toBe(true);
    },
  );

  it(
    'takes version 1 orders (no sequence), as administrators before version 2 sent them: still replayable, the ' +
      'limit version 2 closes',
    () => {
      const { admin, user } = withGroupKeys('order-v1');
      const order = v1OrderFor(admin, user.serial, GROUP_KEY);
      expect(user.deleteKeyByOrder(GROUP_KEY, order, A2U)).toBe(true);
      recordUpdate(admin, user, 1);
      user.importWrapped(GROUP_KEY, admin.exportWrapped(GROUP_KEY, WRAP, 2).blob, WRAP);
      recordUpdate(admin, user, 2);
      expect(user.deleteKeyByOrder(GROUP_KEY, order, A2U)).toBe(true);
      // The versions are told apart by length: a version 2 plaintext sealed under version 1's label,
      // or the reverse, fails to authenticate.
      const swapped = [
        admin.seal(A2U, encodeDeleteOrder(user.serial, OTHER_KEY, 3), deleteOrderAad(1)),
        admin.seal(A2U, encodeDeleteOrderV1(user.serial, OTHER_KEY), DELETE_ORDER_AAD),
      ];
      for (const bad of swapped) expectCode('AuthFailed', () => user.deleteKeyByOrder(OTHER_KEY, bad, A2U));
      expect(user.listKeyIds()).toContain(OTHER_KEY);
    },
  );

  it(
    'refuses an order for another device, for another key, malformed, tampered, or under another AAD, and deletes ' +
      'nothing',
    () => {
      const { admin, user } = withGroupKeys('order-refused');
      const other = makeProvisionedPair('order-refused-bob').user.device;
      const before = user.listKeyIds();
      // Authentic, but for someone else or something else.
      expectCode('BadOrder', () => user.deleteKeyByOrder(GROUP_KEY, orderFor(admin, other.serial, GROUP_KEY), A2U));
      expectCode('BadOrder', () => user.deleteKeyByOrder(GROUP_KEY, orderFor(admin, user.serial, OTHER_KEY), A2U));
      expectCode('BadOrder', () =>
        user.deleteKeyByOrder(GROUP_KEY, admin.seal(A2U, Uint8Array.of(1, 2, 3), DELETE_ORDER_AAD), A2U),
      );
      // Not authentic.
      const order = orderFor(admin, user.serial, GROUP_KEY);
      for (const at of [0, 12, order.length - 1]) {
        const tampered = order.slice();
        tampered[at] = (tampered[at] ?? 0) ^ 1;
        expectCode('AuthFailed', () => user.deleteKeyByOrder(GROUP_KEY, tampered, A2U));
      }
      expectCode('AuthFailed', () => user.deleteKeyByOrder(GROUP_KEY, order.subarray(0, 11), A2U));
      expectCode('AuthFailed', () => user.deleteKeyByOrder(GROUP_KEY, order.subarray(0, 20), A2U));
      // A message sealed for another purpose under the same channel key (an update file, say).
      const update = admin.seal(
        A2U,
        encodeDeleteOrder(user.serial, GROUP_KEY, 1),
        new TextEncoder().encode('update #1'),
      );
      expectCode('AuthFailed', () => user.deleteKeyByOrder(GROUP_KEY, update, A2U));
      // Sealed for the other user's device: another channel key.
      expectCode('AuthFailed', () => other.deleteKeyByOrder(GROUP_KEY, order, A2U));
      expect(user.listKeyIds()).toEqual(before);
    },
  );

  it(
    'the user host cannot forge an order: it cannot seal under its open key, and its own keys are not ' + 'accepted',
    () => {
      const { admin, user } = withGroupKeys('order-forged');
      const plaintext = encodeDeleteOrder(user.serial, GROUP_KEY, 5);
      expectCode('WrongKeyPurpose', () => user.seal(A2U, plaintext, DELETE_ORDER_AAD));
      // Nor under its user→admin key, which seals acknowledgements only; an acknowledgement is no order.
      expectCode('WrongKeyPurpose', () => user.seal(U2A, plaintext, DELETE_ORDER_AAD));
      recordUpdate(admin, user, 1);
      const ack = user.acknowledge(
        U2A,
        encodeAckHeader({ userId: 'U1', serial: user.serial, sequence: 1, fileHash: new Uint8Array(32) }),
      );
      expectCode('AuthFailed', () => user.deleteKeyByOrder(GROUP_KEY, ack, A2U));
      expectCode('WrongKeyPurpose', () => user.deleteKeyByOrder(GROUP_KEY, ack, U2A));
      // Sealed under what it can seal with: a data key it made itself.
      user.generateKey(77);
      const underData = user.seal(77, plaintext, DELETE_ORDER_AAD);
      expectCode('WrongKeyPurpose', () => user.deleteKeyByOrder(GROUP_KEY, underData, 77));
      expectCode('WrongKeyPurpose', () => user.deleteKeyByOrder(GROUP_KEY, underData, WRAP));
      expectCode('UnknownKey', () => user.deleteKeyByOrder(GROUP_KEY, underData, 78));
      expect(user.listKeyIds()).toContain(GROUP_KEY);
    },
  );

  it('needs a session and valid IDs', () => {
    const { admin, user } = withGroupKeys('order-session');
    const order = orderFor(admin, user.serial, GROUP_KEY);
    user.logout();
    expectCode('NotLoggedIn', () => user.deleteKeyByOrder(GROUP_KEY, order, A2U));
    relogin(user, 'admin');
    expectCode('BadArgument', () => user.deleteKeyByOrder(0, order, A2U));
    expectCode('BadArgument', () => user.deleteKeyByOrder(GROUP_KEY, order, MAX_KEY_ID + 1));
    // It works in an admin session too.
    expect(user.deleteKeyByOrder(GROUP_KEY, order, A2U)).toBe(true);
  });

  it('can decommission the channel itself: after an order deletes the unwrap key, nothing more can be imported', () => {
    const { admin, user } = withGroupKeys('order-decommission');
    expect(user.deleteKeyByOrder(WRAP, orderFor(admin, user.serial, WRAP), A2U)).toBe(true);
    admin.generateKey(6000);
    expectCode('UnknownKey', () => user.importWrapped(6000, admin.exportWrapped(6000, WRAP, 1).blob, WRAP));
    expect(user.deleteKeyByOrder(A2U, orderFor(admin, user.serial, A2U), A2U)).toBe(true);
    expectCode('UnknownKey', () => user.deleteKeyByOrder(GROUP_KEY, orderFor(admin, user.serial, GROUP_KEY), A2U));
    expect(user.listKeyIds()).toEqual([U2A, GROUP_KEY, OTHER_KEY]);
  });

  it('a power cut during an ordered deletion leaves the key whole or gone; the order can be carried out again', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 2 ** 31 - 1 }), (cutAt, flashSeed) => {
        const { admin, user } = makeProvisionedPair('order-cut', { userFlashSeed: flashSeed });
        admin.device.generateKey(GROUP_KEY);
        user.device.importWrapped(GROUP_KEY, admin.device.exportWrapped(GROUP_KEY, WRAP, 1).blob, WRAP);
        relogin(user.device, 'user');
        const order = orderFor(admin.device, user.device.serial, GROUP_KEY);
        user.flash.cutPowerAfter(cutAt);
        let done = false;
        try {
          done = user.device.deleteKeyByOrder(GROUP_KEY, order, A2U);
        } catch (e) {
          expect(e).toBeInstanceOf(PowerLossError);
          user.device.powerOn();
        }
        user.flash.cancelPowerCut();
        const again = reboot(user);
        again.login('user', USER_PIN);
        const held = again.listKeyIds().includes(GROUP_KEY);
        if (done) expect(held).toBe(false);
        if (held) {
          const { nonce, ciphertext } = admin.device.encrypt(GROUP_KEY, Uint8Array.of(3));
          expect(again.decrypt(GROUP_KEY, nonce, ciphertext)).toEqual(Uint8Array.of(3));
        }
        expect(again.deleteKeyByOrder(GROUP_KEY, order, A2U)).toBe(held);
        expect(again.listKeyIds()).toEqual([A2U, U2A, WRAP]);
      }),
      propertyParams(20),
    );
  });
});
