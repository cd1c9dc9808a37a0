/**
 * Each invariant of the deployment suite bites: the suite, run against a deliberately broken
 * variant of the system (a switch of `deployment.testkit.ts`, never of production code), fails, and
 * fails with that invariant's name.
 */
import { describe, expect, test, vi } from 'vitest';

vi.mock('xstate', async (importOriginal) => {
  const x = await importOriginal<typeof import('xstate')>();
  const tap = await import('./xstateTap.testkit.ts');
  return { ...x, transition: tap.tapTransition(x.transition), initialTransition: tap.tapInitialTransition(x.initialTransition) };
});

import { MUTANTS } from './deployment.testkit.ts';
import type { Mutant } from './deployment.testkit.ts';
import type { InvariantName } from './invariants.testkit.ts';
import { runSuite } from './runner.testkit.ts';

/** The invariant each broken variant must trip. */
const BITES: Record<Mutant, InvariantName> = {
  leakKeyIntoShare: 'key-secrecy',
  foreignKeyToUser: 'need-to-know',
  decryptLies: 'readability',
  findKeyLargestGroup: 'smallest-group',
  rollbackWholeDevice: 'integrity',
  keyLostOnPowerCut: 'durability',
  resyncIgnored: 'convergence',
};

describe('every invariant bites', () => {
  test.each(MUTANTS.map((m) => [m, BITES[m]] as const))('%s: the suite fails with invariant %s', async (mutant, invariant) => {
    const { failure } = await runSuite({ suite: `bite-${mutant}`, ciRuns: 20, maxCommands: 40, mutant, warmup: false, noShrink: true, reports: false });
    expect(failure, `the suite must fail against ${mutant}`).not.toBeNull();
    expect(failure?.invariant, failure?.report).toBe(invariant);
    expect(failure?.message).toMatch(new RegExp(`^invariant ${invariant}:`));
  }, 900_000);
});
