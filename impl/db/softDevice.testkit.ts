/**
 * A software {@link DatabaseDevice} for tests that need no HSM: real AES-256-GCM (noble) under a
 * random key it never exposes, and counters whose values survive as long as the object (the flash
 * of a device that is never power-cut). The HSM-backed device is tested against the same suites.
 * @module
 */
import { gcm } from '@noble/ciphers/aes.js';
import { randomBytes } from '@noble/ciphers/utils.js';
import type { DatabaseDevice } from './databaseDevice.ts';

/** A software database device; counts what it sealed. */
export class SoftDatabaseDevice implements DatabaseDevice {
  readonly #key = randomBytes(32);
  #generation = 0;
  #intent = 0;
  sealedBytes = 0;

  seal(plaintext: Uint8Array, aad: Uint8Array): Uint8Array {
    const nonce = randomBytes(12);
    this.sealedBytes += plaintext.length;
    const out = gcm(this.#key, nonce, aad).encrypt(plaintext);
    const sealed = new Uint8Array(12 + out.length);
    sealed.set(nonce);
    sealed.set(out, 12);
    return sealed;
  }

  open(sealed: Uint8Array, aad: Uint8Array): Uint8Array {
    return gcm(this.#key, sealed.subarray(0, 12), aad).decrypt(sealed.subarray(12));
  }

  committedGeneration(): number {
    return this.#generation;
  }

  commitGeneration(generation: number): void {
    if (generation < this.#generation)
      throw new Error(`counter would go back from ${this.#generation} to ${generation}`);
    this.#generation = generation;
  }

  commitIntent(): number {
    return this.#intent;
  }

  recordCommitIntent(value: number): void {
    if (value < this.#intent) throw new Error(`intent would go back from ${this.#intent} to ${value}`);
    this.#intent = value;
  }
}
