/**
 * Provisioning of a user device by the admin device, without any key in host memory.
 *
 * The original copies the per-user keys k1/k2 from the admin SEcube to the user SEcube through the
 * host in clear (W3). Here each device has an X25519 identity key pair created inside it at factory
 * init; the host relays only serials and public keys, and each device derives the same three keys by
 * X25519 (RFC 7748 §6.1) and HKDF-SHA256 (RFC 5869, one info label per key, both serials and both
 * public keys in the info) and stores them under the IDs it is given:
 *
 * | key                   | admin device | user device | used for |
 * |-----------------------|--------------|-------------|----------|
 * | admin→user channel    | `seal`       | `open`      | update files, delete orders (`deleteOrder.ts`) |
 * | user→admin channel    | `open`       | `ack`       | acknowledgements (`SecubeDevice.acknowledge` only) |
 * | wrapping (AES-KW KEK) | `wrap`       | `unwrap`    | data keys inside update files (RFC 3394) |
 *
 * The original used one k1 for both directions, so whoever can encrypt under it on the user device —
 * the user's own host — can forge admin update files (W1). With direction-separated purposes the user
 * device can only open what the admin sends and only import, never export, keys. The exact
 * derivation is the pure `deriveProvisioningKey` (`provisioningKdf.ts`), pinned by known-answer
 * tests; each device runs it in `installProvisionedKeys` (`secubeProvisioning.ts`).
 *
 * Each identity key is certified at the factory (`attestation.ts`): a device derives nothing until
 * its peer's certificate verifies against the manufacturer key burned into it, so the host cannot
 * substitute a key pair of its own (whose secret it would know). It could still swap one genuine
 * device for another genuine device; provisioning is meant to run with both devices on the admin's
 * own machine, as in the original, and {@link identityFingerprint} lets the admin compare, out of
 * band, what each device reports.
 * Whoever holds a user device's admin PIN could also run `installProvisionedKeys` on it with the
 * `admin` role and so obtain a `seal` copy of the admin→user key: the direction separation protects
 * against the user-level host, and the user device's admin PIN must stay with the administrator.
 * @module
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { DeviceError } from './deviceError.ts';
import { PROVISIONED_PURPOSES } from './keyPurpose.ts';
import type { ProvisioningKeyIds, SecubeDevice } from './secube.ts';

export type { ProvisioningKeyIds } from './secube.ts';

/** What {@link provisionUserDevice} reports: public values only. */
export interface ProvisioningResult {
  readonly adminSerial: string;
  readonly userSerial: string;
  /** Fingerprints of both identity keys, for an out-of-band comparison. */
  readonly adminFingerprint: string;
  readonly userFingerprint: string;
}

/**
 * A short fingerprint of an identity public key: the first 128 bits of SHA-256 (FIPS 180-4), in
 * hex groups of four, for people to compare.
 */
export function identityFingerprint(publicKey: Uint8Array): string {
  const hex = Buffer.from(sha256(publicKey).subarray(0, 16)).toString('hex');
  return hex.match(/.{4}/g)?.join(':') ?? hex;
}

/**
 * Runs the exchange between the admin device and a user device, both in admin sessions: each
 * derives the two channel keys and the wrapping key and stores them under the same `ids`, with the
 * purposes of its side (table above). Only serials and public keys pass through this (host) code.
 * The admin device holds the keys of every user, so give each user its own three IDs there.
 *
 * Sessions, IDs and the keys already present on both devices are checked before either device
 * writes, so a request that one side would refuse changes neither. The derivation is deterministic,
 * so if the run stops half-way anyway (a power cut between two key writes), running it again with
 * `replace` installs the very same keys: the exchange is idempotent rather than atomic across two
 * devices.
 * @param options.replace re-provision: replace keys already stored under these IDs (same purposes).
 * @throws DeviceError `UntrustedPeer` (a device's certificate does not verify against the other's
 *   root of trust; checked by each device before it derives anything), `NotLoggedIn` /
 *   `AccessDenied` (no admin session on a device),
 *   `BadArgument` (IDs not distinct, one device twice, an existing key of another purpose),
 *   `KeyExists` (a key under one of the IDs, without `replace`).
 */
export function provisionUserDevice(
  admin: SecubeDevice,
  user: SecubeDevice,
  ids: ProvisioningKeyIds,
  options: { readonly replace?: boolean } = {},
): ProvisioningResult {
  // Checked before either device writes anything, so a request that one side would refuse changes neither.
  for (const device of [admin, user]) {
    const session = device.session;
    if (session === 'loggedOut') throw new DeviceError('NotLoggedIn', `device ${device.serial} needs an admin session`);
    if (session !== 'admin') throw new DeviceError('AccessDenied', `device ${device.serial} needs an admin session`);
  }
  if (admin.serial === user.serial) throw new DeviceError('BadArgument', 'a device cannot be provisioned with itself');
  if (new Set([ids.adminToUserKeyId, ids.userToAdminKeyId, ids.wrappingKeyId]).size !== 3) {
    throw new DeviceError('BadArgument', 'the three provisioned keys need distinct IDs');
  }
  const replace = options.replace === true;
  // Each device checks its own request before writing, but not its partner's: check both here, so that
  // a request the user device would refuse does not leave keys on the admin device (and vice versa).
  for (const [device, role] of [
    [admin, 'admin'],
    [user, 'user'],
  ] as const) {
    const present = new Set(device.listKeyIds());
    const wanted = {
      adminToUser: ids.adminToUserKeyId,
      userToAdmin: ids.userToAdminKeyId,
      wrapping: ids.wrappingKeyId,
    };
    for (const [name, id] of Object.entries(wanted) as [keyof typeof wanted, number][]) {
      if (!present.has(id)) continue;
      if (!replace)
        throw new DeviceError(
          'KeyExists',
          `device ${device.serial} already has key ${id} (pass replace to re-provision)`,
        );
      const purpose = device.keyInfo(id).purpose;
      if (purpose !== PROVISIONED_PURPOSES[role][name])
        throw new DeviceError(
          'BadArgument',
          `key ${id} on device ${device.serial} is a ${purpose} key; delete it before provisioning under its ID`,
        );
    }
  }
  // Each device verifies the other's certificate against its own root of trust before deriving.
  const adminPeer = { serial: admin.serial, publicKey: admin.identityPublicKey, certificate: admin.certificate };
  const userPeer = { serial: user.serial, publicKey: user.identityPublicKey, certificate: user.certificate };
  const keyIds = {
    adminToUserKeyId: ids.adminToUserKeyId,
    userToAdminKeyId: ids.userToAdminKeyId,
    wrappingKeyId: ids.wrappingKeyId,
  };
  admin.installProvisionedKeys({ role: 'admin', peer: userPeer, ...keyIds, replace });
  user.installProvisionedKeys({ role: 'user', peer: adminPeer, ...keyIds, replace });
  return {
    adminSerial: adminPeer.serial,
    userSerial: userPeer.serial,
    adminFingerprint: identityFingerprint(adminPeer.publicKey),
    userFingerprint: identityFingerprint(userPeer.publicKey),
  };
}
