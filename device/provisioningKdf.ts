/**
 * The provisioning key derivation: from the X25519 secret shared by the admin device and a user
 * device to their three keys, direction-separated (see `provisioning.ts` for who uses which).
 *
 * shared = X25519(own identity secret, peer identity public key) (RFC 7748 §6.1), then for each key
 * K = HKDF-SHA256(IKM = shared, no salt, info = label ‖ 0x00 ‖ admin serial ‖ admin public key ‖
 * user serial ‖ user public key, L = 32) (RFC 5869 §2.2 extract, §2.3 expand; no salt per §3.1:
 * the IKM is already a uniformly distributed DH output hashed by the extract step), with the labels
 * of {@link PROVISIONING_LABELS}. Distinct info strings give independent keys (§3.2); the 0x00
 * after each label keeps any label from being a prefix of another's info, and serials (32 ASCII
 * characters) and public keys (32 bytes, RFC 7748 §5) have fixed lengths, so the info is
 * unambiguous. Both devices compute the same bytes and nothing secret crosses the host.
 *
 * A pure function of its inputs: the device calls it inside, after checking the peer's certificate;
 * tests call it with published X25519 vectors (RFC 7748 §6.1) to pin the outputs.
 * @module
 */
import { concatBytes } from '@noble/hashes/utils.js';
import type { CycleMeter } from './costModel.ts';
import { DeviceError } from './deviceError.ts';
import { SERIAL_LENGTH } from './deviceState.ts';
import { AES256_KEY_BYTES, hkdfSha256 } from './meteredCrypto.ts';
import { utf8 } from './binaryCodec.ts';

/** The three provisioned keys of a pair, in the order the device stores them. */
export const PROVISIONED_KEY_NAMES = Object.freeze(['adminToUser', 'userToAdmin', 'wrapping'] as const);

/** Name of one provisioned key. */
export type ProvisionedKeyName = (typeof PROVISIONED_KEY_NAMES)[number];

/**
 * HKDF info labels (RFC 5869 §3.2: info binds each derived key to its use), one per derived key;
 * each is followed by a 0x00 byte in the info.
 */
export const PROVISIONING_LABELS: Readonly<Record<ProvisionedKeyName, string>> = Object.freeze({
  adminToUser: 'SEkey-TS provisioning v2 admin-to-user channel',
  userToAdmin: 'SEkey-TS provisioning v2 user-to-admin channel',
  wrapping: 'SEkey-TS provisioning v2 wrapping',
});

/** One side of the pair, as the info names it: public values only. */
export interface ProvisioningParty {
  /** The device serial: {@link SERIAL_LENGTH} ASCII characters. */
  readonly serial: string;
  /** The device's X25519 identity public key (32 bytes, RFC 7748 §5). */
  readonly publicKey: Uint8Array;
}

/** Inputs of the derivation. */
export interface ProvisioningKdfInput {
  /** X25519(admin secret, user public) = X25519(user secret, admin public) (RFC 7748 §6.1). */
  readonly sharedSecret: Uint8Array;
  readonly admin: ProvisioningParty;
  readonly user: ProvisioningParty;
}

/** The three derived keys, 32 bytes each. */
export type ProvisioningKeys = Readonly<Record<ProvisionedKeyName, Uint8Array>>;

function partyBytes(party: ProvisioningParty, side: string): Uint8Array {
  const serial = utf8(party.serial);
  if (serial.length !== SERIAL_LENGTH || party.serial.length !== SERIAL_LENGTH)
    throw new DeviceError('BadArgument', `the ${side} serial must be ${SERIAL_LENGTH} ASCII characters`);
  if (party.publicKey.length !== 32)
    throw new DeviceError('BadArgument', `the ${side} public key must be 32 bytes (RFC 7748 §5)`);
  return concatBytes(serial, party.publicKey);
}

/**
 * The HKDF info of key `name`: label ‖ 0x00 ‖ admin serial ‖ admin public key ‖ user serial ‖ user
 * public key (RFC 5869 §3.2).
 * @throws DeviceError `BadArgument` for a serial or public key of the wrong length.
 */
export function provisioningInfo(
  name: ProvisionedKeyName,
  admin: ProvisioningParty,
  user: ProvisioningParty,
): Uint8Array {
  return concatBytes(
    utf8(PROVISIONING_LABELS[name]),
    Uint8Array.of(0),
    partyBytes(admin, 'admin'),
    partyBytes(user, 'user'),
  );
}

/**
 * Key `name` = HKDF-SHA256(shared, no salt, {@link provisioningInfo}, 32) (RFC 5869 §2.2–2.3).
 * `meter`, when given, is charged the modelled cost and changes nothing else. The caller owns (and
 * should wipe) the result.
 * @throws DeviceError `BadArgument` for a shared secret that is not 32 bytes, or bad party values.
 */
export function deriveProvisioningKey(
  input: ProvisioningKdfInput,
  name: ProvisionedKeyName,
  meter?: CycleMeter,
): Uint8Array {
  if (input.sharedSecret.length !== 32)
    throw new DeviceError('BadArgument', 'an X25519 shared secret is 32 bytes (RFC 7748 §6.1)');
  return hkdfSha256(
    input.sharedSecret,
    undefined,
    provisioningInfo(name, input.admin, input.user),
    AES256_KEY_BYTES,
    meter,
  );
}

/** All three keys of {@link deriveProvisioningKey}, by name. */
export function deriveProvisioningKeys(input: ProvisioningKdfInput): ProvisioningKeys {
  return {
    adminToUser: deriveProvisioningKey(input, 'adminToUser'),
    userToAdmin: deriveProvisioningKey(input, 'userToAdmin'),
    wrapping: deriveProvisioningKey(input, 'wrapping'),
  };
}
