/**
 * The reference side of a deployment: the whole-KMS model (`model/kms.ts`) plus what a deployment
 * adds to it — which users have a device, what the administrator published to each device and
 * when (its history, by sequence), who was a member of which group at each step, and a ledger of the
 * messages users encrypted. The invariants (named in `invariantError.ts`) compare the real deployment
 * (`deployment.ts`) to it; `sekey simulate` and the deployment property suite keep it in step with
 * every operation they run.
 * @module
 */
import { EMPTY_KMS, applyOperation, expireKeys, projectUser, sortIds } from '../../model/kms.ts';
import type { GroupId, KeyId, KmsOperation, KmsResult, KmsState, UserId } from '../../model/kms.ts';
import type { GroupView, KeyView } from '../../model/projection.ts';
import type { UserRecord } from '../../model/kms.ts';
import { DEFAULT_HEARTBEAT_INTERVAL_MS, defaultFreshnessWindow } from '../../model/publication.ts';

/**
 * Where a caller may change how the model is run: the property suite runs the pure model outside
 * its tap on xstate (`pure`) and, for its secrecy mutants, under a broken rekey rule
 * (`applyOperation`). Without hooks the model is `model/kms.ts` as it is.
 */
export interface ModelHooks {
  /** Applies an operation (default: `model/kms.ts`'s `applyOperation`). */
  readonly applyOperation?: (state: KmsState, op: KmsOperation) => KmsResult;
  /** Runs a pure model computation (default: just runs it). */
  readonly pure?: <T>(fn: () => T) => T;
  /**
   * Each user host's clock skew against the admin's (ms, positive ahead), as the deployment's
   * (`DeploymentOptions.skews`); a user not named reads the admin's time.
   */
  readonly skews?: Readonly<Record<UserId, number>>;
}

/** Runs `fn`: the default of {@link ModelHooks.pure}. */
export const runPure = <T>(fn: () => T): T => fn();

/** The freshness window of the deployment's Publisher (its default). */
const DEFAULT_FRESHNESS_WINDOW_MS = defaultFreshnessWindow(DEFAULT_HEARTBEAT_INTERVAL_MS);

/** A message users exchanged. */
export interface LedgerEntry {
  /** Its number in the run (stable across drops of old entries). */
  readonly id: number;
  /** The command step it was sent at. */
  readonly step: number;
  /** The model's time when it was sent. */
  readonly time: number;
  readonly sender: UserId;
  readonly recipients: readonly UserId[];
  readonly keyId: KeyId;
  readonly groupId: GroupId;
  readonly plaintext: Uint8Array;
  readonly message: Uint8Array;
  /** The sender's replica equalled the model's projection when it encrypted. */
  readonly senderSynced: boolean;
}

/** What a published file brought a device to. */
export interface PublishedPoint {
  readonly kms: KmsState;
  /** False for a retired device (its user deleted): it is told to hold nothing. */
  readonly inService: boolean;
  /** When the admin issued it: the time its sealed heartbeat states (freshness, TUF's timestamp role). */
  readonly issuedAt: number;
  /** The device it was published to: the step that device was provisioned at (see `deviceSince`). */
  readonly device?: number | undefined;
}

/** A user's view, as the replica shows it and as the model projects it. */
export interface ReplicaView {
  readonly groups: readonly GroupView[];
  readonly users: readonly UserRecord[];
  readonly keys: readonly KeyView[];
}

/** The view of a device that holds nothing. */
const EMPTY_VIEW: ReplicaView = { groups: [], users: [], keys: [] };

const NOTHING: PublishedPoint = { kms: EMPTY_KMS, inService: false, issuedAt: 0 };

/** How many messages the ledger keeps (the oldest are dropped): bounds the per-step checks. */
const LEDGER_SIZE = 8;

/** The reference model of a deployment. */
export class DeploymentModel {
  kms: KmsState = EMPTY_KMS;
  now: number;
  /** Commands run so far. */
  step = 0;
  ledger: LedgerEntry[] = [];
  nextMessage = 0;
  /** Every join and leave, with whether the group shared its history then (its setting is lost once it is deleted). */
  readonly memberLog: Array<{
    step: number;
    now: number;
    groupId: GroupId;
    userId: UserId;
    joined: boolean;
    shareHistory: boolean;
  }> = [];
  /** Users with a device. */
  readonly devices = new Set<UserId>();
  /** Devices whose user was deleted. */
  readonly retired = new Set<UserId>();
  /**
   * Per user ID, its identities: from the step it was added to the step it was deleted (inclusive:
   * the deletion's leaves are the old identity's). An ID added again is someone new to the checks:
   * its device inherits no membership of the old one, and the old one's device none of the new.
   */
  identities = new Map<UserId, ReadonlyArray<{ readonly from: number; readonly to: number }>>();
  /** The step at which each user's current device was provisioned (which identity it serves). */
  readonly deviceSince = new Map<UserId, number>();
  /** Per user: sequence → what that file brought the device to (0: a new device, nothing). */
  readonly history = new Map<UserId, Map<number, PublishedPoint>>();
  /** The latest sequence published to each user. */
  readonly published = new Map<UserId, number>();
  /** The highest sequence any device of a user applied (acknowledgements may not exceed it). */
  readonly maxApplied = new Map<UserId, number>();
  /**
   * The highest sequence each device applied, by `userId@step provisioned` (see `deviceSince`): a
   * device's replica never goes back to an older update, which a prefix of its history alone allows.
   */
  readonly appliedByDevice = new Map<string, number>();
  /** Something changed since the last publication. */
  dirty = false;
  /** Users whose update stream the adversary touched since they last converged on a clean stream. */
  readonly tainted = new Set<UserId>();
  /**
   * Users whose resync the admin asked for (`Publisher.requestResync`) and that no resync answered
   * yet: the one thing a retired HSM may be sent after its last file. Recorded before the request is
   * made, so that a request a power cut may or may not have committed is allowed.
   */
  readonly resyncAsked = new Set<UserId>();
  /** Each user host's clock skew ({@link ModelHooks.skews}). */
  readonly skews: Readonly<Record<UserId, number>>;
  /**
   * When each device applied each file, by its host's clock (by `userId@step provisioned`, then
   * sequence): the other half of its freshness ({@link fresh}), noted as the model first sees the
   * device at that sequence ({@link noteApplied}).
   */
  readonly appliedAt = new Map<string, Map<number, number>>();
  /** Runs a pure model computation (see {@link ModelHooks.pure}). */
  readonly pure: <T>(fn: () => T) => T;
  readonly #applyOperation: (state: KmsState, op: KmsOperation) => KmsResult;

  constructor(start: number, hooks: ModelHooks = {}) {
    this.now = start;
    this.pure = hooks.pure ?? runPure;
    this.skews = { ...hooks.skews };
    this.#applyOperation = hooks.applyOperation ?? applyOperation;
  }

  /** Applies an admin operation to the model at the model's time; records membership changes. */
  apply(op: KmsOperation): KmsResult {
    const result = this.pure(() => this.#applyOperation(this.kms, op));
    if (!result.ok) return result;
    const before = this.kms;
    this.kms = result.state;
    const ids = new Set([...Object.keys(before.groups), ...Object.keys(result.state.groups)]);
    for (const g of ids) {
      const was = new Set(before.groups[g]?.members ?? []);
      const is = new Set(result.state.groups[g]?.members ?? []);
      const shareHistory = (result.state.groups[g] ?? before.groups[g])?.shareHistory === true;
      const entry = { step: this.step, now: this.now, groupId: g, shareHistory };
      for (const u of is) if (!was.has(u)) this.memberLog.push({ ...entry, userId: u, joined: true });
      for (const u of was) if (!is.has(u)) this.memberLog.push({ ...entry, userId: u, joined: false });
    }
    if (op.type === 'deleteUser' && this.devices.has(op.userId)) this.retired.add(op.userId);
    if (op.type === 'addUser' || op.type === 'deleteUser') {
      const spans = this.identities.get(op.userId) ?? [];
      const last = spans[spans.length - 1];
      this.identities = new Map(this.identities).set(
        op.userId,
        op.type === 'addUser'
          ? [...spans, { from: this.step, to: Number.POSITIVE_INFINITY }]
          : [...spans.slice(0, -1), { from: last?.from ?? 0, to: this.step }],
      );
    }
    this.dirty = true;
    return result;
  }

  /** What an admin command may change, to restore after a power cut that kept the state before. */
  save(): {
    kms: KmsState;
    log: number;
    retired: UserId[];
    identities: DeploymentModel['identities'];
    dirty: boolean;
  } {
    return {
      kms: this.kms,
      log: this.memberLog.length,
      retired: [...this.retired],
      identities: this.identities,
      dirty: this.dirty,
    };
  }

  /** Restores what {@link save} returned. */
  restore(saved: ReturnType<DeploymentModel['save']>): void {
    this.kms = saved.kms;
    this.memberLog.length = saved.log;
    this.retired.clear();
    for (const u of saved.retired) this.retired.add(u);
    this.identities = saved.identities;
    this.dirty = saved.dirty;
  }

  /** The KMS swept at the model's time. */
  swept(): KmsState {
    return this.pure(() => expireKeys(this.kms, this.now));
  }

  /** The time on `userId`'s host now: the model's (the admin's) plus that host's skew. */
  clockOf(userId: UserId): number {
    return this.now + (this.skews[userId] ?? 0);
  }

  /**
   * The KMS as `userId`'s host knows it once synced: the model's state swept at {@link syncedTime}.
   */
  sweptFor(userId: UserId): KmsState {
    const at = this.syncedTime(userId);
    return at === this.now ? this.swept() : this.pure(() => expireKeys(this.kms, at));
  }

  /**
   * Up to when a synced replica of `userId` has keys expired: the later of its host's clock (a
   * replica expires keys by its own clock, `keyAsOf`) and the issue of the latest file published to
   * it (the admin sweeps what it publishes at its own time, so a host behind the admin learns from
   * that file of a cryptoperiod that ended by the admin's clock, and not before). Expiry is stamped
   * with the cryptoperiod's end, so sweeping at the later time is sweeping at both. On one clock, now.
   */
  syncedTime(userId: UserId): number {
    const last = this.history.get(userId)?.get(this.published.get(userId) ?? 0)?.issuedAt;
    return Math.max(this.clockOf(userId), last ?? Number.NEGATIVE_INFINITY);
  }

  /** The device key of {@link appliedByDevice} and {@link appliedAt}: `userId@step provisioned`. */
  deviceKey(userId: UserId): string {
    return `${userId}@${this.deviceSince.get(userId) ?? 0}`;
  }

  /**
   * Notes that `userId`'s current device is at `sequence`: the first time it is seen there, it
   * applied that file now, by its host's clock. The suite notes it right after each sync (before
   * any time passes in the same command) and again after every command, for syncs elsewhere (a
   * power cut's); a device only goes forward, so a later sighting of the same sequence is not an
   * application.
   */
  noteApplied(userId: UserId, sequence: number): void {
    if (sequence === 0) return;
    const key = this.deviceKey(userId);
    const times = this.appliedAt.get(key) ?? new Map<number, number>();
    this.appliedAt.set(key, times);
    if (!times.has(sequence)) times.set(sequence, this.clockOf(userId));
  }

  /** Whether `userId`'s device is in service (provisioned and its user not deleted since). */
  inService(userId: UserId): boolean {
    return this.devices.has(userId) && !this.retired.has(userId);
  }

  /** What `userId`'s device must show now, given the model's current state. */
  currentView(userId: UserId): ReplicaView {
    // Keys expired as a synced replica has them: by its host's clock and by the latest file's issue.
    return viewAt(
      { kms: this.kms, inService: this.inService(userId), issuedAt: this.now },
      userId,
      this.syncedTime(userId),
      this.pure,
    );
  }

  /**
   * What `userId`'s current device, having applied `sequence`, must show now; null if that sequence
   * was never published to this device (to none, or to an earlier device of the same user ID: a file
   * sealed for the old HSM must not bring the new one anywhere).
   */
  viewAtSequence(userId: UserId, sequence: number): ReplicaView | null {
    const point = this.pointAtSequence(userId, sequence);
    return point === null ? null : viewAt(point, userId, this.clockOf(userId), this.pure);
  }

  /**
   * What the administrator published to `userId`'s current device up to `sequence`, as the model
   * recorded it then (the device told to hold nothing for 0); null as for {@link viewAtSequence}.
   * A replica that applied `sequence` knows this and nothing later, so a choice it makes is judged
   * over this state (at the time of the choice), not over the model's state now.
   */
  pointAtSequence(userId: UserId, sequence: number): PublishedPoint | null {
    const point = sequence === 0 ? NOTHING : this.history.get(userId)?.get(sequence);
    if (point === undefined || (sequence !== 0 && point.device !== this.deviceSince.get(userId))) return null;
    return point;
  }

  /**
   * The KMS as `userId`'s current device knows it having applied `sequence`: the state the model
   * recorded when that file was published, swept at its host's time now (a replica expires keys by
   * its own clock, `keyAsOf`, before the administrator says so). Null when that device was told to
   * hold nothing there (sequence 0, or a retired device), or never sent `sequence` ({@link viewAtSequence}).
   */
  knownAt(userId: UserId, sequence: number): KmsState | null {
    const point = this.pointAtSequence(userId, sequence);
    if (point === null || !point.inService) return null;
    return this.pure(() => expireKeys(point.kms, this.clockOf(userId)));
  }

  /**
   * Whether `userId`'s device, having applied `sequence`, may still protect now, by the heartbeat
   * rule of the update format (docs/update-format.md, "Freshness"; TUF's timestamp role against a
   * freeze attack), judged on the user's host with its own clock. The file's heartbeat states when
   * the admin issued it (the admin's clock); the device noted when it applied it (its clock). The
   * window counts from the earlier of the two, since no file was issued after it arrived: a date
   * ahead of the user's clock (the admin's runs fast) buys no time, and a file applied late is dated
   * by its issue, not its arrival. A date more than one window ahead of the user's clock when it came
   * gives no freshness at all. Past the window by the user's clock, the device must refuse. The
   * window is the Publisher's default (the deployment does not change it). A device that applied
   * nothing is not judged (its replica is empty); nor one at a file the model has no record of.
   * Written from that rule, not from `model/updateProcessing.ts`'s `stalenessAt`, which the
   * implementation runs.
   */
  fresh(userId: UserId, sequence: number): boolean {
    if (sequence === 0) return true;
    const point = this.history.get(userId)?.get(sequence);
    if (point === undefined) return true;
    const issued = point.issuedAt;
    // Not seen applied (a caller outside the suite's syncs): applied when issued, as on one clock.
    const applied = this.appliedAt.get(this.deviceKey(userId))?.get(sequence) ?? issued;
    const window = DEFAULT_FRESHNESS_WINDOW_MS;
    if (issued - applied > window) return false;
    return this.clockOf(userId) - Math.min(issued, applied) <= window;
  }

  /**
   * {@link fresh}'s facts in words, for a failure's message: when the file was issued (the admin's
   * clock), when the device applied it and what time it is now (its host's clock, and how far that is
   * off the admin's), and until when the rule keeps it fresh.
   */
  freshnessWords(userId: UserId, sequence: number): string {
    const point = this.history.get(userId)?.get(sequence);
    if (sequence === 0 || point === undefined) return `${userId} at update ${sequence} is not judged by freshness`;
    const issued = point.issuedAt;
    const applied = this.appliedAt.get(this.deviceKey(userId))?.get(sequence) ?? issued;
    const window = DEFAULT_FRESHNESS_WINDOW_MS;
    const skew = this.skews[userId] ?? 0;
    const clock =
      skew === 0 ? "the admin's" : `${spanText(Math.abs(skew))} ${skew > 0 ? 'ahead of' : 'behind'} the admin's`;
    const until =
      issued - applied > window
        ? `dated more than the ${spanText(window)} window ahead of its arrival, it gives no freshness`
        : `fresh until ${isoTime(Math.min(issued, applied) + window)} by that clock (the ${spanText(window)} window ` +
          'from the earlier of the two)';
    return (
      `${userId}'s update ${sequence} was issued ${isoTime(issued)} by the admin's clock and applied ` +
      `${isoTime(applied)} by ${userId}'s host clock (${clock}), ` +
      `which reads ${isoTime(this.clockOf(userId))} now: ${until}`
    );
  }

  /** Records a publication of `sequence` to `userId` (the current state). */
  recordPublished(userId: UserId, sequence: number): void {
    const h = this.history.get(userId) ?? new Map<number, PublishedPoint>();
    const device = this.deviceSince.get(userId);
    h.set(sequence, { kms: this.swept(), inService: this.inService(userId), issuedAt: this.now, device });
    this.history.set(userId, h);
    this.published.set(userId, Math.max(this.published.get(userId) ?? 0, sequence));
  }

  /** A new device for `userId` (first or replacement). */
  provisioned(userId: UserId): void {
    this.devices.add(userId);
    this.deviceSince.set(userId, this.step);
    this.retired.delete(userId);
    this.dirty = true;
  }

  /**
   * The steps of the identity `userId`'s current device serves (every step for a user without a
   * device): membership outside them is another person's under the same ID.
   */
  #identityOfDevice(userId: UserId): { readonly from: number; readonly to: number } {
    const since = this.deviceSince.get(userId);
    const spans = this.identities.get(userId) ?? [];
    const span = since === undefined ? undefined : [...spans].reverse().find((s) => s.from <= since);
    return span ?? { from: Number.NEGATIVE_INFINITY, to: Number.POSITIVE_INFINITY };
  }

  /** The membership log of `userId` in `groupId`, as far as the identity of its current device goes. */
  #logOf(groupId: GroupId, userId: UserId) {
    const { from, to } = this.#identityOfDevice(userId);
    return this.memberLog.filter((e) => e.groupId === groupId && e.userId === userId && e.step >= from && e.step <= to);
  }

  /** Whether `userId`'s device's identity was a member of `groupId` right after step `step`. */
  memberAt(groupId: GroupId, userId: UserId, step: number): boolean {
    let member = false;
    for (const e of this.#logOf(groupId, userId)) {
      if (e.step > step) break;
      member = e.joined;
    }
    return member;
  }

  /** Whether `userId`'s device's identity was ever a member of `groupId` up to step `step` (default: now). */
  everMember(groupId: GroupId, userId: UserId, step = Number.POSITIVE_INFINITY): boolean {
    return this.#logOf(groupId, userId).some((e) => e.joined && e.step <= step);
  }

  /** Whether `userId`'s device's identity joined `groupId` after step `step`. */
  joinedAfter(groupId: GroupId, userId: UserId, step: number): boolean {
    return this.#logOf(groupId, userId).some((e) => e.joined && e.step > step);
  }

  /**
   * Whether `userId`'s device's identity joined `groupId` after step `step` while the group shared
   * its history: the join that may give it the group's earlier keys. Read from the log, not from the
   * group, which may have been deleted since (a member that has not synced the deletion still holds
   * what the join gave it).
   */
  joinedSharingAfter(groupId: GroupId, userId: UserId, step: number): boolean {
    return this.#logOf(groupId, userId).some((e) => e.joined && e.shareHistory && e.step > step);
  }

  /** Adds a message to the ledger (dropping the oldest beyond {@link LEDGER_SIZE}). */
  record(entry: Omit<LedgerEntry, 'id' | 'step' | 'time'>): LedgerEntry {
    const full = { ...entry, id: this.nextMessage++, step: this.step, time: this.now };
    this.ledger = [...this.ledger, full].slice(-LEDGER_SIZE);
    return full;
  }

  /** Provisioned users, sorted. */
  deviceIds(): UserId[] {
    return sortIds(this.devices);
  }
}

/** The view a device at `point` shows at `now` (keys past their cryptoperiod expire locally). */
export function viewAt(
  point: PublishedPoint,
  userId: UserId,
  now: number,
  pure: <T>(fn: () => T) => T = runPure,
): ReplicaView {
  if (!point.inService) return EMPTY_VIEW;
  const p = pure(() => projectUser(expireKeys(point.kms, now), userId));
  return p === null ? EMPTY_VIEW : { groups: p.groups, users: p.users, keys: p.keys };
}

/** A time in words: ISO 8601, UTC. */
function isoTime(ms: number): string {
  return new Date(ms).toISOString();
}

/** A span in words, by its largest whole units: `1d`, `2h30m`, `45s`. */
function spanText(ms: number): string {
  const parts: string[] = [];
  let left = ms;
  for (const [unit, size] of [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
  ] as const) {
    const n = Math.floor(left / size);
    left -= n * size;
    if (n > 0) parts.push(`${n}${unit}`);
  }
  if (left > 0 || parts.length === 0) parts.push(`${left}ms`);
  return parts.join('');
}
