/**
 * Deterministic pseudo-random generator for fault injection and simulation workloads.
 *
 * xoshiro128** (Blackman & Vigna, "Scrambled linear pseudorandom number generators", ACM TOMS 47(4),
 * 2021) seeded through splitmix32, so that any 32-bit seed gives a well-mixed state. It is NOT a
 * cryptographic generator: the device's key material comes from the TRNG model, never from here.
 * @module
 */

/** splitmix32 step (Steele, Lea & Flood, OOPSLA 2014, 32-bit variant): expands one seed into many. */
function splitMix32(state: number): [next: number, output: number] {
  const next = (state + 0x9e3779b9) | 0;
  let z = next;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return [next, (z ^ (z >>> 16)) >>> 0];
}

/**
 * Seeded xoshiro128** generator. Same seed, same sequence, on every platform — which is what lets a
 * property-test failure or a bench run be replayed exactly.
 */
export class SeededPrng {
  #s0: number;
  #s1: number;
  #s2: number;
  #s3: number;

  /** @param seed any integer; only its low 32 bits are used. */
  constructor(seed: number) {
    let state = seed | 0;
    const words: number[] = [];
    for (let i = 0; i < 4; i++) {
      const [next, out] = splitMix32(state);
      state = next;
      words.push(out);
    }
    // xoshiro must not start from the all-zero state; splitmix32 makes that astronomically unlikely,
    // but a fixed fallback keeps the generator total.
    const [a = 1, b = 0, c = 0, d = 0] = words;
    this.#s0 = a === 0 && b === 0 && c === 0 && d === 0 ? 1 : a;
    this.#s1 = b;
    this.#s2 = c;
    this.#s3 = d;
  }

  /**
   * SIMULATOR ONLY: takes over `source`'s state, so both continue with the same numbers (device
   * snapshots, `SecubeDevice.simulatorClone`).
   */
  copyStateOf(source: SeededPrng): void {
    this.#s0 = source.#s0;
    this.#s1 = source.#s1;
    this.#s2 = source.#s2;
    this.#s3 = source.#s3;
  }

  /** Next uniformly distributed unsigned 32-bit integer. */
  nextU32(): number {
    const result = Math.imul(rotl(Math.imul(this.#s1, 5), 7), 9) >>> 0;
    const t = this.#s1 << 9;
    this.#s2 ^= this.#s0;
    this.#s3 ^= this.#s1;
    this.#s1 ^= this.#s2;
    this.#s0 ^= this.#s3;
    this.#s2 ^= t;
    this.#s3 = rotl(this.#s3, 11);
    return result;
  }

  /** Uniform float in [0, 1) with 32 bits of resolution. */
  next(): number {
    return this.nextU32() / 0x1_0000_0000;
  }

  /** Uniform integer in [0, bound). Uses rejection sampling so that small bounds carry no bias. */
  int(bound: number): number {
    if (!Number.isSafeInteger(bound) || bound <= 0 || bound > 0x1_0000_0000) {
      throw new RangeError(`bound must be an integer in [1, 2^32], got ${bound}`);
    }
    const limit = 0x1_0000_0000 - (0x1_0000_0000 % bound);
    for (;;) {
      const x = this.nextU32();
      if (x < limit) return x % bound;
    }
  }

  /** Fills `target` with pseudo-random bytes and returns it. */
  fill(target: Uint8Array): Uint8Array {
    let i = 0;
    for (; i + 4 <= target.length; i += 4) {
      const w = this.nextU32();
      target[i] = w & 0xff;
      target[i + 1] = (w >>> 8) & 0xff;
      target[i + 2] = (w >>> 16) & 0xff;
      target[i + 3] = w >>> 24;
    }
    if (i < target.length) {
      let w = this.nextU32();
      for (; i < target.length; i++, w >>>= 8) target[i] = w & 0xff;
    }
    return target;
  }

  /** A fresh array of `length` pseudo-random bytes. */
  bytes(length: number): Uint8Array {
    return this.fill(new Uint8Array(length));
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
