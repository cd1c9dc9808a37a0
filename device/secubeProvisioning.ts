/**
 * DEVICE-INTERNAL. One device's half of provisioning: check the peer's identity certificate against
 * this device's root of trust (Ed25519, RFC 8032 §5.1.7; `attestation.ts`), agree the X25519 secret
 * with the peer's identity key (RFC 7748 §6.1), derive the three keys (`provisioningKdf.ts`) and
 * store each with the purpose of this side (`keyPurpose.ts`). Provisioning keys are thus derived
 * inside both devices, never sent in clear (W3), and direction-separated (W1). The host-side
 * exchange between two devices is `provisioning.ts`.
 * @module
 */
import { verifyIdentity } from './attestation.ts';
import { DeviceError } from './deviceError.ts';
import { SERIAL_ALPHABET, SERIAL_LENGTH, isSerial } from './deviceState.ts';
import { PROVISIONED_PURPOSES } from './keyPurpose.ts';
import { x25519SharedSecret } from './meteredCrypto.ts';
import { PROVISIONED_KEY_NAMES, deriveProvisioningKey } from './provisioningKdf.ts';
import type { DeviceCore } from './secubeCore.ts';
import { attestationOf, ownPublicKey } from './secubeFactory.ts';
import { checkKeyId, checkPut, putKey, wipe } from './secubeKeyAccess.ts';

/** Peer of a provisioning exchange, as the host relays it: public values only. */
export interface ProvisioningPeer {
  readonly serial: string;
  readonly publicKey: Uint8Array;
  /** The peer's identity certificate (`SecubeDevice.certificate`), checked against this device's root of trust. */
  readonly certificate: Uint8Array;
}

/**
 * Key IDs of a provisioned pair. Both devices store the three keys under these IDs; the purposes
 * differ by side (admin / user): admin→user channel `seal` / `open`, user→admin channel `open` /
 * `ack` (it seals acknowledgements only, `secubeAcknowledge.ts`), wrapping `wrap` / `unwrap`.
 */
export interface ProvisioningKeyIds {
  /** AES-256-GCM key of messages from the admin device to the user device (update files, delete orders). */
  readonly adminToUserKeyId: number;
  /** AES-256-GCM key of messages from the user device to the admin device (acknowledgements). */
  readonly userToAdminKeyId: number;
  /** AES-KW key-encryption key: the admin device wraps data keys for export, the user device unwraps them. */
  readonly wrappingKeyId: number;
}

/** What `SecubeDevice.installProvisionedKeys` derives and stores. */
export interface ProvisioningRequest extends ProvisioningKeyIds {
  /** This device's role in the pair: fixes the HKDF info order and which purpose each key gets. */
  readonly role: 'admin' | 'user';
  readonly peer: ProvisioningPeer;
  /** Replace keys already under these IDs (re-provisioning); each replacement is atomic. */
  readonly replace?: boolean;
}

/**
 * Admin session: derives the three keys shared with `request.peer` and stores them under the given
 * IDs. Every check (IDs, role, peer serial and key, certificate, existing keys) runs before the first
 * write, so a refused request changes nothing. The three keys are three flash commits; a power cut
 * between them leaves a subset, and rerunning with `replace` installs the very same keys.
 * @throws DeviceError `AccessDenied` outside an admin session, `BadArgument` (IDs not distinct, bad
 *   role, bad peer serial or public key, the device's own serial, an existing key of another
 *   purpose), `KeyExists` (without `replace`), `UntrustedPeer`, `NoRootOfTrust`.
 */
export function installProvisionedKeys(core: DeviceCore, request: ProvisioningRequest): void {
  const { state, store, level } = core.requireSession(['admin']);
  const ids = {
    adminToUser: request.adminToUserKeyId,
    userToAdmin: request.userToAdminKeyId,
    wrapping: request.wrappingKeyId,
  };
  for (const id of Object.values(ids)) checkKeyId(id);
  if (new Set(Object.values(ids)).size !== 3)
    throw new DeviceError('BadArgument', 'the three provisioned keys need distinct IDs');
  if (request.role !== 'admin' && request.role !== 'user')
    throw new DeviceError('BadArgument', `role must be admin or user, got ${String(request.role)}`);
  // Fixed-length ASCII serials keep the HKDF info unambiguous.
  if (!isSerial(request.peer.serial)) {
    throw new DeviceError('BadArgument', `peer serial must be ${SERIAL_LENGTH} characters of ${SERIAL_ALPHABET}`);
  }
  // Paired with itself, a device would hold both the seal and the open side of one channel.
  if (request.peer.serial === state.serial)
    throw new DeviceError('BadArgument', 'a device cannot be provisioned with itself');
  if (!(request.peer.publicKey instanceof Uint8Array) || request.peer.publicKey.length !== 32)
    throw new DeviceError('BadArgument', 'an X25519 public key is 32 bytes (RFC 7748 §5)');
  const { rootOfTrust } = attestationOf(core);
  // Modelled as two scalar multiplications: an Ed25519 verification is one double-base scalar
  // multiplication [S]B − [k]A (RFC 8032 §5.1.7 step 3), bounded by two variable-base ones.
  core.meter?.charge('x25519.scalarMult', 2);
  const certificate: unknown = request.peer.certificate;
  if (
    !(certificate instanceof Uint8Array) ||
    !verifyIdentity(rootOfTrust, request.peer.serial, request.peer.publicKey, certificate)
  ) {
    throw new DeviceError(
      'UntrustedPeer',
      `the identity key of peer ${request.peer.serial} is not certified by this device's manufacturer`,
    );
  }
  const purposes = PROVISIONED_PURPOSES[request.role];
  const replace = request.replace === true;
  for (const name of PROVISIONED_KEY_NAMES) checkPut(store, level, ids[name], purposes[name], replace);
  const own = { serial: state.serial, publicKey: ownPublicKey(core) };
  const [admin, user] = request.role === 'admin' ? [own, request.peer] : [request.peer, own];
  const sharedSecret = x25519SharedSecret(state.identitySecret, request.peer.publicKey, core.meter);
  try {
    for (const name of PROVISIONED_KEY_NAMES) {
      const key = deriveProvisioningKey({ sharedSecret, admin, user }, name, core.meter);
      try {
        putKey(store, level, ids[name], key, purposes[name], replace);
      } finally {
        wipe(key);
      }
    }
  } finally {
    wipe(sharedSecret);
  }
}
