import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { propertyParams } from '../testing/runConfig.ts';
import { DELETE_ORDER_AAD } from './deleteOrder.ts';
import { isDeviceError } from './deviceError.ts';
import { PowerLossError } from './powerLossError.ts';
import { provisionUserDevice } from './provisioning.ts';
import {
  PIN_RESET_ACCEPTED_COUNTER,
  PIN_RESET_ISSUED_COUNTER,
  encodePinResetOrder,
  pinResetOrderAad,
} from './pinResetOrder.ts';
import type { SecubeDevice } from './secube.ts';
import {
  ADMIN_PIN,
  PAIR_IDS,
  USER_PIN,
  expectCode,
  makeDevice,
  makeProvisionedPair,
  reboot,
} from './secube.testkit.ts';
import type { TestDevice } from './secube.testkit.ts';

const { adminToUserKeyId: A2U } = PAIR_IDS;
const NEW_PIN = 'new-user-pin-42';

/** Three wrong user PINs: the user level is locked. */
function lockUserLevel(device: SecubeDevice): void {
  for (let i = 0; i < 3; i++) expectCode('WrongPin', () => device.login('user', `wrong-${i}`));
  expectCode('PinLocked', () => device.login('user', USER_PIN));
}

/** A provisioned pair, the admin in an admin session, the user device logged out with its user level locked. */
function lockedPair(
  seed: string,
  options: { readonly userFlashSeed?: number } = {},
): {
  admin: TestDevice;
  user: TestDevice;
} {
  const pair = makeProvisionedPair(seed, options);
  pair.user.device.logout();
  lockUserLevel(pair.user.device);
  return pair;
}

/** The accepted-order counter of `device`, read in a short admin session. */
function acceptedOn(device: SecubeDevice): number {
  device.login('admin', ADMIN_PIN);
  try {
    return device.counterRead(PIN_RESET_ACCEPTED_COUNTER);
  } finally {
    device.logout();
  }
}

describe('PIN reset orders: the admin HSM resets a locked user PIN without the device admin PIN', () => {
  it('a locked user level takes the new PIN and all its tries, durably; the old PIN no longer works', () => {
    const { admin, user } = lockedPair('reset-ok');
    const order = admin.device.issuePinResetOrder(A2U, user.device.serial, NEW_PIN);
    expect(admin.device.counterRead(PIN_RESET_ISSUED_COUNTER)).toBe(1);
    expect(user.device.acceptPinResetOrder(A2U, order)).toBe(1);
    expect(user.device.retriesLeft).toEqual({ user: 3, admin: 3 });
    const again = reboot(user);
    expect(again.retriesLeft.user).toBe(3);
    expectCode('WrongPin', () => again.login('user', USER_PIN));
    again.login('user', NEW_PIN);
    expect(again.session).toBe('user');
    again.logout();
    expect(acceptedOn(again)).toBe(1);
  });

  it('refuses forged, altered, misdirected and cross-protocol orders, and changes nothing', () => {
    const { admin, user } = lockedPair('reset-forged');
    const stranger = makeProvisionedPair('reset-forged-stranger'); // another admin, same key IDs
    const genuine = admin.device.issuePinResetOrder(A2U, user.device.serial, NEW_PIN);
    const flipped = genuine.slice();
    flipped[20] = (flipped[20] as number) ^ 1;
    const plaintext = encodePinResetOrder({ serial: user.device.serial, sequence: 99, newPin: Buffer.from(NEW_PIN) });
    for (const forged of [
      new Uint8Array(0),
      new Uint8Array(80).fill(7),
      flipped,
      genuine.subarray(0, genuine.length - 1),
      stranger.admin.device.issuePinResetOrder(A2U, user.device.serial, NEW_PIN),
      admin.device.seal(A2U, plaintext, DELETE_ORDER_AAD), // right key, the delete orders' AAD
    ]) {
      expectCode('AuthFailed', () => user.device.acceptPinResetOrder(A2U, forged));
    }
    // The user's host cannot make one: its HSM will not seal under the `open` half of the channel.
    user.device.login('admin', ADMIN_PIN);
    expectCode('WrongKeyPurpose', () => user.device.issuePinResetOrder(A2U, user.device.serial, NEW_PIN));
    expectCode('WrongKeyPurpose', () => user.device.seal(A2U, plaintext, pinResetOrderAad()));
    user.device.logout();
    // Opening under any key but an `open` one is refused before any byte is read.
    expectCode('WrongKeyPurpose', () => user.device.acceptPinResetOrder(PAIR_IDS.userToAdminKeyId, genuine));
    expectCode('UnknownKey', () => user.device.acceptPinResetOrder(4242, genuine));
    expect(user.device.retriesLeft.user).toBe(0);
    expect(acceptedOn(user.device)).toBe(0);
    // The genuine order still works afterwards.
    expect(user.device.acceptPinResetOrder(A2U, genuine)).toBe(1);
  });

  it("the generic seal and open refuse the orders' AAD: no order past the counter, no PIN for a host", () => {
    const { admin, user } = makeProvisionedPair('reset-reserved-aad');
    const minted = encodePinResetOrder({ serial: user.device.serial, sequence: 2 ** 40, newPin: Buffer.from(NEW_PIN) });
    expectCode('ReservedAad', () => admin.device.seal(A2U, minted, pinResetOrderAad()));
    expect(admin.device.counterRead(PIN_RESET_ISSUED_COUNTER)).toBe(0);
    const genuine = admin.device.issuePinResetOrder(A2U, user.device.serial, NEW_PIN);
    // The user's host, in a user session, holding a genuine order from the share.
    user.device.logout();
    user.device.login('user', USER_PIN);
    expectCode('ReservedAad', () => user.device.open(A2U, genuine, pinResetOrderAad()));
    // Every other label still seals and opens (delete orders go through the generic pair by design).
    const order = admin.device.seal(A2U, minted, DELETE_ORDER_AAD);
    expect(user.device.open(A2U, order, DELETE_ORDER_AAD)).toEqual(minted);
  });
  it('refuses a replayed or an older order (StaleOrder), also after a reboot', () => {
    const { admin, user } = lockedPair('reset-replay');
    const first = admin.device.issuePinResetOrder(A2U, user.device.serial, 'first-pin');
    const second = admin.device.issuePinResetOrder(A2U, user.device.serial, 'second-pin');
    expect(user.device.acceptPinResetOrder(A2U, second)).toBe(2);
    expectCode('StaleOrder', () => user.device.acceptPinResetOrder(A2U, second));
    expectCode('StaleOrder', () => user.device.acceptPinResetOrder(A2U, first));
    const again = reboot(user);
    expectCode('StaleOrder', () => again.acceptPinResetOrder(A2U, first));
    // The replay did not set 'first-pin': the second order's PIN holds.
    expectCode('WrongPin', () => again.login('user', 'first-pin'));
    again.login('user', 'second-pin');
    again.logout();
    // A newer order still works; the host cannot push the counter to block it (reserved).
    again.login('admin', ADMIN_PIN);
    expectCode('ReservedCounter', () => again.counterAdvance(PIN_RESET_ACCEPTED_COUNTER, 1000));
    expectCode('ReservedCounter', () => again.counterAdvance(PIN_RESET_ISSUED_COUNTER, 1000));
    again.logout();
    expect(again.acceptPinResetOrder(A2U, admin.device.issuePinResetOrder(A2U, again.serial, 'third-pin'))).toBe(3);
  });

  it("refuses an order for another device: another serial under this device's key, or another device's key", () => {
    const { admin, user } = lockedPair('reset-other');
    const bob = makeDevice('reset-other-bob');
    bob.device.login('admin', ADMIN_PIN);
    const bobIds = { adminToUserKeyId: 2000, userToAdminKeyId: 2001, wrappingKeyId: 2002 };
    provisionUserDevice(admin.device, bob.device, bobIds);
    bob.device.logout();
    // Authentic under alice's channel, but naming bob: refused by alice.
    const misnamed = admin.device.issuePinResetOrder(A2U, bob.device.serial, NEW_PIN);
    expectCode('NotForThisDevice', () => user.device.acceptPinResetOrder(A2U, misnamed));
    // Bob's genuine order does not open under alice's key, nor bob's key ID on alice's HSM.
    const forBob = admin.device.issuePinResetOrder(bobIds.adminToUserKeyId, bob.device.serial, NEW_PIN);
    expectCode('AuthFailed', () => user.device.acceptPinResetOrder(A2U, forBob));
    expectCode('UnknownKey', () => user.device.acceptPinResetOrder(bobIds.adminToUserKeyId, forBob));
    expect(user.device.retriesLeft.user).toBe(0);
    // Bob takes his: its sequence (2) is above what bob accepted (0), though the admin HSM numbers
    // the orders of every device in one sequence.
    expect(bob.device.acceptPinResetOrder(bobIds.adminToUserKeyId, forBob)).toBe(2);
  });

  it('is accepted only while nobody is logged in, never on a locked device; issued only at admin level', () => {
    const { admin, user } = lockedPair('reset-states');
    const order = (): Uint8Array => admin.device.issuePinResetOrder(A2U, user.device.serial, NEW_PIN);
    user.device.login('admin', ADMIN_PIN);
    expectCode('SessionActive', () => user.device.acceptPinResetOrder(A2U, order()));
    user.device.logout();
    admin.device.logout();
    expectCode('NotLoggedIn', () => admin.device.issuePinResetOrder(A2U, user.device.serial, NEW_PIN));
    admin.device.login('user', USER_PIN);
    expectCode('AccessDenied', () => admin.device.issuePinResetOrder(A2U, user.device.serial, NEW_PIN));
    admin.device.logout();
    admin.device.login('admin', ADMIN_PIN);
    expectCode('BadArgument', () => admin.device.issuePinResetOrder(A2U, user.device.serial, 'abc'));
    expectCode('BadOrder', () => admin.device.issuePinResetOrder(A2U, '', NEW_PIN));
    // Refused requests did not move the order counter.
    expect(admin.device.counterRead(PIN_RESET_ISSUED_COUNTER)).toBe(1);
    const pending = order();
    for (let i = 0; i < 3; i++)
      expectCode(i < 2 ? 'WrongPin' : 'DeviceLocked', () => user.device.login('admin', `wrong-admin-${i}`));
    expectCode('DeviceLocked', () => user.device.acceptPinResetOrder(A2U, pending));
  });

  it('the new PIN is never in clear outside the user HSM: not in the order, not in either flash', () => {
    const { admin, user } = lockedPair('reset-secret');
    const secret = Buffer.from('a-distinctive-new-pin-0xC0FFEE');
    const order = admin.device.issuePinResetOrder(A2U, user.device.serial, secret);
    // The caller's bytes are the caller's: the device wipes its own copies, never them.
    expect(secret.toString()).toBe('a-distinctive-new-pin-0xC0FFEE');
    user.device.acceptPinResetOrder(A2U, order);
    for (const bytes of [order, admin.flash.toImage(), user.flash.toImage()])
      expect(Buffer.from(bytes).includes(secret.subarray(0, 12))).toBe(false);
    user.device.login('user', secret);
  });

  it('charges the cost model as its parts: GCM, TRNG and a commit to issue; GCM, PBKDF2 and a commit to accept', () => {
    const { admin, user } = lockedPair('reset-cost');
    admin.meter.reset();
    const order = admin.device.issuePinResetOrder(A2U, user.device.serial, NEW_PIN);
    const issued = admin.meter.snapshot().byOp;
    expect(issued['ghash.byte']?.units).toBeGreaterThanOrEqual(order.length - 28);
    expect(issued['trng.word']?.units).toBe(3); // the 12-byte nonce
    expect(issued['flash.program']?.units).toBeGreaterThan(0);
    user.meter.reset();
    user.device.acceptPinResetOrder(A2U, order);
    const accepted = user.meter.snapshot().byOp;
    expect(accepted['ghash.byte']?.units).toBeGreaterThanOrEqual(order.length - 28);
    // The verifier of the new PIN: PBKDF2 at the device's iterations (10 on test devices), RFC 8018 §5.2.
    expect(accepted['hmacSha256.block']?.units).toBeGreaterThanOrEqual(2 + 2 * 10);
    expect(accepted['flash.program']?.units).toBeGreaterThan(0);
    expect(user.meter.cycles).toBeGreaterThan(0);
  });
});

describe('PIN reset orders under power cuts', () => {
  /** Flash programs and erases an accept performs on a fresh copy of the scenario. */
  function acceptWrites(seed: string): number {
    const { admin, user } = lockedPair(seed);
    const order = admin.device.issuePinResetOrder(A2U, user.device.serial, NEW_PIN);
    const before = user.flash.stats();
    user.device.acceptPinResetOrder(A2U, order);
    const after = user.flash.stats();
    const erases = (s: typeof before): number => s.erases.reduce((a, b) => a + b, 0);
    return after.programCalls - before.programCalls + erases(after) - erases(before);
  }

  it('a cut at any flash write of an accept leaves the old state or the new one, never a mix', () => {
    const writes = acceptWrites('reset-cut-probe');
    expect(writes).toBeGreaterThan(0);
    fc.assert(
      fc.property(fc.integer({ min: 1, max: writes }), fc.integer({ min: 1, max: 2 ** 31 - 1 }), (cutAt, flashSeed) => {
        const { admin, user } = lockedPair('reset-cut', { userFlashSeed: flashSeed });
        const order = admin.device.issuePinResetOrder(A2U, user.device.serial, NEW_PIN);
        user.flash.cutPowerAfter(cutAt);
        let done = false;
        try {
          user.device.acceptPinResetOrder(A2U, order);
          done = true;
        } catch (e) {
          expect(e).toBeInstanceOf(PowerLossError);
        }
        user.flash.cancelPowerCut();
        if (!done) user.device.powerOn();
        const after = reboot(user);
        const tries = after.retriesLeft.user;
        const accepted = acceptedOn(after);
        if (done) expect({ tries, accepted }).toEqual({ tries: 3, accepted: 1 });
        // Old: locked, no order accepted. New: all tries, order 1 accepted, the new PIN set.
        expect([
          { tries: 0, accepted: 0 },
          { tries: 3, accepted: 1 },
        ]).toContainEqual({ tries, accepted });
        if (tries === 3) {
          after.login('user', NEW_PIN);
          after.logout();
          expectCode('StaleOrder', () => after.acceptPinResetOrder(A2U, order));
        } else {
          expectCode('PinLocked', () => after.login('user', NEW_PIN));
          // The order was not spent: delivering it again completes the reset.
          expect(after.acceptPinResetOrder(A2U, order)).toBe(1);
          after.login('user', NEW_PIN);
        }
      }),
      // Every write is cut at least once (with the default flash seed); random runs vary the torn bits.
      {
        ...propertyParams<[number, number]>(3 * writes),
        examples: Array.from({ length: writes }, (_, i): [number, number] => [i + 1, 1]),
      },
    );
  });

  it('a cut while issuing never lets two orders share a sequence', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 6 }), (cutAt) => {
        const { admin, user } = lockedPair('reset-issue-cut');
        const first = admin.device.issuePinResetOrder(A2U, user.device.serial, 'first-pin');
        admin.flash.cutPowerAfter(cutAt);
        try {
          admin.device.issuePinResetOrder(A2U, user.device.serial, 'lost-pin');
        } catch (e) {
          if (!(e instanceof PowerLossError)) throw e;
        }
        admin.flash.cancelPowerCut();
        if (!admin.device.powered) admin.device.powerOn();
        if (admin.device.session !== 'admin') admin.device.login('admin', ADMIN_PIN);
        expect([1, 2]).toContain(admin.device.counterRead(PIN_RESET_ISSUED_COUNTER));
        const next = admin.device.issuePinResetOrder(A2U, user.device.serial, 'next-pin');
        expect(user.device.acceptPinResetOrder(A2U, first)).toBe(1);
        expect(user.device.acceptPinResetOrder(A2U, next)).toBeGreaterThan(1);
        user.device.login('user', 'next-pin');
      }),
      propertyParams(6),
    );
  });

  it('a refused order costs nothing: no try, no flash write', () => {
    const { admin, user } = lockedPair('reset-refused-free');
    const order = admin.device.issuePinResetOrder(A2U, user.device.serial, NEW_PIN);
    const bad = order.slice();
    bad[bad.length - 1] = (bad[bad.length - 1] as number) ^ 0x80;
    const before = user.flash.stats().programCalls;
    try {
      user.device.acceptPinResetOrder(A2U, bad);
    } catch (e) {
      expect(isDeviceError(e, 'AuthFailed')).toBe(true);
    }
    expect(user.flash.stats().programCalls).toBe(before);
  });
});
