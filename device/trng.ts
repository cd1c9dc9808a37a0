/**
 * The SEcube's true random number generator (the STM32F4 RNG peripheral, RM0090 §24): 32-bit words,
 * one every 40 RNG clock periods.
 *
 * Two sources stand in for the analog noise source:
 * - by default, the operating system's CSPRNG (`node:crypto.randomBytes`);
 * - with a `seed`, an HMAC_DRBG (NIST SP 800-90A §10.1.2, SHA-256) instantiated from the seed, so a
 *   whole simulation (serials, keys, nonces, identity keys) replays bit for bit.
 *
 * Either way every word goes through a health test, which the F4 hardware leaves to software: the
 * repetition count test of NIST SP 800-90B §4.4.1 (the same word {@link REPETITION_CUTOFF} times in a
 * row is a failure; the first word after power-up is kept only for comparison, as FIPS 140-2 §4.9.2
 * has it). Not FIPS 140-2's own continuous test, which fails on any two equal words in a row: a
 * healthy 32-bit source does that once every 2^32 words, and a 60-minute property campaign drew such
 * a pair (deployment seed 864470, the admin HSM's 423rd word) and saw an admin operation refused by a
 * sound HSM. Each word drawn charges the TRNG word cost.
 * @module
 */
import { randomBytes as osRandomBytes } from 'node:crypto';
import { sha256 } from '@noble/hashes/sha2.js';
import type { CycleMeter } from './costModel.ts';
import { DeviceError } from './deviceError.ts';
import { HmacDrbg } from './hmacDrbg.ts';
import { utf8 } from './binaryCodec.ts';

/** A seed for a deterministic TRNG: bytes, a string (UTF-8) or an integer. */
export type TrngSeed = Uint8Array | string | number;

/** Options of {@link Trng}. */
export interface TrngOptions {
  /** Makes the TRNG a deterministic DRBG; omit for OS randomness. */
  readonly seed?: TrngSeed;
  /** Meter charged for each 32-bit word drawn. */
  readonly meter?: CycleMeter;
  /**
   * Replaces the noise source (bytes in, whole words). For fault-injection tests of the continuous
   * test, e.g. a stuck source; takes precedence over `seed`.
   */
  readonly rawSource?: (length: number) => Uint8Array;
}

/** Personalization string (SP 800-90A §8.7.1) separating this use from any other seeded DRBG. */
const PERSONALIZATION = utf8('SEkey-TS simulated STM32F4 RNG');
/** SP 800-90A §8.6.7: a nonce of at least half the security strength (here 128 bits). */
const NONCE = utf8('SEkey-TS TRNG v1');
/**
 * The repetition count test's cutoff C = 1 + ⌈−log2(α) / H⌉ (SP 800-90B §4.4.1) for H = 32 bits of
 * entropy per word and a false-alarm rate α = 2^-40, the lowest the standard allows: a healthy source
 * fails it once every 2^64 words, a stuck one at its third word.
 */
export const REPETITION_CUTOFF = 3;

/** Words per source request: keeps each DRBG request under SP 800-90A's 2^19-bit limit. */
const CHUNK_WORDS = 1024;

function seedBytes(seed: TrngSeed): Uint8Array {
  if (seed instanceof Uint8Array) return seed;
  if (typeof seed === 'number') {
    if (!Number.isSafeInteger(seed)) throw new RangeError(`numeric TRNG seed must be a safe integer, got ${seed}`);
    return utf8(`int:${seed}`);
  }
  return utf8(`str:${seed}`);
}

/** What {@link Trng.clone} hands its copy's constructor. */
interface TrngClone {
  readonly drbg: HmacDrbg;
  readonly previous: number | undefined;
  readonly repeats: number;
  readonly wordsDrawn: number;
}

/** Set by {@link Trng.clone} for the one constructor call it makes. */
let cloning: TrngClone | undefined;

/**
 * A TRNG producing 32-bit words, charged per word. Output is drawn in whole words: asking for 5
 * bytes draws 2 words, as firmware calling `HAL_RNG_GenerateRandomNumber` does.
 */
export class Trng {
  /** True when seeded (reproducible), false when backed by the OS CSPRNG. */
  readonly deterministic: boolean;
  readonly #source: (length: number) => Uint8Array;
  readonly #meter: CycleMeter | undefined;
  /** The seeded generator behind {@link deterministic} output (what {@link clone} copies). */
  readonly #drbg: HmacDrbg | undefined;
  #previous: number | undefined;
  /** How many times in a row {@link #previous} came, after its first (the repetition count). */
  #repeats = 0;
  #wordsDrawn = 0;

  constructor(options: TrngOptions = {}) {
    this.#meter = options.meter;
    const from = cloning;
    cloning = undefined;
    if (from !== undefined) {
      this.deterministic = true;
      this.#drbg = from.drbg;
      this.#source = (length) => from.drbg.generate(length);
      this.#previous = from.previous;
      this.#repeats = from.repeats;
      this.#wordsDrawn = from.wordsDrawn;
      return;
    }
    if (options.rawSource !== undefined) {
      this.deterministic = false;
      this.#source = options.rawSource;
    } else if (options.seed === undefined) {
      this.deterministic = false;
      this.#source = (length) => osRandomBytes(length);
    } else {
      this.deterministic = true;
      // SHA-256 of the seed gives the 256 bits of entropy input SP 800-90A asks for, whatever the seed's size.
      const drbg = new HmacDrbg(sha256(seedBytes(options.seed)), NONCE, PERSONALIZATION);
      this.#drbg = drbg;
      this.#source = (length) => drbg.generate(length);
    }
    // FIPS 140-2 §4.9.2: the first block after power-up is only kept for comparison.
    this.#previous = this.#rawWords(1)[0];
  }

  /** 32-bit words drawn so far (including the discarded first one). */
  get wordsDrawn(): number {
    return this.#wordsDrawn;
  }

  #rawWords(count: number): Uint32Array {
    const bytes = this.#source(count * 4);
    if (bytes.length !== count * 4) throw new DeviceError('TrngFailure', 'noise source returned a short read');
    this.#wordsDrawn += count;
    this.#meter?.charge('trng.word', count);
    // A view when aligned (the DRBG and the OS hand back arrays of their own); words() copies out of it at once.
    return bytes.byteOffset % 4 === 0
      ? new Uint32Array(bytes.buffer, bytes.byteOffset, count)
      : new Uint32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + count * 4));
  }

  /** `count` words that passed the repetition count test. */
  words(count: number): Uint32Array {
    if (!Number.isSafeInteger(count) || count < 0) throw new RangeError(`word count must be ≥ 0, got ${count}`);
    const out = new Uint32Array(count);
    for (let done = 0; done < count; ) {
      const chunk = this.#rawWords(Math.min(CHUNK_WORDS, count - done));
      for (let i = 0; i < chunk.length; i++) {
        const word = chunk[i] as number;
        this.#repeats = word === this.#previous ? this.#repeats + 1 : 0;
        if (this.#repeats + 1 >= REPETITION_CUTOFF) {
          throw new DeviceError(
            'TrngFailure',
            `the same RNG word ${REPETITION_CUTOFF} times in a row (SP 800-90B §4.4.1 repetition count test)`,
          );
        }
        this.#previous = word;
        out[done++] = word;
      }
    }
    return out;
  }

  /** `length` random bytes, drawn as ⌈length/4⌉ words. */
  randomBytes(length: number): Uint8Array {
    if (!Number.isSafeInteger(length) || length < 0) throw new RangeError(`length must be ≥ 0, got ${length}`);
    const words = this.words(Math.ceil(length / 4));
    // words() returns an array of its own: when it is exactly `length` bytes long, it is the answer.
    return length === words.byteLength ? new Uint8Array(words.buffer) : new Uint8Array(words.buffer, 0, length).slice();
  }

  /**
   * SIMULATOR ONLY: an independent seeded TRNG in this one's state (DRBG, last word for the
   * repetition count test, words drawn), charging `meter`: it draws exactly the words this one would draw
   * next. For device snapshots (`SecubeDevice.simulatorClone`); a real noise source cannot be copied.
   * @throws RangeError for an unseeded TRNG (OS randomness or a raw source has no state to copy).
   */
  clone(meter?: CycleMeter): Trng {
    if (this.#drbg === undefined) throw new RangeError('only a seeded TRNG can be cloned');
    cloning = {
      drbg: this.#drbg.clone(),
      previous: this.#previous,
      repeats: this.#repeats,
      wordsDrawn: this.#wordsDrawn,
    };
    return new Trng(meter === undefined ? {} : { meter });
  }

  /** The DRBG state is secret. */
  toString(): string {
    return `Trng(${this.deterministic ? 'seeded HMAC_DRBG' : 'OS'})`;
  }

  /** Hides internal state from `util.inspect`. */
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return this.toString();
  }

  /** Hides internal state from `JSON.stringify`. */
  toJSON(): { readonly deterministic: boolean; readonly wordsDrawn: number } {
    return { deterministic: this.deterministic, wordsDrawn: this.#wordsDrawn };
  }
}
