/**
 * Time for the KMS. Every life-cycle event carries the time it happens at (NIST SP 800-57 Pt 1 §7:
 * the date and time of every transition is recorded), so time is injected: the system clock in use,
 * a manual clock in tests and simulations. The original reads `time()` wherever it needs it (W11).
 * @module
 */

/** A source of the current time in milliseconds since the epoch. */
export interface Clock {
  now(): number;
}

/** The host's clock. */
export const systemClock: Clock = { now: () => Date.now() };

/** A clock that moves only when told: deterministic tests and simulations. */
export class ManualClock implements Clock {
  #now: number;

  constructor(start: number) {
    if (!Number.isFinite(start)) throw new RangeError(`a clock starts at a finite time, got ${start}`);
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  /** Moves time forward by `ms` (never backwards: the KMS relies on monotonic time). */
  advance(ms: number): number {
    if (!(ms >= 0) || !Number.isFinite(ms))
      throw new RangeError(`time only moves forward by a finite step, got ${ms} ms`);
    this.#now += ms;
    return this.#now;
  }

  /** Sets the time, which may not go back. */
  set(at: number): void {
    if (!Number.isFinite(at) || at < this.#now)
      throw new RangeError(`time only moves forward to a finite time: ${at} after ${this.#now}`);
    this.#now = at;
  }
}
