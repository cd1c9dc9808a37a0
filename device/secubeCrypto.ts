/**
 * DEVICE-INTERNAL. AES-256-GCM by key ID (NIST SP 800-38D): encrypt/decrypt and in-device
 * re-encryption under data keys, and seal/open (nonce ‖ ciphertext ‖ tag) under data, channel and
 * local keys. The host passes key IDs; key bytes stay in the device and are wiped after each use.
 *
 * Nonces. Every encryption by the device (encrypt, reencrypt, seal, acknowledge) uses a nonce the
 * device draws itself: a 96-bit string from its TRNG, the random construction of NIST SP 800-38D
 * §8.2.2 (the whole IV is the random field, no free field). The host never chooses one: GCM's
 * security rests on never repeating a (key, IV) pair (§8), and a group key is shared by the HSMs of
 * every member, so a host that could pass a nonce could repeat one and recover the GHASH subkey
 * (forgeries) and the XOR of two plaintexts.
 *
 * Why random rather than the deterministic construction of §8.2.1 (fixed field ‖ invocation counter):
 * a group key encrypts on many devices at once, so the fixed field would have to be unique per
 * device for each key, which no device can know on its own (a 32-character serial alone is longer
 * than the whole 96-bit IV), and the invocation counter would have to live in flash and move forward
 * before each use (a value reused after a power cut repeats an IV): a flash program per message, or
 * per block of reserved values, against a 10,000-cycle erase endurance. The random construction
 * needs neither. Its price is §8.3: with
 * 96-bit random IVs, the total number of encryptions under one key, on all devices together, shall
 * not exceed 2^32, keeping the probability of a repeated IV below 2^-32. Cryptoperiods bound that
 * use (a group key is rotated long before: 2^32 messages is over 136 a second for a year, across
 * every member), and the device does not count encryptions per key.
 * @module
 */
import { concatBytes } from '@noble/hashes/utils.js';
import { DeviceError } from './deviceError.ts';
import { pinResetOrderAad } from './pinResetOrder.ts';
import type { KeyStore } from './keyStore.ts';
import type { KeyPurpose } from './keyPurpose.ts';
import { GCM_NONCE_BYTES, aesGcmDecrypt, aesGcmEncrypt } from './meteredCrypto.ts';
import type { DeviceCore } from './secubeCore.ts';
import { DATA_ONLY, OPENERS, SEALERS, usableKey, wipe, withKey } from './secubeKeyAccess.ts';

/**
 * Options of an encryption. There is no nonce: the device draws it (see the module comment), and an
 * options object that carries a `nonce` field anyway is refused.
 */
export interface EncryptOptions {
  /** Additional authenticated data (NIST SP 800-38D §5.2.1.1); empty when omitted. */
  readonly aad?: Uint8Array;
}

/** Result of an encryption: nonce, and ciphertext with its 16-byte tag appended. */
export interface EncryptResult {
  readonly nonce: Uint8Array;
  readonly ciphertext: Uint8Array;
}

/**
 * AES-GCM encryption under data key `keyId` (NIST SP 800-38D §7.1) with a 96-bit nonce drawn from
 * the device's TRNG (§8.2.2), fine for up to 2^32 messages per key (§8.3). Only data keys.
 * @throws DeviceError `WrongKeyPurpose` for any other key, `BadArgument` when `options` carries a
 *   `nonce` (the host never chooses one: a repeated nonce under a group key breaks GCM, §8).
 */
export function encrypt(
  core: DeviceCore,
  keyId: number,
  plaintext: Uint8Array,
  options: EncryptOptions,
): EncryptResult {
  const { store } = core.requireSession();
  usableKey(store, keyId, DATA_ONLY, 'encrypt data');
  // A caller written against the old API, or a hostile one, must not believe its nonce was used.
  if ('nonce' in options)
    throw new DeviceError(
      'BadArgument',
      'the device draws every GCM nonce itself (NIST SP 800-38D §8.2.2); a nonce cannot be passed',
    );
  const nonce = core.trng.randomBytes(GCM_NONCE_BYTES);
  const ciphertext = withKey(store, keyId, 'data', (k) =>
    aesGcmEncrypt(k, nonce, plaintext, options.aad ?? new Uint8Array(0), core.meter),
  );
  return { nonce, ciphertext };
}

/**
 * AES-GCM decryption under data key `keyId` (NIST SP 800-38D §7.2).
 * @throws DeviceError `AuthFailed` when the tag does not verify (no plaintext is released),
 *   `WrongKeyPurpose` for a key other than a data key.
 */
export function decrypt(
  core: DeviceCore,
  keyId: number,
  nonce: Uint8Array,
  ciphertext: Uint8Array,
  aad: Uint8Array,
): Uint8Array {
  const { store } = core.requireSession();
  usableKey(store, keyId, DATA_ONLY, 'decrypt data');
  return withKey(store, keyId, 'data', (k) => aesGcmDecrypt(k, nonce, ciphertext, aad, core.meter));
}

/** What {@link reencrypt} decrypts, and under which AAD it re-encrypts. */
export interface ReencryptRequest {
  readonly fromKeyId: number;
  readonly nonce: Uint8Array;
  readonly ciphertext: Uint8Array;
  readonly fromAad: Uint8Array;
  readonly toKeyId: number;
  readonly toAad: Uint8Array;
}

/**
 * Re-protection inside the device: decrypt under data key `fromKeyId` (SP 800-38D §7.2), encrypt
 * under data key `toKeyId` with a fresh TRNG nonce (§7.1, §8.2.2); the plaintext never leaves and is
 * wiped. How data under a compromised key is rescued (NIST SP 800-57 Part 1 §7; the original's
 * `secure_recrypt`); whether the key's state allows it is the KMS's decision.
 * @throws DeviceError `AuthFailed` when the source does not verify; nothing is encrypted then.
 */
export function reencrypt(core: DeviceCore, r: ReencryptRequest): EncryptResult {
  const { store } = core.requireSession();
  usableKey(store, r.fromKeyId, DATA_ONLY, 'decrypt data');
  usableKey(store, r.toKeyId, DATA_ONLY, 'encrypt data');
  const plaintext = withKey(store, r.fromKeyId, 'data', (k) =>
    aesGcmDecrypt(k, r.nonce, r.ciphertext, r.fromAad, core.meter),
  );
  try {
    const fresh = core.trng.randomBytes(GCM_NONCE_BYTES);
    const out = withKey(store, r.toKeyId, 'data', (k) => aesGcmEncrypt(k, fresh, plaintext, r.toAad, core.meter));
    return { nonce: fresh, ciphertext: out };
  } finally {
    wipe(plaintext);
  }
}

const RESERVED_AAD = pinResetOrderAad();

/**
 * Refuses the AAD of PIN reset orders: an order sealed through the generic `seal` would skip the
 * order counter (any sequence could be minted, and one at the maximum would make every later order
 * stale), and one opened through the generic `open` would show the new PIN to the host. Only
 * `issuePinResetOrder` and `acceptPinResetOrder` seal and open under it.
 * @throws DeviceError `ReservedAad`
 */
function refuseReservedAad(aad: Uint8Array): void {
  if (aad.length === RESERVED_AAD.length && aad.every((b, i) => b === RESERVED_AAD[i]))
    throw new DeviceError('ReservedAad', "the AAD of PIN reset orders is for the HSM's own order functions only");
}

/**
 * Seals under key `keyId` (a `data`, `seal` or `local` key): nonce ‖ ciphertext ‖ tag with a TRNG
 * nonce (NIST SP 800-38D §7.1, §8.2.2).
 * @throws DeviceError `WrongKeyPurpose` for an `open`, `wrap`, `unwrap` or `ack` key: in particular a
 *   user device can seal neither under the admin→user key nor, outside an acknowledgement, under the
 *   user→admin one; `ReservedAad` for the AAD of PIN reset orders.
 */
export function seal(core: DeviceCore, keyId: number, plaintext: Uint8Array, aad: Uint8Array): Uint8Array {
  const { store } = core.requireSession();
  const purpose = usableKey(store, keyId, SEALERS, 'seal');
  refuseReservedAad(aad);
  return sealUnder(core, store, keyId, purpose, plaintext, aad);
}

/**
 * Seals `plaintext` under key `keyId` of `purpose`, already checked by the caller: nonce ‖
 * ciphertext ‖ tag with a fresh TRNG nonce (NIST SP 800-38D §7.1, §8.2.2).
 */
export function sealUnder(
  core: DeviceCore,
  store: KeyStore,
  keyId: number,
  purpose: KeyPurpose,
  plaintext: Uint8Array,
  aad: Uint8Array,
): Uint8Array {
  const nonce = core.trng.randomBytes(GCM_NONCE_BYTES);
  const ciphertext = withKey(store, keyId, purpose, (k) => aesGcmEncrypt(k, nonce, plaintext, aad, core.meter));
  return concatBytes(nonce, ciphertext);
}

/**
 * Opens what {@link seal} produced under key `keyId` (a `data`, `open` or `local` key).
 * @throws DeviceError `AuthFailed` (altered, another key, other AAD), `WrongKeyPurpose`,
 *   `ReservedAad` (the AAD of PIN reset orders).
 */
export function open(core: DeviceCore, keyId: number, sealed: Uint8Array, aad: Uint8Array): Uint8Array {
  const { store } = core.requireSession();
  const purpose = usableKey(store, keyId, OPENERS, 'open');
  refuseReservedAad(aad);
  return openSealed(core, store, keyId, purpose, sealed, aad);
}

/**
 * Opens nonce ‖ ciphertext ‖ tag under key `keyId` of `purpose`, already checked by the caller
 * (NIST SP 800-38D §7.2).
 * @throws DeviceError `AuthFailed`
 */
export function openSealed(
  core: DeviceCore,
  store: KeyStore,
  keyId: number,
  purpose: KeyPurpose,
  sealed: Uint8Array,
  aad: Uint8Array,
): Uint8Array {
  if (sealed.length < GCM_NONCE_BYTES) throw new DeviceError('AuthFailed', 'sealed message too short');
  const nonce = sealed.subarray(0, GCM_NONCE_BYTES);
  return withKey(store, keyId, purpose, (k) =>
    aesGcmDecrypt(k, nonce, sealed.subarray(GCM_NONCE_BYTES), aad, core.meter),
  );
}
