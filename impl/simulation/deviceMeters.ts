/**
 * Reads what the simulated devices spent: modelled HSM cycles by operation (each physical device's
 * `CycleMeter`, which its flash, SD card and crypto charge: `device/costModel.ts`) and flash sector
 * erases, as differences between two readings. Work done by the invariant checkers (their test
 * decryptions, their scans of SD cards) is measured apart and left out, so the report shows what
 * the organisation's own work cost.
 * @module
 */
import type { Deployment } from './deployment.ts';
import { bump } from './dayTally.ts';

interface Reading {
  readonly cycles: Map<string, Record<string, number>>;
  readonly erases: Map<string, number[]>;
}

function read(d: Deployment): Reading {
  const cycles = new Map<string, Record<string, number>>();
  const erases = new Map<string, number[]>();
  for (const h of d.hardware.values()) {
    const byOp: Record<string, number> = {};
    for (const [op, totals] of Object.entries(h.meter.snapshot().byOp)) if (totals) byOp[op] = totals.cycles;
    cycles.set(h.name, byOp);
    erases.set(h.name, h.flash.eraseCounts());
  }
  return { cycles, erases };
}

/** Cycles by operation and erases by device and sector, spent since the last {@link DeviceMeters.day}. */
export interface DeviceSpend {
  readonly cycles: Record<string, number>;
  readonly erases: Record<string, number[]>;
}

/** Differences of device meters, day by day, without the checkers' share. */
export class DeviceMeters {
  readonly #deployment: Deployment;
  #last: Reading;
  #checkStart: Reading | null = null;
  readonly #excluded: Record<string, number> = {};

  constructor(deployment: Deployment) {
    this.#deployment = deployment;
    this.#last = read(deployment);
  }

  /** Starts leaving out what the devices spend (the checkers are about to run). */
  pause(): void {
    this.#checkStart = read(this.#deployment);
  }

  /** Stops leaving it out. */
  resume(): void {
    if (this.#checkStart === null) return;
    const now = read(this.#deployment);
    for (const [op, cycles] of Object.entries(sumOps(diffCycles(now, this.#checkStart))))
      bump(this.#excluded, op, cycles);
    this.#checkStart = null;
  }

  /** What was spent since the last call (or construction), checkers left out. */
  day(): DeviceSpend {
    const now = read(this.#deployment);
    const cycles = sumOps(diffCycles(now, this.#last));
    for (const [op, n] of Object.entries(this.#excluded)) {
      const left = (cycles[op] ?? 0) - n;
      if (left > 0) cycles[op] = left;
      else delete cycles[op];
      delete this.#excluded[op];
    }
    const erases: Record<string, number[]> = {};
    for (const [name, counts] of now.erases) {
      const before = this.#last.erases.get(name) ?? counts.map(() => 0);
      // An image put back (an attack refused, then the genuine one restored) carries its own counts.
      erases[name] = counts.map((c, i) => Math.max(0, c - (before[i] ?? 0)));
    }
    this.#last = now;
    // Rows charge fractional cycles per byte; the report counts whole cycles.
    for (const op of Object.keys(cycles)) cycles[op] = Math.round(cycles[op] as number);
    return { cycles: sorted(cycles), erases };
  }
}

function diffCycles(now: Reading, before: Reading): Array<Record<string, number>> {
  const out: Array<Record<string, number>> = [];
  for (const [name, byOp] of now.cycles) {
    const was = before.cycles.get(name) ?? {};
    const d: Record<string, number> = {};
    for (const [op, c] of Object.entries(byOp)) if (c - (was[op] ?? 0) > 0) d[op] = c - (was[op] ?? 0);
    out.push(d);
  }
  return out;
}

function sumOps(parts: ReadonlyArray<Record<string, number>>): Record<string, number> {
  const total: Record<string, number> = {};
  for (const p of parts) for (const [op, c] of Object.entries(p)) bump(total, op, c);
  return total;
}

function sorted(record: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
