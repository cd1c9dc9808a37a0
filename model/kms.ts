/**
 * The whole KMS as a pure model: the oracle the implementation is compared to after every step, and
 * the place to learn SEkey's rules. Every operation takes a state and returns a new state or a typed
 * error; nothing is mutated, and a refused operation leaves its input exactly as it was.
 *
 * Rules, beyond the original SEkey (which has none of the group-key ones):
 * - **Expiry first.** Every operation carries its time and first expires the keys whose
 *   cryptoperiod has ended by then (`EXPIRE` through the key machine), so no rule ever reads a key
 *   that is past its cryptoperiod but still marked active.
 * - **Forward secrecy on leave.** When a member leaves a group (or is deleted), every key of the
 *   group that could still protect is retired — pre-active keys destroyed (NIST T2), active and
 *   suspended ones deactivated (T8, T12) — and, if the group had an active key, a fresh key is
 *   generated and activated at once for the remaining members. The leaver's device is ordered to
 *   erase the old keys, but its host may not carry the order out (and the leaver had them anyway):
 *   what protects the group is that nothing new is ever encrypted under them.
 * - **Replacement on compromise.** Compromising an active key activates a fresh key for the group
 *   at once; the group's other keys are left alone (they are not suspect).
 * - **Backward secrecy on join.** In a group that does not share its history, a join retires every
 *   active or suspended key somebody already holds (deactivated: the earlier members keep reading
 *   with it) and, if one was active, activates a fresh key for everybody: the joiner receives only
 *   the pre-active keys, any key nobody held yet (it protected nothing) and the fresh one, so it
 *   cannot read what was sent before it joined. In a group with `shareHistory`, the joiner receives
 *   every key that can still protect and the deactivated ones, without a rekey. Compromised and
 *   destroyed keys are never given.
 * - **Need-to-know.** A key's `holders` are exactly the users whose devices must hold it; a user's
 *   device holds only its groups, their members and the keys it holds (see `projection.ts`).
 * - **Policy.** `maxKeys` bounds the keys that can still protect; a key's cryptoperiod is at most its
 *   group's default; deleting a group retires its live keys — active and suspended ones deactivated,
 *   pre-active ones destroyed (the original's B1 left them active).
 *
 * The group key rules above are a table, `groupKeyPolicy.ts`, which this module reads; every
 * operation is described with its refusals and effects in `kmsOperations.ts`; `docs/spec.md` prints
 * both, with a worked example per rule (`specExamples.ts`).
 *
 * @module
 */
import { transition } from './pureTransition.ts';
import { keyLifecycleMachine, newKeyLifecycle, refusalOf } from './keyLifecycle.ts';
import type { KeyEvent } from './keyLifecycle.ts';
import { groupKeyRule } from './groupKeyPolicy.ts';
import type { GroupKeyRule } from './groupKeyPolicy.ts';
import { KmsError, cryptoperiodTooLong, liveKeyOutlastsPolicy } from './kmsError.ts';
import {
  DESTROYED_KEY_STATES,
  LIVE_KEY_STATES,
  MAX_CRYPTOPERIOD_MS,
  checkId,
  checkName,
  checkPolicy,
  compareIds,
  keyStateOf,
  sortIds,
} from './kmsState.ts';
import type { GroupId, GroupPolicy, GroupRecord, KeyId, KeyRecord, KmsState, UserId } from './kmsState.ts';

/** The outcome of an operation: a new state (and, for `addKey`, the new key's ID) or an error. */
export type KmsResult =
  | { readonly ok: true; readonly state: KmsState; readonly keyId?: KeyId }
  | { readonly ok: false; readonly error: KmsError };

/** Every operation of the KMS, as data: what the property suites generate and the CLI parses. */
export type KmsOperation =
  | { readonly type: 'addUser'; readonly userId: UserId; readonly name: string; readonly now: number }
  | { readonly type: 'deleteUser'; readonly userId: UserId; readonly now: number }
  | { readonly type: 'renameUser'; readonly userId: UserId; readonly name: string; readonly now: number }
  | {
      readonly type: 'addGroup';
      readonly groupId: GroupId;
      readonly name: string;
      readonly policy: GroupPolicy;
      readonly shareHistory?: boolean;
      readonly now: number;
    }
  | { readonly type: 'deleteGroup'; readonly groupId: GroupId; readonly now: number }
  | { readonly type: 'renameGroup'; readonly groupId: GroupId; readonly name: string; readonly now: number }
  | { readonly type: 'changePolicy'; readonly groupId: GroupId; readonly policy: GroupPolicy; readonly now: number }
  | { readonly type: 'addMember'; readonly groupId: GroupId; readonly userId: UserId; readonly now: number }
  | { readonly type: 'removeMember'; readonly groupId: GroupId; readonly userId: UserId; readonly now: number }
  | {
      readonly type: 'addKey';
      readonly groupId: GroupId;
      readonly name: string;
      /** Defaults to the group's `defaultCryptoperiodMs`; may not exceed it. */
      readonly cryptoperiodMs?: number;
      readonly now: number;
    }
  | { readonly type: 'keyEvent'; readonly keyId: KeyId; readonly event: KeyEvent }
  | { readonly type: 'renameKey'; readonly keyId: KeyId; readonly name: string; readonly now: number }
  | { readonly type: 'expireKeys'; readonly now: number };

/** The type of a KMS operation. */
export type KmsOperationType = KmsOperation['type'];

const ok = (state: KmsState, keyId?: KeyId): KmsResult =>
  keyId === undefined ? { ok: true, state } : { ok: true, state, keyId };
const fail = (error: KmsError): KmsResult => ({ ok: false, error });

function withKey(state: KmsState, key: KeyRecord): KmsState {
  return { ...state, keys: { ...state.keys, [key.id]: key } };
}

function withGroup(state: KmsState, group: GroupRecord): KmsState {
  return { ...state, groups: { ...state.groups, [group.id]: group } };
}

function keysOf(state: KmsState, groupId: GroupId): KeyRecord[] {
  return Object.values(state.keys)
    .filter((k) => k.owner === groupId)
    .sort((a, b) => compareIds(a.id, b.id));
}

/** Sends `event` to a key's machine; refusals become `IllegalTransition`. */
function stepKey(key: KeyRecord, event: KeyEvent): KeyRecord | KmsError {
  if (!key.lifecycle.can(event)) {
    return new KmsError('IllegalTransition', refusalOf(key.id, keyStateOf(key), event));
  }
  const [lifecycle] = transition(keyLifecycleMachine, key.lifecycle, event);
  const holders = DESTROYED_KEY_STATES.includes(lifecycle.value) ? [] : key.holders;
  return { ...key, lifecycle, holders };
}

/** A step the rules themselves take; refusal would be a bug in this model, not a user error. */
function forceStep(key: KeyRecord, event: KeyEvent): KeyRecord {
  const stepped = stepKey(key, event);
  if (stepped instanceof KmsError) throw new Error(`model invariant broken: ${stepped.message}`);
  return stepped;
}

/** Retires a key that could still protect: pre-active ones are destroyed (T2), others deactivated (T8, T12). */
function retire(key: KeyRecord, now: number): KeyRecord {
  const keyState = keyStateOf(key);
  if (!LIVE_KEY_STATES.includes(keyState)) return key;
  return forceStep(key, { type: keyState === 'preActivation' ? 'DESTROY' : 'DEACTIVATE', now });
}

/**
 * Expires every key whose cryptoperiod has ended at `now` (`EXPIRE`, NIST T8/T12). Run before any
 * operation that carries a time, and on its own as the explicit sweep.
 */
export function expireKeys(state: KmsState, now: number): KmsState {
  let next = state;
  for (const key of Object.values(state.keys)) {
    const event: KeyEvent = { type: 'EXPIRE', now };
    if (key.lifecycle.can(event)) next = withKey(next, forceStep(key, event));
  }
  return next;
}

function allocateKey(
  state: KmsState,
  group: GroupRecord,
  name: string,
  cryptoperiodMs: number,
  now: number,
): { state: KmsState; key: KeyRecord } {
  const id = `K${state.nextKeyNumber}`;
  const key: KeyRecord = {
    id,
    name,
    owner: group.id,
    algorithm: group.policy.algorithm,
    lifecycle: newKeyLifecycle({ id, cryptoperiodMs, createdAt: now }),
    holders: group.members,
  };
  return { state: withKey({ ...state, nextKeyNumber: state.nextKeyNumber + 1 }, key), key };
}

/**
 * Generates a key for the group's current members and activates it at once: the replacement used
 * by forward secrecy on leave and by replacement on compromise. Its cryptoperiod is the group's
 * default.
 */
function addReplacementKey(state: KmsState, group: GroupRecord, now: number): KmsState {
  const allocated = allocateKey(state, group, `replacement in ${group.id}`, group.policy.defaultCryptoperiodMs, now);
  return withKey(allocated.state, forceStep(allocated.key, { type: 'ACTIVATE', now }));
}

function countLiveKeys(state: KmsState, groupId: GroupId): number {
  return keysOf(state, groupId).filter((k) => LIVE_KEY_STATES.includes(keyStateOf(k))).length;
}

/**
 * Carries out one row of the group key policy (`groupKeyPolicy.ts`, where the rules and their
 * reasons are) on the keys of `before`, the group as it was. `after` is the group once the event is
 * done (null when it is gone); `userId` is the joiner or the leaver; `activeLost` says whether the
 * event itself already took an active key out of `active` (a compromise).
 */
function applyGroupKeyRule(
  state: KmsState,
  rule: GroupKeyRule,
  before: GroupRecord,
  after: GroupRecord | null,
  userId: UserId | null,
  now: number,
  activeLost = false,
): KmsState {
  let next = state;
  for (const key of keysOf(state, before.id)) {
    const keyState = keyStateOf(key);
    const fate = rule.keys[keyState];
    let holders = key.holders;
    if (rule.holders === 'everyone') holders = [];
    else if (rule.holders === 'leaver') holders = holders.filter((h) => h !== userId);
    let changed: KeyRecord = holders === key.holders ? key : { ...key, holders };
    if (fate === 'give' || (fate === 'retireIfHeld' && key.holders.length === 0)) {
      changed = { ...changed, holders: sortIds([...holders, userId as UserId]) };
    } else if (fate === 'retire' || fate === 'retireIfHeld') {
      changed = retire(changed, now);
      activeLost ||= keyState === 'active';
    }
    if (changed !== key) next = withKey(next, changed);
  }
  return activeLost && rule.replacement === 'ifActiveLost' && after ? addReplacementKey(next, after, now) : next;
}

function removeMemberNow(state: KmsState, group: GroupRecord, userId: UserId, now: number): KmsState {
  const shrunk: GroupRecord = { ...group, members: group.members.filter((m) => m !== userId) };
  return applyGroupKeyRule(
    withGroup(state, shrunk),
    groupKeyRule('leave', group.shareHistory),
    group,
    shrunk,
    userId,
    now,
  );
}

/**
 * Adds a member with backward secrecy (the `join` rows of the group key policy): a newcomer must not
 * read what was protected before it came, as in MLS (RFC 9420), where every Add is committed into a
 * new epoch whose secrets the Welcome gives the joiner, and no earlier one.
 */
function addMemberNow(state: KmsState, group: GroupRecord, userId: UserId, now: number): KmsState {
  const grown: GroupRecord = { ...group, members: sortIds([...group.members, userId]) };
  return applyGroupKeyRule(
    withGroup(state, grown),
    groupKeyRule('join', group.shareHistory),
    group,
    grown,
    userId,
    now,
  );
}

function getGroup(state: KmsState, groupId: GroupId): GroupRecord | KmsError {
  return state.groups[groupId] ?? new KmsError('UnknownGroup', `no group ${groupId}`);
}

function getUser(state: KmsState, userId: UserId): KmsError | null {
  return state.users[userId] ? null : new KmsError('UnknownUser', `no user ${userId}`);
}

function getKey(state: KmsState, keyId: KeyId): KeyRecord | KmsError {
  return state.keys[keyId] ?? new KmsError('UnknownKey', `no key ${keyId}`);
}

/**
 * The furthest time from 1970 a Date holds, either way: ±8.64e15 ms, 100,000,000 days (ECMAScript
 * 2025 §21.4.1.31 TimeClip).
 */
export const DATE_LIMIT_MS = 8.64e15;

/**
 * The furthest time from 1970 an operation takes, either way: what a Date holds
 * ({@link DATE_LIMIT_MS}) less the longest cryptoperiod ({@link MAX_CRYPTOPERIOD_MS}), so that every
 * time the KMS records, the end of a cryptoperiod (`activatedAt + cryptoperiodMs`) included, is one a
 * Date can hold and ISO 8601 can say. With the whole range, a key activated at its end under a
 * 30-day cryptoperiod ended it at no date.
 */
export const MAX_TIME = DATE_LIMIT_MS - MAX_CRYPTOPERIOD_MS;

/** Whether `now` is a time the KMS takes: finite, and within {@link MAX_TIME} of 1970. */
export function isTime(now: number): boolean {
  return Number.isFinite(now) && Math.abs(now) <= MAX_TIME;
}

/** The refusal of an operation at `now` unless it {@link isTime}: the model's and the implementation's one check. */
export function invalidTime(now: number): KmsError | null {
  return isTime(now)
    ? null
    : new KmsError('InvalidTime', `an operation's time must be a finite number within ±${MAX_TIME} ms, got ${now}`);
}

/** The time an operation happens at. */
export function operationTime(op: KmsOperation): number {
  return op.type === 'keyEvent' ? op.event.now : op.now;
}

/**
 * Applies one operation at its time. Keys whose cryptoperiod has ended by then are expired first,
 * so no rule ever reads a key that is past its cryptoperiod; a refused operation changes nothing,
 * not even that sweep (the implementation runs both in one transaction).
 */
export function applyOperation(state: KmsState, op: KmsOperation): KmsResult {
  const now = operationTime(op);
  // A NaN or infinite time would slip past every `now >= expiresAt` guard and never expire a key; one
  // beyond what a Date holds could not be recorded or said (an ISO 8601 time of it throws).
  const refusal = invalidTime(now);
  if (refusal !== null) return fail(refusal);
  return applyAfterExpiry(expireKeys(state, now), op);
}

function applyAfterExpiry(state: KmsState, op: KmsOperation): KmsResult {
  switch (op.type) {
    case 'addUser': {
      const error = checkId('user', op.userId) ?? checkName(op.name);
      if (error) return fail(error);
      if (state.users[op.userId]) return fail(new KmsError('DuplicateUser', `user ${op.userId} exists`));
      return ok({ ...state, users: { ...state.users, [op.userId]: { id: op.userId, name: op.name } } });
    }
    case 'renameUser': {
      const error = getUser(state, op.userId) ?? checkName(op.name);
      if (error) return fail(error);
      return ok({ ...state, users: { ...state.users, [op.userId]: { id: op.userId, name: op.name } } });
    }
    case 'deleteUser': {
      const error = getUser(state, op.userId);
      if (error) return fail(error);
      let next = state;
      for (const group of Object.values(state.groups).sort((a, b) => compareIds(a.id, b.id))) {
        if (group.members.includes(op.userId)) next = removeMemberNow(next, group, op.userId, op.now);
      }
      const { [op.userId]: _removed, ...users } = next.users;
      return ok({ ...next, users });
    }
    case 'addGroup': {
      const error = checkId('group', op.groupId) ?? checkName(op.name) ?? checkPolicy(op.policy);
      if (error) return fail(error);
      if (state.groups[op.groupId] || state.retiredGroupIds.includes(op.groupId)) {
        return fail(new KmsError('DuplicateGroup', `group ${op.groupId} exists or existed`));
      }
      return ok(
        withGroup(state, {
          id: op.groupId,
          name: op.name,
          policy: { ...op.policy },
          members: [],
          shareHistory: op.shareHistory ?? false,
        }),
      );
    }
    case 'renameGroup': {
      const group = getGroup(state, op.groupId);
      if (group instanceof KmsError) return fail(group);
      const error = checkName(op.name);
      if (error) return fail(error);
      return ok(withGroup(state, { ...group, name: op.name }));
    }
    case 'changePolicy': {
      const group = getGroup(state, op.groupId);
      if (group instanceof KmsError) return fail(group);
      const error = checkPolicy(op.policy);
      if (error) return fail(error);
      const live = keysOf(state, group.id).filter((k) => LIVE_KEY_STATES.includes(keyStateOf(k)));
      if (live.length > op.policy.maxKeys) {
        return fail(
          new KmsError(
            'PolicyConflict',
            `group ${group.id} has ${live.length} live keys, more than maxKeys ${op.policy.maxKeys}`,
          ),
        );
      }
      const tooLong = live.find((k) => k.lifecycle.context.cryptoperiodMs > op.policy.defaultCryptoperiodMs);
      if (tooLong) {
        return fail(
          liveKeyOutlastsPolicy(tooLong.id, tooLong.lifecycle.context.cryptoperiodMs, op.policy.defaultCryptoperiodMs),
        );
      }
      // A new algorithm applies to keys added from now on; each key keeps the algorithm it was made for.
      return ok(withGroup(state, { ...group, policy: { ...op.policy } }));
    }
    case 'deleteGroup': {
      const group = getGroup(state, op.groupId);
      if (group instanceof KmsError) return fail(group);
      // Devices drop the group and everything it owned; the admin keeps the metadata.
      const next = applyGroupKeyRule(state, groupKeyRule('deleteGroup', group.shareHistory), group, null, null, op.now);
      const { [group.id]: _removed, ...groups } = next.groups;
      return ok({ ...next, groups, retiredGroupIds: [...next.retiredGroupIds, group.id] });
    }
    case 'addMember': {
      const group = getGroup(state, op.groupId);
      if (group instanceof KmsError) return fail(group);
      const error = getUser(state, op.userId);
      if (error) return fail(error);
      if (group.members.includes(op.userId)) {
        return fail(new KmsError('AlreadyMember', `${op.userId} is already in ${group.id}`));
      }
      return ok(addMemberNow(state, group, op.userId, op.now));
    }
    case 'removeMember': {
      const group = getGroup(state, op.groupId);
      if (group instanceof KmsError) return fail(group);
      const error = getUser(state, op.userId);
      if (error) return fail(error);
      if (!group.members.includes(op.userId)) {
        return fail(new KmsError('NotMember', `${op.userId} is not in ${group.id}`));
      }
      return ok(removeMemberNow(state, group, op.userId, op.now));
    }
    case 'addKey': {
      const group = getGroup(state, op.groupId);
      if (group instanceof KmsError) return fail(group);
      const error = checkName(op.name);
      if (error) return fail(error);
      const cryptoperiodMs = op.cryptoperiodMs ?? group.policy.defaultCryptoperiodMs;
      if (!Number.isSafeInteger(cryptoperiodMs) || cryptoperiodMs < 1) {
        return fail(
          new KmsError('InvalidCryptoperiod', `cryptoperiodMs must be a positive integer, got ${cryptoperiodMs}`),
        );
      }
      if (cryptoperiodMs > group.policy.defaultCryptoperiodMs) {
        return fail(cryptoperiodTooLong(group.id, cryptoperiodMs, group.policy.defaultCryptoperiodMs));
      }
      const live = countLiveKeys(state, group.id);
      if (live >= group.policy.maxKeys) {
        return fail(
          new KmsError('MaxKeysReached', `group ${group.id} already has ${live} of ${group.policy.maxKeys} keys`),
        );
      }
      const { state: next, key } = allocateKey(state, group, op.name, cryptoperiodMs, op.now);
      return ok(next, key.id);
    }
    case 'keyEvent': {
      const key = getKey(state, op.keyId);
      if (key instanceof KmsError) return fail(key);
      const stepped = stepKey(key, op.event);
      if (stepped instanceof KmsError) return fail(stepped);
      const next = withKey(state, stepped);
      const group = state.groups[key.owner];
      if (!group) return ok(next);
      const rule = groupKeyRule(op.event.type === 'COMPROMISE' ? 'compromise' : 'otherKeyEvent', group.shareHistory);
      const activeLost = keyStateOf(key) === 'active' && keyStateOf(stepped) !== 'active';
      return ok(applyGroupKeyRule(next, rule, group, group, null, op.event.now, activeLost));
    }
    case 'renameKey': {
      const key = getKey(state, op.keyId);
      if (key instanceof KmsError) return fail(key);
      const error = checkName(op.name);
      if (error) return fail(error);
      return ok(withKey(state, { ...key, name: op.name }));
    }
    case 'expireKeys':
      return ok(state);
  }
}

export { selectKey, canProtect, compareKeyPreference } from './selectKey.ts';
export type { KeySelection, KeySelectionResult } from './selectKey.ts';
export { projectUser, affectedUsers, keyViewOf } from './projection.ts';
export type { UserProjection, GroupView, KeyView } from './projection.ts';
export { KmsError, KMS_ERROR_CODES } from './kmsError.ts';
export type { KmsErrorCode } from './kmsError.ts';
export * from './kmsState.ts';
