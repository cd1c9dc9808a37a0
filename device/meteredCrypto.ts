/**
 * The device's cryptographic primitives, each charging its modelled Cortex-M4 cost to an optional
 * {@link CycleMeter}. Only the device calls these: they take raw keys, which never leave it. They
 * are computed by the selected {@link cryptoBackend} (node:crypto, or the @noble
 * reference); the charge is made here, before and whatever the backend, so modelled cycles do not
 * depend on it.
 * @module
 */
import { cryptoBackend } from './cryptoBackend.ts';
import { hmacSha256Compressions } from './costModel.ts';
import type { CostOp, CycleMeter } from './costModel.ts';
import { DeviceError } from './deviceError.ts';

/** AES-GCM nonce length the device accepts: 96 bits (NIST SP 800-38D §5.2.1.1, §8.2). */
export const GCM_NONCE_BYTES = 12;
/** AES-GCM tag length: 128 bits (NIST SP 800-38D §5.2.1.2). */
export const GCM_TAG_BYTES = 16;
/** AES-256 key length (FIPS 197 §5). */
export const AES256_KEY_BYTES = 32;

const AES_BLOCK = 16;
const pad16 = (n: number): number => Math.ceil(n / AES_BLOCK) * AES_BLOCK;

function requireNonce(nonce: Uint8Array): void {
  // noble's gcm takes any nonce length (GHASH-derived J0); the device insists on 96 bits so that
  // J0 = IV ‖ 0^31 ‖ 1 (SP 800-38D §7.1 step 2) and random-nonce bounds of §8.3 apply.
  if (nonce.length !== GCM_NONCE_BYTES)
    throw new DeviceError('BadNonce', `AES-GCM nonces must be ${GCM_NONCE_BYTES} bytes, got ${nonce.length}`);
}

/**
 * The cost rows of AES under a key of `keyBytes` (FIPS 197 §5: 16, 24 or 32 bytes, 10, 12 or 14
 * rounds); the key store holds keys of each length, and the cipher is charged as it runs.
 */
function aesRows(keyBytes: number): { readonly schedule: CostOp; readonly byte: CostOp } {
  if (keyBytes === 16) return { schedule: 'aes128.keySchedule', byte: 'aes128.byte' };
  if (keyBytes === 24) return { schedule: 'aes192.keySchedule', byte: 'aes192.byte' };
  return { schedule: 'aes256.keySchedule', byte: 'aes256.byte' };
}

function chargeGcm(meter: CycleMeter | undefined, keyBytes: number, textBytes: number, aadBytes: number): void {
  if (meter === undefined) return;
  const aes = aesRows(keyBytes);
  meter.charge(aes.schedule);
  // GCTR over the text, plus E(K, 0^128) for H and E(K, J0) for the tag (SP 800-38D §7.1 steps 1, 6).
  meter.charge(aes.byte, pad16(textBytes) + 2 * AES_BLOCK);
  // GHASH over the padded AAD, the padded ciphertext and the length block (§7.1 step 5).
  meter.charge('ghash.byte', pad16(aadBytes) + pad16(textBytes) + AES_BLOCK);
}

/** AES-256-GCM authenticated encryption, NIST SP 800-38D §7.1. Returns ciphertext ‖ 16-byte tag. */
export function aesGcmEncrypt(
  key: Uint8Array,
  nonce: Uint8Array,
  plaintext: Uint8Array,
  aad: Uint8Array,
  meter?: CycleMeter,
): Uint8Array {
  requireNonce(nonce);
  chargeGcm(meter, key.length, plaintext.length, aad.length);
  return cryptoBackend().gcmEncrypt(key, nonce, plaintext, aad);
}

/**
 * AES-256-GCM authenticated decryption, NIST SP 800-38D §7.2.
 * @throws DeviceError `AuthFailed` when the tag does not verify (step 8: FAIL, no plaintext).
 */
export function aesGcmDecrypt(
  key: Uint8Array,
  nonce: Uint8Array,
  sealed: Uint8Array,
  aad: Uint8Array,
  meter?: CycleMeter,
): Uint8Array {
  requireNonce(nonce);
  if (sealed.length < GCM_TAG_BYTES) throw new DeviceError('AuthFailed', 'ciphertext shorter than the tag');
  chargeGcm(meter, key.length, sealed.length - GCM_TAG_BYTES, aad.length);
  try {
    return cryptoBackend().gcmDecrypt(key, nonce, sealed, aad);
  } catch {
    throw new DeviceError('AuthFailed', 'AES-GCM tag mismatch');
  }
}

function chargeKw(meter: CycleMeter | undefined, kekBytes: number, keyDataBytes: number): void {
  if (meter === undefined) return;
  const aes = aesRows(kekBytes);
  meter.charge(aes.schedule);
  // RFC 3394 §2.2.1: 6·n block encryptions for n 64-bit semiblocks of key data.
  meter.charge(aes.byte, 6 * (keyDataBytes / 8) * AES_BLOCK);
}

/** AES Key Wrap, RFC 3394 §2.2.1 (default IV A6A6A6A6A6A6A6A6, §2.2.3.1). */
export function aesKeyWrap(kek: Uint8Array, keyData: Uint8Array, meter?: CycleMeter): Uint8Array {
  if (keyData.length < 16 || keyData.length % 8 !== 0)
    throw new DeviceError('BadArgument', 'key data must be n ≥ 2 semiblocks of 64 bits (RFC 3394 §2)');
  chargeKw(meter, kek.length, keyData.length);
  return cryptoBackend().keyWrap(kek, keyData);
}

/**
 * AES Key Unwrap, RFC 3394 §2.2.2 with the integrity check of §2.2.3.
 * @throws DeviceError `UnwrapFailed` when the check fails.
 */
export function aesKeyUnwrap(kek: Uint8Array, wrapped: Uint8Array, meter?: CycleMeter): Uint8Array {
  if (wrapped.length < 24 || wrapped.length % 8 !== 0)
    throw new DeviceError('UnwrapFailed', 'a wrapped key is n+1 ≥ 3 semiblocks of 64 bits (RFC 3394 §2)');
  chargeKw(meter, kek.length, wrapped.length - 8);
  try {
    return cryptoBackend().keyUnwrap(kek, wrapped);
  } catch {
    throw new DeviceError('UnwrapFailed', 'AES-KW integrity check failed (RFC 3394 §2.2.3)');
  }
}

/** HKDF-SHA256 (RFC 5869 §2.2 extract, §2.3 expand). */
export function hkdfSha256(
  ikm: Uint8Array,
  salt: Uint8Array | undefined,
  info: Uint8Array,
  length: number,
  meter?: CycleMeter,
): Uint8Array {
  if (meter !== undefined) {
    meter.charge('hmacSha256.block', hmacSha256Compressions(ikm.length));
    const n = Math.ceil(length / 32);
    // T(i) = HMAC(PRK, T(i-1) ‖ info ‖ i), T(0) empty (RFC 5869 §2.3).
    for (let i = 1; i <= n; i++)
      meter.charge('hmacSha256.block', hmacSha256Compressions((i === 1 ? 0 : 32) + info.length + 1));
  }
  return cryptoBackend().hkdfSha256(ikm, salt, info, length);
}

/** X25519 public key of a secret scalar, RFC 7748 §6.1 (one scalar multiplication by the base point). */
export function x25519PublicKey(secret: Uint8Array, meter?: CycleMeter): Uint8Array {
  meter?.charge('x25519.scalarMult');
  return cryptoBackend().x25519PublicKey(secret);
}

/**
 * X25519 shared secret, RFC 7748 §6.1. noble rejects low-order peer keys (the all-zero output the
 * RFC tells implementations to check for).
 * @throws DeviceError `BadArgument` for a malformed or low-order peer public key.
 */
export function x25519SharedSecret(secret: Uint8Array, peerPublicKey: Uint8Array, meter?: CycleMeter): Uint8Array {
  if (peerPublicKey.length !== 32)
    throw new DeviceError('BadArgument', 'an X25519 public key is 32 bytes (RFC 7748 §5)');
  meter?.charge('x25519.scalarMult');
  try {
    return cryptoBackend().x25519SharedSecret(secret, peerPublicKey);
  } catch {
    throw new DeviceError('BadArgument', 'peer X25519 public key is invalid or of low order (RFC 7748 §6.1)');
  }
}

/**
 * Charges PBKDF2-HMAC-SHA256 with `iterations` and one 32-byte output block (RFC 8018 §5.2):
 * the ipad/opad midstates once, then two compressions per iteration.
 */
export function chargePbkdf2(meter: CycleMeter | undefined, iterations: number): void {
  meter?.charge('hmacSha256.block', 2 + 2 * iterations);
}
