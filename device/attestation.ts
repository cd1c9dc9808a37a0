/**
 * Device identity attestation: the manufacturer's certificate that an X25519 identity public key
 * belongs to a genuine SEcube with a given serial.
 *
 * Real HSMs ship with a device identity certified at the factory and a vendor root of trust burned
 * in (e.g. the attestation chains of cloud HSMs and TPM endorsement keys). Here the factory's
 * signing authority is a {@link Manufacturer} holding an Ed25519 key pair (RFC 8032 §5.1). At factory
 * init it signs (serial, identity public key) and the device stores that signature as its
 * certificate, next to the manufacturer's public key (the root of trust, never changed afterwards).
 * Before deriving provisioning keys with a peer, a device checks the peer's certificate against its
 * own root, so a key pair made on a host — whose secret the host knows — is refused.
 *
 * Certificate = Ed25519 signature (RFC 8032 §5.1.6, 64 bytes) over
 * `label ‖ 0x00 ‖ u16be(len serial) ‖ serial (UTF-8) ‖ u16be(len key) ‖ identity public key`, with the
 * label `SEkey-TS device identity v1`: the label separates this use of the key from any other, and
 * the length prefixes make the encoding injective. Verification is RFC 8032 §5.1.7 in its strict
 * form (noble's `zip215: false`: canonical encodings only).
 * @module
 */
import { ed25519 } from '@noble/curves/ed25519.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { concatBytes, randomBytes } from '@noble/hashes/utils.js';
import { Writer, utf8 } from './binaryCodec.ts';

/** Domain-separation label of identity certificates. */
export const IDENTITY_CERTIFICATE_LABEL = 'SEkey-TS device identity v1';
/** Length of a certificate: one Ed25519 signature (RFC 8032 §5.1.6: R ‖ S, 64 bytes). */
export const CERTIFICATE_BYTES = 64;
/** Length of a manufacturer public key (RFC 8032 §5.1.5: 32 bytes). */
export const MANUFACTURER_PUBLIC_KEY_BYTES = 32;
/** Length of a manufacturer seed given as bytes (an Ed25519 secret key, RFC 8032 §5.1.5). */
export const MANUFACTURER_SEED_BYTES = 32;

/** Label that turns a text seed into a 32-byte Ed25519 secret (a simulation convenience). */
const TEXT_SEED_LABEL = 'SEkey-TS manufacturer seed v1';
/** Node's `util.inspect.custom` (a registered symbol, so no dependency on node:util). */
const INSPECT = Symbol.for('nodejs.util.inspect.custom');

/**
 * The signed message: label ‖ 0x00 ‖ u16be(len serial) ‖ serial ‖ u16be(len key) ‖ key.
 * @throws RangeError for a field longer than 65,535 bytes.
 */
function certifiedMessage(serial: string, identityPublicKey: Uint8Array): Uint8Array {
  const s = utf8(serial);
  return new Writer()
    .bytes(utf8(IDENTITY_CERTIFICATE_LABEL))
    .u8(0)
    .u16be(s.length)
    .bytes(s)
    .u16be(identityPublicKey.length)
    .bytes(identityPublicKey)
    .finish();
}

/** Certificates a {@link Manufacturer} remembers. */
const ISSUED_ENTRIES = 1024;

/**
 * The factory's signing authority (simulated). Holds an Ed25519 key pair (RFC 8032 §5.1.5); its
 * public key is the root of trust every device it initialises carries. The secret stays in a private
 * field: no method returns it, and printing a manufacturer shows the public key only.
 */
export class Manufacturer {
  readonly #secretKey: Uint8Array;
  readonly #publicKey: Uint8Array;
  /**
   * Certificates issued, by certified message: Ed25519 signing is deterministic (RFC 8032 §5.1.6),
   * so signing a message again gives the same signature, and a simulation that initialises the same
   * seeded device again (a property suite does, run after run) need not pay for it in JavaScript.
   * Holds only what `certify` hands out anyway; bounded, oldest first out.
   */
  readonly #issued = new Map<string, Uint8Array>();

  private constructor(secretKey: Uint8Array) {
    this.#secretKey = secretKey;
    this.#publicKey = ed25519.getPublicKey(secretKey);
  }

  /**
   * A manufacturer with a fresh random key pair, or — for tests and simulations — one derived
   * deterministically from `seed`: 32 bytes are used as the Ed25519 secret key itself (RFC 8032
   * §5.1.5), a string is first hashed with SHA-256 under a fixed label.
   * @throws RangeError for a byte seed that is not 32 bytes.
   */
  static generate(seed?: string | Uint8Array): Manufacturer {
    if (seed === undefined) return new Manufacturer(randomBytes(MANUFACTURER_SEED_BYTES));
    if (typeof seed === 'string')
      return new Manufacturer(sha256(concatBytes(utf8(TEXT_SEED_LABEL), Uint8Array.of(0), utf8(seed))));
    if (seed.length !== MANUFACTURER_SEED_BYTES)
      throw new RangeError(`a manufacturer seed is ${MANUFACTURER_SEED_BYTES} bytes`);
    return new Manufacturer(seed.slice());
  }

  /** The Ed25519 public key (32 bytes): the root of trust burned into every device. A copy. */
  get publicKey(): Uint8Array {
    return this.#publicKey.slice();
  }

  /**
   * Issues the identity certificate of device `serial`: an Ed25519 signature (RFC 8032 §5.1.6) over
   * the domain-separated, length-prefixed encoding of (serial, identity public key).
   */
  certify(serial: string, identityPublicKey: Uint8Array): Uint8Array {
    const message = certifiedMessage(serial, identityPublicKey);
    const key = Buffer.from(message).toString('base64');
    let certificate = this.#issued.get(key);
    if (certificate === undefined) {
      certificate = ed25519.sign(message, this.#secretKey);
      if (this.#issued.size >= ISSUED_ENTRIES) this.#issued.delete(this.#issued.keys().next().value as string);
      this.#issued.set(key, certificate);
    }
    return certificate.slice();
  }

  /** Public key only, in hex. */
  toString(): string {
    return `Manufacturer(${Buffer.from(this.#publicKey).toString('hex')})`;
  }

  /** Public key only, for `JSON.stringify`. */
  toJSON(): { publicKey: string } {
    return { publicKey: Buffer.from(this.#publicKey).toString('hex') };
  }

  /** Public key only, for `util.inspect` / `console.log`. */
  [INSPECT](): string {
    return this.toString();
  }
}

/**
 * True when `certificate` is `manufacturerPublicKey`'s signature of (serial, identity public key)
 * (RFC 8032 §5.1.7, strict: non-canonical encodings are refused). Never throws: any malformed input
 * (wrong lengths, a public key that is not a curve point) is simply not a valid certificate.
 */
export function verifyIdentity(
  manufacturerPublicKey: Uint8Array,
  serial: string,
  identityPublicKey: Uint8Array,
  certificate: Uint8Array,
): boolean {
  if (manufacturerPublicKey.length !== MANUFACTURER_PUBLIC_KEY_BYTES || certificate.length !== CERTIFICATE_BYTES)
    return false;
  const message = certifiedMessage(serial, identityPublicKey);
  const key = Buffer.concat([manufacturerPublicKey, certificate, message]).toString('base64');
  const known = verified.get(key);
  if (known !== undefined) return known;
  let valid: boolean;
  try {
    valid = ed25519.verify(certificate, message, manufacturerPublicKey, { zip215: false });
  } catch {
    valid = false;
  }
  if (verified.size >= VERIFIED_ENTRIES) verified.delete(verified.keys().next().value as string);
  verified.set(key, valid);
  return valid;
}

/**
 * Answers of {@link verifyIdentity}, by its whole input (manufacturer key, certificate, certified
 * message; all public). A verification is a pure function of them and costs a double scalar
 * multiplication in JavaScript, while one installation checks the same certificates at every
 * provisioning (and a simulation or a property suite rebuilds the same installations over and over).
 * The device's modelled cost is charged by its caller, hit or miss.
 */
const verified = new Map<string, boolean>();
const VERIFIED_ENTRIES = 1024;
