/**
 * What one simulated day counts: operations by kind, refusals by error code, update traffic, and the
 * invariant checks run. It is also the tally the shared checkers and attacks count into
 * (`CheckTally`, `AttackTally`), so a refusal met by an attack counts here as a refusal (expected),
 * never as a violation.
 * @module
 */
import type { UpdateTraffic } from './simulationReport.ts';

/** The stable code of an error (its `code`, else its class name). */
export function refusalCode(error: unknown): string {
  if (error !== null && typeof error === 'object' && typeof (error as { code?: unknown }).code === 'string')
    return (error as { code: string }).code;
  return error instanceof Error ? error.name : typeof error;
}

/** Adds `n` to `record[key]`. */
export function bump(record: Record<string, number>, key: string, n = 1): void {
  record[key] = (record[key] ?? 0) + n;
}

/** One day's counters. */
export class DayTally {
  readonly operations: Record<string, number> = {};
  readonly refusals: Record<string, number> = {};
  readonly updates = { filesPublished: 0, bytesPublished: 0, filesApplied: 0, bytesApplied: 0 } satisfies UpdateTraffic;
  /** Checks by `<invariant>:<what>` as the shared checkers name them. */
  readonly checks: Record<string, number> = {};
  /** Told of each operation as it starts (the device meters charge what follows to it). */
  readonly #onOperation: ((kind: string) => void) | undefined;

  constructor(onOperation?: (kind: string) => void) {
    this.#onOperation = onOperation;
  }

  /** Counts one operation of `kind`, which starts now. */
  operation(kind: string): void {
    bump(this.operations, kind);
    this.#onOperation?.(kind);
  }

  /**
   * Counts the last operation of `from` as one of `to` instead: what an operation turned out to be
   * once done (an attack that found nothing to attack). It spent nothing, so no cycles move.
   */
  reclassify(from: string, to: string): void {
    const left = (this.operations[from] ?? 0) - 1;
    if (left > 0) this.operations[from] = left;
    else delete this.operations[from];
    bump(this.operations, to);
  }

  /** Counts a refusal; returns its code. */
  error(error: unknown): string {
    const code = refusalCode(error);
    bump(this.refusals, code);
    return code;
  }

  /** The checkers' and attacks' counters: checks, and the attacks' notes (which change no total). */
  count(category: 'invariantChecks' | 'attackKinds' | 'errorCodes', name: string): void {
    if (category === 'invariantChecks') bump(this.checks, name);
  }
}
