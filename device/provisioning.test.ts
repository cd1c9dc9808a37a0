import { describe, expect, it } from 'vitest';
import type { DeviceErrorCode } from './deviceError.ts';
import { isDeviceError } from './deviceError.ts';
import { identityFingerprint, provisionUserDevice } from './provisioning.ts';
import { testOnlyHooks } from './secube.ts';
import { ADMIN_PIN, USER_PIN, makeDevice } from './secube.testkit.ts';

function expectCode(code: DeviceErrorCode, f: () => unknown): void {
  try {
    f();
  } catch (e) {
    if (!isDeviceError(e, code)) throw new Error(`expected ${code}, got ${String(e)}`);
    return;
  }
  throw new Error(`expected ${code}, but the call succeeded`);
}

/** Admin device with per-user IDs (1000 + 2u, 1001 + 2u); user devices with fixed IDs 1 and 2. */
function setup(): { admin: ReturnType<typeof makeDevice>['device']; alice: ReturnType<typeof makeDevice>['device']; bob: ReturnType<typeof makeDevice>['device'] } {
  const admin = makeDevice('prov-admin').device;
  const alice = makeDevice('prov-alice').device;
  const bob = makeDevice('prov-bob').device;
  for (const d of [admin, alice, bob]) d.login('admin', ADMIN_PIN);
  provisionUserDevice(admin, alice, { admin: { channelKeyId: 1000, wrappingKeyId: 1001 }, user: { channelKeyId: 1, wrappingKeyId: 2 } });
  provisionUserDevice(admin, bob, { admin: { channelKeyId: 1002, wrappingKeyId: 1003 }, user: { channelKeyId: 1, wrappingKeyId: 2 } });
  return { admin, alice, bob };
}

describe('provisioning (X25519 + HKDF-SHA256 inside both devices)', () => {
  it('gives both sides the same channel key: sealed on one, opened on the other', () => {
    const { admin, alice } = setup();
    const aad = new TextEncoder().encode('update for alice #1');
    const sealed = admin.seal(1000, new TextEncoder().encode('hello alice'), aad);
    expect(new TextDecoder().decode(alice.open(1, sealed, aad))).toBe('hello alice');
    const ack = alice.seal(1, Uint8Array.of(1), aad);
    expect(admin.open(1000, ack, aad)).toEqual(Uint8Array.of(1));
    const { nonce, ciphertext } = alice.encrypt(1, Uint8Array.of(5, 6));
    expect(admin.decrypt(1000, nonce, ciphertext)).toEqual(Uint8Array.of(5, 6));
  });

  it('gives both sides the same wrapping key: a key wrapped by the admin is imported by the user, and both then agree', () => {
    const { admin, alice } = setup();
    admin.generateKey(5000); // a group key, made by the admin TRNG
    const { blob } = admin.exportWrapped(5000, 1001);
    alice.logout();
    alice.login('user', USER_PIN);
    alice.importWrapped(5000, blob, 2);
    const { nonce, ciphertext } = admin.encrypt(5000, new TextEncoder().encode('group secret'), { aad: Uint8Array.of(9) });
    expect(new TextDecoder().decode(alice.decrypt(5000, nonce, ciphertext, Uint8Array.of(9)))).toBe('group secret');
    const back = alice.encrypt(5000, Uint8Array.of(4));
    expect(admin.decrypt(5000, back.nonce, back.ciphertext)).toEqual(Uint8Array.of(4));
  });

  it('derives the keys of each pair only: another user can neither open nor unwrap', () => {
    const { admin, alice, bob } = setup();
    const aad = Uint8Array.of(0);
    const forAlice = admin.seal(1000, Uint8Array.of(1, 2, 3), aad);
    expectCode('AUTH_FAILED', () => bob.open(1, forAlice, aad));
    admin.generateKey(5000);
    const { blob } = admin.exportWrapped(5000, 1001);
    expectCode('UNWRAP_FAILED', () => bob.importWrapped(5000, blob, 2));
    // Alice's and Bob's keys differ although they sit under the same IDs on their devices.
    expect(testOnlyHooks(alice).readKey(1)).not.toEqual(testOnlyHooks(bob).readKey(1));
    expect(testOnlyHooks(alice).readKey(1)).toEqual(testOnlyHooks(admin).readKey(1000));
    expect(testOnlyHooks(alice).readKey(2)).toEqual(testOnlyHooks(admin).readKey(1001));
    // The channel key is a data key and the wrapping key a wrapping key, on both sides.
    expect(admin.keyInfo(1000).purpose).toBe('data');
    expect(admin.keyInfo(1001).purpose).toBe('wrap');
    expect(alice.keyInfo(2).purpose).toBe('wrap');
  });

  it('reports public values only, with comparable fingerprints', () => {
    const admin = makeDevice('prov-admin').device;
    const alice = makeDevice('prov-alice').device;
    admin.login('admin', ADMIN_PIN);
    alice.login('admin', ADMIN_PIN);
    const result = provisionUserDevice(admin, alice, { admin: { channelKeyId: 10, wrappingKeyId: 11 }, user: { channelKeyId: 1, wrappingKeyId: 2 } });
    expect(result).toEqual({
      adminSerial: admin.serial,
      userSerial: alice.serial,
      adminFingerprint: identityFingerprint(admin.identityPublicKey),
      userFingerprint: identityFingerprint(alice.identityPublicKey),
    });
    expect(result.adminFingerprint).toMatch(/^([0-9a-f]{4}:){7}[0-9a-f]{4}$/);
  });

  it('needs admin sessions on both devices, distinct IDs, a valid peer, and replace to re-provision', () => {
    const admin = makeDevice('prov-admin').device;
    const alice = makeDevice('prov-alice').device;
    const ids = { admin: { channelKeyId: 10, wrappingKeyId: 11 }, user: { channelKeyId: 1, wrappingKeyId: 2 } };
    expectCode('NOT_LOGGED_IN', () => provisionUserDevice(admin, alice, ids));
    admin.login('admin', ADMIN_PIN);
    alice.login('user', USER_PIN);
    expectCode('ACCESS_DENIED', () => provisionUserDevice(admin, alice, ids));
    alice.logout();
    alice.login('admin', ADMIN_PIN);
    expectCode('BAD_ARGUMENT', () => provisionUserDevice(admin, alice, { ...ids, user: { channelKeyId: 3, wrappingKeyId: 3 } }));
    expect(admin.listKeyIds()).toEqual([]);
    expectCode('BAD_ARGUMENT', () => admin.installProvisionedKeys({ role: 'admin', peer: { serial: alice.serial, publicKey: alice.identityPublicKey }, channelKeyId: 5, wrappingKeyId: 5 }));
    const peer = { serial: alice.serial, publicKey: new Uint8Array(32) };
    expectCode('BAD_ARGUMENT', () => admin.installProvisionedKeys({ role: 'admin', peer, channelKeyId: 20, wrappingKeyId: 21 }));
    expectCode('BAD_ARGUMENT', () => admin.installProvisionedKeys({ role: 'admin', peer: { serial: 'short', publicKey: alice.identityPublicKey }, channelKeyId: 20, wrappingKeyId: 21 }));
    provisionUserDevice(admin, alice, ids);
    const channel = testOnlyHooks(alice).readKey(1);
    expectCode('KEY_EXISTS', () => provisionUserDevice(admin, alice, ids));
    // Idempotent: re-running with replace installs the very same keys.
    provisionUserDevice(admin, alice, ids, { replace: true });
    expect(testOnlyHooks(alice).readKey(1)).toEqual(channel);
    expect(testOnlyHooks(admin).readKey(10)).toEqual(channel);
  });

  it('after a factory reset the user device has a new identity, so the old channel key cannot come back', () => {
    const admin = makeDevice('prov-admin').device;
    const alice = makeDevice('prov-alice').device;
    admin.login('admin', ADMIN_PIN);
    alice.login('admin', ADMIN_PIN);
    const ids = { admin: { channelKeyId: 10, wrappingKeyId: 11 }, user: { channelKeyId: 1, wrappingKeyId: 2 } };
    provisionUserDevice(admin, alice, ids);
    const old = admin.seal(10, Uint8Array.of(1), Uint8Array.of());
    alice.factoryReset({ userPin: USER_PIN, adminPin: ADMIN_PIN });
    alice.login('admin', ADMIN_PIN);
    provisionUserDevice(admin, alice, { ...ids, admin: { channelKeyId: 12, wrappingKeyId: 13 } });
    expectCode('AUTH_FAILED', () => alice.open(1, old, Uint8Array.of()));
    expect(alice.open(1, admin.seal(12, Uint8Array.of(2), Uint8Array.of()), Uint8Array.of())).toEqual(Uint8Array.of(2));
  });
});
