/**
 * The commit intent: what the device records in its flash, before a manifest is written, so that
 * only that exact commit can be completed after a power cut, and only the committed manifest of a
 * generation is ever accepted for it (see `pageStore.ts`, "Anti-rollback").
 *
 * Each manifest carries an *attempt* number: the k-th manifest sealed for a generation (an attempt
 * is abandoned when power fails before its counter advanced and the card then lacks its manifest).
 * The device keeps one monotonic counter (a flash counter, as the generation is) that names the
 * generation being or last committed, the attempt of that generation, and the attempt of the
 * manifest committed just before it:
 *
 * `value = (generation × 2^10 + previousAttempt) × 2^10 + attempt`
 *
 * It only ever grows: a new attempt of the same generation raises `attempt`, a new generation raises
 * `generation`. Attempts run 1..{@link MAX_ATTEMPTS}; 0 names a manifest of format 1, written before
 * intents existed. Generations fit below 2^33, far beyond a device's life.
 * @module
 */
import { DatabaseError } from './databaseError.ts';

/** Attempts one generation may take (power cuts between an intent and its commit). */
export const MAX_ATTEMPTS = 1023;
const RADIX = 1024;

/** A decoded commit intent. */
export interface CommitIntent {
  /** The generation being committed, or committed last. */
  readonly generation: number;
  /** The attempt of the manifest committed for `generation - 1` (0: a format-1 manifest, or none). */
  readonly previousAttempt: number;
  /** The attempt of the manifest for `generation`. */
  readonly attempt: number;
}

/** The counter value of `intent`. */
export function encodeCommitIntent(intent: CommitIntent): number {
  return (intent.generation * RADIX + intent.previousAttempt) * RADIX + intent.attempt;
}

/** The intent named by counter value `value`, or null for 0 (no intent ever recorded). */
export function decodeCommitIntent(value: number): CommitIntent | null {
  if (value === 0) return null;
  return {
    generation: Math.floor(value / RADIX / RADIX),
    previousAttempt: Math.floor(value / RADIX) % RADIX,
    attempt: value % RADIX,
  };
}

/**
 * The intent of the next commit, of generation `committed + 1`, given the device's current intent
 * and the attempt of the committed manifest.
 * @throws DatabaseError `Tampered` when the current intent does not fit the committed generation;
 *   `NoSpace` after {@link MAX_ATTEMPTS} abandoned attempts of one generation.
 */
export function nextCommitIntent(
  current: CommitIntent | null,
  committed: number,
  committedAttempt: number,
): CommitIntent {
  const generation = committed + 1;
  if (current === null || current.generation === committed)
    return { generation, previousAttempt: committedAttempt, attempt: 1 };
  if (current.generation !== generation) {
    throw new DatabaseError(
      'Tampered',
      `the device's commit intent names generation ${current.generation}, but generation ${committed} is committed`,
    );
  }
  // The counter only grows, and its attempt field is full: no intent can name this generation again,
  // and a later one would leave this one unaccounted for (which is what the rollback check relies on).
  // Reaching this takes 1,023 interrupted commits of one change: a failing supply or card, or an
  // adversary with the device in hand, who could as well destroy it. Not recoverable in this format.
  if (current.attempt >= MAX_ATTEMPTS)
    throw new DatabaseError(
      'NoSpace',
      `commit ${generation} was attempted ${MAX_ATTEMPTS} times without completing (power or card failures): ` +
        'the HSM has no commit attempt left for it, so this database can commit no more (docs/errors.md)',
    );
  return { generation, previousAttempt: current.previousAttempt, attempt: current.attempt + 1 };
}
