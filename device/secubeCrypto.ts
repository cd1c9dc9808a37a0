/**
 * DEVICE-INTERNAL. AES-256-GCM by key ID (NIST SP 800-38D): encrypt/decrypt and in-device
 * re-encryption under data keys, and seal/open (nonce ‖ ciphertext ‖ tag) under data, channel and
 * local keys. The host passes key IDs; key bytes stay in the device and are wiped after each use.
 * @module
 */
import { concatBytes } from '@noble/hashes/utils.js';
import { DeviceError } from './deviceError.ts';
import type { KeyStore } from './keyStore.ts';
import type { KeyPurpose } from './keyPurpose.ts';
import { GCM_NONCE_BYTES, aesGcmDecrypt, aesGcmEncrypt } from './meteredCrypto.ts';
import type { DeviceCore } from './secubeCore.ts';
import { DATA_ONLY, OPENERS, SEALERS, usableKey, wipe, withKey } from './secubeKeyAccess.ts';

/** Options of an encryption. */
export interface EncryptOptions {
  readonly aad?: Uint8Array;
  /** 12-byte nonce; when omitted the device draws one from its TRNG (NIST SP 800-38D §8.2.2). */
  readonly nonce?: Uint8Array;
}

/** Result of an encryption: nonce, and ciphertext with its 16-byte tag appended. */
export interface EncryptResult {
  readonly nonce: Uint8Array;
  readonly ciphertext: Uint8Array;
}

/**
 * AES-GCM encryption under data key `keyId` (NIST SP 800-38D §7.1). The nonce must be 12 bytes;
 * without one the device draws a random 96-bit nonce (§8.2.2), fine for up to 2^32 messages per key
 * (§8.3). Only data keys: a caller-chosen nonce under a channel key could forge or break its messages.
 * @throws DeviceError `WrongKeyPurpose` for any other key, `BadNonce`.
 */
export function encrypt(core: DeviceCore, keyId: number, plaintext: Uint8Array, options: EncryptOptions): EncryptResult {
  const { store } = core.requireSession();
  usableKey(store, keyId, DATA_ONLY, 'encrypt data');
  if (options.nonce !== undefined && options.nonce.length !== GCM_NONCE_BYTES) throw new DeviceError('BadNonce', `AES-GCM nonces must be ${GCM_NONCE_BYTES} bytes`);
  const nonce = options.nonce?.slice() ?? core.trng.randomBytes(GCM_NONCE_BYTES);
  const ciphertext = withKey(store, keyId, 'data', (k) => aesGcmEncrypt(k, nonce, plaintext, options.aad ?? new Uint8Array(0), core.meter));
  return { nonce, ciphertext };
}

/**
 * AES-GCM decryption under data key `keyId` (NIST SP 800-38D §7.2).
 * @throws DeviceError `AuthFailed` when the tag does not verify (no plaintext is released),
 *   `WrongKeyPurpose` for a key other than a data key.
 */
export function decrypt(core: DeviceCore, keyId: number, nonce: Uint8Array, ciphertext: Uint8Array, aad: Uint8Array): Uint8Array {
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
  const plaintext = withKey(store, r.fromKeyId, 'data', (k) => aesGcmDecrypt(k, r.nonce, r.ciphertext, r.fromAad, core.meter));
  try {
    const fresh = core.trng.randomBytes(GCM_NONCE_BYTES);
    const out = withKey(store, r.toKeyId, 'data', (k) => aesGcmEncrypt(k, fresh, plaintext, r.toAad, core.meter));
    return { nonce: fresh, ciphertext: out };
  } finally {
    wipe(plaintext);
  }
}

/**
 * Seals under key `keyId` (a `data`, `seal` or `local` key): nonce ‖ ciphertext ‖ tag with a TRNG
 * nonce (NIST SP 800-38D §7.1, §8.2.2).
 * @throws DeviceError `WrongKeyPurpose` for an `open`, `wrap` or `unwrap` key: in particular a user
 *   device cannot seal under the admin→user key.
 */
export function seal(core: DeviceCore, keyId: number, plaintext: Uint8Array, aad: Uint8Array): Uint8Array {
  const { store } = core.requireSession();
  const purpose = usableKey(store, keyId, SEALERS, 'seal');
  const nonce = core.trng.randomBytes(GCM_NONCE_BYTES);
  const ciphertext = withKey(store, keyId, purpose, (k) => aesGcmEncrypt(k, nonce, plaintext, aad, core.meter));
  return concatBytes(nonce, ciphertext);
}

/**
 * Opens what {@link seal} produced under key `keyId` (a `data`, `open` or `local` key).
 * @throws DeviceError `AuthFailed` (altered, another key, other AAD), `WrongKeyPurpose`.
 */
export function open(core: DeviceCore, keyId: number, sealed: Uint8Array, aad: Uint8Array): Uint8Array {
  const { store } = core.requireSession();
  const purpose = usableKey(store, keyId, OPENERS, 'open');
  return openSealed(core, store, keyId, purpose, sealed, aad);
}

/**
 * Opens nonce ‖ ciphertext ‖ tag under key `keyId` of `purpose`, already checked by the caller
 * (NIST SP 800-38D §7.2).
 * @throws DeviceError `AuthFailed`
 */
export function openSealed(core: DeviceCore, store: KeyStore, keyId: number, purpose: KeyPurpose, sealed: Uint8Array, aad: Uint8Array): Uint8Array {
  if (sealed.length < GCM_NONCE_BYTES) throw new DeviceError('AuthFailed', 'sealed message too short');
  const nonce = sealed.subarray(0, GCM_NONCE_BYTES);
  return withKey(store, keyId, purpose, (k) => aesGcmDecrypt(k, nonce, sealed.subarray(GCM_NONCE_BYTES), aad, core.meter));
}
