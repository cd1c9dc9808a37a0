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
  /**
   * Set, the next counter advance fails (once), as if power were cut right before it: the commit's
   * manifest is on the card, its intent recorded, the counter not advanced.
   */
  cutBeforeNextCounter = false;

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
    if (this.cutBeforeNextCounter) {
      this.cutBeforeNextCounter = false;
      throw new Error('power cut before the counter advanced');
    }
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

/**
 * `device` as a probe sees it: it opens and reads what `device` would, and writes nothing. Opening a
 * card through it never completes that card's pending commit in the device (the counter stays), and
 * anything that would seal or record an intent (a migration on open) throws rather than touch it.
 */
export function readOnlyView(device: DatabaseDevice): DatabaseDevice {
  const refuse = (what: string) => () => {
    throw new Error(`a read-only view of the device cannot ${what}`);
  };
  return {
    seal: refuse('seal'),
    open: (sealed, aad) => device.open(sealed, aad),
    committedGeneration: () => device.committedGeneration(),
    commitGeneration: () => {},
    commitIntent: () => device.commitIntent(),
    recordCommitIntent: refuse('record a commit intent'),
  };
}
