/**
 * The device's primitives computed by the host's OpenSSL through node:crypto: the fast
 * backend of {@link CryptoBackend}. Same functions as the noble reference (nobleCrypto.ts), proven
 * equal by cryptoBackend.test.ts.
 * @module
 */
import {
  createCipheriv,
  createDecipheriv,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  hash,
  hkdfSync,
} from 'node:crypto';
import type { CipherGCMTypes, KeyObject } from 'node:crypto';
import { concatBytes } from '@noble/hashes/utils.js';
import type { CryptoBackend } from './cryptoBackend.ts';

/** RFC 3394 §2.2.3.1 default initial value. */
const KW_IV = new Uint8Array(8).fill(0xa6);
const GCM_TAG = 16;

// Copies into a plain Uint8Array (noble's concatBytes copies): node returns Buffers, which may view
// a shared pool and compare unequal to Uint8Arrays in deep-equality checks; the device's callers
// expect plain arrays that own their bytes.
const plain = concatBytes;

// Raw X25519 keys enter OpenSSL as RFC 8037 §2 OKP JWKs rather than as DER (RFC 8410 PKCS #8 or
// SPKI): node hands a JWK's raw bytes straight to EVP_PKEY_new_raw_*_key (KeyObjectHandle.initEDRaw),
// while DER goes through OpenSSL 3's decoder framework, which tries decoder after decoder and was
// ten times slower per key (createPrivateKey ~1.9 ms against ~0.18 ms on the build machine; the
// property suites make keys for every provisioning and factory init). Same raw key either way.
const base64url = (bytes: Uint8Array): string =>
  Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64url');
// DER framing of raw X25519 keys (RFC 8410 §7 private key in PKCS #8): the fallback below.
const X25519_PKCS8 = Uint8Array.from(Buffer.from('302e020100300506032b656e04220420', 'hex'));

/** A raw X25519 secret as an OpenSSL key through PKCS #8 DER: slower, accepted by every Node. */
export function x25519PrivateFromDer(secret: Uint8Array): KeyObject {
  return createPrivateKey({ key: Buffer.from(plain(X25519_PKCS8, secret)), format: 'der', type: 'pkcs8' });
}

/** Whether this Node takes a private OKP JWK without its public `x` (see below); learnt on first use. */
let jwkWithoutPublicPart = true;

const x25519Private = (secret: Uint8Array): KeyObject => {
  if (secret.length !== 32) throw new Error('an X25519 secret is 32 bytes (RFC 7748 §5)');
  // Node 20 reads only `d` of a private OKP JWK and requires `x` to be a string without checking it
  // against `d` (lib/internal/crypto/keys.js, getKeyObjectHandleFromJwk): the public key is what
  // OpenSSL derives from `d`, never the `x` given, so none is computed here. RFC 8037 §2 does make
  // `x` required, and a Node that checks it refuses this JWK (ERR_CRYPTO_INVALID_JWK): from then on
  // the DER import is used. cryptoBackend.test.ts checks both paths against RFC 7748's vectors.
  if (jwkWithoutPublicPart) {
    try {
      return createPrivateKey({ key: { kty: 'OKP', crv: 'X25519', d: base64url(secret), x: '' }, format: 'jwk' });
    } catch (error) {
      if ((error as { code?: unknown }).code !== 'ERR_CRYPTO_INVALID_JWK') throw error;
      jwkWithoutPublicPart = false;
    }
  }
  return x25519PrivateFromDer(secret);
};
const x25519Public = (raw: Uint8Array): KeyObject => {
  if (raw.length !== 32) throw new Error('an X25519 public key is 32 bytes (RFC 7748 §5)');
  return createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: base64url(raw) }, format: 'jwk' });
};

/** Block size B of SHA-256 (FIPS 180-4 §1), the HMAC key block (RFC 2104 §2). */
const SHA256_BLOCK = 64;
/** Output length of SHA-256 (FIPS 180-4 §1). */
const SHA256_BYTES = 32;

/**
 * Room for HMAC's two hash inputs, kept between calls: a fresh typed array over 64 bytes is an
 * off-heap allocation (half a microsecond and up), about a hash's worth. Wiped after each call (it holds
 * the padded key). Calls are synchronous, so no two use it at once. Three views of the same bytes:
 * words for the pad XORs (16 steps, not 64), a Buffer to write digests into natively.
 */
let scratch = new Uint8Array(256);
let scratchWords = new Uint32Array(scratch.buffer);
let scratchBuffer = Buffer.from(scratch.buffer);

/** `scratch` at least `length` bytes long. */
function hmacScratch(length: number): Uint8Array {
  if (scratch.length < length) {
    scratch = new Uint8Array(Math.ceil(Math.max(length, 2 * scratch.length) / 4) * 4);
    scratchWords = new Uint32Array(scratch.buffer);
    scratchBuffer = Buffer.from(scratch.buffer);
  }
  return scratch;
}

/**
 * SHA-256 of `data` written into the scratch at `at`. Through the one-shot `crypto.hash` (Node
 * 20.12+), which skips the Hash object that createHash/createHmac build per call (a few
 * microseconds each, against a fraction of one for the one-shot). The digest comes back as a
 * `'binary'` (latin1) string, one char per byte: Node 20's `'buffer'` output costs an allocation
 * several times the hash itself. Such a string cannot be wiped: the digests (the HMAC_DRBG's K and V
 * among them) stay in the JS heap until collected, as the Buffers createHmac returned did before;
 * only the simulator's host process holds them, never a real device's memory.
 */
function sha256IntoScratch(data: Uint8Array, at: number): void {
  scratchBuffer.write(hash('sha256', data, 'binary'), at, SHA256_BYTES, 'latin1');
}

/**
 * HMAC-SHA-256 (RFC 2104 §2, FIPS 198-1 §4): H((K0 ⊕ opad) ‖ H((K0 ⊕ ipad) ‖ text)), where K0 is the
 * key zero-padded to the 64-byte block, or, for a longer key, its SHA-256 digest zero-padded.
 * Computed with two one-shot hashes rather than createHmac: the same function (cryptoBackend.test.ts
 * checks RFC 4231's vectors and agreement with createHmac and noble's hmac), several times cheaper
 * per call; the HMAC_DRBG behind every seeded TRNG draw makes three calls per GCM nonce.
 */
function hmacSha256(key: Uint8Array, message: Uint8Array): Uint8Array {
  const innerLength = SHA256_BLOCK + message.length;
  const pad = hmacScratch(Math.max(innerLength, SHA256_BLOCK + SHA256_BYTES));
  const words = scratchWords;
  try {
    let keyBytes = key.length;
    if (keyBytes > SHA256_BLOCK) {
      sha256IntoScratch(key, 0);
      keyBytes = SHA256_BYTES;
    } else pad.set(key, 0);
    pad.fill(0, keyBytes, SHA256_BLOCK);
    // K0 ⊕ ipad (0x36 in every byte, RFC 2104 §2), then the text: the inner hash. Word-wise: a byte
    // repeated four times is the same word in either byte order.
    for (let i = 0; i < SHA256_BLOCK / 4; i++) words[i] = (words[i] as number) ^ 0x36363636;
    pad.set(message, SHA256_BLOCK);
    const inner = hash('sha256', pad.subarray(0, innerLength), 'binary');
    // K0 ⊕ opad = (K0 ⊕ ipad) ⊕ (0x36 ⊕ 0x5c), then the inner digest: the outer hash.
    for (let i = 0; i < SHA256_BLOCK / 4; i++) words[i] = (words[i] as number) ^ 0x6a6a6a6a;
    scratchBuffer.write(inner, SHA256_BLOCK, SHA256_BYTES, 'latin1');
    sha256IntoScratch(pad.subarray(0, SHA256_BLOCK + SHA256_BYTES), 0);
    return pad.slice(0, SHA256_BYTES);
  } finally {
    pad.fill(0, 0, Math.max(innerLength, SHA256_BLOCK + SHA256_BYTES));
  }
}

const gcmName = (key: Uint8Array): CipherGCMTypes => `aes-${key.length * 8}-gcm` as CipherGCMTypes;
const wrap = (key: Uint8Array): string => `id-aes${key.length * 8}-wrap`;

/** node:crypto (OpenSSL) implementation of the device's primitives. */
export const HOST_CRYPTO: CryptoBackend = Object.freeze({
  name: 'host',
  gcmEncrypt(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Uint8Array {
    const cipher = createCipheriv(gcmName(key), key, nonce, { authTagLength: GCM_TAG });
    cipher.setAAD(aad);
    return plain(cipher.update(plaintext), cipher.final(), cipher.getAuthTag());
  },
  gcmDecrypt(key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array, aad: Uint8Array): Uint8Array {
    if (sealed.length < GCM_TAG) throw new Error('ciphertext shorter than the tag');
    const decipher = createDecipheriv(gcmName(key), key, nonce, { authTagLength: GCM_TAG });
    decipher.setAAD(aad);
    decipher.setAuthTag(sealed.subarray(sealed.length - GCM_TAG));
    const text = decipher.update(sealed.subarray(0, sealed.length - GCM_TAG));
    return plain(text, decipher.final());
  },
  keyWrap(kek: Uint8Array, keyData: Uint8Array): Uint8Array {
    const cipher = createCipheriv(wrap(kek), kek, KW_IV);
    return plain(cipher.update(keyData), cipher.final());
  },
  keyUnwrap(kek: Uint8Array, wrapped: Uint8Array): Uint8Array {
    const decipher = createDecipheriv(wrap(kek), kek, KW_IV);
    return plain(decipher.update(wrapped), decipher.final());
  },
  hmacSha256,
  hkdfSha256(ikm: Uint8Array, salt: Uint8Array | undefined, info: Uint8Array, length: number): Uint8Array {
    // An empty HMAC key is zero-padded to the block size, exactly as RFC 5869's default salt of
    // HashLen zeros is (RFC 2104 §2), so `undefined` and the empty salt give the same PRK.
    return new Uint8Array(hkdfSync('sha256', ikm, salt ?? new Uint8Array(0), info, length));
  },
  x25519PublicKey(secret: Uint8Array): Uint8Array {
    // The JWK of the public half carries the raw public key `x` (RFC 8037 §2), derived by OpenSSL;
    // exporting the public half, not the private key, keeps `d` out of a JavaScript string.
    const { x } = createPublicKey(x25519Private(secret)).export({ format: 'jwk' });
    if (x === undefined) throw new Error('OpenSSL exported an X25519 key without its public part');
    return new Uint8Array(Buffer.from(x, 'base64url'));
  },
  x25519SharedSecret(secret: Uint8Array, peerPublicKey: Uint8Array): Uint8Array {
    // OpenSSL refuses an all-zero shared secret (low-order peer), the check RFC 7748 §6.1 allows.
    const shared = diffieHellman({ privateKey: x25519Private(secret), publicKey: x25519Public(peerPublicKey) });
    return plain(shared);
  },
});
