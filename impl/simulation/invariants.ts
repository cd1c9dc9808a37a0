/**
 * The named invariants of a deployment (`deployment.ts`) against its reference model
 * (`referenceModel.ts`): the deployment property suite checks them after every command, `sekey
 * simulate` at the end of every simulated day. Each failure throws an {@link InvariantError} whose
 * message starts with `invariant <name>:`: the property suite fails on it (and a bite test reads
 * which rule broke), the simulation catches it, records it and goes on.
 * @module
 */
import { inspect } from 'node:util';
import { keyUsage } from '../../model/keyLifecycle.ts';
import { DESTROYED_KEY_STATES, compareIds, keyStateOf, selectKey } from '../../model/kms.ts';
import type { KmsState, UserId } from '../../model/kms.ts';
import { keyViewOf } from '../../model/projection.ts';
import { caughtUp } from '../../model/publication.ts';
import type { Admin } from '../kms/admin.ts';
import type { PublishReport } from '../kms/publisher.ts';
import type { AheadDevice } from '../kms/acknowledgementCollector.ts';
import type { User } from '../kms/user.ts';
import type { Deployment, UserSlot } from './deployment.ts';
import { openUser } from './deployment.ts';
import type { SdCard } from '../../device/sdcard.ts';
import type { DeviceState } from '../../device/deviceState.ts';
import type { SecubeDevice } from '../../device/secube.ts';
import type { DeploymentModel, LedgerEntry, ReplicaView } from './referenceModel.ts';
import { runPure } from './referenceModel.ts';
import { query } from '../db/statementCache.ts';
import { updateStream } from '../protocol/streams.ts';
import { bytesEqual } from '../../device/binaryCodec.ts';
import { RESERVED_COUNTERS } from '../../device/secubeCounters.ts';

/**
 * Where the checkers count what they checked and the refusals they met: the property suite's
 * statistics, or the simulation's counters.
 */
export interface CheckTally {
  /** Counts one check (`name` is `<invariant>:<what>`). */
  count(category: 'invariantChecks', name: string): void;
  /** Counts a refusal met while checking; returns its code. */
  error(error: unknown): string;
}

/** The invariants, by name. */
const INVARIANTS = [
  'model-agreement',
  'key-secrecy',
  'need-to-know',
  'readability',
  'forward-secrecy',
  'backward-secrecy',
  'smallest-group',
  'integrity',
  'durability',
  'convergence',
] as const;
/** An invariant's name. */
export type InvariantName = (typeof INVARIANTS)[number];

/** A broken invariant. */
export class InvariantError extends Error {
  readonly invariant: InvariantName;
  constructor(invariant: InvariantName, detail: string) {
    super(`invariant ${invariant}: ${detail}`);
    this.name = 'InvariantError';
    this.invariant = invariant;
  }
}

/** Throws an {@link InvariantError}. */
export function violated(invariant: InvariantName, detail: string): never {
  throw new InvariantError(invariant, detail);
}

/**
 * What an `integrity` violation says of HSMs a collection found ahead of the admin's database
 * (`AcknowledgementCollector.collectAcknowledgements`): where no admin HSM is ever restored from a backup, each is
 * a healthy device taken for one that applied files the database lost.
 */
export function aheadAlarm(ahead: readonly AheadDevice[]): string {
  const each = ahead.map((a) => `${a.userId} (acknowledged #${a.acknowledged}, published #${a.published})`);
  return `the admin found HSMs ahead of its database, whose HSM was never restored: ${each.join(', ')}`;
}

/** An array's elements by the `id` they carry (users, groups, keys), or null if some carries none. */
function byId(list: readonly unknown[]): Map<string, unknown> | null {
  const map = new Map<string, unknown>();
  for (const item of list) {
    const id = (item as { id?: unknown } | null)?.id;
    if (typeof id !== 'string') return null;
    map.set(id, item);
  }
  return map;
}

/**
 * Where two JSON values differ, as paths (`keys[K2003].holders`) with both sides, at most `limit`:
 * elements of arrays whose elements all carry an `id` are matched by it, so one extra key is one
 * difference, not one per key after it.
 */
export function differences(actual: unknown, expected: unknown, limit = 5): string[] {
  const out: string[] = [];
  const walk = (a: unknown, e: unknown, path: string): void => {
    if (out.length >= limit || JSON.stringify(a) === JSON.stringify(e)) return;
    if (Array.isArray(a) && Array.isArray(e)) {
      const [ma, me] = [byId(a), byId(e)];
      const found = out.length;
      if (ma !== null && me !== null && ma.size === a.length && me.size === e.length) {
        for (const id of new Set([...ma.keys(), ...me.keys()])) walk(ma.get(id), me.get(id), `${path}[${id}]`);
      } else if (a.length === e.length) {
        a.forEach((x, i) => walk(x, e[i], `${path}[${i}]`));
      }
      // Nothing found element by element (the same elements in another order, an ID twice, other
      // lengths): the array itself differs.
      if (out.length > found) return;
    } else if (a !== null && e !== null && typeof a === 'object' && typeof e === 'object' && !Array.isArray(a)) {
      const keys = new Set([...Object.keys(a), ...Object.keys(e as object)]);
      for (const k of keys) walk((a as Record<string, unknown>)[k], (e as Record<string, unknown>)[k], `${path}.${k}`);
      return;
    }
    const shown = (v: unknown) => JSON.stringify(v) ?? 'nothing';
    out.push(`${path || '(the whole value)'}: actual ${shown(a)}, expected ${shown(e)}`);
  };
  walk(actual, expected, '');
  return out.map((d) => (d.startsWith('.') ? d.slice(1) : d));
}

/** Fails `invariant` unless the two values are structurally equal; says first where they differ. */
export function same(invariant: InvariantName, what: string, actual: unknown, expected: unknown): void {
  const a = JSON.stringify(actual);
  const e = JSON.stringify(expected);
  if (a === e) return;
  const where = differences(actual, expected).map((d) => `\n  differs at ${d}`);
  violated(invariant, `${what}${where.join('')}\n  actual:   ${a}\n  expected: ${e}`);
}

/** A replica's view. */
export function replicaView(user: User): ReplicaView {
  return { groups: user.groups(), users: user.users(), keys: user.keys() };
}

/** The admin's observable state, in the model's terms. */
export function adminView(admin: Admin) {
  return {
    users: admin.listUsers().map(({ id, name }) => ({ id, name })),
    groups: admin
      .listGroups()
      .map(({ id, name, policy, shareHistory, members }) => ({ id, name, policy, shareHistory, members })),
    keys: admin.listKeys(),
  };
}

/** The same, from the model (`pure` runs the model's computations: see `ModelHooks.pure`). */
export function modelAdminView(state: KmsState, pure: <T>(fn: () => T) => T = runPure) {
  const byId = <T extends { id: string }>(xs: T[]) => xs.sort((a, b) => compareIds(a.id, b.id));
  return pure(() => ({
    users: byId(Object.values(state.users).map(({ id, name }) => ({ id, name }))),
    groups: byId(
      Object.values(state.groups).map(({ id, name, policy, shareHistory, members }) => ({
        id,
        name,
        policy,
        shareHistory,
        members: [...members],
      })),
    ),
    keys: byId(Object.values(state.keys).map((k) => ({ ...keyViewOf(k), holders: [...k.holders] }))),
  }));
}

/**
 * IDs of the model's keys not yet destroyed (whose material the admin HSM still holds), sorted. Not the model's
 * "live" keys (`LIVE_KEY_STATES`: pre-activation, active, suspended), which leave out deactivated and compromised ones.
 */
export function undestroyedKeyIds(state: KmsState): string[] {
  return Object.values(state.keys)
    .filter((k) => !DESTROYED_KEY_STATES.includes(keyStateOf(k)))
    .map((k) => k.id)
    .sort(compareIds);
}

/** model-agreement: the admin's database and HSM equal the model. */
export function checkModelAgreement(m: DeploymentModel, r: Deployment, label: string): void {
  const swept = m.swept();
  same('model-agreement', `${label}: the admin's view`, adminView(r.admin), modelAdminView(swept, m.pure));
  same('model-agreement', `${label}: keys in the admin HSM`, r.adminKeys(), undestroyedKeyIds(swept));
}

/** Whether a slot's replica can be read now. */
export function usable(slot: UserSlot): slot is UserSlot & { user: User } {
  return slot.user !== null && slot.device.powered && slot.device.session === 'user';
}

/** Whether a user's replica and HSM equal the model's projection now (the user is synced). */
export function isSynced(m: DeploymentModel, slot: UserSlot): boolean {
  if (!usable(slot)) return false;
  const expected = m.currentView(slot.userId);
  if (JSON.stringify(replicaView(slot.user)) !== JSON.stringify(expected)) return false;
  const held = slot.device.listKeyIds();
  return JSON.stringify(heldIds(held)) === JSON.stringify(expected.keys.map((k) => k.id));
}

function heldIds(ids: readonly number[]): string[] {
  return ids.filter((n) => n >= 2000 && n < 0x0c00_0000).map((n) => `K${n}`);
}

/** The database image each host held at the last scan: only what changed since is scanned again. */
const scannedImages = new WeakMap<object, Uint8Array>();

/**
 * key-secrecy: no key value in any host-visible byte: the SD cards, the databases in plaintext as
 * the hosts hold them (only the cards' copies are sealed), every file written to the share or seen
 * on it (each scanned once, as the deployment saw it), every message, every command's output and
 * error; raw, as hex or as base64 text.
 */
export async function checkKeySecrecy(m: DeploymentModel, r: Deployment): Promise<void> {
  // Every place is scanned before the check fails, and the failure names every leak: the share files
  // are handed over once (`takeUnscanned`), and the outputs cleared, so a check that stopped at the
  // first leak would never scan the rest, nor anything behind a leak that stays on a card. The same
  // leak said twice (an error's several views) is said once.
  const leaks: string[] = [];
  const leak = (where: string, found: string | null) => {
    if (found !== null) leaks.push(`${found} found in ${where}`);
  };
  const cards: Array<[string, SdCard]> = [['the admin SD card', r.adminCard]];
  for (const slot of r.users.values()) cards.push([`${slot.userId}'s SD card`, slot.sd]);
  for (const [name, card] of cards) leak(name, r.secrets.findOnCard(card));
  const hosts: Array<[string, { readonly hostDatabaseImage: Uint8Array }]> = [["the admin host's database", r.admin]];
  for (const slot of r.users.values())
    if (slot.user !== null) hosts.push([`${slot.userId}'s replica in host memory`, slot.user]);
  for (const [name, host] of hosts) {
    const image = host.hostDatabaseImage;
    const before = scannedImages.get(host);
    if (before === image) continue;
    scannedImages.set(host, image);
    leak(name, r.secrets.findInImageChanges(image, before));
  }
  for (const { stream, name, bytes } of r.takeUnscanned())
    leak(`share file ${stream}/${name}`, r.secrets.findInBytes(bytes));
  for (const entry of m.ledger) leak(`message #${entry.id}`, r.secrets.findInBytes(entry.message));
  for (const value of r.outputs) {
    if (value instanceof Uint8Array) leak('a command output', r.secrets.findInBytes(value));
    else {
      const views = [inspect(value, { depth: 10, maxArrayLength: Infinity, maxStringLength: Infinity }), String(value)];
      if (value instanceof Error) views.push(value.message, value.stack ?? '');
      for (const v of views) leak('a command output or error message', r.secrets.findInText(v));
    }
  }
  r.outputs.length = 0;
  if (leaks.length > 0) violated('key-secrecy', [...new Set(leaks)].join('; also '));
}

/** need-to-know (every step): no HSM holds a key of a group its user never belonged to. */
export function checkNeedToKnow(m: DeploymentModel, r: Deployment): void {
  for (const slot of r.users.values()) {
    if (!slot.device.powered) continue;
    for (const keyId of heldIds(slot.device.listKeyIds())) {
      const key = m.kms.keys[keyId];
      if (key === undefined)
        violated('need-to-know', `${slot.userId}'s HSM holds ${keyId}, which the model never generated`);
      if (!m.everMember(key.owner, slot.userId)) {
        violated(
          'need-to-know',
          `${slot.userId}'s HSM holds ${keyId} of ${key.owner}, a group ${slot.userId} never belonged to ` +
            '(as the user its device serves: an ID deleted and added again is someone new)',
        );
      }
    }
  }
}

/**
 * need-to-know after a clean sync: the replica equals the projection and the HSM holds exactly its
 * keys. The simulation checks the same of every user who synced a clean stream after the day's last
 * publication, under the name `convergence` (`invariant`).
 */
export function checkSyncedExactly(
  m: DeploymentModel,
  r: Deployment,
  userId: UserId,
  label: string,
  invariant: InvariantName = 'need-to-know',
): void {
  const slot = r.slot(userId);
  if (!usable(slot)) violated(invariant, `${label}: ${userId}'s replica is not open after a clean sync`);
  const expected = m.currentView(userId);
  same(
    invariant,
    `${label}: ${userId}'s replica after a sync with no attack pending`,
    replicaView(slot.user),
    expected,
  );
  checkHeldKeys(
    invariant,
    `${label}: keys in ${userId}'s HSM after a sync with no attack pending`,
    r,
    slot,
    expected.keys.map((k) => k.id),
  );
  if (slot.user.blocked) violated(invariant, `${label}: ${userId} is blocked though no attack is pending`);
}

/**
 * The KMS keys `slot`'s HSM holds against the keys its replica lists (`expected`): exactly those when
 * its key store has room for them all. When it has not (a store that admits few keys:
 * `Deployment.kmsRoom`), the update's HSM work stalled (`StoreFull`): the erase orders are carried out
 * first and the imports until the store is full, so the HSM holds keys of the list only, as many as
 * it has room for, and each key of the list it lacks is an import its replica still owes (none is
 * lost: it comes once room is made). Returns whether the work stalled.
 */
export function checkHeldKeys(
  invariant: InvariantName,
  what: string,
  r: Deployment,
  slot: UserSlot,
  expected: readonly string[],
): boolean {
  const held = r.heldKeys(slot.userId);
  const room = r.kmsRoom(slot.userId);
  if (expected.length <= room) {
    same(invariant, what, held, expected);
    return false;
  }
  const foreign = held.filter((k) => !expected.includes(k));
  const owed = new Set(openUser(slot).pendingDeviceWork().imports);
  const lost = expected.filter((k) => !held.includes(k) && !owed.has(k));
  if (foreign.length > 0 || held.length !== room || lost.length > 0)
    violated(
      invariant,
      `${what}: its key store has room for ${room} of the ${expected.length} keys listed, so it must hold ` +
        `${room} of them and owe the others' imports; it holds ${held.join(', ') || 'none'}` +
        (foreign.length > 0 ? `, ${foreign.join(', ')} not listed` : '') +
        (lost.length > 0 ? `, and lacks ${lost.join(', ')} with no import owed (lost)` : ''),
    );
  return true;
}

/**
 * Whether a user's HSM has room for the keys of update `sequence` of its current device (a file the
 * HSM cannot carry out the work of stalls there, and must not be acknowledged); true for a sequence
 * not published to that device, which this cannot judge.
 */
export function roomForUpdate(m: DeploymentModel, r: Deployment, userId: UserId, sequence: number): boolean {
  const view = m.viewAtSequence(userId, sequence);
  return view === null || view.keys.length <= r.kmsRoom(userId);
}

/**
 * integrity: every open replica holds a state the administrator published to it (a prefix of its
 * published history) and never goes back to an earlier one on the same HSM, the last file it applied
 * is byte for byte one the system wrote (an authentic file with bytes appended, say, is not: its
 * header and seal alone must not carry it), and the admin never counts an acknowledgement beyond
 * what a device applied.
 */
export function checkIntegrity(m: DeploymentModel, r: Deployment): void {
  let written: Set<string> | null = null;
  for (const slot of r.users.values()) {
    if (!usable(slot)) continue;
    const fileHash = slot.user.appliedFileHash;
    if (fileHash !== '') {
      written ??= new Set(r.genuine.values());
      if (!written.has(fileHash))
        violated(
          'integrity',
          `${slot.userId}'s replica applied update ${slot.user.appliedSequence} from a file the system never wrote ` +
            `(SHA-256 ${fileHash.slice(0, 16)}…, the hash of no file it wrote to the share)`,
        );
    }
    const sequence = slot.user.appliedSequence;
    m.maxApplied.set(slot.userId, Math.max(m.maxApplied.get(slot.userId) ?? 0, sequence));
    // Never back: an old authentic file (a resync above all, which replaces the whole replica) applied
    // over a newer one leaves a state the administrator did publish, so the prefix check below passes.
    const device = m.deviceKey(slot.userId);
    const highest = m.appliedByDevice.get(device) ?? 0;
    // When it applied that file, by its host's clock, if no sync noted it yet: freshness counts from it.
    m.noteApplied(slot.userId, sequence);
    if (sequence < highest)
      violated(
        'integrity',
        `${slot.userId}'s replica went back from update ${highest} to ${sequence} on the same HSM: an older file ` +
          'applied over a newer one (a rollback)',
      );
    m.appliedByDevice.set(device, Math.max(highest, sequence));
    const expected = m.viewAtSequence(slot.userId, sequence);
    if (expected === null)
      violated(
        'integrity',
        `${slot.userId}'s replica applied sequence ${sequence}, which the administrator never published to this ` +
          'device (to none, or to an earlier HSM of the same user ID)',
      );
    same(
      'integrity',
      `${slot.userId}'s replica at sequence ${sequence} is not what the administrator published`,
      replicaView(slot.user),
      expected,
    );
  }
  const acks = r.admin.readDatabase(
    (db) => query(db, 'SELECT user_id, acknowledged_sequence FROM publication') as Array<[string, number]>,
  );
  for (const [userId, acknowledged] of acks) {
    const applied = m.maxApplied.get(userId) ?? 0;
    if (Number(acknowledged) > applied) {
      violated(
        'integrity',
        `the admin counts ${userId} as acknowledging ${acknowledged}, but its devices applied only up to ${applied}`,
      );
    }
    // Applied is not done: an acknowledgement says the HSM carried out the file's work too, which an
    // HSM without room for that update's keys cannot have (its sync stalled there, StoreFull).
    if (r.users.has(userId) && !roomForUpdate(m, r, userId, Number(acknowledged))) {
      const listed = m.viewAtSequence(userId, Number(acknowledged))?.keys.length;
      violated(
        'integrity',
        `the admin counts ${userId} as acknowledging update ${acknowledged}, whose HSM work ${userId}'s HSM ` +
          `cannot have carried out: the update lists ${listed} keys, ` +
          `its key store has room for ${r.kmsRoom(userId)} (StoreFull: the work is owed, the file not done)`,
      );
    }
  }
}

/**
 * readability, forward and backward secrecy over the ledger: every user with an open replica tries
 * every message. A synced user decrypts iff the model says it holds the key in a state that allows
 * processing; whoever decrypts gets the plaintext that was sent; a message sent by a synced sender is
 * read only by members of its group at sending time, or by later joiners of a group sharing its
 * history. Forward secrecy: nobody who had left reads it (`removeMemberAndRekey`); backward
 * secrecy: nobody who joined (or rejoined) after it reads it, unless the group shares its history
 * (`addMemberAndRekey`). Checked after every command, so a leaver's read is caught before any later
 * rejoin could blur which rule failed. A sender that is not synced may still use a key the model
 * has retired (its replica is behind): the freshness window bounds that, and `encrypt` is checked
 * against it separately.
 */
export function checkLedger(m: DeploymentModel, r: Deployment, stats: CheckTally): void {
  const swept = m.swept();
  for (const slot of r.users.values()) {
    if (!usable(slot)) continue;
    const synced = isSynced(m, slot);
    const lacking = synced ? null : lackingForRoom(m, r, slot);
    // The key's state as the reader's host sees it, by its own clock.
    const seen = m.clockOf(slot.userId) === m.now ? swept : m.sweptFor(slot.userId);
    for (const entry of m.ledger) {
      let plain: Uint8Array | null = null;
      let code = 'ok';
      try {
        plain = r.decrypt(slot.userId, entry.message);
      } catch (error) {
        code = stats.error(error);
        r.output(error);
      }
      const label =
        `${slot.userId} decrypting message #${entry.id} ` +
        `(sent by ${entry.sender} under ${entry.keyId} of ${entry.groupId} at step ${entry.step})`;
      if (plain !== null && Buffer.compare(Buffer.from(plain), Buffer.from(entry.plaintext)) !== 0) {
        violated('readability', `${label}: got a plaintext other than the one sent`);
      }
      if (synced || lacking !== null) {
        const key = seen.keys[entry.keyId];
        // A retired device holds nothing, even once its user is added again (a re-added user gets a new
        // device by provisioning; the model's holders name users, not devices).
        const holds = m.inService(slot.userId) && key?.holders.includes(slot.userId) === true;
        const may = key !== undefined && keyUsage(keyStateOf(key)).process;
        if (holds && may && lacking?.has(entry.keyId) === true) {
          // Listed by its replica, never imported: no state it has not fully applied may be used.
          if (plain !== null || code !== 'KeyUnavailable')
            violated(
              'readability',
              `${label}: ${plain !== null ? 'succeeded' : `failed (${code})`}, but ${slot.userId}'s HSM lacks the ` +
                'key (its import owed: the key store is full), so it must be refused KeyUnavailable',
            );
          stats.count('invariantChecks', 'readability:refused, the HSM lacks the key (StoreFull)');
          continue;
        }
        if ((plain !== null) !== (holds && may)) {
          violated(
            'readability',
            `${label}: ${plain !== null ? 'succeeded' : `failed (${code})`}, but the model says the user ` +
              `${holds ? 'holds' : 'does not hold'} the key, which is ${key ? keyStateOf(key) : 'unknown'}` +
              (m.inService(slot.userId) ? '' : ' (the device is retired: its user was deleted)'),
          );
        }
        stats.count('invariantChecks', `readability:${plain !== null ? 'reads' : 'refused'}`);
      }
      if (plain === null || !entry.senderSynced) continue;
      stats.count('invariantChecks', 'forward/backward secrecy:reads checked');
      if (m.memberAt(entry.groupId, slot.userId, entry.step)) continue;
      // Not a member when it was sent. Joined (again) since: only a group sharing its history gives
      // it that message; otherwise the join should have kept it out.
      if (m.joinedAfter(entry.groupId, slot.userId, entry.step)) {
        if (m.joinedSharingAfter(entry.groupId, slot.userId, entry.step)) continue;
        violated(
          'backward-secrecy',
          `${label}: read by a user who joined ${entry.groupId} only after the message was sent, and the group ` +
            'does not share its history',
        );
      }
      if (m.everMember(entry.groupId, slot.userId, entry.step)) {
        violated(
          'forward-secrecy',
          `${label}: read by a user who had left ${entry.groupId} before the message was sent, and has not rejoined`,
        );
      }
      violated('need-to-know', `${label}: read by a user who was never a member of ${entry.groupId}`);
    }
  }
}

/**
 * The keys of the model's view now that `slot`'s HSM lacks for want of room, when its replica is at
 * that view and its key store cannot hold it all (its sync stalled: `StoreFull`); null otherwise.
 * Such a user is judged as a synced one, except that it must refuse the keys its HSM lacks.
 */
function lackingForRoom(m: DeploymentModel, r: Deployment, slot: UserSlot & { user: User }): Set<string> | null {
  const expected = m.currentView(slot.userId);
  if (expected.keys.length <= r.kmsRoom(slot.userId)) return null;
  if (JSON.stringify(replicaView(slot.user)) !== JSON.stringify(expected)) return null;
  const held = new Set(r.heldKeys(slot.userId));
  return new Set(expected.keys.map((k) => k.id).filter((k) => !held.has(k)));
}

/** A user's device as one string (replica, HSM keys, applied sequence): what an attack must not change. */
export function deviceState(r: Deployment, userId: UserId): string {
  const slot = r.slot(userId);
  const user = openUser(slot);
  return JSON.stringify({ view: replicaView(user), held: r.heldKeys(userId), sequence: user.appliedSequence });
}

/**
 * smallest-group's oracle: what the model selects for `sender` protecting to `to` now
 * (`keyId@groupId`, or the error code), by brute force over the model's groups (`model/selectKey.ts`).
 * Over `state`, the model's state now unless given: a sender behind the model is judged over what
 * the administrator had published to it (`DeploymentModel.knownAt`), still at the time of the choice.
 * The time is the sender's host's (`clockOf`): a key's originator-usage period is judged by the clock
 * of the host that protects (NIST SP 800-57 Pt 1 §5.3: a key may protect only within it), so a key
 * activated by an admin clock ahead of the sender's is not yet usable there, and one whose
 * cryptoperiod ended by the sender's clock no longer is.
 */
export function expectedSelection(
  m: DeploymentModel,
  sender: UserId,
  to: readonly UserId[],
  state: KmsState = m.sweptFor(sender),
): string {
  const result = m.pure(() => selectKey(state, sender, to, m.clockOf(sender)));
  return result.ok ? `${result.selection.keyId}@${result.selection.groupId}` : result.error.code;
}

/**
 * durability, at rest: what a user's HSM holds in its memory is what its flash holds. Its PIN tries at
 * both levels and its counters are written before the call that changes them returns, so the state
 * record a boot would read from its flash now must show the same. A try spent or given back in memory
 * only, or a counter moved in memory only, would be undone by the next power cut: a locked PIN level
 * unlocked, an update applied again. Counters are read in the HSM's session, when it holds one. (Keys
 * are written to the key store as they are made and erased; its own power-cut suite judges it.)
 */
export function checkHsmAtRest(r: Deployment, userId: UserId, label: string): void {
  const device = r.slot(userId).device;
  if (!device.powered || !device.initialized) return;
  checkBootsAsHeld(device, r.bootState(userId), `${userId}'s HSM`, label);
}

/**
 * {@link checkHsmAtRest} for the admin HSM: its PIN tries and its counters, the PIN reset orders it
 * issued among them (one issued in memory only would be issued again after a power cut, and the user
 * HSMs that took the first would refuse every later order, StaleOrder).
 */
export function checkAdminHsmAtRest(r: Deployment, label: string): void {
  const device = r.adminDevice;
  if (!device.powered || !device.initialized) return;
  checkBootsAsHeld(device, r.adminBootState(), 'the admin HSM', label);
}

/** What {@link checkHsmAtRest} compares: `device` in memory against `booted`, the state its flash holds. */
function checkBootsAsHeld(device: SecubeDevice, booted: DeviceState | undefined, who: string, label: string): void {
  if (booted === undefined) {
    violated('durability', `${label}: ${who} is initialized, but its flash holds no device state to boot with`);
  }
  const held = device.retriesLeft;
  const flash = booted.retriesLeft;
  if (held.user !== flash.user || held.admin !== flash.admin)
    violated(
      'durability',
      `${label}: ${who} holds ${held.user} user and ${held.admin} admin PIN tries, but its flash ` +
        `boots with ${flash.user} and ${flash.admin}: a power cut now would change them`,
    );
  if (device.session === 'loggedOut' || device.session === 'locked') return;
  for (const name of RESERVED_COUNTERS) {
    const [inMemory, inFlash] = [device.counterRead(name), booted.counters.get(name) ?? 0];
    if (inMemory !== inFlash)
      violated('durability', `${label}: ${who}'s counter ${name} is ${inMemory}, but its flash boots with ${inFlash}`);
  }
}

/**
 * need-to-know, at a publication: the HSM of a deleted user is sent one last file, which empties it
 * (its erase orders), and nothing after it, heartbeats included: it needs nothing more, and a
 * heartbeat would only keep a retired HSM looking fresh and its stream growing. A resync the
 * administrator asked for is the one exception (the emptying state sent again, to an HSM that never
 * acknowledged it): each answers one request (`DeploymentModel.resyncAsked`), which it takes off the
 * list here. Call before the publication is recorded in the model.
 */
export function checkNothingAfterLastFile(
  m: DeploymentModel,
  published: PublishReport['published'],
  label: string,
): void {
  for (const p of published) {
    const asked = p.kind === 'resync' && m.resyncAsked.delete(p.userId);
    const last = m.published.get(p.userId);
    if (asked || last === undefined) continue;
    const point = m.pointAtSequence(p.userId, last);
    if (point === null || point.inService) continue;
    violated(
      'need-to-know',
      `${label}: ${p.userId}'s retired HSM was sent #${p.sequence} (${p.heartbeatOnly ? 'a heartbeat' : p.kind}) ` +
        `after its last file, #${last}, which emptied it`,
    );
  }
}

/**
 * model-agreement of the publication machine (`model/publication.ts`), right after a publication or
 * a collection of acknowledgements: time passes before an event reaches a user's record (`TICK` at
 * the event's time), so the state committed with a file or an acknowledgement is the one the record
 * reads as at that very time (`publicationStates`, which lets time pass first). A user pending past
 * the stale limit is stale when its next file goes out, not pending.
 */
export function checkPublicationRecords(r: Deployment, userIds: readonly UserId[], label: string): void {
  if (userIds.length === 0) return;
  const reads = new Map(r.publisher.publicationStates().map((p) => [p.userId, p.state] as const));
  const stored = new Map(
    r.admin.readDatabase((db) => query(db, 'SELECT user_id, state FROM publication') as Array<[string, string]>),
  );
  for (const userId of new Set(userIds)) {
    const [committed, read] = [stored.get(userId), reads.get(userId)];
    if (committed !== read)
      violated(
        'model-agreement',
        `${label}: ${userId}'s publication record was committed ${String(committed)} with the event, but at the ` +
          `same time reads ${String(read)}: time did not pass before the event (the machine's TICK)`,
      );
  }
}

/**
 * convergence, right after a publication: every committed file that its user has not acknowledged
 * (the admin's outbox) lies on the share byte for byte. The flush each publication starts with
 * writes back a file that is missing, damaged, cut short or lengthened; left as it is, the file
 * stalls its user (the erase orders of a deleted user's last file included) until a resync.
 */
export async function checkOutboxOnShare(r: Deployment, label: string): Promise<void> {
  const outbox = r.admin.readDatabase(
    (db) =>
      query(db, 'SELECT user_id, name, bytes FROM outbox WHERE bytes IS NOT NULL') as Array<
        [string, string, Uint8Array]
      >,
  );
  for (const [userId, name, bytes] of outbox) {
    const onShare = await r.share.read(updateStream(userId), name);
    if (onShare !== null && bytesEqual(onShare, bytes)) continue;
    violated(
      'convergence',
      `${label}: after the publication, ${userId}'s committed file ${name} ` +
        (onShare === null
          ? 'is missing from the share'
          : `differs on the share (${onShare.length} bytes there, ${bytes.length} committed)`),
    );
  }
}

/**
 * convergence, once the adversary stopped and every user synced (and was resynced if it needed it):
 * every replica equals the model's projection, its HSM holds exactly its keys, nobody is blocked,
 * every user in service is fresh, the admin sees every user as acknowledged, and the audit log verifies.
 */
export function checkConverged(m: DeploymentModel, r: Deployment): void {
  for (const userId of m.deviceIds()) {
    const slot = r.slot(userId);
    if (!usable(slot)) violated('convergence', `${userId}'s replica is not open at the end`);
    const expected = m.currentView(userId);
    same(
      'convergence',
      `${userId}'s replica once the adversary stopped (publish, sync, resync)`,
      replicaView(slot.user),
      expected,
    );
    same(
      'convergence',
      `keys in ${userId}'s HSM once the adversary stopped`,
      r.heldKeys(userId),
      expected.keys.map((k) => k.id),
    );
    if (slot.user.blocked) violated('convergence', `${userId} is still blocked after a resync`);
    // Every file carries a heartbeat, and the publication sends one to each user in service whose
    // latest file is at least the heartbeat interval old: once everyone synced, no user in service
    // may be stale. (The reference model learns publications from what the admin publishes, so a
    // publisher that stopped sending heartbeats looked right to every other check: a seeded bug.)
    // With user host clocks off the admin's, this holds as long as each is off by at most one heartbeat
    // interval, the margin the window leaves for clocks (the update format's "Freshness": a window of
    // three intervals): a file less than an interval old is at most two old by a clock ahead, and one
    // dated ahead by at most an interval counts from its arrival. The deployment suite draws no more.
    const { staleness } = slot.user.freshness();
    if (m.inService(userId) && staleness !== null) {
      violated(
        'convergence',
        `${userId}'s view is stale (${staleness.reason}) after the admin published and everyone synced`,
      );
    }
  }
  for (const p of r.publisher.publicationStates()) {
    if (!caughtUp(p.state)) {
      violated(
        'convergence',
        `the admin still sees ${p.userId} as ${p.state} ` +
          `(published ${p.published}, acknowledged ${p.acknowledged}) after everyone synced`,
      );
    }
  }
  r.admin.verifyAuditLog();
}

/** What a protection (encryption or re-protection) gave: the message's key and group, or a refusal. */
export type ProtectionOutcome = { readonly code: string } | { readonly keyId: string; readonly groupId: string };

/**
 * Where a sender's device stands as it protects: whether it is synced (`isSynced`, and in service),
 * the update it applied last, the keys its HSM holds (`Deployment.heldKeys`), and the keys whose
 * import its replica still owes the HSM (`User.pendingDeviceWork`). A replica may list a key whose
 * import the HSM refused (a full key store): the import stays owed until a sync carries it out, and
 * meanwhile a correct device refuses with `KeyUnavailable`. A synced device's HSM holds exactly its
 * replica's keys, so this only matters behind the model.
 */
export interface SenderPosition {
  readonly synced: boolean;
  readonly sequence: number;
  readonly held: readonly string[];
  readonly owed: readonly string[];
}

/** Where `slot`'s device stands now, as a sender ({@link SenderPosition}). */
export function senderPosition(m: DeploymentModel, r: Deployment, slot: UserSlot & { user: User }): SenderPosition {
  return {
    synced: isSynced(m, slot) && m.inService(slot.userId),
    sequence: slot.user.appliedSequence,
    held: r.heldKeys(slot.userId),
    owed: slot.user.pendingDeviceWork().imports,
  };
}

/** The key of a selection (`keyId@groupId`), or null for a refusal's code. */
function selectedKey(selection: string): string | null {
  const at = selection.indexOf('@');
  return at < 0 ? null : selection.slice(0, at);
}

/**
 * Whether `outcome` is the `KeyUnavailable` a correct device gives because its HSM lacks one of
 * `keys`, which its replica lists, and its import is owed ({@link SenderPosition}). An HSM that lacks
 * a key with no import owed lost it: that refusal is judged as any other.
 */
function awaitingImport(outcome: ProtectionOutcome, keys: ReadonlyArray<string | null>, at: SenderPosition): boolean {
  if (!('code' in outcome) || outcome.code !== 'KeyUnavailable') return false;
  return keys.some((k) => k !== null && !at.held.includes(k) && at.owed.includes(k));
}

/**
 * A re-protection (`User.reprotect`), judged as far as the sender's replica allows, as
 * {@link checkEncryption} judges an encryption.
 *
 * A synced sender in service that does not hold the message's key, or holds it in a state that may
 * not re-protect (`UsageNotAllowed`), must refuse. One that may must then pass the heartbeat rule,
 * unless the key is compromised (the rescue path: re-protecting with the best key known beats
 * leaving data under a compromised one). It must end under the model's smallest group of the key's
 * group's other members: the message unchanged when that is its key already, or a refusal with the
 * model's code when there is none. `outcome` is the refusal's code, or the key of the message returned
 * (the old one when unchanged).
 *
 * A sender behind the model is judged by the same rules over what its replica knows: the state the
 * model recorded when the file it applied last was published, at the time of the re-protection
 * (`DeploymentModel.knownAt`), so "compromised" (the rescue path), the key's holders and the group's
 * members are the replica's, not the model's now. Where the rule gives a key, a `KeyUnavailable` is
 * right when the HSM lacks it or the message's key (an import still owed); where it gives a refusal,
 * that refusal comes first (the HSM is not asked for either key). Where the model has no
 * record of that file, the heartbeat rule alone, one way: a key the model does not know as
 * compromised is not compromised on the replica either (its states are earlier ones of the same life
 * cycle, and no state leads back from compromised), so past the window the replica must not
 * re-protect from it. Without that rule a stale view could move old data under a key that a withheld
 * rekey retired, one a removed member still holds.
 * Returns which check ran, for the statistics: `protection` for a synced sender, `behind` when a
 * sender behind the model was judged over its replica's state, `freshness` when by the heartbeat rule
 * alone, null when not judged (a device that applied nothing, or a retired one).
 */
export function checkReprotection(
  m: DeploymentModel,
  sender: UserId,
  entry: LedgerEntry,
  replica: SenderPosition,
  outcome: ProtectionOutcome,
  label: string,
): 'protection' | 'behind' | 'freshness' | null {
  if (replica.synced) {
    judgeReprotection(m, sender, entry, m.sweptFor(sender), replica, outcome, label, 'the model');
    return 'protection';
  }
  if (!encryptionJudged(m, sender, replica)) return null;
  const known = m.knownAt(sender, replica.sequence);
  if (known !== null) {
    const over =
      `the model, over its replica's state (a replica behind the model at sequence ${replica.sequence}: what ` +
      `was published to it up to ${replica.sequence}, at the time of the re-protection),`;
    judgeReprotection(m, sender, entry, known, replica, outcome, label, over);
    return 'behind';
  }
  const key = m.swept().keys[entry.keyId];
  const state = key === undefined ? undefined : keyStateOf(key);
  // A rescue, as far as the model can tell now: the key was compromised (and may have been destroyed
  // since, which a replica behind does not know yet); a replica that saw it compromised asks for no
  // freshness (the usage table's `rescue`).
  const rescue = key !== undefined && key.lifecycle.context.compromisedAt !== null;
  if (!rescue && !m.fresh(sender, replica.sequence) && !('code' in outcome)) {
    violated(
      'smallest-group',
      `${label}: re-protected under ${outcome.keyId} from a replica behind the model at sequence ` +
        `${replica.sequence}, past the freshness window, from ${entry.keyId}, which is ${state ?? 'unknown'} ` +
        `(not compromised: the model gives NotFresh); ${m.freshnessWords(sender, replica.sequence)}`,
    );
  }
  return 'freshness';
}

/**
 * {@link checkReprotection}'s rules over `over` (the model's state now, or what a replica behind it
 * knows), in the order `User.reprotect` checks them: the key held, its state, then freshness unless
 * compromised, then the smallest group of the key's group's other members. `whose` names where the
 * expected answer comes from, for the failure's words.
 */
function judgeReprotection(
  m: DeploymentModel,
  sender: UserId,
  entry: LedgerEntry,
  over: KmsState,
  replica: SenderPosition,
  outcome: ProtectionOutcome,
  label: string,
  whose: string,
): void {
  const key = over.keys[entry.keyId];
  const state = key === undefined ? undefined : keyStateOf(key);
  const holds = key?.holders.includes(sender) === true;
  if (!holds || state === undefined || !keyUsage(state).reprotect) {
    const want = holds ? 'UsageNotAllowed' : 'a refusal';
    const ok = 'code' in outcome && (!holds || outcome.code === 'UsageNotAllowed');
    if (!ok) {
      const got = 'code' in outcome ? `refused with ${outcome.code}` : `re-protected under ${outcome.keyId}`;
      violated(
        'smallest-group',
        `${label}: ${got}; ${whose} gives ${want} (${sender} ${holds ? 'holds' : 'does not hold'} ` +
          `${entry.keyId}, which is ${state ?? 'unknown'})`,
      );
    }
    return;
  }
  const fresh = keyUsage(state).rescue || m.fresh(sender, replica.sequence);
  const others = (over.groups[entry.groupId]?.members ?? []).filter((u) => u !== sender);
  const want = fresh ? expectedSelection(m, sender, others, over) : 'NotFresh';
  // The HSM is asked for either key only once one is chosen: where the rule gives a refusal
  // (NotFresh, NoUsableKey), a correct device gives that refusal, whatever its HSM lacks.
  const chosen = selectedKey(want);
  if (chosen !== null && awaitingImport(outcome, [entry.keyId, chosen], replica)) return;
  checkSelection(
    want,
    outcome,
    label,
    're-protected',
    whose,
    freshnessFacts(m, sender, replica.sequence, want, outcome),
  );
}

/** Whether {@link checkEncryption} judges an encryption by `sender` from `replica`. */
export function encryptionJudged(
  m: DeploymentModel,
  sender: UserId,
  replica: { readonly synced: boolean; readonly sequence: number },
): boolean {
  return replica.synced || (m.inService(sender) && replica.sequence > 0);
}

/**
 * An encryption, judged as far as the sender's replica allows: a synced sender by
 * {@link checkProtection} (freshness, then the smallest group); a sender behind the model by the
 * heartbeat rule first, since a sender kept behind by withheld updates is the very case the rule is
 * for. Past the window after the file it applied last, encrypting must be refused with `NotFresh`;
 * within it, never with `NotFresh`, and the key (or the refusal) must be the smallest-group rule's over
 * what that replica knows: the state the model recorded when the file it applied last was published,
 * at the time of the encryption (`DeploymentModel.knownAt`), not the model's state now; or
 * `KeyUnavailable` when the HSM lacks that key (its import still owed). A device that applied
 * nothing (refused for want of any statement) and a retired one are not judged.
 * Returns which check ran, for the statistics: `protection` for a synced sender, `behind` when a
 * sender behind the model was judged by both rules, `freshness` when by the heartbeat rule alone (past
 * its window), null when not judged.
 */
export function checkEncryption(
  m: DeploymentModel,
  sender: UserId,
  to: readonly UserId[],
  replica: SenderPosition,
  outcome: ProtectionOutcome,
  label: string,
): 'protection' | 'behind' | 'freshness' | null {
  const fresh = m.fresh(sender, replica.sequence);
  if (replica.synced) {
    checkProtection(m, sender, to, fresh, outcome, label, replica.sequence);
    return 'protection';
  }
  if (!encryptionJudged(m, sender, replica)) return null;
  const refusedStale = 'code' in outcome && outcome.code === 'NotFresh';
  const got = 'code' in outcome ? `refused with ${outcome.code}` : `encrypted under ${outcome.keyId}`;
  if (refusedStale !== !fresh) {
    violated(
      'smallest-group',
      `${label}: ${got}, from a replica behind the model at sequence ${replica.sequence}, whose last file ` +
        `is ${fresh ? 'within' : 'past'} the freshness window ` +
        `(the model gives ${fresh ? 'no NotFresh' : 'NotFresh'}); ` +
        m.freshnessWords(sender, replica.sequence),
    );
  }
  const known = fresh ? m.knownAt(sender, replica.sequence) : null;
  if (known === null) return 'freshness';
  const want = expectedSelection(m, sender, to, known);
  if (awaitingImport(outcome, [selectedKey(want)], replica)) return 'behind';
  if (('code' in outcome ? outcome.code : `${outcome.keyId}@${outcome.groupId}`) !== want) {
    violated(
      'smallest-group',
      `${label}: ${got}${'code' in outcome ? '' : `@${outcome.groupId}`}, from a replica behind the model at ` +
        `sequence ${replica.sequence}, within the freshness window; the smallest-group rule over its state (what ` +
        `was published to it up to ${replica.sequence}, at the time of the encryption) gives ${want}`,
    );
  }
  return 'behind';
}

/**
 * smallest-group for a synced sender's protection: the key it used (`keyId@groupId`), or its
 * refusal's code, must be the model's selection for `sender` and `to` — or `NotFresh` when its view
 * is older than the freshness window (`fresh` false: the heartbeat rule comes first). `sequence` is
 * the update its replica applied last, for the words of a failure over freshness.
 */
function checkProtection(
  m: DeploymentModel,
  sender: UserId,
  to: readonly UserId[],
  fresh: boolean,
  outcome: ProtectionOutcome,
  label: string,
  sequence: number,
): void {
  const want = fresh ? expectedSelection(m, sender, to) : 'NotFresh';
  checkSelection(want, outcome, label, 'encrypted', 'the model', freshnessFacts(m, sender, sequence, want, outcome));
}

/**
 * The heartbeat rule's facts for a failure's message ({@link DeploymentModel.freshnessWords}), when
 * freshness is what the model and the device disagree on: one of them says NotFresh; '' otherwise.
 */
function freshnessFacts(
  m: DeploymentModel,
  sender: UserId,
  sequence: number,
  want: string,
  outcome: ProtectionOutcome,
): string {
  const stale = want === 'NotFresh' || ('code' in outcome && outcome.code === 'NotFresh');
  return stale ? m.freshnessWords(sender, sequence) : '';
}

/**
 * smallest-group: the key a protection used (`keyId@groupId`), or its refusal's code, must be `want`.
 * `whose` says where `want` comes from (`the model`, for a synced sender: its own words).
 */
function checkSelection(
  want: string,
  outcome: ProtectionOutcome,
  label: string,
  verb: 'encrypted' | 're-protected',
  whose: string,
  facts = '',
): void {
  const more = facts === '' ? '' : `; ${facts}`;
  if ('code' in outcome) {
    if (outcome.code !== want)
      violated(
        'smallest-group',
        `${label}: ${verb} nothing, refused with ${outcome.code}; ${whose} gives ${want}${more}`,
      );
  } else if (`${outcome.keyId}@${outcome.groupId}` !== want) {
    const rule = whose === 'the model' ? "the model's smallest group" : whose;
    violated(
      'smallest-group',
      `${label}: ${verb} under ${outcome.keyId}@${outcome.groupId}, ${rule} gives ${want}${more}`,
    );
  }
}
