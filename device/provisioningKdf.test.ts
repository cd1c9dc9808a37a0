import { x25519 } from '@noble/curves/ed25519.js';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { describe, expect, it } from 'vitest';
import { CycleMeter } from './costModel.ts';
import { hkdfSha256 } from './meteredCrypto.ts';
import {
  PROVISIONED_KEY_NAMES,
  PROVISIONING_LABELS,
  deriveProvisioningKey,
  deriveProvisioningKeys,
  provisioningInfo,
} from './provisioningKdf.ts';
import type { ProvisionedKeyName, ProvisioningKdfInput } from './provisioningKdf.ts';
import { testOnlyHooks } from './secube.ts';
import { expectCode, makeProvisionedPair, PAIR_IDS } from './secube.testkit.ts';

const fromHex = (h: string): Uint8Array => Uint8Array.from(Buffer.from(h.replace(/\s/g, ''), 'hex'));
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** RFC 7748 §6.1 test vector: Alice is the admin device, Bob the user device. */
const RFC7748 = {
  alicePrivate: fromHex('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a'),
  alicePublic: fromHex('8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a'),
  bobPrivate: fromHex('5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb'),
  bobPublic: fromHex('de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f'),
  shared: fromHex('4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742'),
};
const ADMIN_SERIAL = '0123456789ABCDEFGHIJKLMNOPQRSTUV';
const USER_SERIAL = 'WXYZ0123456789ABCDEFGHIJKLMNOPQR';
const INPUT: ProvisioningKdfInput = {
  sharedSecret: RFC7748.shared,
  admin: { serial: ADMIN_SERIAL, publicKey: RFC7748.alicePublic },
  user: { serial: USER_SERIAL, publicKey: RFC7748.bobPublic },
};

/**
 * Known answers, computed once with this module and fixed here; the cross-check below recomputes
 * them from HMAC-SHA256 alone, so they do not merely restate the implementation.
 */
const EXPECTED: Readonly<Record<ProvisionedKeyName, string>> = {
  adminToUser: '4983f9a7eafa426fc2c0b3a611d4de04f7838d6a6bdf5f7ed31cda7e2d22d9a7',
  userToAdmin: '2cb5dc5f82a53f54bfd5bd378a3cc48baedc62638bd125cc2eb17ee20b3fe12e',
  wrapping: 'a345f3aad86eef4012be65c372a8ede76b446a67a1b8870646bd2eef1ad73a79',
};

/**
 * HKDF-SHA256 with L = 32 from its definition: PRK = HMAC(salt = 0^32, IKM) (RFC 5869 §2.2, an
 * absent salt is HashLen zeros), OKM = T(1) = HMAC(PRK, info ‖ 0x01) (§2.3).
 */
function hkdfByHand(ikm: Uint8Array, info: Uint8Array): Uint8Array {
  const prk = hmac(sha256, new Uint8Array(32), ikm);
  return hmac(sha256, prk, Uint8Array.from([...info, 0x01]));
}

/** The info of the module doc, spelled out byte by byte. */
function infoByHand(label: string): Uint8Array {
  return Uint8Array.from([
    ...Buffer.from(label, 'ascii'),
    0x00,
    ...Buffer.from(ADMIN_SERIAL, 'ascii'),
    ...RFC7748.alicePublic,
    ...Buffer.from(USER_SERIAL, 'ascii'),
    ...RFC7748.bobPublic,
  ]);
}

describe('provisioning key derivation (X25519, RFC 7748 §6.1 → HKDF-SHA256, RFC 5869)', () => {
  it('starts from the RFC 7748 §6.1 vector: both sides compute the published shared secret', () => {
    expect(x25519.getPublicKey(RFC7748.alicePrivate)).toEqual(RFC7748.alicePublic);
    expect(x25519.getPublicKey(RFC7748.bobPrivate)).toEqual(RFC7748.bobPublic);
    expect(x25519.getSharedSecret(RFC7748.alicePrivate, RFC7748.bobPublic)).toEqual(RFC7748.shared);
    expect(x25519.getSharedSecret(RFC7748.bobPrivate, RFC7748.alicePublic)).toEqual(RFC7748.shared);
  });

  it('derives the known answers', () => {
    const keys = deriveProvisioningKeys(INPUT);
    expect({
      adminToUser: toHex(keys.adminToUser),
      userToAdmin: toHex(keys.userToAdmin),
      wrapping: toHex(keys.wrapping),
    }).toEqual(EXPECTED);
    for (const name of PROVISIONED_KEY_NAMES) expect(toHex(deriveProvisioningKey(INPUT, name))).toBe(EXPECTED[name]);
  });

  it('cross-check: the known answers follow from the labels, the info layout and HMAC-SHA256 alone', () => {
    expect(PROVISIONING_LABELS).toEqual({
      adminToUser: 'SEkey-TS provisioning v2 admin-to-user channel',
      userToAdmin: 'SEkey-TS provisioning v2 user-to-admin channel',
      wrapping: 'SEkey-TS provisioning v2 wrapping',
    });
    for (const name of PROVISIONED_KEY_NAMES) {
      const info = infoByHand(PROVISIONING_LABELS[name]);
      expect(provisioningInfo(name, INPUT.admin, INPUT.user)).toEqual(info);
      expect(toHex(hkdfByHand(RFC7748.shared, info))).toBe(EXPECTED[name]);
    }
  });

  it('is direction-separated: swapping the roles gives other keys, and the three keys differ', () => {
    const swapped = deriveProvisioningKeys({ ...INPUT, admin: INPUT.user, user: INPUT.admin });
    for (const name of PROVISIONED_KEY_NAMES) expect(toHex(swapped[name])).not.toBe(EXPECTED[name]);
    expect(new Set(Object.values(EXPECTED)).size).toBe(3);
  });

  it('charges a meter exactly what the metered HKDF charges, and the meter changes no byte', () => {
    const meter = new CycleMeter();
    const reference = new CycleMeter();
    const key = deriveProvisioningKey(INPUT, 'wrapping', meter);
    hkdfSha256(RFC7748.shared, undefined, provisioningInfo('wrapping', INPUT.admin, INPUT.user), 32, reference);
    expect(meter.cycles).toBeGreaterThan(0);
    expect(meter.cycles).toBe(reference.cycles);
    expect(toHex(key)).toBe(EXPECTED.wrapping);
  });

  it('refuses inputs that would make the info ambiguous or are not X25519 sizes', () => {
    expectCode('BadArgument', () => deriveProvisioningKey({ ...INPUT, sharedSecret: new Uint8Array(31) }, 'wrapping'));
    expectCode('BadArgument', () => provisioningInfo('wrapping', { ...INPUT.admin, serial: 'SHORT' }, INPUT.user));
    // 32 characters but 33 UTF-8 bytes: not ASCII.
    expectCode('BadArgument', () =>
      provisioningInfo('wrapping', INPUT.admin, { ...INPUT.user, serial: `É${USER_SERIAL.slice(1)}` }),
    );
    // 32 UTF-8 bytes but 16 characters.
    expectCode('BadArgument', () =>
      provisioningInfo('wrapping', { ...INPUT.admin, serial: 'é'.repeat(16) }, INPUT.user),
    );
    expectCode('BadArgument', () =>
      provisioningInfo('wrapping', INPUT.admin, { ...INPUT.user, publicKey: new Uint8Array(33) }),
    );
  });

  it('is what the devices store: a provisioned pair holds exactly these keys', () => {
    const { admin, user } = makeProvisionedPair('kdf');
    const adminHooks = testOnlyHooks(admin.device);
    const keys = deriveProvisioningKeys({
      sharedSecret: x25519.getSharedSecret(adminHooks.readIdentitySecret(), user.device.identityPublicKey),
      admin: { serial: admin.device.serial, publicKey: admin.device.identityPublicKey },
      user: { serial: user.device.serial, publicKey: user.device.identityPublicKey },
    });
    const ids = {
      adminToUser: PAIR_IDS.adminToUserKeyId,
      userToAdmin: PAIR_IDS.userToAdminKeyId,
      wrapping: PAIR_IDS.wrappingKeyId,
    };
    for (const name of PROVISIONED_KEY_NAMES) {
      expect(adminHooks.readKey(ids[name])).toEqual(keys[name]);
      expect(testOnlyHooks(user.device).readKey(ids[name])).toEqual(keys[name]);
    }
  });
});
