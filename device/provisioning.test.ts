import { x25519 } from '@noble/curves/ed25519.js';
import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { propertyParams } from '../testing/runConfig.ts';
import { Manufacturer, verifyIdentity } from './attestation.ts';
import { isDeviceError } from './deviceError.ts';
import { Flash } from './flash.ts';
import { identityFingerprint, provisionUserDevice } from './provisioning.ts';
import type { ProvisioningKeyIds } from './provisioning.ts';
import { PowerLossError } from './powerLossError.ts';
import { encodeAckHeader } from './acknowledgement.ts';
import { SecubeDevice, testOnlyHooks } from './secube.ts';
import type { ProvisioningPeer } from './secube.ts';
import {
  ADMIN_PIN,
  expectCode,
  makeDevice,
  makeProvisionedPair,
  PAIR_IDS,
  reboot,
  recordUpdate,
  relogin,
  TEST_MANUFACTURER,
  USER_PIN,
} from './secube.testkit.ts';

const text = (s: string): Uint8Array => new TextEncoder().encode(s);
/** The header of an acknowledgement of update `sequence` by device `d`. */
const ackHeader = (d: SecubeDevice, sequence: number): Uint8Array =>
  encodeAckHeader({ userId: 'U1', serial: d.serial, sequence, fileHash: new Uint8Array(32) });
/** What a host relays about a device: serial, identity public key and certificate. */
const peerOf = (d: SecubeDevice): ProvisioningPeer => ({
  serial: d.serial,
  publicKey: d.identityPublicKey,
  certificate: d.certificate,
});
const { adminToUserKeyId: A2U, userToAdminKeyId: U2A, wrappingKeyId: WRAP } = PAIR_IDS;

/** One admin device and two users; the admin holds each user's keys under its own IDs, as a KMS would. */
function fleet(): {
  admin: SecubeDevice;
  alice: SecubeDevice;
  bob: SecubeDevice;
  aliceIds: ProvisioningKeyIds;
  bobIds: ProvisioningKeyIds;
} {
  const admin = makeDevice('prov-admin').device;
  const alice = makeDevice('prov-alice').device;
  const bob = makeDevice('prov-bob').device;
  for (const d of [admin, alice, bob]) d.login('admin', ADMIN_PIN);
  const aliceIds = { adminToUserKeyId: 1000, userToAdminKeyId: 1001, wrappingKeyId: 1002 };
  const bobIds = { adminToUserKeyId: 1003, userToAdminKeyId: 1004, wrappingKeyId: 1005 };
  provisionUserDevice(admin, alice, aliceIds);
  provisionUserDevice(admin, bob, bobIds);
  return { admin, alice, bob, aliceIds, bobIds };
}

describe('provisioning (X25519 + HKDF-SHA256 inside both devices, direction-separated keys)', () => {
  it('stores the three keys under the same IDs with the purposes of each side', () => {
    const { admin, user } = makeProvisionedPair('purposes');
    expect([A2U, U2A, WRAP].map((id) => admin.device.keyInfo(id).purpose)).toEqual(['seal', 'open', 'wrap']);
    expect([A2U, U2A, WRAP].map((id) => user.device.keyInfo(id).purpose)).toEqual(['open', 'ack', 'unwrap']);
    for (const id of [A2U, U2A, WRAP]) {
      expect(user.device.keyInfo(id).bits).toBe(256);
      expect(testOnlyHooks(user.device).readKey(id)).toEqual(testOnlyHooks(admin.device).readKey(id));
    }
    // Three independent keys (RFC 5869 §3.2: distinct info), not one key three times.
    const [a, b, c] = [A2U, U2A, WRAP].map((id) => Buffer.from(testOnlyHooks(user.device).readKey(id)).toString('hex'));
    expect(new Set([a, b, c]).size).toBe(3);
  });

  it('derives exactly the documented HKDF-SHA256 outputs (RFC 5869) from the X25519 secret (RFC 7748)', () => {
    const { admin, user } = makeProvisionedPair('formula');
    const shared = x25519.getSharedSecret(
      testOnlyHooks(admin.device).readIdentitySecret(),
      user.device.identityPublicKey,
    );
    expect(
      x25519.getSharedSecret(testOnlyHooks(user.device).readIdentitySecret(), admin.device.identityPublicKey),
    ).toEqual(shared);
    const transcript = Buffer.concat([
      text(admin.device.serial),
      admin.device.identityPublicKey,
      text(user.device.serial),
      user.device.identityPublicKey,
    ]);
    const derive = (label: string): Uint8Array =>
      hkdf(sha256, shared, undefined, Buffer.concat([text(label), Uint8Array.of(0), transcript]), 32);
    expect(testOnlyHooks(user.device).readKey(A2U)).toEqual(derive('SEkey-TS provisioning v2 admin-to-user channel'));
    expect(testOnlyHooks(user.device).readKey(U2A)).toEqual(derive('SEkey-TS provisioning v2 user-to-admin channel'));
    expect(testOnlyHooks(user.device).readKey(WRAP)).toEqual(derive('SEkey-TS provisioning v2 wrapping'));
  });

  it(
    'admin→user: the admin seals, the user opens (in a user session); user→admin: the user acknowledges, the admin ' +
      'opens',
    () => {
      const { admin, user } = makeProvisionedPair('directions');
      relogin(user.device, 'user');
      const aad = text('update for user #1');
      const sealed = admin.device.seal(A2U, text('hello user'), aad);
      expect(new TextDecoder().decode(user.device.open(A2U, sealed, aad))).toBe('hello user');
      expectCode('AuthFailed', () => user.device.open(A2U, sealed, text('update for user #2')));
      recordUpdate(admin.device, user.device, 1);
      const header = ackHeader(user.device, 1);
      const ack = user.device.acknowledge(U2A, header);
      expect(admin.device.open(U2A, ack, header)).toEqual(new Uint8Array(0));
    },
  );

  it('the user host cannot seal under admin→user nor open under user→admin (no forged admin messages, W1)', () => {
    const { admin, user } = makeProvisionedPair('no-forgery');
    for (const level of ['user', 'admin'] as const) {
      relogin(user.device, level);
      const u = user.device;
      expectCode('WrongKeyPurpose', () => u.seal(A2U, text('forged update'), text('update for user #1')));
      expectCode('WrongKeyPurpose', () => u.encrypt(A2U, text('forged update')));
      expectCode('WrongKeyPurpose', () => u.decrypt(A2U, new Uint8Array(12), new Uint8Array(32)));
      expectCode('WrongKeyPurpose', () => u.seal(U2A, text('x'), text('a')));
      expectCode('WrongKeyPurpose', () => u.open(U2A, new Uint8Array(40), text('a')));
      expectCode('WrongKeyPurpose', () => u.acknowledge(A2U, ackHeader(u, 1)));
      expectCode('WrongKeyPurpose', () => u.encrypt(U2A, text('x')));
      expectCode('WrongKeyPurpose', () => u.seal(WRAP, text('x'), text('a')));
      expectCode('WrongKeyPurpose', () => u.open(WRAP, new Uint8Array(40), text('a')));
    }
    // Nor can the admin host read its own outgoing messages or write the user's acknowledgements.
    const a = admin.device;
    expectCode('WrongKeyPurpose', () => a.open(A2U, a.seal(A2U, text('x'), text('a')), text('a')));
    expectCode('WrongKeyPurpose', () => a.seal(U2A, text('forged ack'), text('a')));
    expectCode('WrongKeyPurpose', () => a.acknowledge(U2A, ackHeader(a, 0)));
    expectCode('WrongKeyPurpose', () => a.encrypt(A2U, text('x')));
    // A message in one direction is not accepted as one in the other: different keys.
    relogin(user.device, 'user');
    recordUpdate(admin.device, user.device, 1);
    const header = ackHeader(user.device, 1);
    const ack = user.device.acknowledge(U2A, header);
    expectCode('AuthFailed', () => user.device.open(A2U, ack, header));
  });

  it(
    'admin exportWrapped under wrap → user importWrapped under unwrap at user level → both encrypt and decrypt ' +
      'alike',
    () => {
      const { admin, user } = makeProvisionedPair('wrapping');
      admin.device.generateKey(5000); // a group key, made by the admin TRNG
      const { blob } = admin.device.exportWrapped(5000, WRAP, 1);
      relogin(user.device, 'user');
      expect(user.device.importWrapped(5000, blob, WRAP)).toEqual({ id: 5000, purpose: 'data', bits: 256 });
      const { nonce, ciphertext } = admin.device.encrypt(5000, text('group secret'), { aad: Uint8Array.of(9) });
      expect(new TextDecoder().decode(user.device.decrypt(5000, nonce, ciphertext, Uint8Array.of(9)))).toBe(
        'group secret',
      );
      const back = user.device.encrypt(5000, Uint8Array.of(4));
      expect(admin.device.decrypt(5000, back.nonce, back.ciphertext)).toEqual(Uint8Array.of(4));
      const sealed = user.device.seal(5000, Uint8Array.of(7), Uint8Array.of(1));
      expect(admin.device.open(5000, sealed, Uint8Array.of(1))).toEqual(Uint8Array.of(7));
    },
  );

  it('the user device can neither export nor wrap, and the admin device cannot unwrap under its wrap key', () => {
    const { admin, user } = makeProvisionedPair('one-way-wrap');
    admin.device.generateKey(5000);
    const { blob } = admin.device.exportWrapped(5000, WRAP, 1);
    relogin(user.device, 'user');
    user.device.importWrapped(5000, blob, WRAP);
    user.device.generateKey(6000);
    expectCode('AccessDenied', () => user.device.exportWrapped(5000, WRAP, 1));
    expectCode('AccessDenied', () => user.device.exportWrapped(6000, WRAP, 1));
    // Even with the user device's admin PIN: its wrapping key is an unwrap key.
    relogin(user.device, 'admin');
    expectCode('WrongKeyPurpose', () => user.device.exportWrapped(5000, WRAP, 1));
    expectCode('WrongKeyPurpose', () => user.device.exportWrapped(6000, A2U, 1));
    expectCode('WrongKeyPurpose', () => user.device.exportWrapped(WRAP, WRAP, 1));
    // The admin device wraps but never unwraps, and never exports a channel or wrapping key.
    expectCode('WrongKeyPurpose', () => admin.device.importWrapped(5001, blob, WRAP));
    expectCode('WrongKeyPurpose', () => admin.device.exportWrapped(A2U, WRAP, 1));
    expectCode('WrongKeyPurpose', () => admin.device.exportWrapped(WRAP, WRAP, 1));
    expect(admin.device.listKeyIds()).toEqual([A2U, U2A, WRAP, 5000]);
  });

  it('derives the keys of each pair only: another user can neither open nor unwrap', () => {
    const { admin, alice, bob, aliceIds, bobIds } = fleet();
    const aad = Uint8Array.of(0);
    const forAlice = admin.seal(aliceIds.adminToUserKeyId, Uint8Array.of(1, 2, 3), aad);
    expect(alice.open(aliceIds.adminToUserKeyId, forAlice, aad)).toEqual(Uint8Array.of(1, 2, 3));
    expectCode('AuthFailed', () => bob.open(bobIds.adminToUserKeyId, forAlice, aad));
    admin.generateKey(5000);
    const { blob } = admin.exportWrapped(5000, aliceIds.wrappingKeyId, 1);
    expectCode('UnwrapFailed', () => bob.importWrapped(5000, blob, bobIds.wrappingKeyId));
    expect(bob.listKeyIds()).not.toContain(5000);
    const readKey = (d: SecubeDevice, id: number): Uint8Array => testOnlyHooks(d).readKey(id);
    expect(readKey(alice, 1000)).toEqual(readKey(admin, 1000));
    expect(readKey(bob, 1003)).toEqual(readKey(admin, 1003));
    expect(readKey(alice, 1000)).not.toEqual(readKey(bob, 1003));
  });

  it('reports public values only, with comparable fingerprints', () => {
    const admin = makeDevice('prov-admin').device;
    const alice = makeDevice('prov-alice').device;
    admin.login('admin', ADMIN_PIN);
    alice.login('admin', ADMIN_PIN);
    const result = provisionUserDevice(admin, alice, PAIR_IDS);
    expect(result).toEqual({
      adminSerial: admin.serial,
      userSerial: alice.serial,
      adminFingerprint: identityFingerprint(admin.identityPublicKey),
      userFingerprint: identityFingerprint(alice.identityPublicKey),
    });
    expect(result.adminFingerprint).toMatch(/^([0-9a-f]{4}:){7}[0-9a-f]{4}$/);
  });

  it('needs admin sessions on both devices, distinct IDs, a valid peer and role, and replace to re-provision', () => {
    const admin = makeDevice('prov-admin').device;
    const alice = makeDevice('prov-alice').device;
    expectCode('NotLoggedIn', () => provisionUserDevice(admin, alice, PAIR_IDS));
    admin.login('admin', ADMIN_PIN);
    alice.login('user', USER_PIN);
    expectCode('AccessDenied', () => provisionUserDevice(admin, alice, PAIR_IDS));
    expectCode('AccessDenied', () => alice.installProvisionedKeys({ role: 'user', peer: peerOf(admin), ...PAIR_IDS }));
    relogin(alice, 'admin');
    for (const ids of [
      { ...PAIR_IDS, wrappingKeyId: PAIR_IDS.adminToUserKeyId },
      { ...PAIR_IDS, userToAdminKeyId: PAIR_IDS.adminToUserKeyId },
      { ...PAIR_IDS, userToAdminKeyId: PAIR_IDS.wrappingKeyId },
    ]) {
      expectCode('BadArgument', () => provisionUserDevice(admin, alice, ids));
      expectCode('BadArgument', () => admin.installProvisionedKeys({ role: 'admin', peer: peerOf(alice), ...ids }));
    }
    expectCode('BadArgument', () => provisionUserDevice(admin, alice, { ...PAIR_IDS, wrappingKeyId: 2 ** 29 }));
    const good = peerOf(alice);
    // A low-order key is refused by X25519 even when certified (RFC 7748 §6.1).
    const zero = new Uint8Array(32);
    expectCode('BadArgument', () =>
      admin.installProvisionedKeys({
        role: 'admin',
        peer: { ...good, publicKey: zero, certificate: TEST_MANUFACTURER.certify(good.serial, zero) },
        ...PAIR_IDS,
      }),
    );
    expectCode('BadArgument', () =>
      admin.installProvisionedKeys({ role: 'admin', peer: { ...good, publicKey: new Uint8Array(31) }, ...PAIR_IDS }),
    );
    expectCode('BadArgument', () =>
      admin.installProvisionedKeys({ role: 'admin', peer: { ...good, serial: 'short' }, ...PAIR_IDS }),
    );
    expectCode('BadArgument', () =>
      admin.installProvisionedKeys({
        role: 'admin',
        peer: { ...good, serial: `é${good.serial.slice(1)}` },
        ...PAIR_IDS,
      }),
    );
    expectCode('BadArgument', () => admin.installProvisionedKeys({ role: 'peer' as 'admin', peer: good, ...PAIR_IDS }));
    expect(admin.listKeyIds()).toEqual([]);
    expect(alice.listKeyIds()).toEqual([]);
    provisionUserDevice(admin, alice, PAIR_IDS);
    const channel = testOnlyHooks(alice).readKey(A2U);
    expectCode('KeyExists', () => provisionUserDevice(admin, alice, PAIR_IDS));
    // Idempotent: re-running with replace installs the very same keys, with the same purposes.
    provisionUserDevice(admin, alice, PAIR_IDS, { replace: true });
    expect(testOnlyHooks(alice).readKey(A2U)).toEqual(channel);
    expect(testOnlyHooks(admin).readKey(A2U)).toEqual(channel);
    expect(alice.keyInfo(A2U).purpose).toBe('open');
    expect(admin.listKeyIds()).toEqual([A2U, U2A, WRAP]);
  });

  it('refuses a request one of whose keys it could not store, before writing any of them', () => {
    const admin = makeDevice('prov-admin').device;
    const alice = makeDevice('prov-alice').device;
    admin.login('admin', ADMIN_PIN);
    alice.login('admin', ADMIN_PIN);
    alice.generateKey(WRAP); // a data key squatting on the wrapping key's ID
    const peer = peerOf(admin);
    expectCode('KeyExists', () => alice.installProvisionedKeys({ role: 'user', peer, ...PAIR_IDS }));
    expectCode('BadArgument', () => alice.installProvisionedKeys({ role: 'user', peer, ...PAIR_IDS, replace: true }));
    expect(alice.listKeyIds()).toEqual([WRAP]);
    expect(alice.keyInfo(WRAP).purpose).toBe('data');
    // provisionUserDevice checks both devices first: the admin side, which could store its keys, stores none.
    expectCode('KeyExists', () => provisionUserDevice(admin, alice, PAIR_IDS));
    expectCode('BadArgument', () => provisionUserDevice(admin, alice, PAIR_IDS, { replace: true }));
    expect(admin.listKeyIds()).toEqual([]);
    expect(alice.listKeyIds()).toEqual([WRAP]);
    // A device is never paired with itself: it would hold both the seal and the open side of a channel.
    expectCode('BadArgument', () => provisionUserDevice(admin, admin, PAIR_IDS));
    expectCode('BadArgument', () => admin.installProvisionedKeys({ role: 'user', peer: peerOf(admin), ...PAIR_IDS }));
    expect(admin.listKeyIds()).toEqual([]);
  });

  it('after a factory reset the user device has a new identity, so the old channel keys cannot come back', () => {
    const admin = makeDevice('prov-admin').device;
    const alice = makeDevice('prov-alice').device;
    admin.login('admin', ADMIN_PIN);
    alice.login('admin', ADMIN_PIN);
    provisionUserDevice(admin, alice, PAIR_IDS);
    const old = admin.seal(A2U, Uint8Array.of(1), Uint8Array.of());
    alice.factoryReset({ userPin: USER_PIN, adminPin: ADMIN_PIN, manufacturer: TEST_MANUFACTURER });
    alice.login('admin', ADMIN_PIN);
    const fresh = { adminToUserKeyId: 2000, userToAdminKeyId: 2001, wrappingKeyId: 2002 };
    provisionUserDevice(admin, alice, fresh);
    alice.installProvisionedKeys({ role: 'user', peer: peerOf(admin), ...PAIR_IDS });
    expectCode('AuthFailed', () => alice.open(A2U, old, Uint8Array.of()));
    expect(alice.open(2000, admin.seal(2000, Uint8Array.of(2), Uint8Array.of()), Uint8Array.of())).toEqual(
      Uint8Array.of(2),
    );
  });

  it(
    'a power cut during provisioning of the user device leaves a subset of the keys; rerunning with replace ' +
      'completes it',
    () => {
      fc.assert(
        fc.property(fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 2 ** 31 - 1 }), (cutAt, flashSeed) => {
          const admin = makeDevice('cut-prov-admin').device;
          const user = makeDevice('cut-prov-user', { flashSeed });
          admin.login('admin', ADMIN_PIN);
          user.device.login('admin', ADMIN_PIN);
          user.flash.cutPowerAfter(cutAt);
          try {
            provisionUserDevice(admin, user.device, PAIR_IDS);
          } catch (e) {
            expect(e).toBeInstanceOf(PowerLossError);
            user.device.powerOn();
          }
          user.flash.cancelPowerCut();
          const again = reboot(user);
          again.login('admin', ADMIN_PIN);
          const present = again.listKeyIds();
          // Whatever landed is whole and has its user-side purpose.
          for (const id of present) {
            expect(testOnlyHooks(again).readKey(id)).toEqual(testOnlyHooks(admin).readKey(id));
            expect(again.keyInfo(id).purpose).toBe({ [A2U]: 'open', [U2A]: 'ack', [WRAP]: 'unwrap' }[id]);
          }
          provisionUserDevice(admin, again, PAIR_IDS, { replace: true });
          expect(again.listKeyIds()).toEqual([A2U, U2A, WRAP]);
          relogin(again, 'user');
          expect(again.open(A2U, admin.seal(A2U, Uint8Array.of(5), Uint8Array.of()), Uint8Array.of())).toEqual(
            Uint8Array.of(5),
          );
        }),
        propertyParams(15),
      );
    },
  );
});

describe("provisioning refuses identities the device's manufacturer did not certify (attestation)", () => {
  /** An admin device holding a data key the attacker wants, and the IDs the attacker would use. */
  function target(): { admin: SecubeDevice; alice: SecubeDevice; before: number[] } {
    const admin = makeDevice('attack-admin').device;
    const alice = makeDevice('attack-alice').device;
    admin.login('admin', ADMIN_PIN);
    alice.login('admin', ADMIN_PIN);
    admin.generateKey(42);
    return { admin, alice, before: admin.listKeyIds() };
  }

  it('a host-made X25519 pair is refused, with or without a certificate, and nothing is installed', () => {
    const { admin, alice, before } = target();
    // Malware on the admin host makes its own identity: it knows the secret, so it would know the wrapping key.
    const host = x25519.keygen();
    const evil = Manufacturer.generate('malware');
    const bob = makeDevice('attack-bob').device;
    const candidates: { why: string; peer: ProvisioningPeer }[] = [
      {
        why: 'no certificate',
        peer: { serial: alice.serial, publicKey: host.publicKey, certificate: new Uint8Array(0) },
      },
      {
        why: 'missing field',
        peer: { serial: alice.serial, publicKey: host.publicKey } as unknown as ProvisioningPeer,
      },
      {
        why: 'random bytes',
        peer: { serial: alice.serial, publicKey: host.publicKey, certificate: new Uint8Array(64).fill(0xa5) },
      },
      { why: "a genuine device's certificate, host key", peer: { ...peerOf(alice), publicKey: host.publicKey } },
      {
        why: 'self-made manufacturer',
        peer: {
          serial: alice.serial,
          publicKey: host.publicKey,
          certificate: evil.certify(alice.serial, host.publicKey),
        },
      },
      {
        why: 'forged: flipped genuine signature',
        peer: { ...peerOf(alice), certificate: peerOf(alice).certificate.map((b, i) => (i === 0 ? b ^ 1 : b)) },
      },
      { why: 'certificate for another serial', peer: { ...peerOf(bob), serial: alice.serial } },
      {
        why: 'genuine manufacturer, another serial',
        peer: {
          serial: alice.serial,
          publicKey: host.publicKey,
          certificate: TEST_MANUFACTURER.certify(bob.serial, host.publicKey),
        },
      },
    ];
    for (const { why, peer } of candidates) {
      for (const replace of [false, true]) {
        try {
          admin.installProvisionedKeys({ role: 'admin', peer, ...PAIR_IDS, replace });
          expect.unreachable(`accepted: ${why}`);
        } catch (e) {
          expect(isDeviceError(e, 'UntrustedPeer'), `${why}: ${String(e)}`).toBe(true);
        }
      }
    }
    expect(admin.listKeyIds()).toEqual(before);
    // So no wrapping key exists under which key 42 could leave the device.
    expectCode('UnknownKey', () => admin.exportWrapped(42, WRAP, 1));
    // The honest pairing still works, and both sides agree.
    provisionUserDevice(admin, alice, PAIR_IDS);
    expect(testOnlyHooks(alice).readKey(WRAP)).toEqual(testOnlyHooks(admin).readKey(WRAP));
  });

  it('a genuine device of another manufacturer is refused by both sides, before either writes', () => {
    const { admin, before } = target();
    const other = Manufacturer.generate('other-factory');
    const foreign = makeDevice('foreign-user');
    const flash = new Flash({ seed: 3 });
    const stranger = new SecubeDevice({ flash, seed: 'stranger', pinIterations: 10, testHooks: true });
    stranger.factoryInit({ userPin: USER_PIN, adminPin: ADMIN_PIN, manufacturer: other });
    stranger.login('admin', ADMIN_PIN);
    expect(verifyIdentity(other.publicKey, stranger.serial, stranger.identityPublicKey, stranger.certificate)).toBe(
      true,
    );
    expectCode('UntrustedPeer', () => provisionUserDevice(admin, stranger, PAIR_IDS));
    expectCode('UntrustedPeer', () =>
      stranger.installProvisionedKeys({ role: 'user', peer: peerOf(admin), ...PAIR_IDS }),
    );
    expectCode('UntrustedPeer', () => provisionUserDevice(stranger, admin, PAIR_IDS));
    expect(admin.listKeyIds()).toEqual(before);
    expect(stranger.listKeyIds()).toEqual([]);
    expect(foreign.device.manufacturerPublicKey).toEqual(TEST_MANUFACTURER.publicKey);
  });

  it('every device carries the root and a certificate of its identity, which survive a reboot', () => {
    const t = makeDevice('attest-reboot');
    const { device } = t;
    expect(device.manufacturerPublicKey).toEqual(TEST_MANUFACTURER.publicKey);
    expect(
      verifyIdentity(device.manufacturerPublicKey, device.serial, device.identityPublicKey, device.certificate),
    ).toBe(true);
    const again = reboot(t);
    expect(again.manufacturerPublicKey).toEqual(TEST_MANUFACTURER.publicKey);
    expect(again.certificate).toEqual(device.certificate);
    // The rebooted device still provisions (and checks) as before.
    const admin = makeDevice('attest-reboot-admin').device;
    admin.login('admin', ADMIN_PIN);
    again.login('admin', ADMIN_PIN);
    provisionUserDevice(admin, again, PAIR_IDS);
    expect(again.listKeyIds()).toEqual([A2U, U2A, WRAP]);
  });

  it('a factory reset keeps the root and re-certifies the new identity; only the same manufacturer may reset', () => {
    const t = makeDevice('attest-reset');
    const { device } = t;
    const oldCert = device.certificate;
    const oldKey = device.identityPublicKey;
    device.login('admin', ADMIN_PIN);
    device.generateKey(9);
    expectCode('WrongManufacturer', () =>
      device.factoryReset({
        userPin: 'other-user',
        adminPin: 'other-admin',
        manufacturer: Manufacturer.generate('other-factory'),
      }),
    );
    // Refused before anything changed: same keys, same PINs, same identity.
    expect(device.listKeyIds()).toEqual([9]);
    expect(device.identityPublicKey).toEqual(oldKey);
    device.factoryReset({ userPin: 'new-user-pin', adminPin: 'new-admin-pin', manufacturer: TEST_MANUFACTURER });
    expect(device.identityPublicKey).not.toEqual(oldKey);
    expect(device.certificate).not.toEqual(oldCert);
    expect(device.manufacturerPublicKey).toEqual(TEST_MANUFACTURER.publicKey);
    expect(
      verifyIdentity(TEST_MANUFACTURER.publicKey, device.serial, device.identityPublicKey, device.certificate),
    ).toBe(true);
    // The old certificate does not vouch for the new key.
    expect(verifyIdentity(TEST_MANUFACTURER.publicKey, device.serial, device.identityPublicKey, oldCert)).toBe(false);
    const again = reboot(t);
    expect(again.certificate).toEqual(device.certificate);
    expect(again.identityPublicKey).toEqual(device.identityPublicKey);
  });
});
