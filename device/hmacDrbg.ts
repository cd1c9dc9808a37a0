/**
 * HMAC_DRBG with SHA-256, as specified in NIST SP 800-90A Rev. 1 §10.1.2, without prediction
 * resistance. It is the deterministic engine behind a seeded `Trng` (`trng.ts`; reproducible runs); an
 * unseeded TRNG uses the operating system's generator instead.
 * @module
 */
import { concatBytes } from '@noble/hashes/utils.js';
import { cryptoBackend } from './cryptoBackend.ts';

/** Output length of SHA-256, in bytes (`outlen` of SP 800-90A Table 2). */
const OUTLEN = 32;
/** SP 800-90A Table 2: at most 2^19 bits per generate request. */
export const HMAC_DRBG_MAX_REQUEST_BYTES = (1 << 19) / 8;
/** SP 800-90A Table 2: reseed_interval ≤ 2^48 requests. */
const HMAC_DRBG_RESEED_INTERVAL = 2 ** 48;

// HMAC with SHA-256 (SP 800-90A §10.1.2: HMAC_DRBG's HMAC), from the selected backend.
const hmac = (key: Uint8Array, message: Uint8Array): Uint8Array => cryptoBackend().hmacSha256(key, message);

/** HMAC_DRBG (SHA-256) internal state and algorithms, NIST SP 800-90A §10.1.2. */
export class HmacDrbg {
  #key: Uint8Array = new Uint8Array(OUTLEN);
  #v: Uint8Array = new Uint8Array(OUTLEN).fill(0x01);
  #reseedCounter = 0;

  /**
   * HMAC_DRBG_Instantiate_algorithm (§10.1.2.3): seed_material = entropy ‖ nonce ‖ personalization,
   * Key = 0x00…, V = 0x01…, then Update(seed_material).
   */
  constructor(entropyInput: Uint8Array, nonce: Uint8Array, personalization: Uint8Array = new Uint8Array(0)) {
    this.#update(concatBytes(entropyInput, nonce, personalization));
    this.#reseedCounter = 1;
  }

  /**
   * HMAC_DRBG_Update (§10.1.2.2). V ‖ 0x00 ‖ provided is built in one array, which the second round
   * reuses for V ‖ 0x01 ‖ provided (only V and the separator byte change): every TRNG draw runs an
   * Update, so it allocates once instead of concatenating twice.
   */
  #update(provided: Uint8Array): void {
    const message = new Uint8Array(OUTLEN + 1 + provided.length);
    message.set(this.#v, 0);
    message.set(provided, OUTLEN + 1);
    this.#key = hmac(this.#key, message);
    this.#v = hmac(this.#key, this.#v);
    if (provided.length === 0) return;
    message.set(this.#v, 0);
    message[OUTLEN] = 0x01;
    this.#key = hmac(this.#key, message);
    this.#v = hmac(this.#key, this.#v);
  }

  /** HMAC_DRBG_Reseed_algorithm (§10.1.2.4): Update(entropy ‖ additional_input). */
  reseed(entropyInput: Uint8Array, additionalInput: Uint8Array = new Uint8Array(0)): void {
    this.#update(concatBytes(entropyInput, additionalInput));
    this.#reseedCounter = 1;
  }

  /**
   * HMAC_DRBG_Generate_algorithm (§10.1.2.5).
   * @param length bytes requested, at most {@link HMAC_DRBG_MAX_REQUEST_BYTES}.
   * @throws RangeError when the request is too large or a reseed is required (step 1).
   */
  generate(length: number, additionalInput: Uint8Array = new Uint8Array(0)): Uint8Array {
    if (!Number.isSafeInteger(length) || length < 0 || length > HMAC_DRBG_MAX_REQUEST_BYTES) {
      throw new RangeError(`HMAC_DRBG request must be 0..${HMAC_DRBG_MAX_REQUEST_BYTES} bytes, got ${length}`);
    }
    if (this.#reseedCounter > HMAC_DRBG_RESEED_INTERVAL) throw new RangeError('HMAC_DRBG reseed required');
    if (additionalInput.length > 0) this.#update(additionalInput);
    const out = new Uint8Array(length);
    for (let at = 0; at < length; at += OUTLEN) {
      this.#v = hmac(this.#key, this.#v);
      out.set(this.#v.subarray(0, Math.min(OUTLEN, length - at)), at);
    }
    this.#update(additionalInput);
    this.#reseedCounter += 1;
    return out;
  }

  /**
   * SIMULATOR ONLY: an independent DRBG in this one's state (Key, V, reseed counter), whose outputs
   * are the outputs this one would give (device snapshots, `SecubeDevice.simulatorClone`). A real
   * generator's state never leaves it.
   */
  clone(): HmacDrbg {
    const copy = new HmacDrbg(new Uint8Array(0), new Uint8Array(0));
    copy.#key = this.#key.slice();
    copy.#v = this.#v.slice();
    copy.#reseedCounter = this.#reseedCounter;
    return copy;
  }

  /** The DRBG state is secret: never print it. */
  toString(): string {
    return 'HmacDrbg(SHA-256)';
  }

  /** Hides the state from `util.inspect`. */
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return this.toString();
  }

  /** Hides the state from `JSON.stringify`. */
  toJSON(): { readonly kind: 'HMAC_DRBG-SHA256' } {
    return { kind: 'HMAC_DRBG-SHA256' };
  }
}
