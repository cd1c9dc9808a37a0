/**
 * The primitives under the simulated device (AES-GCM, AES-KW, HMAC, HKDF, X25519), behind one
 * interface so that the host's native implementation (node:crypto, OpenSSL) can run them while
 * @noble stays the reference.
 *
 * Why two: the simulator charges every primitive its modelled Cortex-M4 cost (costModel.ts); how
 * fast the *host* computes the same bytes changes no modelled figure, only how many scenarios the
 * property suites get through per CPU-second (noble's AES-GCM in JavaScript was a quarter of the
 * model-against-implementation suite's time, X25519 in JavaScript a few per cent more). Both
 * backends compute the same functions, so outputs are identical: cryptoBackend.test.ts checks each
 * against the standards' vectors and the two against each other on random inputs. Metering stays
 * in meteredCrypto.ts, outside the backend, so the cycles charged cannot depend on the choice.
 * @module
 */
import { HOST_CRYPTO } from './hostCrypto.ts';
import { NOBLE_CRYPTO } from './nobleCrypto.ts';

/** The primitives a backend provides. Each throws on failure (bad tag, failed unwrap, bad key size). */
export interface CryptoBackend {
  /** Its name, for reports. */
  readonly name: 'host' | 'noble';
  /** AES-GCM encryption, NIST SP 800-38D §7.1: ciphertext ‖ 128-bit tag. */
  gcmEncrypt(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Uint8Array;
  /** AES-GCM decryption, NIST SP 800-38D §7.2; throws when the tag does not verify. */
  gcmDecrypt(key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array, aad: Uint8Array): Uint8Array;
  /** AES Key Wrap, RFC 3394 §2.2.1, default IV (§2.2.3.1). */
  keyWrap(kek: Uint8Array, keyData: Uint8Array): Uint8Array;
  /** AES Key Unwrap, RFC 3394 §2.2.2; throws when the integrity check of §2.2.3 fails. */
  keyUnwrap(kek: Uint8Array, wrapped: Uint8Array): Uint8Array;
  /** HMAC-SHA-256, RFC 2104 / FIPS 198-1. */
  hmacSha256(key: Uint8Array, message: Uint8Array): Uint8Array;
  /** HKDF-SHA-256, RFC 5869 §2.2–2.3 (an absent salt is HashLen zero bytes). */
  hkdfSha256(ikm: Uint8Array, salt: Uint8Array | undefined, info: Uint8Array, length: number): Uint8Array;
  /** X25519(secret, 9), RFC 7748 §6.1: the public key of a 32-byte secret. */
  x25519PublicKey(secret: Uint8Array): Uint8Array;
  /** X25519(secret, peer), RFC 7748 §6.1; throws on an all-zero result (a low-order peer key). */
  x25519SharedSecret(secret: Uint8Array, peerPublicKey: Uint8Array): Uint8Array;
}

/**
 * The backend a process starts with: `SEKEY_CRYPTO=noble` selects the reference (the throughput
 * bench's baseline runs the property suites so, in the same run as the host backend), anything
 * else but `host` or unset is a mistake worth stopping for.
 * @throws RangeError for another value of `SEKEY_CRYPTO`.
 */
export function backendFromEnvironment(value = process.env['SEKEY_CRYPTO']): CryptoBackend {
  if (value === undefined || value === '' || value === 'host') return HOST_CRYPTO;
  if (value === 'noble') return NOBLE_CRYPTO;
  throw new RangeError(`SEKEY_CRYPTO must be 'host' or 'noble', got '${value}'`);
}

let current: CryptoBackend = backendFromEnvironment();

/** The backend the device computes with: the host's (node:crypto) unless noble was chosen. */
export function cryptoBackend(): CryptoBackend {
  return current;
}

/** Selects the backend for every device of this process (tests compare the two); returns the previous one. */
export function useCryptoBackend(backend: CryptoBackend): CryptoBackend {
  const previous = current;
  current = backend;
  return previous;
}
