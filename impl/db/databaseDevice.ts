/**
 * What the encrypted database needs from its device: authenticated encryption under a database key
 * that never leaves the HSM, and two monotonic counters in the HSM's flash (committed generation,
 * commit intent). Kept this narrow so the
 * database never sees a key, and so tests can count exactly what crosses the host–device boundary.
 * @module
 */

/** The device side of the encrypted database. */
export interface DatabaseDevice {
  /**
   * AES-256-GCM (NIST SP 800-38D) under the device's database key with a device-chosen 96-bit nonce.
   * Returns `nonce(12) ‖ ciphertext ‖ tag(16)`.
   */
  seal(plaintext: Uint8Array, aad: Uint8Array): Uint8Array;
  /** Inverse of {@link seal}; throws if the tag does not verify under `aad`. */
  open(sealed: Uint8Array, aad: Uint8Array): Uint8Array;
  /** The last committed database generation, from device flash (0 before the first commit). */
  committedGeneration(): number;
  /** Records `generation` as committed; refuses to go backwards. */
  commitGeneration(generation: number): void;
  /** The commit intent in device flash (`commitIntent.ts`), 0 before the first one. */
  commitIntent(): number;
  /** Records commit intent `value` in device flash, durably, before its manifest is written; refuses to go backwards.
   * */
  recordCommitIntent(value: number): void;
}

/** Bytes `seal` adds: the nonce and the tag. */
export const SEAL_OVERHEAD = 12 + 16;
