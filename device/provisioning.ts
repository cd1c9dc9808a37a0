/**
 * Provisioning of a user device by the admin device, without any key in host memory.
 *
 * The original copies the per-user keys k1/k2 from the admin SEcube to the user SEcube through the
 * host in clear (W3). Here each device has an X25519 identity key pair created inside it at factory
 * init; the host relays only serials and public keys, and each device derives the same pair of keys
 * — an AEAD channel key and an AES-KW wrapping key — by X25519 (RFC 7748 §6.1) and HKDF-SHA256
 * (RFC 5869) with both serials and both public keys in the HKDF info, and stores them under the IDs
 * it is given. See `SecubeDevice.installProvisionedKeys` for the exact derivation.
 *
 * The host could still swap public keys (a man in the middle between two devices it relays for).
 * Provisioning is meant to run with both devices on the admin's own machine, as in the original;
 * {@link identityFingerprint} lets the admin compare, out of band, what each device reports.
 * @module
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { DeviceError } from './deviceError.ts';
import type { SecubeDevice } from './secube.ts';

/** Key IDs used on one side of a provisioned pair (each device may use its own IDs). */
export interface ProvisioningKeyIds {
  readonly channelKeyId: number;
  readonly wrappingKeyId: number;
}

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
 * derives the shared channel and wrapping keys and stores them under its own IDs. Only serials and
 * public keys pass through this (host) code.
 *
 * The derivation is deterministic, so if the run stops half-way (an error on the second device, a
 * power cut between two key writes), running it again with `replace` installs the very same keys:
 * the exchange is idempotent rather than atomic across two devices.
 * @param replace re-provision: replace keys already stored under these IDs.
 */
export function provisionUserDevice(
  admin: SecubeDevice,
  user: SecubeDevice,
  ids: { readonly admin: ProvisioningKeyIds; readonly user: ProvisioningKeyIds },
  options: { readonly replace?: boolean } = {},
): ProvisioningResult {
  // Checked before either device writes anything, so a request that one side would refuse changes neither.
  for (const device of [admin, user]) {
    const session = device.session;
    if (session === 'loggedOut') throw new DeviceError('NOT_LOGGED_IN', `device ${device.serial} needs an admin session`);
    if (session !== 'admin') throw new DeviceError('ACCESS_DENIED', `device ${device.serial} needs an admin session`);
  }
  for (const side of [ids.admin, ids.user]) {
    if (side.channelKeyId === side.wrappingKeyId) throw new DeviceError('BAD_ARGUMENT', 'channel and wrapping keys need distinct IDs');
  }
  const adminPeer = { serial: admin.serial, publicKey: admin.identityPublicKey };
  const userPeer = { serial: user.serial, publicKey: user.identityPublicKey };
  const replace = options.replace === true;
  admin.installProvisionedKeys({ role: 'admin', peer: userPeer, ...ids.admin, replace });
  user.installProvisionedKeys({ role: 'user', peer: adminPeer, ...ids.user, replace });
  return {
    adminSerial: adminPeer.serial,
    userSerial: userPeer.serial,
    adminFingerprint: identityFingerprint(adminPeer.publicKey),
    userFingerprint: identityFingerprint(userPeer.publicKey),
  };
}
