/**
 * Runs the deployment suite: a fixed bootstrap (three users with devices in one group with an active
 * key, published and synced), an optional fixed warm-up scenario that reaches rare edges, then
 * random command sequences (`fc.commands` + `fc.asyncModelRun`), then convergence: once the
 * adversary stops, publish + sync (+ resync for a blocked user) must bring every replica to the
 * model's projection.
 *
 * A failure is reported with its seed and path (replay with `SEKEY_SEED` / `SEKEY_PATH`), the shrunk
 * scenario as numbered steps, and a runnable reproduction written to `reports/` (run it with
 * `npx vitest run -c properties/deployment/repro.config.ts`). Test support only.
 * @module
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import fc from 'fast-check';
import type { Parameters } from 'fast-check';
import type { GroupPolicy, KeyRecord, KmsOperation, UserId } from '../../model/kms.ts';
import { compareIds, keyStateOf } from '../../model/kms.ts';
import type { KeyEventType } from '../../model/keyLifecycle.ts';
import { commandsReplayPath, passRuns, propertyParams, replaying, stoppedByDeadline } from '../../testing/runConfig.ts';
import { RULE_MOCKS_SOURCE } from './brokenRekey.testkit.ts';
import type { Deployment } from '../../impl/simulation/deployment.ts';
import { openUser } from '../../impl/simulation/deployment.ts';
import { createDeployment } from './deployment.testkit.ts';
import type { Mutant } from './deployment.testkit.ts';
import {
  commandArb,
  DEVICE_USERS,
  deadUsers,
  unforgottenDeadHsms,
  describe,
  execute,
  precondition,
  runStats as stats,
  setRunContext,
  START,
  toldOfRun,
} from './commands.testkit.ts';
import type { CommandSpec } from './commands.testkit.ts';
import { InvariantError, violated } from '../../impl/simulation/invariantError.ts';
import { replicaView, usable } from '../../impl/simulation/modelViews.ts';
import { checkConverged } from '../../impl/simulation/convergence.ts';
import type { DeploymentModel } from '../../impl/simulation/referenceModel.ts';
import { testModel } from './model.testkit.ts';
import { SuiteStats, writeStats } from './stats.testkit.ts';
import { WARMUPS } from './warmup.testkit.ts';
import { PropertyProgress } from '../progress.testkit.ts';
import { reproductionCommand } from '../runner/replayCommand.ts';
import { messageOf } from '../../model/codedError.ts';
import { DEFAULT_HEARTBEAT_INTERVAL_MS } from '../../model/publication.ts';
import { durationText } from '../operationText.testkit.ts';

const DAY = 86_400_000;
const TEAM: GroupPolicy = { maxKeys: 3, algorithm: 'AES-256-GCM', defaultCryptoperiodMs: 7 * DAY };
const op = (o: KmsOperation): CommandSpec => ({ t: 'admin', op: o });

/**
 * Every run begins with this: alice, bob and carol with devices, all three in G1 and alice and bob
 * in G2 (nested groups, so that the smallest group matters), each group with an active key, synced.
 */
export const BOOTSTRAP: readonly CommandSpec[] = [
  op({ type: 'addUser', userId: 'U1', name: 'alice', now: 0 }),
  op({ type: 'addUser', userId: 'U2', name: 'bob', now: 0 }),
  op({ type: 'addUser', userId: 'U3', name: 'carol', now: 0 }),
  { t: 'provision', user: 'U1' },
  { t: 'provision', user: 'U2' },
  { t: 'provision', user: 'U3' },
  op({ type: 'addGroup', groupId: 'G1', name: 'team', policy: TEAM, shareHistory: false, now: 0 }),
  op({ type: 'addMember', groupId: 'G1', userId: 'U1', now: 0 }),
  op({ type: 'addMember', groupId: 'G1', userId: 'U2', now: 0 }),
  op({ type: 'addMember', groupId: 'G1', userId: 'U3', now: 0 }),
  op({ type: 'addKey', groupId: 'G1', name: 'first', now: 0 }),
  op({ type: 'keyEvent', keyId: 'K2000', event: { type: 'ACTIVATE', now: 0 } }),
  op({ type: 'addGroup', groupId: 'G2', name: 'pair', policy: TEAM, shareHistory: true, now: 0 }),
  op({ type: 'addMember', groupId: 'G2', userId: 'U1', now: 0 }),
  op({ type: 'addMember', groupId: 'G2', userId: 'U2', now: 0 }),
  op({ type: 'addKey', groupId: 'G2', name: 'pair key', now: 0 }),
  op({ type: 'keyEvent', keyId: 'K2001', event: { type: 'ACTIVATE', now: 0 } }),
  { t: 'publish' },
  { t: 'sync', user: 'U1' },
  { t: 'sync', user: 'U2' },
  { t: 'sync', user: 'U3' },
];

/** Each user host's clock skew against the admin host's, in ms (positive: ahead), fixed for a run. */
export type Skews = Readonly<Record<UserId, number>>;

/**
 * How far a user host's clock may be from the admin's: one heartbeat interval. The freshness window
 * is three intervals by default, one of them the margin for clocks and sync schedules (the update
 * format's "Freshness", Configuration), so within it a host that syncs after each publication stays
 * fresh whichever way its clock is off (the convergence requires it: `checkConverged`). Past it the
 * rule refuses by design (a clock a window off, NotFresh at once), which is not a skew to live with.
 */
export const SKEW_BOUND_MS = DEFAULT_HEARTBEAT_INTERVAL_MS;

const MINUTE = 60_000;
/**
 * One host's skew: its clock on the admin's (0) most often; off by seconds to minutes, as unsynchronised
 * host clocks drift; by minutes to hours, up to the bound, as a clock set by hand or a wrong time zone
 * leaves it; or by exactly the bound either way. Whole seconds, so that a listing says them exactly.
 * Shrinks towards 0 (`withCrossShrink`), so a counterexample keeps only the skews it needs.
 */
const skewArb: fc.Arbitrary<number> = fc.oneof(
  { withCrossShrink: true },
  { weight: 5, arbitrary: fc.constant(0) },
  { weight: 2, arbitrary: fc.integer({ min: -600, max: 600 }).map((s) => s * 1000) },
  {
    weight: 1,
    arbitrary: fc.integer({ min: -SKEW_BOUND_MS / MINUTE, max: SKEW_BOUND_MS / MINUTE }).map((m) => m * MINUTE),
  },
  { weight: 1, arbitrary: fc.constantFrom(-SKEW_BOUND_MS, SKEW_BOUND_MS) },
);

/** The skews of a run's user hosts (each user that may get a device), drawn apart. */
export const skewsArb: fc.Arbitrary<Skews> = fc.record(
  Object.fromEntries(DEVICE_USERS.map((u) => [u, skewArb])) as Record<UserId, fc.Arbitrary<number>>,
);

/** The skews in a listing's words (`U2 3h12m behind the admin's clock`), '' when every host reads the admin's time. */
export function skewsText(skews: Skews = {}): string {
  const off = Object.entries(skews)
    .filter(([, ms]) => ms !== 0)
    .map(([u, ms]) => `${u} ${durationText(Math.abs(ms))} ${ms > 0 ? 'ahead' : 'behind'}`);
  return off.length === 0 ? '' : `user host clocks against the admin's: ${off.join(', ')}`;
}

/**
 * Where a run is, for a failure's listing, which lists only what ran: setting up its deployment
 * (`setup`), in its bootstrap at its `step`-th step (from 1), in the steps after it, or in the
 * convergence that ends a run. Updated as the run goes ({@link bootstrapThenConverge}).
 */
export interface Reach {
  phase: 'setup' | 'bootstrap' | 'steps' | 'convergence';
  /** The bootstrap's steps that started: the one it is in while `phase` is `bootstrap`. */
  step: number;
  /**
   * The commands the convergence ran first for HSMs that died (a provisioning, a forgetting as lost,
   * whose compromises the model replaces): its listing says them, since a failure may name those keys.
   */
  deadHsmSteps?: CommandSpec[];
}

/** A run about to start: setting up its deployment. */
function setupReach(): Reach {
  return { phase: 'setup', step: 0 };
}

/** The bootstrap, then `steps` (the generated or replayed commands), then convergence, `reach` kept up to date. */
async function bootstrapThenConverge(
  m: DeploymentModel,
  r: Deployment,
  steps: () => Promise<void>,
  reach: Reach,
): Promise<void> {
  reach.phase = 'bootstrap';
  for (const spec of BOOTSTRAP) {
    reach.step += 1;
    await execute(spec, m, r);
  }
  reach.phase = 'steps';
  await steps();
  reach.phase = 'convergence';
  reach.deadHsmSteps = [];
  await converge(m, r, reach.deadHsmSteps);
}

/**
 * Once the adversary stops: publish, sync, resync the blocked, and every replica must converge. The
 * commands it runs first for HSMs that died go to `deadHsmSteps`, for a failure's listing.
 */
export async function converge(m: DeploymentModel, r: Deployment, deadHsmSteps: CommandSpec[] = []): Promise<void> {
  const first = async (spec: CommandSpec) => {
    deadHsmSteps.push(spec);
    await execute(spec, m, r);
  };
  // An HSM that died is the operator's to deal with first: a new one for a user who still exists,
  // the dead one forgotten as lost for a deleted user's (`hsmDies`).
  for (const user of deadUsers()) {
    if (m.kms.users[user] !== undefined) await first({ t: 'provision', user });
    else if (m.devices.has(user)) await first({ t: 'forgetHsm', user, fate: 'lost' });
  }
  // Then the dead HSMs in the drawer, replaced but on record: each forgotten by the serial on its
  // case, as lost (its flash still holds what it was sent; whoever repairs it reads that), as an
  // operator clearing the drawer would. Without this, random runs rarely reach a dead HSM by serial.
  for (const pick of unforgottenDeadHsms()) await first({ t: 'forgetOldHsm', pick, fate: 'lost' });
  for (const userId of m.deviceIds()) {
    const slot = r.slot(userId);
    if (usable(slot)) continue;
    try {
      await r.reopenUser(userId);
    } catch (error) {
      violated('convergence', `${userId}'s replica cannot be opened at the end: ${String(error)}`);
    }
  }
  await execute({ t: 'publish' }, m, r);
  for (const user of m.deviceIds()) await execute({ t: 'sync', user }, m, r);
  // The documented remedy for a full key store (docs/errors.md, `StoreFull`): the admin destroys keys
  // no longer needed until every HSM has room for its user's keys, publishes, and everyone syncs: the
  // stalled HSM carries out the work it owes, and acknowledges.
  if (await makeRoom(m, r, (spec) => execute(spec, m, r))) {
    await execute({ t: 'publish' }, m, r);
    for (const user of m.deviceIds()) await execute({ t: 'sync', user }, m, r);
  }
  await execute({ t: 'collectAcks' }, m, r);
  // The remedy: a resync for every blocked user and, as the documented answer to a stale user, for
  // every user the admin does not see as acknowledged. Those not blocked are counted: each is a
  // user that publish + sync alone did not bring back (see the findings in the report).
  const states = new Map(r.publisher.publicationStates().map((p) => [p.userId, p.state] as const));
  const needy = m.deviceIds().filter((u) => {
    const blocked = r.slot(u).user?.blocked === true;
    // Retired devices (their user deleted) too: the admin lists them, and they must learn to erase.
    const unacknowledged = states.get(u) !== 'acknowledged' && states.get(u) !== 'upToDate';
    if (!blocked && unacknowledged) {
      const stale = JSON.stringify(replicaView(openUser(r.slot(u)))) !== JSON.stringify(m.currentView(u));
      stats().count(
        'notes',
        stale
          ? 'convergence: resync of an unblocked user stuck behind'
          : 'convergence: resync of an up-to-date user whose acknowledgement was lost',
      );
    }
    return blocked || unacknowledged;
  });
  if (needy.length > 0) {
    for (const user of needy) await execute({ t: 'resync', user }, m, r);
    await execute({ t: 'publish' }, m, r);
    for (const user of needy) await execute({ t: 'sync', user }, m, r);
    await execute({ t: 'collectAcks' }, m, r);
  }
  checkConverged(m, r);
}

/**
 * Destroys, as the admin, keys of users whose HSM has no room for them all (`Deployment.kmsRoom`):
 * the least needed first (deactivated, compromised or never activated, then suspended, then active:
 * those deactivated first, as the admin must), oldest first, until each has room. Returns whether it
 * destroyed any.
 */
async function makeRoom(
  m: DeploymentModel,
  r: Deployment,
  run: (spec: CommandSpec) => Promise<void>,
): Promise<boolean> {
  const need = (state: string) => (state === 'active' ? 2 : state === 'suspended' ? 1 : 0);
  const event = (keyId: string, type: KeyEventType): CommandSpec =>
    op({ type: 'keyEvent', keyId, event: { type, now: 0 } });
  let destroyed = false;
  for (const userId of m.deviceIds()) {
    for (let view = m.currentView(userId); view.keys.length > r.kmsRoom(userId); view = m.currentView(userId)) {
      const swept = m.swept();
      const [victim] = view.keys
        .map((k) => ({ id: k.id, state: keyStateOf(swept.keys[k.id] as KeyRecord) }))
        .sort((a, b) => need(a.state) - need(b.state) || compareIds(a.id, b.id));
      if (victim === undefined) break;
      if (need(victim.state) > 0) await run(event(victim.id, 'DEACTIVATE'));
      await run(event(victim.id, 'DESTROY'));
      stats().count('notes', 'convergence: a key destroyed to make room in a full key store');
      destroyed = true;
      if (m.currentView(userId).keys.some((k) => k.id === victim.id))
        violated('convergence', `${victim.id} is still listed for ${userId} after the admin destroyed it`);
    }
  }
  return destroyed;
}

/** Options of a suite run. */
export interface SuiteOptions {
  /** The name in `reports/properties.json` and in reproduction files. */
  readonly suite: string;
  /** Runs at CI size (`SEKEY_RUNS` overrides). */
  readonly ciRuns: number;
  readonly maxCommands: number;
  readonly mutant?: Mutant;
  /** Run the fixed warm-up scenario first. */
  readonly warmup?: boolean;
  /** The seed when `SEKEY_SEED` is unset, in CI or not (bite tests: see `propertyParams`). */
  readonly fixedSeed?: number;
  /** Run `ciRuns` whatever `SEKEY_RUNS` says (bite tests: see `propertyParams`). */
  readonly fixedRuns?: boolean;
  /** Stop at the first failure without shrinking (bite tests). */
  readonly noShrink?: boolean;
  /** Write the reproduction file of a failure to `reports/` (default true). */
  readonly reports?: boolean;
  /** Write the statistics to `reports/properties.json` (default: as `reports`). */
  readonly statistics?: boolean;
}

/** A failure, for people and for the bite tests. */
export interface SuiteFailure {
  readonly invariant: string | null;
  readonly message: string;
  /** fast-check's seed; null for a failure in the warm-up, which runs before any seeded run. */
  readonly seed: number | null;
  readonly path: string;
  readonly steps: readonly CommandSpec[];
  /**
   * Each step in words, as the run that failed told it (`toldOfRun`): the key ID a key named by
   * recency hit, the key an `addKey` made, what an attack did. What every listing of it says.
   */
  readonly said: readonly string[];
  readonly deploymentSeed: number;
  /** The user hosts' clock skews of the run that failed. */
  readonly skews: Skews;
  /** Where the run was when it failed: its listing goes that far and no further. */
  readonly reached: Reach;
  /** The scenario as every listing of it gives it (`scenarioLines`): seed, bootstrap, steps, convergence. */
  readonly scenario: readonly string[];
  readonly report: string;
  readonly reproduction: string | null;
}

/** Replays bootstrap + `steps` (skipping those whose precondition fails) + convergence. */
export async function replayScenario(
  steps: readonly CommandSpec[],
  options: {
    deploymentSeed: number;
    mutant?: Mutant;
    stats?: SuiteStats;
    /** Receives each step as it starts (not those whose precondition fails): what a failure lists. */
    ran?: CommandSpec[];
    /** Kept up to date with where the run is ({@link Reach}): how far a failure's listing goes. */
    reach?: Reach;
    /** The user hosts' clock skews (none: every host on the admin's clock). */
    skews?: Skews;
  },
): Promise<void> {
  const stats = options.stats ?? new SuiteStats();
  setRunContext({ stats });
  const reach = options.reach ?? setupReach();
  const skews = options.skews ?? {};
  const m = testModel(START, options.mutant, skews);
  const r = await createDeployment({
    seed: `deploy-${options.deploymentSeed}`,
    start: START,
    mutant: options.mutant,
    skews,
  });
  try {
    await bootstrapThenConverge(
      m,
      r,
      async () => {
        for (const spec of steps) {
          if (!precondition(spec, m)) continue;
          options.ran?.push(spec);
          await execute(spec, m, r);
        }
      },
      reach,
    );
  } finally {
    r.dispose();
  }
}

function invariantOf(error: unknown): string | null {
  if (error instanceof InvariantError) return error.invariant;
  const match = /invariant ([a-z-]+):/.exec(messageOf(error));
  return match ? (match[1] as string) : null;
}

/** Runs the suite; returns its statistics and the failure, if any. */
export async function runSuite(options: SuiteOptions): Promise<{ stats: SuiteStats; failure: SuiteFailure | null }> {
  const stats = new SuiteStats();
  // For `npm run properties`: runs and commands as they happen, the outcome at the end.
  const progress = new PropertyProgress(options.suite);
  type Params = Parameters<[number, Iterable<fc.AsyncCommand<DeploymentModel, Deployment, false>>, Skews]>;
  const paramsNow = (): Params =>
    propertyParams(options.ciRuns, {
      ...(options.fixedSeed === undefined ? {} : { fixedSeed: options.fixedSeed }),
      fixedRuns: options.fixedRuns === true,
    });
  let params = paramsNow();
  const warmup = options.warmup === true ? 1 : 0;
  const pass = passRuns(options.ciRuns, { fixedRuns: options.fixedRuns === true }) + warmup;
  progress.begin((params.numRuns ?? options.ciRuns) + warmup, pass);
  const counted = async (run: () => Promise<void>): Promise<void> => {
    const before = stats.commands;
    try {
      await run();
    } finally {
      progress.ran(stats.commands - before);
    }
  };
  let interrupted = false;
  let seed = params.seed ?? 0;
  const replayCommands = commandsReplayPath();
  const cpu0 = process.cpuUsage();
  stats.listen();
  let failure: SuiteFailure | null = null;
  // The runner hears the outcome even when the suite itself breaks (e.g. a reproduction file cannot be
  // written): a run without its closing line would look like one still going.
  let broke: unknown = null;
  try {
    try {
      if (options.warmup === true) {
        stats.runs += 1;
        // One run, as the table counts it: one run line for all its scenarios (one a scenario made the
        // progress line count a run more than the table).
        const before = stats.commands;
        try {
          // Its scenarios in turn, each on a deployment of its own, until one fails.
          for (const warmup of WARMUPS) {
            // The steps it ran, up to the one that failed, and where it failed: what the failure lists and numbers.
            const ran: CommandSpec[] = [];
            const reach = setupReach();
            try {
              await replayScenario(warmup.steps, {
                deploymentSeed: 0,
                ...(options.mutant ? { mutant: options.mutant } : {}),
                stats,
                ran,
                reach,
                skews: warmup.skews,
              });
            } catch (error) {
              const skews = warmup.skews;
              failure = describeFailure(options, error, null, '', ran, 0, reach, toldOfRun(), skews, warmup.name);
              break;
            }
          }
        } finally {
          progress.ran(stats.commands - before);
        }
      }
      if (failure === null) {
        // The words of the last run that failed, as it ran (`toldOfRun`): fast-check's counterexample is
        // the last case that failed, and its commands say which key a `#n` hit only in that run.
        let told: ((spec: CommandSpec) => string) | undefined;
        // And where that run failed: its listing goes that far (no convergence a run never reached).
        let reached: Reach | undefined;
        const property = progress.stoppable(
          fc.asyncProperty(
            fc.nat(1_000_000),
            fc.commands([commandArb], {
              maxCommands: options.maxCommands,
              size: 'max',
              ...(replayCommands === undefined ? {} : { replayPath: replayCommands }),
            }),
            // After the commands, so that a seed draws the same commands as before skews were drawn.
            skewsArb,
            async (deploymentSeed, cmds, skews) => {
              stats.runs += 1;
              setRunContext({ stats });
              if (skewsText(skews) !== '') stats.count('notes', "a run with a user host clock off the admin's");
              const reach = setupReach();
              try {
                const m = testModel(START, options.mutant, skews);
                const r = await createDeployment({
                  seed: `deploy-${deploymentSeed}`,
                  start: START,
                  mutant: options.mutant,
                  skews,
                });
                await counted(async () => {
                  try {
                    await bootstrapThenConverge(
                      m,
                      r,
                      () => fc.asyncModelRun(() => ({ model: m, real: r }), cmds),
                      reach,
                    );
                  } finally {
                    r.dispose();
                  }
                });
              } catch (error) {
                // This run's words, none for a run that failed before its first command (and then,
                // not an earlier failing run's).
                told = toldOfRun();
                reached = reach;
                throw error;
              }
            },
          ),
        );
        // Read again after the warm-up: a campaign's deadline (SEKEY_DEADLINE) is a time left from now.
        params = paramsNow();
        if (options.noShrink === true) params.endOnFailure = true;
        const out = await fc.check(property, params);
        // Runs as every suite counts them, fast-check's (shrinking runs not included), and the
        // warm-up's fixed scenario; the property counted every execution, shrinks included, for progress.
        stats.runs = (options.warmup === true ? 1 : 0) + out.numRuns;
        // A replay whose path leads to no case ran nothing: that is not "every property held".
        if (replaying() && out.numRuns === 0 && !out.failed)
          throw new Error(`Unable to replay, got wrong path: ${process.env['SEKEY_PATH']} leads to no case`);
        interrupted = out.interrupted;
        seed = out.seed;
        if (out.failed && out.counterexample) {
          const [deploymentSeed, cmds, skews] = out.counterexample;
          // What the replay of these commands needs besides the path (commandsReplayPath).
          const replay = /replayPath="([^"]*)"/.exec(
            (cmds as unknown as { metadataForReplay: () => string }).metadataForReplay(),
          )?.[1];
          const ran = (cmds as unknown as { commands: Array<{ hasRan: boolean; cmd: { spec: CommandSpec } }> }).commands
            .filter((c) => c.hasRan)
            .map((c) => c.cmd.spec);
          failure = describeFailure(
            options,
            out.errorInstance,
            out.seed,
            `${out.counterexamplePath ?? ''}${replay ? `@${replay}` : ''}`,
            ran,
            deploymentSeed,
            reached ?? setupReach(),
            told,
            skews,
          );
        } else if (out.failed && !stoppedByDeadline(out)) {
          failure = describeFailure(
            options,
            out.errorInstance,
            out.seed,
            out.counterexamplePath ?? '',
            [],
            0,
            reached ?? setupReach(),
          );
        }
      }
    } finally {
      stats.stopListening();
      setRunContext(null);
      const cpu = process.cpuUsage(cpu0);
      stats.cpuMicros += cpu.user + cpu.system;
    }
    if ((options.statistics ?? options.reports) !== false) writeStats(options.suite, stats);
  } catch (error) {
    broke = error;
    throw error;
  } finally {
    progress.finish({
      runs: stats.runs,
      failed: failure !== null || broke !== null,
      interrupted,
      seed: failure === null ? seed : failure.seed,
      path: failure?.path ?? '',
      // Numbered as the failure's own listing and its message number them: on from the bootstrap.
      counterexample: failure ? failure.scenario.join('\n') : null,
      error: failure?.message ?? (broke === null ? null : String(broke)),
      reproduction: failure?.reproduction ?? null,
    });
  }
  return { stats, failure };
}

/**
 * The number of the `i`-th step after the bootstrap (from 0) in a failure's listings: numbered on from
 * the bootstrap's steps, as the invariants' messages number them ("step 22 (…)"), in the report, the
 * reproduction file and the counterexample the runner prints alike.
 */
function stepNumber(i: number): number {
  return BOOTSTRAP.length + i + 1;
}

/** The bootstrap in a failure's listing, its keys by ID: a failure may name them, and no step after it made them. */
const BOOTSTRAP_TEXT =
  `the bootstrap (steps 1 to ${BOOTSTRAP.length}: alice, bob, carol in G1, alice and bob in G2, active keys ` +
  'K2000 in G1 and K2001 in G2, synced)';

/** A step's number and words, as a failure's listing gives them. */
function numberedStep(n: number, text: string): string {
  return `  ${String(n).padStart(3)}. ${text}`;
}

/**
 * A failure's scenario, as its report, its reproduction file and the runner's counterexample all give
 * it, as far as the run that failed got (`reached`), and no further: the deployment seed and the user
 * hosts' clock skews (those not 0); the bootstrap,
 * or, for a failure in it, the bootstrap's step it failed at (in its words as it ran, `told`); the steps
 * after it (`said`: each in words, as the run that failed told it); and the convergence that ends a
 * run, when the failure came in it, with what it did first for HSMs that died. Before, every failure
 * listed the convergence, and a failure in the bootstrap listed it as done.
 */
export function scenarioLines(
  said: readonly string[],
  deploymentSeed: number,
  reached: Reach,
  told: (spec: CommandSpec) => string = describe,
  skews: Skews = {},
): string[] {
  const clocks = skewsText(skews);
  const seed = `deployment seed ${deploymentSeed}${clocks === '' ? '' : `, ${clocks}`}`;
  if (reached.phase === 'setup') return [`${seed}; the run failed setting up its deployment, before ${BOOTSTRAP_TEXT}`];
  const failing = BOOTSTRAP[reached.step - 1];
  if (reached.phase === 'bootstrap' && failing !== undefined)
    return [
      `${seed}; ${BOOTSTRAP_TEXT} ran up to its step ${reached.step}, which failed:`,
      numberedStep(reached.step, told(failing)),
    ];
  return [
    `${seed}; after ${BOOTSTRAP_TEXT}:`,
    // Numbered on from the bootstrap, as the invariants' messages number them ("step 22 (…)").
    ...said.map((text, i) => numberedStep(stepNumber(i), text)),
    ...(reached.phase === 'convergence' ? convergenceLines(reached.deadHsmSteps ?? [], told) : []),
  ];
}

/**
 * The convergence in a failure's listing, with what it did first for HSMs that died, in their words as
 * they ran: a lost HSM's keys compromised there, and the model's replacements, are named nowhere else.
 */
function convergenceLines(deadHsmSteps: readonly CommandSpec[], told: (spec: CommandSpec) => string): string[] {
  const line = '  then: convergence (publish, sync, resync the blocked and the unacknowledged)';
  if (deadHsmSteps.length === 0) return [line];
  return [`${line}, the HSMs that died dealt with first:`, ...deadHsmSteps.map((spec) => `    - ${told(spec)}`)];
}

/**
 * How a failure at `seed` and `path` replays: the knobs, and (`command`) the suite's file, which a
 * broken variant's failure leaves out (its test switches the variant on). The run's length follows
 * `SEKEY_SCALE` (`maxCommands`), so a scale that was set goes with them: at another one, the same
 * seed and path draw another case.
 */
export function replayLine(seed: number, path: string, command: boolean): string {
  const scale = (process.env['SEKEY_SCALE'] ?? '').trim();
  return (
    `replay with: ${scale === '' ? '' : `SEKEY_SCALE=${scale} `}SEKEY_SEED=${seed} SEKEY_PATH="${path}"` +
    (command ? ' npx vitest run properties/deployment/deployment.properties.test.ts' : '')
  );
}

function describeFailure(
  options: SuiteOptions,
  error: unknown,
  seed: number | null,
  path: string,
  steps: readonly CommandSpec[],
  deploymentSeed: number,
  reached: Reach,
  told: (spec: CommandSpec) => string = describe,
  skews: Skews = {},
  warmupName = '',
): SuiteFailure {
  const invariant = invariantOf(error);
  // Read once, in order: the run's words of a command that ran twice are taken in turn.
  const said = steps.map(told);
  const scenario = scenarioLines(said, deploymentSeed, reached, told, skews);
  const message = messageOf(error);
  const lines = [
    `${options.suite}: ${invariant ? `invariant ${invariant} broke` : 'a run failed'}` +
      (options.mutant ? ` (broken variant: ${options.mutant})` : ''),
    seed === null
      ? `in the warm-up${warmupName === '' ? '' : `'s ${warmupName} scenario`}, ` +
        'a fixed scenario every seed runs first' +
        (options.mutant ? '' : ': replay with npx vitest run properties/deployment/deployment.properties.test.ts')
      : replayLine(seed, path, !options.mutant),
    ...scenario,
    message,
  ];
  let reproduction: string | null = null;
  if (options.reports !== false) {
    mkdirSync('reports', { recursive: true });
    reproduction = reproductionPath(options.suite, invariant, seed, (process.env['SEKEY_DEADLINE'] ?? '') !== '');
    writeFileSync(reproduction, reproductionFile(options, invariant, steps, deploymentSeed, skews, lines));
    lines.push(`reproduction written to ${reproduction}: ${reproductionCommand(reproduction)}`);
  }
  return {
    invariant,
    message,
    seed,
    path,
    steps,
    said,
    deploymentSeed,
    skews,
    reached: { ...reached },
    scenario,
    report: lines.join('\n'),
    reproduction,
  };
}

/**
 * Where a failure's reproduction goes: `reports/<suite>-<invariant>.repro.test.ts`, rewritten by the
 * next failure of that invariant. In a campaign's batch (`SEKEY_DEADLINE` set) the seed too: shards
 * running in one folder would otherwise write one file, and a campaign copy the other shard's case.
 */
export function reproductionPath(suite: string, invariant: string | null, seed: number | null, campaign: boolean) {
  // `seed=-7`, not `seed-7`: a negative seed must not read as a positive one after a dash.
  const tag = campaign && seed !== null ? `-seed=${seed}` : '';
  return `reports/${suite.replace(/[^A-Za-z0-9-]/g, '-')}-${invariant ?? 'failure'}${tag}.repro.test.ts`;
}

/**
 * `lines` as the lines of a block comment's body, each ` * ` and its text: a line holding line breaks
 * (an error's message, `same`'s `differs at` and `actual:` lines under its first) is a line of the
 * comment each, where they went on unprefixed (and read as code in an editor that folds comments), and
 * a `*\/` in a line (a name, a path, a JSON value) is written `* /`, which would otherwise end the comment
 * and leave the rest of the message to be compiled as the file's code.
 */
export function commentLines(lines: readonly string[]): string {
  return lines
    .flatMap((l) => l.split(/\r\n|[\n\r\u2028\u2029]/))
    .map((l) => ` *${l === '' ? '' : ` ${l.replace(/\*\//g, '* /')}`}`.trimEnd())
    .join('\n');
}

/** The reproduction file of a failure: its report (`lines`) as a comment, and a test that replays its steps. */
export function reproductionFile(
  options: SuiteOptions,
  invariant: string | null,
  steps: readonly CommandSpec[],
  deploymentSeed: number,
  skews: Skews,
  lines: readonly string[],
): string {
  const clocks = Object.values(skews).some((ms) => ms !== 0) ? `\n    skews: ${JSON.stringify(skews)},` : '';
  const mutant = options.mutant ? `\n    mutant: ${JSON.stringify(options.mutant)},` : '';
  const rekeyMutant =
    options.mutant === 'noRekeyOnLeave' || options.mutant === 'noRekeyOnJoin' || options.mutant === 'adminSkipsRekey';
  const mocks = rekeyMutant ? RULE_MOCKS_SOURCE : '';
  return `/**
 * Generated by the deployment suite: a counterexample, replayed. It fails the same way
 * (${invariant ? `invariant ${invariant}` : 'a failure'}) until the bug is fixed.
 *
${commentLines(lines)}
 */
import { test${mocks ? ', vi' : ''} } from 'vitest';
${mocks}import { replayScenario } from '../properties/deployment/runner.testkit.ts';
import type { CommandSpec } from '../properties/deployment/commands.testkit.ts';

const steps: CommandSpec[] = ${JSON.stringify(steps, null, 2)};

test(${JSON.stringify(`${options.suite}: replay of a counterexample (${invariant ?? 'failure'})`)}, async () => {
  await replayScenario(steps, {
    deploymentSeed: ${deploymentSeed},${clocks}${mutant}
  });
}, 900_000);
`;
}
