import { describe, expect, test } from 'vitest';
import { CI_SEED, sizedTimeout } from '../../testing/runConfig.ts';
import { BOOTSTRAP, runSuite, scenarioLines } from './runner.testkit.ts';

const BOOTSTRAP_TEXT =
  'the bootstrap (steps 1 to 21: alice, bob, carol in G1, alice and bob in G2, each group with an active key, synced)';
const CONVERGENCE = '  then: convergence (publish, sync, resync the blocked and the unacknowledged)';

describe("a failure's scenario lists what ran, and no further", () => {
  const said = ['U1 syncs', 'admin publishes'];

  test('the steps after the bootstrap, then the convergence only when the failure came in it', () => {
    expect(BOOTSTRAP).toHaveLength(21);
    const steps = [`deployment seed 7; after ${BOOTSTRAP_TEXT}:`, '   22. U1 syncs', '   23. admin publishes'];
    expect(scenarioLines(said, 7, { phase: 'steps', step: 21 })).toEqual(steps);
    expect(scenarioLines(said, 7, { phase: 'convergence', step: 21 })).toEqual([...steps, CONVERGENCE]);
  });

  test("in the bootstrap: the bootstrap's step it failed at, in its words as it ran; before it: the set-up", () => {
    const told = (spec: (typeof BOOTSTRAP)[number]) => (spec === BOOTSTRAP[3] ? 'admin provisions U1 → H1' : '?');
    expect(scenarioLines([], 7, { phase: 'bootstrap', step: 4 }, told)).toEqual([
      `deployment seed 7; ${BOOTSTRAP_TEXT} ran up to its step 4, which failed:`,
      '    4. admin provisions U1 → H1',
    ]);
    expect(scenarioLines([], 7, { phase: 'setup', step: 0 })).toEqual([
      `deployment seed 7; the run failed setting up its deployment, before ${BOOTSTRAP_TEXT}`,
    ]);
  });

  test(
    'a run that fails in the bootstrap (a key leaked by its publication) lists no step after it, nor convergence',
    async () => {
      const { failure } = await runSuite({
        suite: 'bootstrap-failure',
        ciRuns: 1,
        maxCommands: 5,
        fixedSeed: CI_SEED,
        mutant: 'leakKeyIntoShare',
        noShrink: true,
        reports: false,
      });
      expect(failure?.message).toMatch(/^invariant key-secrecy: after step 18 \(admin publishes\)/);
      expect(failure?.reached).toEqual({ phase: 'bootstrap', step: 18 });
      expect(failure?.scenario).toEqual([
        `deployment seed ${failure?.deploymentSeed}; ${BOOTSTRAP_TEXT} ran up to its step 18, which failed:`,
        '   18. admin publishes',
      ]);
      expect(failure?.report).not.toContain('then: convergence');
    },
    sizedTimeout(300_000),
  );
});
