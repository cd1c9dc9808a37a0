/**
 * The engine of `sekey simulate`: an organisation lives SEkey day by day on the real implementation
 * (admin HSM, user HSMs, encrypted databases, update files through a directory transport) on a
 * manual clock, with every invariant checked at the end of every day by the deployment property
 * suite's checkers. A broken invariant is recorded and the run goes on.
 *
 * A day, in simulated time (the workload's rates per profile are in `workload.ts`):
 * - 07:00, day 1 only: the admin creates the users (`U1`…), provisions their HSMs, creates the group
 *   `G1` of everyone and the teams `G2`… (each user in one team, some in two), publishes; everyone syncs.
 * - 08:00, the admin's morning: staff turnover (a user deleted, a new hire added, provisioned and put
 *   in `G1` and a team), members joining and leaving teams, a key reported compromised (the model's
 *   rule activates a replacement), lost devices replaced, then rotation: every group whose active key
 *   ends its cryptoperiod within two days gets a pre-active successor, activated the day before the
 *   current one ends, a day or less before its end (so a group always has an active key);
 *   deactivated and compromised keys older than the retention period (from their deactivation or
 *   compromise) are destroyed. Then the daily publication (a power cut may hit it in `hostile`; the
 *   admin reboots and publishes again).
 * - 08:30, `hostile` only: the adversary's attacks on the share and on SD cards.
 * - 09:00: the users due today sync (daily, every 2–4 days, or every 9–12 days for the stale ones; a
 *   power cut may hit a sync in `hostile`). A user left blocked calls the admin, who asks for a resync
 *   and publishes; the user syncs again at 11:00.
 * - 13:00: messages, each from a random user to 1–3 members of one of its groups, decrypted by every
 *   recipient at once. 15:00: messages under a compromised key are re-protected by a member.
 * - 18:00: the admin collects acknowledgements and counts stale users; a retired device that has
 *   learned to hold nothing, and whose acknowledgement the admin holds, is handed back (it syncs no
 *   more); then the invariants (on the last day, after the convergence).
 * - Last day, 19:00: convergence — the admin publishes, everyone syncs (but the devices handed
 *   back), the blocked and unacknowledged are resynced, and every replica must equal the model's
 *   projection.
 *
 * Deterministic: every choice comes from a PRNG seeded with the configuration's seed, devices are
 * seeded from it, and time is the manual clock; only `host` (wall time) varies between runs.
 * @module
 */
import { CLOCK_HZ } from '../../device/costModel.ts';
import { SeededPrng } from '../../device/seededPrng.ts';
import { KEY_STATES, keyUsage } from '../../model/keyLifecycle.ts';
import type { KeyState } from '../../model/keyLifecycle.ts';
import { keyStateOf } from '../../model/kms.ts';
import { caughtUp } from '../../model/publication.ts';
import type { GroupId, GroupPolicy, KmsOperation, UserId } from '../../model/kms.ts';
import { ATTACK_KINDS, attackNeedsOther, targetsOf } from './attacks.ts';
import type { AttackKind, AttackSpec } from './attacks.ts';
import { bump } from './dayTally.ts';
import { Deployment } from './deployment.ts';
import type { DeploymentHooks } from './deployment.ts';
import { DeviceMeters } from './deviceMeters.ts';
import { usable } from './modelViews.ts';
import { checkConverged } from './convergence.ts';
import { DeploymentModel } from './referenceModel.ts';
import { SIMULATION_INVARIANTS, SIMULATION_REPORT_SCHEMA } from './simulationReport.ts';
import type {
  DeviceWear,
  SimulationConfig,
  SimulationDay,
  SimulationInvariant,
  SimulationReport,
  StoppedEarly,
  UpdateTraffic,
} from './simulationReport.ts';
import { SimulationWorld } from './simulationWorld.ts';
import { DAY_MS, HOUR_MS, isoDate } from './time.ts';
import { WORKLOADS } from './workload.ts';
import type { Workload } from './workload.ts';

/** Progress after each simulated day. */
export interface SimulationProgress {
  readonly day: number;
  readonly days: number;
  /** Operations run so far. */
  readonly operations: number;
  /**
   * What the day after `day` is doing, when the report comes from within it ("provisioning 340/1000
   * users"): a large installation's day takes minutes.
   */
  readonly during?: string;
}

/** How often a long day reports progress and lets the event loop run (a Ctrl-C is handled then). */
const PROGRESS_EVERY_MS = 250;

/** Options of a run. */
export interface SimulationOptions {
  /** Called after each simulated day, and within a long one (a progress bar). */
  readonly onDay?: (progress: SimulationProgress) => void;
  /** How often, at most, `onDay` is called within a day (default a quarter second; 0: at every step). */
  readonly progressEveryMs?: number;
  /** The tool's version, for the report. */
  readonly version?: string;
  /** Seams of the deployment (`DeploymentHooks`): only tests plant faults through them. */
  readonly deploymentHooks?: DeploymentHooks;
  /**
   * Registers what must be undone if the process is ended mid-run, past every `finally` (a CLI's
   * Ctrl-C: `CliIo.onAbandon`): the deployment's temporary folder. Returns the unregistration.
   */
  readonly onAbandon?: (cleanup: () => void) => () => void;
  /**
   * Asked after each simulated day: a name (a signal's, `SIGINT`) once the run should stop there,
   * null to go on. A stopped run still returns its report, of the days done, with `stoppedEarly`
   * set; a day is never cut short, so every figure is a whole day's and the invariants were checked.
   */
  readonly stopRequested?: () => string | null;
}

/**
 * The defaults (`npm start`): 16 users in 6 groups over 120 days of the default profile — four months
 * of a small organisation, four cryptoperiods — which take about a minute on this project's 2-core
 * machine (measured: see `docs/simulation.md`).
 */
export const DEFAULT_SIMULATION_CONFIG: SimulationConfig = {
  users: 16,
  groups: 6,
  days: 120,
  seed: 1,
  profile: 'default',
  start: '2026-01-01T00:00:00.000Z',
};

/** How each user syncs: every `period` days, on the days where `(day + offset) % period === 0`. */
interface SyncHabit {
  readonly period: number;
  readonly offset: number;
}

/** An attack drawn in the morning, before its victim is chosen (`AttackSpec` without the users). */
type AttackDraw = Omit<AttackSpec, 'user' | 'other'>;

/** Checks a configuration; throws a `RangeError` naming the first bad field. */
function checkSimulationConfig(config: SimulationConfig): void {
  const whole = (name: string, value: number, min: number, max: number) => {
    if (!Number.isSafeInteger(value) || value < min || value > max)
      throw new RangeError(`${name} must be a whole number from ${min} to ${max}, got ${value}`);
  };
  whole('users', config.users, 2, 10_000);
  whole('groups', config.groups, 1, 10_000);
  whole('days', config.days, 1, 36_500);
  whole('seed', config.seed, 0, 0xffff_ffff);
  if (!(config.profile in WORKLOADS)) throw new RangeError(`unknown profile ${String(config.profile)}`);
  if (!Number.isFinite(Date.parse(config.start))) throw new RangeError(`start is not a date: ${config.start}`);
}

/** Runs a simulation and returns its report (see the module comment for the workload). */
export async function runSimulation(
  config: SimulationConfig,
  options: SimulationOptions = {},
): Promise<SimulationReport> {
  checkSimulationConfig(config);
  const startedAt = new Date().toISOString();
  const wall0 = performance.now();
  const start = Date.parse(config.start);
  const workload = WORKLOADS[config.profile];
  const deployment = await Deployment.create({
    seed: `sim-${config.seed}`,
    start,
    ...(options.deploymentHooks === undefined ? {} : { hooks: options.deploymentHooks }),
  });
  const forget = options.onAbandon?.(() => deployment.dispose());
  try {
    const meters = new DeviceMeters(deployment);
    const world = new SimulationWorld(new DeploymentModel(start), deployment, {
      archive: workload.attacksPerDay > 0,
      onOperation: (kind) => meters.operation(kind),
      meters,
    });
    const days: SimulationDay[] = [];
    let operations = 0;
    let breathed = performance.now();
    // Within a day: progress, and a turn of the event loop, so that a day of a thousand users (minutes
    // of work) neither looks stuck nor keeps a Ctrl-C waiting. Yielding changes no result.
    const breathe = async (during: string): Promise<void> => {
      if (performance.now() - breathed < (options.progressEveryMs ?? PROGRESS_EVERY_MS)) return;
      let today = 0;
      for (const n of Object.values(world.tally.operations)) today += n;
      options.onDay?.({ day: days.length, days: config.days, operations: operations + today, during });
      await new Promise<void>((resolve) => setImmediate(resolve));
      breathed = performance.now();
    };
    const sim = new Simulation(config, workload, world, meters, breathe);
    let stoppedEarly: StoppedEarly | null = null;
    for (let day = 1; day <= config.days; day++) {
      const record = await sim.live(day);
      days.push(record);
      for (const n of Object.values(record.operations)) operations += n;
      options.onDay?.({ day, days: config.days, operations });
      // A turn of the event loop between days: a day's awaits all resolve as microtasks, so without
      // it a signal (Ctrl-C) is not handled until the whole run has ended.
      await new Promise<void>((resolve) => setImmediate(resolve));
      breathed = performance.now();
      const by = day < config.days ? (options.stopRequested?.() ?? null) : null;
      if (by !== null) {
        stoppedEarly = { by, afterDay: day };
        break;
      }
    }
    return report(config, options.version ?? 'dev', days, sim, stoppedEarly, {
      startedAt,
      wallSeconds: (performance.now() - wall0) / 1000,
    });
  } finally {
    forget?.();
    deployment.dispose();
  }
}

/** The organisation and its habits, day by day. */
class Simulation {
  readonly #config: SimulationConfig;
  readonly #w: Workload;
  readonly world: SimulationWorld;
  readonly #prng: SeededPrng;
  readonly meters: DeviceMeters;
  readonly #habits = new Map<UserId, SyncHabit>();
  /**
   * Retired devices handed back (`#handBack`): they sync no more. User IDs are never reused here
   * (`#hire` counts on) and only staff lose devices, so a device handed back never returns to service.
   */
  readonly #handedBack = new Set<UserId>();
  readonly #policy: GroupPolicy;
  #nextUser = 1;
  /** Ledger entries already re-protected (by their number). */
  readonly #reprotected = new Set<number>();
  /** Called between the steps of a long phase: progress, and a turn of the event loop. */
  readonly #breathe: (during: string) => Promise<void>;

  constructor(
    config: SimulationConfig,
    workload: Workload,
    world: SimulationWorld,
    meters: DeviceMeters,
    breathe: (during: string) => Promise<void> = async () => {},
  ) {
    this.#breathe = breathe;
    this.#config = config;
    this.#w = workload;
    this.world = world;
    this.#prng = new SeededPrng(config.seed);
    this.meters = meters;
    this.#policy = { maxKeys: 3, algorithm: 'AES-256-GCM', defaultCryptoperiodMs: workload.cryptoperiodDays * DAY_MS };
  }

  /** A count drawn for a mean rate: its whole part, plus one with the probability of its fraction. */
  #draw(rate: number): number {
    const whole = Math.floor(rate);
    return whole + (this.#prng.next() < rate - whole ? 1 : 0);
  }

  #pick<T>(xs: readonly T[]): T | undefined {
    return xs.length === 0 ? undefined : xs[this.#prng.int(xs.length)];
  }

  /** `n` distinct elements of `xs` (fewer if it has fewer), in a seeded order. */
  #sample<T>(xs: readonly T[], n: number): T[] {
    const pool = [...xs];
    const out: T[] = [];
    while (out.length < n && pool.length > 0) out.push(pool.splice(this.#prng.int(pool.length), 1)[0] as T);
    return out;
  }

  get #m() {
    return this.world.m;
  }

  /** Users in service (their user exists and has a device), sorted. */
  #staff(): UserId[] {
    return this.#m.deviceIds().filter((u) => this.#m.inService(u));
  }

  #teams(): GroupId[] {
    return Object.keys(this.#m.kms.groups)
      .filter((g) => g !== 'G1')
      .sort((a, b) => Number(a.slice(1)) - Number(b.slice(1)));
  }

  #label(hour: number, what: string): string {
    const hh = String(Math.floor(hour)).padStart(2, '0');
    const mm = String(Math.round((hour % 1) * 60)).padStart(2, '0');
    return `day ${this.world.day} ${hh}:${mm} ${what}`;
  }

  #op(kind: string, op: KmsOperation, hour: number, what: string): Promise<boolean> {
    return this.world.admin(kind, op, this.#label(hour, `admin ${what}`));
  }

  /**
   * A sync habit for a draw `x` in [0, 1): stale below the stale share, late below stale + late,
   * daily above. The first staff's draws are spread evenly (in a seeded order), so that even a small
   * organisation has its share of late and stale users; new hires draw at random.
   */
  #habit(x: number = this.#prng.next()): SyncHabit {
    if (x < this.#w.staleSyncers) return { period: 9 + this.#prng.int(4), offset: this.#prng.int(12) };
    if (x < this.#w.staleSyncers + this.#w.lateSyncers)
      return { period: 2 + this.#prng.int(3), offset: this.#prng.int(4) };
    return { period: 1, offset: 0 };
  }

  /** A new member of staff: added, provisioned, put in `G1` and in `teams`. */
  async #hire(now: number, teams: readonly GroupId[], habitDraw?: number): Promise<UserId> {
    const userId = `U${this.#nextUser++}`;
    await this.#op('add-user', { type: 'addUser', userId, name: `user ${userId.slice(1)}`, now }, 7, `adds ${userId}`);
    await this.world.provision(userId, 'provision');
    this.#habits.set(userId, this.#habit(habitDraw));
    for (const g of ['G1', ...teams])
      if (this.#m.kms.groups[g] !== undefined)
        await this.#op('add-member', { type: 'addMember', groupId: g, userId, now }, 8, `adds ${userId} to ${g}`);
    return userId;
  }

  /** Day 1's installation (see the module comment). */
  async #install(base: number): Promise<void> {
    const now = base + 7 * HOUR_MS;
    this.world.at(now);
    const policy = this.#policy;
    await this.#op('add-group', { type: 'addGroup', groupId: 'G1', name: 'everyone', policy, now }, 7, 'adds G1');
    for (let g = 2; g <= this.#config.groups; g++) {
      const groupId = `G${g}`;
      const shareHistory = this.#prng.next() < 0.5;
      await this.#op(
        'add-group',
        { type: 'addGroup', groupId, name: `team ${g - 1}`, policy, shareHistory, now },
        7,
        `adds ${groupId}`,
      );
    }
    const teams = this.#teams();
    const users = this.#config.users;
    const draws = this.#sample(
      Array.from({ length: users }, (_, i) => (i + 0.5) / users),
      users,
    );
    for (let i = 0; i < users; i++) {
      const mine = teams.length === 0 ? [] : [teams[i % teams.length] as GroupId];
      if (teams.length > 1 && this.#prng.next() < 0.3) {
        const second = this.#pick(teams.filter((t) => t !== mine[0]));
        if (second !== undefined) mine.push(second);
      }
      await this.#hire(now, mine, draws[i]);
      await this.#breathe(`provisioning ${i + 1}/${users} users`);
    }
    // The first keys' cryptoperiods are staggered, so that groups do not all rotate on one day.
    for (const groupId of Object.keys(this.#m.kms.groups).sort()) {
      const days = 1 + this.#prng.int(this.#w.cryptoperiodDays);
      const before = this.#m.kms.nextKeyNumber;
      const added = await this.#op(
        'add-key',
        { type: 'addKey', groupId, name: `${groupId} first key`, cryptoperiodMs: days * DAY_MS, now },
        7,
        `adds a key to ${groupId}`,
      );
      if (added)
        await this.#op(
          'activate-key',
          { type: 'keyEvent', keyId: `K${before}`, event: { type: 'ACTIVATE', now } },
          7,
          `activates K${before}`,
        );
    }
  }

  /** The admin's morning: turnover, membership, compromises, lost devices, rotation. */
  async #morning(base: number): Promise<void> {
    const now = base + 8 * HOUR_MS;
    this.world.at(now);
    const w = this.#w;
    for (let i = this.#draw((this.#staff().length * w.turnoverPer30Days) / 30); i > 0; i--) {
      const leaver = this.#pick(this.#staff());
      if (leaver === undefined) break;
      await this.#op('delete-user', { type: 'deleteUser', userId: leaver, now }, 8, `deletes ${leaver}`);
      await this.#hire(now, this.#sample(this.#teams(), 1));
    }
    for (let i = this.#draw(w.membershipChangesPerDay); i > 0; i--) {
      const team = this.#pick(this.#teams());
      if (team === undefined) break;
      const members = this.#m.kms.groups[team]?.members ?? [];
      const outsiders = this.#staff().filter((u) => !members.includes(u));
      if (this.#prng.next() < 0.5 && members.length > 2) {
        const leaver = this.#pick(members) as UserId;
        await this.#op(
          'remove-member',
          { type: 'removeMember', groupId: team, userId: leaver, now },
          8,
          `removes ${leaver} from ${team}`,
        );
      } else {
        const joiner = this.#pick(outsiders);
        if (joiner !== undefined)
          await this.#op(
            'add-member',
            { type: 'addMember', groupId: team, userId: joiner, now },
            8,
            `adds ${joiner} to ${team}`,
          );
      }
    }
    for (let i = this.#draw(w.compromisesPerYear / 365); i > 0; i--) {
      const swept = this.#m.swept();
      const active = Object.values(swept.keys)
        .filter((k) => keyStateOf(k) === 'active')
        .map((k) => k.id)
        .sort();
      const keyId = this.#pick(active);
      if (keyId !== undefined)
        await this.#op(
          'compromise-key',
          { type: 'keyEvent', keyId, event: { type: 'COMPROMISE', now } },
          8,
          `reports ${keyId} compromised`,
        );
    }
    for (let i = this.#draw((this.#staff().length * w.deviceLossesPerUserYear) / 365); i > 0; i--) {
      const loser = this.#pick(this.#staff());
      if (loser !== undefined) await this.world.provision(loser, 'replace-device');
    }
    await this.#rotate(now);
  }

  /** Rotation at the end of each cryptoperiod, and retirement of keys past their retention. */
  async #rotate(now: number): Promise<void> {
    const swept = this.#m.swept();
    for (const groupId of Object.keys(swept.groups).sort()) {
      const keys = Object.values(swept.keys)
        .filter((k) => k.owner === groupId)
        .sort((a, b) => Number(a.id.slice(1)) - Number(b.id.slice(1)));
      const active = keys.filter((k) => keyStateOf(k) === 'active');
      const waiting = keys.find((k) => keyStateOf(k) === 'preActivation');
      const ends = Math.max(...active.map((k) => k.lifecycle.context.expiresAt ?? 0), 0);
      let successor = waiting?.id;
      if (successor === undefined && (active.length === 0 || ends - now <= 2 * DAY_MS)) {
        const before = this.#m.kms.nextKeyNumber;
        const added = await this.#op(
          'add-key',
          { type: 'addKey', groupId, name: `${groupId} key ${before}`, now },
          8,
          `adds a key to ${groupId}`,
        );
        if (added) successor = `K${before}`;
      }
      if (successor !== undefined && (active.length === 0 || ends - now <= DAY_MS))
        await this.#op(
          'activate-key',
          { type: 'keyEvent', keyId: successor, event: { type: 'ACTIVATE', now } },
          8,
          `activates ${successor}`,
        );
    }
    const retention = this.#w.retentionDays * DAY_MS;
    for (const key of Object.values(this.#m.swept().keys).sort(
      (a, b) => Number(a.id.slice(1)) - Number(b.id.slice(1)),
    )) {
      const state = keyStateOf(key);
      const since = key.lifecycle.context.deactivatedAt ?? key.lifecycle.context.compromisedAt ?? null;
      if ((state === 'deactivated' || state === 'compromised') && since !== null && now - since >= retention)
        await this.#op(
          'destroy-key',
          { type: 'keyEvent', keyId: key.id, event: { type: 'DESTROY', now } },
          8,
          `destroys ${key.id}`,
        );
    }
  }

  /** The daily publication, with a power cut on the admin's HSM now and then (`hostile`). */
  async #publish(hour: number, cutChance: number): Promise<void> {
    const cut =
      this.#prng.next() < cutChance
        ? { where: this.#prng.next() < 0.5 ? ('flash' as const) : ('sd' as const), n: 1 + this.#prng.int(6) }
        : undefined;
    await this.world.publish(this.#label(hour, 'admin publishes'), cut);
    if (cut !== undefined && this.#m.dirty)
      await this.world.publish(this.#label(hour, 'admin publishes again after the reboot'));
  }

  /**
   * The day's attacks, drawn at 08:30 (their kinds and choices). Those on acknowledgements wait for
   * 12:00 (returned): the acknowledgements the users write at their 09:00 sync lie on the share
   * until the 18:00 collection, and at 08:30 the streams are empty.
   */
  async #attacks(base: number): Promise<AttackDraw[]> {
    this.world.at(base + 8.5 * HOUR_MS);
    const later: AttackDraw[] = [];
    for (let i = this.#draw(this.#w.attacksPerDay); i > 0; i--) {
      const kind = this.#pick(ATTACK_KINDS) as AttackKind;
      const draw = { kind, pick: this.#prng.int(1000), mask: 1 + this.#prng.int(255) };
      if (kind.startsWith('ack')) later.push(draw);
      else await this.#attack(draw, 8.5);
    }
    return later;
  }

  /**
   * One attack, its victim chosen now among the devices still syncing whose streams it can act on
   * (`targetsOf`: an adversary reading the share aims where the files are); among them all when
   * none can be, and the attack then counts as having found nothing.
   */
  async #attack(draw: AttackDraw, hour: number): Promise<void> {
    // Not a device handed back: it never syncs again, so an attack on its stream would be counted
    // as carried out and never judged.
    const devices = this.#syncing().filter((u) => usable(this.world.r.slot(u)));
    const targets = await targetsOf(this.world.r, draw.kind, devices);
    const [user] = this.#sample(targets.length > 0 ? targets : devices, 1);
    const [other] = this.#sample(
      devices.filter((u) => u !== user),
      1,
    );
    if (user === undefined || (attackNeedsOther(draw.kind) && other === undefined)) return;
    const spec: AttackSpec = { ...draw, user, other: other ?? user };
    const pair = attackNeedsOther(spec.kind) ? ` (with ${spec.other})` : '';
    await this.world.attack(spec, this.#label(hour, `adversary: ${spec.kind} on ${spec.user}${pair}`));
  }

  /** The attacks on acknowledgements drawn this morning, between the syncs and the collection. */
  async #ackAttacks(base: number, draws: readonly AttackDraw[]): Promise<void> {
    if (draws.length === 0) return;
    this.world.at(base + 12 * HOUR_MS);
    for (const draw of draws) await this.#attack(draw, 12);
  }

  /** The users due today sync; the blocked ones are resynced by the admin. */
  async #syncs(base: number, day: number): Promise<void> {
    this.world.at(base + 9 * HOUR_MS);
    const due = this.#syncing().filter((u) => {
      const habit = this.#habits.get(u) ?? { period: 1, offset: 0 };
      return (day + habit.offset) % habit.period === 0 || day === 1;
    });
    const cuts = new Set(this.#sample(due, this.#draw(this.#w.powerCutsPerDay / 2)));
    for (const [i, userId] of due.entries()) {
      await this.#breathe(`syncs ${i}/${due.length}`);
      const cut = cuts.has(userId)
        ? { where: this.#prng.next() < 0.5 ? ('flash' as const) : ('sd' as const), n: 1 + this.#prng.int(6) }
        : undefined;
      await this.world.sync(
        userId,
        this.#label(9, `${userId} syncs${cut ? ` (power cut at ${cut.where} write #${cut.n})` : ''}`),
        cut,
      );
    }
    const blocked = this.#syncing().filter((u) => this.world.r.slot(u).user?.blocked === true);
    if (blocked.length === 0) return;
    this.world.at(base + 11 * HOUR_MS);
    for (const userId of blocked) this.world.resync(userId);
    await this.world.publish(this.#label(11, 'admin publishes the resyncs'));
    for (const userId of blocked) await this.world.sync(userId, this.#label(11, `${userId} syncs after its resync`));
  }

  /** The day's messages, each decrypted by its recipients. */
  async #messages(base: number): Promise<void> {
    this.world.at(base + 13 * HOUR_MS);
    const staff = this.#staff();
    for (let i = this.#draw(staff.length * this.#w.messagesPerUserDay); i > 0; i--) {
      const sender = this.#pick(staff) as UserId;
      const groups = Object.values(this.#m.kms.groups)
        .filter((g) => g.members.includes(sender) && g.members.length > 1)
        .map((g) => g.id)
        .sort();
      const group = this.#m.kms.groups[this.#pick(groups) ?? ''];
      if (group === undefined) continue;
      const to = this.#sample(
        group.members.filter((u) => u !== sender),
        1 + this.#prng.int(3),
      ).sort();
      const text = `message ${this.world.day}.${i} from ${sender}`;
      const sent = await this.world.encrypt(
        sender,
        to,
        text,
        this.#label(13, `${sender} encrypts to [${to.join(',')}]`),
      );
      if (!sent) continue;
      const message = (this.#m.ledger.at(-1) as { message: Uint8Array }).message;
      for (const u of to) if (this.#m.devices.has(u)) this.world.decrypt(u, message);
    }
  }

  /** Messages under compromised keys re-protected by a member holding them. */
  async #reprotect(base: number): Promise<void> {
    this.world.at(base + 15 * HOUR_MS);
    const swept = this.#m.swept();
    for (const entry of [...this.#m.ledger]) {
      const key = swept.keys[entry.keyId];
      if (key === undefined || !keyUsage(keyStateOf(key)).rescue || this.#reprotected.has(entry.id)) continue;
      const holder = key.holders.find((u) => this.#m.inService(u) && usable(this.world.r.slot(u)));
      if (holder === undefined) continue;
      this.#reprotected.add(entry.id);
      await this.world.reprotect(holder, entry, this.#label(15, `${holder} re-protects message #${entry.id}`));
    }
  }

  /** Provisioned devices that still sync: every one but those handed back. */
  #syncing(): UserId[] {
    return this.#m.deviceIds().filter((u) => !this.#handedBack.has(u));
  }

  /**
   * At the end of the day, after the collection, a retired device (its user deleted) that has
   * learned to hold nothing and been heard of is handed back and syncs no more
   * (`SimulationWorld.retiredAndDone`). Before, retired devices synced every day for the rest of the
   * run, so the sync counts grew with staff turnover. The end-of-day checks still judge it (it must
   * hold nothing), and the last day's convergence that nothing more was published to it.
   */
  #handBack(): void {
    for (const userId of this.#syncing()) {
      if (!this.world.retiredAndDone(userId)) continue;
      this.#handedBack.add(userId);
      this.world.tally.operation('hand-back-device');
    }
  }

  /** The end of the run: publish, sync, resync the blocked and unacknowledged, and converge. */
  async #converge(base: number): Promise<void> {
    const { m, r } = this.world;
    this.world.at(base + 19 * HOUR_MS);
    const label = this.#label(19, 'convergence (publish, sync, resync)');
    for (const userId of m.deviceIds()) {
      if (usable(r.slot(userId))) continue;
      try {
        await r.reopenUser(userId);
      } catch (error) {
        this.world.record('convergence', label, `${userId}'s replica cannot be opened at the end: ${String(error)}`);
      }
    }
    await this.world.publish(label);
    // Devices handed back are not synced: the checks below then show that nothing was published to them.
    for (const userId of this.#syncing()) await this.world.sync(userId, label);
    await this.world.collect();
    const states = new Map(r.publisher.publicationStates().map((p) => [p.userId, p.state] as const));
    const needy = this.#syncing().filter((u) => {
      const state = states.get(u);
      return r.slot(u).user?.blocked === true || state === undefined || !caughtUp(state);
    });
    if (needy.length > 0) {
      for (const userId of needy) this.world.resync(userId);
      await this.world.publish(label);
      for (const userId of needy) await this.world.sync(userId, label);
      await this.world.collect();
    }
    await this.world.check('convergence', label, () => checkConverged(m, r));
  }

  /** Lives one day; returns its record. */
  async live(day: number): Promise<SimulationDay> {
    const world = this.world;
    world.newDay(day);
    const base = Date.parse(this.#config.start) + (day - 1) * DAY_MS;
    const violationsBefore = world.violations.length;
    if (day === 1) await this.#install(base);
    await this.#morning(base);
    await this.#publish(8, this.#w.powerCutsPerDay / 2);
    const ackAttacks = this.#w.attacksPerDay > 0 ? await this.#attacks(base) : [];
    await this.#syncs(base, day);
    await this.#ackAttacks(base, ackAttacks);
    await this.#messages(base);
    await this.#reprotect(base);
    world.at(base + 18 * HOUR_MS);
    const staleUsers = await world.collect();
    this.#handBack();
    if (day === this.#config.days) await this.#converge(base);
    this.meters.pause();
    await world.endOfDay(this.#label(18, 'end-of-day checks'));
    this.meters.resume();
    const spend = this.meters.day();
    const tally = world.tally;
    return {
      day,
      date: isoDate(base),
      keysByState: keysByState(world),
      operations: sortedRecord(tally.operations),
      updates: { ...tally.updates },
      refusals: sortedRecord(tally.refusals),
      staleUsers,
      hsmCycles: spend.cycles,
      flashErases: spend.erases,
      violations: world.violations.length - violationsBefore,
    };
  }
}

function keysByState(world: SimulationWorld): Record<KeyState, number> {
  const counts = Object.fromEntries(KEY_STATES.map((s) => [s, 0])) as Record<KeyState, number>;
  for (const key of world.r.admin.listKeys()) counts[key.state] += 1;
  return counts;
}

function sortedRecord(record: Readonly<Record<string, number>>): Record<string, number> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

function report(
  config: SimulationConfig,
  version: string,
  days: readonly SimulationDay[],
  sim: Simulation,
  stoppedEarly: StoppedEarly | null,
  host: SimulationReport['host'],
): SimulationReport {
  const operationsByKind: Record<string, number> = {};
  const refusals: Record<string, number> = {};
  const hsmCycles: Record<string, number> = {};
  const updates = { filesPublished: 0, bytesPublished: 0, filesApplied: 0, bytesApplied: 0 } satisfies UpdateTraffic;
  for (const d of days) {
    for (const [k, n] of Object.entries(d.operations)) bump(operationsByKind, k, n);
    for (const [k, n] of Object.entries(d.refusals)) bump(refusals, k, n);
    for (const [k, n] of Object.entries(d.hsmCycles)) bump(hsmCycles, k, n);
    for (const k of Object.keys(updates) as Array<keyof UpdateTraffic>) updates[k] += d.updates[k];
  }
  const flashWear: DeviceWear[] = [...sim.world.r.hardware.values()].map((h) => ({
    device: h.name,
    role: h.role,
    sectorErases: h.flash.eraseCounts(),
    // Every card the device had charged this meter (cards are made with it): the run's whole traffic.
    sdSectorsWritten: h.meter.snapshot().byOp['sd.sectorWrite']?.units ?? 0,
  }));
  const world = sim.world;
  const invariants = Object.fromEntries(
    SIMULATION_INVARIANTS.map((i) => [
      i,
      { checks: world.checks[i], violations: world.violations.filter((v) => v.invariant === i).length },
    ]),
  ) as Record<SimulationInvariant, { checks: number; violations: number }>;
  const totalCycles = Object.values(hsmCycles).reduce((a, b) => a + b, 0);
  return {
    schema: SIMULATION_REPORT_SCHEMA,
    tool: 'sekey simulate',
    version,
    config: { ...config },
    host,
    totals: {
      operations: Object.values(operationsByKind).reduce((a, b) => a + b, 0),
      operationsByKind: sortedRecord(operationsByKind),
      updates,
      refusals: sortedRecord(refusals),
      hsmCycles: sortedRecord(hsmCycles),
      hsmSeconds: totalCycles / CLOCK_HZ,
      clockHz: CLOCK_HZ,
      maxSectorErases: Math.max(0, ...flashWear.flatMap((d) => d.sectorErases)),
      keysByState: days.at(-1)?.keysByState ?? keysByState(world),
    },
    days,
    flashWear,
    invariants,
    protectionsJudged: { ...world.judged },
    violations: world.violations.length,
    violationDetails: [...world.violations],
    stoppedEarly,
  };
}
