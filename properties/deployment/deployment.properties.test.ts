/**
 * A real deployment against the model, under attack and power loss: the admin HSM, four user HSMs,
 * their encrypted databases and the directory transport in a temporary folder, driven by random
 * command sequences (`fc.commands` + `fc.asyncModelRun`; see `commands.testkit.ts`), with the named
 * invariants of `impl/simulation/invariantError.ts` checked after every command and convergence at the end.
 * The statistics go to `reports/properties.json`; the second test requires every declared edge of
 * every machine and every attack kind to have been exercised, the third key choices decided by the
 * smallest-group rule and by the key number, and lookups by senders behind the model judged over states
 * that the model's state now would judge otherwise.
 */
import { describe, expect, test, vi } from 'vitest';

// Every machine steps through model/pureTransition.ts (xstate's pure functions with a reused scope).
vi.mock('../../model/pureTransition.ts', async (importOriginal) => {
  const x = await importOriginal<typeof import('../../model/pureTransition.ts')>();
  const tap = await import('./xstateTap.testkit.ts');
  return {
    ...x,
    transition: tap.tapTransition(x.transition),
    initialTransition: tap.tapInitialTransition(x.initialTransition),
  };
});

import { CI_SEED, propertyParams, replaying, scaled, sizedTimeout } from '../../testing/runConfig.ts';
import { runSuite } from './runner.testkit.ts';
import type { SuiteStats } from './stats.testkit.ts';
import { propertiesReport } from './stats.testkit.ts';
import { ATTACK_KINDS } from '../../impl/simulation/attacks.ts';
import { UNREACHABLE_EDGES } from './coverage.testkit.ts';
import { REFUSAL_REASONS } from '../../model/updateProcessing.ts';

/** Random runs at CI size. */
const CI_RUNS = 40;

let stats: SuiteStats | null = null;
/** Whether the property failed (a counterexample, the warm-up's included): its runs' coverage is then moot. */
let propertyFailed = false;

describe('deployment: model against a real deployment, under attack and power loss', () => {
  test(
    'every invariant holds after every command, and replicas converge once the adversary stops',
    async () => {
      const result = await runSuite({
        suite: 'deployment',
        ciRuns: CI_RUNS,
        // Commands a run draws at most: 50 at CI size, more or fewer by SEKEY_SCALE (`--scale`).
        maxCommands: scaled(50),
        warmup: true,
      });
      stats = result.stats;
      propertyFailed = result.failure !== null;
      const where = propertiesReport();
      console.log(`deployment statistics (${where ?? 'kept nowhere: a replay'}):\n${result.stats.table()}`);
      if (process.env['DEPLOY_PROFILE']) console.log(JSON.stringify((await import('./commands.testkit.ts')).PROFILE));
      if (result.failure) throw new Error(result.failure.report);
    },
    sizedTimeout(900_000),
  );

  // A replay (SEKEY_PATH) is one run: it cannot cover every edge, and is not meant to.
  test.skipIf(replaying())('the runs exercised every declared edge of every machine and every attack kind', (ctx) => {
    // A failed property stopped at its counterexample: the edges its later runs would have taken are
    // missing for that reason alone, and a second red test would only hide the one that matters.
    if (propertyFailed) ctx.skip('the property failed: the coverage of its runs is not judged');
    expect(stats, 'the suite ran first').not.toBeNull();
    const s = stats as SuiteStats;
    const missing = s.missingEdges();
    for (const [category, edges] of Object.entries(missing)) {
      const allowed = UNREACHABLE_EDGES[category as keyof typeof UNREACHABLE_EDGES] ?? {};
      expect(
        edges.filter((e) => !(e in allowed)),
        `${category}: declared edges never taken`,
      ).toEqual([]);
      const taken = Object.keys(allowed).filter((e) => !edges.includes(e));
      expect(taken, `${category}: edges listed as unreachable were taken: update coverage.testkit.ts`).toEqual([]);
    }
    for (const kind of ATTACK_KINDS) expect(s.counts.attackKinds[kind] ?? 0, `attack ${kind}`).toBeGreaterThan(0);
    // Every reason a user's HSM refuses a file for that the adversary can bring about: an attack that never
    // met one leaves its rule unchecked (an old resync applied before numbers were compared passed every CI-size
    // run while `rolledBack` never appeared and `replayed` once). Not `wrongRecipient`: it takes a file sealed
    // under this HSM's channel key that names another user or HSM, which only the admin HSM could seal.
    for (const reason of REFUSAL_REASONS.filter((r) => r !== 'wrongRecipient'))
      expect(s.counts.errorCodes[`refused:${reason}`] ?? 0, `files refused as ${reason}`).toBeGreaterThan(0);
    // The warm-up's HSM that dies and is forgotten as lost, judged by what its flash holds.
    expect(s.counts.notes['an HSM that died forgotten by serial'] ?? 0, 'a dead HSM forgotten').toBeGreaterThan(0);
    for (const kind of ATTACK_KINDS) {
      const idle = s.counts.attackKinds[`${kind}:nothing to attack`] ?? 0;
      expect(
        (s.counts.attackKinds[kind] ?? 0) - idle,
        `attack ${kind} that actually touched something`,
      ).toBeGreaterThan(0);
    }
  });

  // A checked choice of key with one candidate passes whatever the rules say: the random runs must check
  // choices that the smallest-group rule and the key number decide (selectionReach.testkit.ts). At CI
  // size, 41 and 32 at the CI seed, 32 to 63 and 13 to 26 at seeds 4 to 6, senders behind the model
  // included (29 and 25, and 19 to 33 and 10 to 22, when only synced senders' choices were judged).
  // Synced senders' alone, now that findKey keeps a sender behind: 26 and 21 at the CI seed, 13 to 31
  // and 8 to 14 at seeds 4 to 6 (required apart: the totals could hide their loss). Since `staleRescue`
  // drew other runs: 73 and 20 at the CI seed, 41 to 74 and 16 to 39 at seeds 4 to 6; synced alone, 41
  // and 12, 27 to 41 and 8 to 22. Since user hosts' clock skews drew other runs: 68 and 15, synced alone
  // 41 and 8. With `smallHsm` (a user stalled on a full key store is no synced sender) and `addActiveKeys`
  // at weight 4 to make up for it: 43 and 13, synced alone 26 and 8 (4 by number at weight 3).
  // Before the rotations and aimed lookups of commands.testkit.ts: 6 and 0 at the CI seed.
  test.skipIf(replaying())(
    'the smallest-group checks reached choices decided by group size and by key number, and stale rescues',
    (ctx) => {
      if (propertyFailed) ctx.skip('the property failed: the reach of its runs is not judged');
      expect(stats, 'the suite ran first').not.toBeNull();
      const s = stats as SuiteStats;
      // The warm-up counts as a run.
      if (s.runs - 1 < CI_RUNS) ctx.skip(`${s.runs - 1} random runs, fewer than CI size (${CI_RUNS})`);
      // The thresholds are a claim about the CI seed's runs: another seed's 40 runs may draw fewer such
      // choices with nothing wrong (seed 2 drew 4 synced choices decided by number before `smallHsm` and the
      // clock skews changed what runs draw), and `npm test` off CI draws a random seed. Its counts are in
      // reports/properties.json all the same.
      const seed = propertyParams(CI_RUNS).seed;
      if (seed !== CI_SEED) ctx.skip(`seed ${seed ?? 'drawn at random'}: the reach thresholds are the CI seed's`);
      const checks = s.counts.invariantChecks;
      expect(checks['smallest-group:decided by size'] ?? 0, 'choices decided by size').toBeGreaterThanOrEqual(5);
      expect(checks['smallest-group:decided by key number'] ?? 0, 'choices decided by number').toBeGreaterThanOrEqual(
        5,
      );
      // The totals count senders behind the model too: synced senders' choices (judged against the model's
      // state now, a check of its own) must reach both on their own, or steering lookups to senders behind
      // could take that reach away unseen.
      const synced = (what: string) =>
        (checks[`smallest-group:${what}`] ?? 0) - (checks[`smallest-group:behind sender, ${what}`] ?? 0);
      expect(synced('decided by size'), "synced senders' choices decided by size").toBeGreaterThanOrEqual(5);
      expect(synced('decided by key number'), "synced senders' choices decided by number").toBeGreaterThanOrEqual(5);
      // Lookups by senders behind the model, judged over what was published to them: some whose answer
      // there is not the model's answer now, the stale states only that judgement can hold to the rule.
      const stale = checks["smallest-group:behind sender, the model's state now gives another"] ?? 0;
      expect(stale, 'behind senders whose state gives another key than the model now').toBeGreaterThanOrEqual(5);
      // The rescue on a stale view judged (a holder behind the model re-protecting from a key compromised on
      // its replica, past its freshness window): 0 in 40 runs before `staleRescue` and the aimed `reprotect`;
      // 10 at the CI seed, 7, 6 and 12 at seeds 4 to 6; 9 at the CI seed since the clock skews.
      const rescues = checks['smallest-group:behind sender, rescue past the window'] ?? 0;
      expect(rescues, 'rescues past the window by a holder behind the model').toBeGreaterThanOrEqual(2);
    },
  );
});
