/**
 * The device's primitives in JavaScript, from @noble: the reference backend of
 * {@link CryptoBackend} (audited, runs anywhere, and what the host backend is checked against).
 * @module
 */
import { aeskw, gcm } from '@noble/ciphers/aes.js';
import { x25519 } from '@noble/curves/ed25519.js';
import { hkdf } from '@noble/hashes/hkdf.js';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import type { CryptoBackend } from './cryptoBackend.ts';

/** @noble implementation of the device's primitives. */
export const NOBLE_CRYPTO: CryptoBackend = Object.freeze({
  name: 'noble',
  // A fresh instance per message: noble refuses a second encrypt() on one instance anyway.
  gcmEncrypt: (key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Uint8Array =>
    gcm(key, nonce, aad).encrypt(plaintext),
  gcmDecrypt: (key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array, aad: Uint8Array): Uint8Array =>
    gcm(key, nonce, aad).decrypt(sealed),
  keyWrap: (kek: Uint8Array, keyData: Uint8Array): Uint8Array => aeskw(kek).encrypt(keyData),
  keyUnwrap: (kek: Uint8Array, wrapped: Uint8Array): Uint8Array => aeskw(kek).decrypt(wrapped),
  hmacSha256: (key: Uint8Array, message: Uint8Array): Uint8Array => hmac(sha256, key, message),
  hkdfSha256: (ikm: Uint8Array, salt: Uint8Array | undefined, info: Uint8Array, length: number): Uint8Array =>
    hkdf(sha256, ikm, salt, info, length),
  x25519PublicKey: (secret: Uint8Array): Uint8Array => x25519.getPublicKey(secret),
  x25519SharedSecret: (secret: Uint8Array, peerPublicKey: Uint8Array): Uint8Array =>
    x25519.getSharedSecret(secret, peerPublicKey),
});
