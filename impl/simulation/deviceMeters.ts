/**
 * Reads what the simulated devices spent: modelled HSM cycles (each physical device's `CycleMeter`,
 * which its flash, SD card and crypto charge: `device/costModel.ts`), charged to the operation that
 * spent them (`add-key`, `sync`, `attack:replay`, ...), and flash sector erases per device. Work done
 * by the invariant checkers (their test decryptions, their scans of SD cards) is left out, so the
 * report shows what the organisation's own work cost.
 *
 * Why by operation, read as differences of the meters' totals: the devices do not know which
 * organisational operation they serve; the simulation does, and runs one at a time, so every cycle
 * spent between the start of one operation and the start of the next belongs to the first.
 * @module
 */
import type { Deployment } from './deployment.ts';
import { bump } from './dayTally.ts';

/** Cycles charged before the first operation of the run (factory set-up of the admin's HSM). */
export const BEFORE_FIRST_OPERATION = 'set-up';

/** Cycles by operation and erases by device and sector, spent since the last {@link DeviceMeters.day}. */
export interface DeviceSpend {
  readonly cycles: Record<string, number>;
  readonly erases: Record<string, number[]>;
}

/** All devices' cycles so far. */
function totalCycles(d: Deployment): number {
  let total = 0;
  for (const h of d.hardware.values()) total += h.meter.cycles;
  return total;
}

function eraseCounts(d: Deployment): Map<string, number[]> {
  const erases = new Map<string, number[]>();
  for (const h of d.hardware.values()) erases.set(h.name, h.flash.eraseCounts());
  return erases;
}

/** The devices' spending, charged operation by operation and summed day by day. */
export class DeviceMeters {
  readonly #deployment: Deployment;
  /** The operation running now: what the cycles since {@link #mark} are charged to (null: none). */
  #current: string | null = BEFORE_FIRST_OPERATION;
  #mark: number;
  #cycles: Record<string, number> = {};
  #erases: Map<string, number[]>;

  /**
   * Built once the deployment exists, whose admin HSM was set up already: the mark and the erase
   * counts start at zero, so the first day gives that set-up's cycles (every meter counts from zero)
   * to {@link BEFORE_FIRST_OPERATION}, as the report says, and its erases to the first day, so that
   * the days' erases add up to each device's lifetime wear.
   */
  constructor(deployment: Deployment) {
    this.#deployment = deployment;
    this.#mark = 0;
    this.#erases = new Map();
  }

  /** Charges what was spent since the mark to the running operation, and moves the mark. */
  #charge(): void {
    const now = totalCycles(this.#deployment);
    if (this.#current !== null && now > this.#mark) bump(this.#cycles, this.#current, now - this.#mark);
    this.#mark = now;
  }

  /** An operation of `kind` starts: what follows is charged to it. */
  operation(kind: string): void {
    this.#charge();
    this.#current = kind;
  }

  /** Checks nested in checks (the end of day's, each counted on its own) pause once. */
  #depth = 0;
  /** The operation a check interrupted: it goes on after the check. */
  #interrupted: string | null = null;

  /** A checker is about to run: nothing is charged until resumed. */
  pause(): void {
    if (this.#depth++ > 0) return;
    this.#charge();
    this.#interrupted = this.#current;
    this.#current = null;
  }

  /** The checker is done; what it spent is left out, and the interrupted operation goes on. */
  resume(): void {
    if (this.#depth === 0 || --this.#depth > 0) return;
    this.#mark = totalCycles(this.#deployment);
    this.#current = this.#interrupted;
  }

  /** What was spent since the last call (or construction), checkers left out. */
  day(): DeviceSpend {
    this.#charge();
    // Rows charge fractional cycles per byte; the report counts whole cycles.
    const cycles = Object.fromEntries(
      Object.entries(this.#cycles)
        .map(([op, n]) => [op, Math.round(n)] as const)
        .filter(([, n]) => n > 0)
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
    );
    this.#cycles = {};
    const now = eraseCounts(this.#deployment);
    const erases: Record<string, number[]> = {};
    for (const [name, counts] of now) {
      const before = this.#erases.get(name) ?? counts.map(() => 0);
      // An image put back (an attack refused, then the genuine one restored) carries its own counts.
      const today = counts.map((c, i) => Math.max(0, c - (before[i] ?? 0)));
      // Only devices that erased something: most days most devices erase nothing, and a ten-year
      // report listed 24 zeros per device per day (12 MB of its 20 for two users).
      if (today.some((n) => n > 0)) erases[name] = today;
    }
    this.#erases = now;
    return { cycles, erases };
  }
}
