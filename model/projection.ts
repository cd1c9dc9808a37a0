/**
 * Need-to-know: what one user's device must hold. A user's device holds its own record, its groups,
 * the members of those groups, and the keys it is a holder of (see `kms.ts` for who holds what) —
 * nothing else. This is the view every user converges to after syncing, and what the property suites
 * compare each user device against.
 * @module
 */
import type { KeyLifecycleContext, KeyState } from './keyLifecycle.ts';
import { compareIds } from './kmsState.ts';
import type { Algorithm, GroupId, GroupPolicy, KeyId, KeyRecord, KmsState, UserId, UserRecord } from './kmsState.ts';

/** One line of the need-to-know rule: what a user's device holds, and which of it. */
export interface NeedToKnowRule {
  readonly holds: string;
  readonly rule: string;
}

/**
 * The need-to-know rule in words, as {@link projectUser} applies it (the worked examples pin the
 * two together), and who hears of a change ({@link affectedUsers}).
 */
export const NEED_TO_KNOW: readonly NeedToKnowRule[] = [
  { holds: 'its user record', rule: "while the user exists; a deleted user's device holds nothing" },
  { holds: 'groups', rule: 'the groups the user is a member of: ID, name, policy, members' },
  { holds: 'user records', rule: 'the user and every member of its groups: ID and name' },
  {
    holds: 'keys',
    rule:
      'the keys the user is a holder of (the group key policy says who): metadata and life-cycle state, the key ' +
      'material only inside its HSM',
  },
  {
    holds: 'updates',
    rule:
      'an operation is published to exactly the users whose projection it changed, deleted users included, so ' +
      'their devices learn it',
  },
];

/** A group as a member's device sees it. */
export interface GroupView {
  readonly id: GroupId;
  readonly name: string;
  readonly policy: GroupPolicy;
  readonly members: readonly UserId[];
}

/**
 * A key's metadata as a holder's device sees it (never the key material): its record, and its life
 * cycle flattened — every timestamp of the machine's context, without the event history.
 */
export interface KeyView extends Omit<KeyLifecycleContext, 'id' | 'history'> {
  readonly id: KeyId;
  readonly name: string;
  readonly owner: GroupId;
  readonly algorithm: Algorithm;
  readonly state: KeyState;
}

/** Everything one user's device holds. */
export interface UserProjection {
  readonly user: UserRecord;
  readonly groups: readonly GroupView[];
  /** The user and everyone sharing a group with it. */
  readonly users: readonly UserRecord[];
  readonly keys: readonly KeyView[];
}

/** What `userId`'s device must hold, or null if there is no such user. Sorted by ID throughout. */
export function projectUser(state: KmsState, userId: UserId): UserProjection | null {
  const user = state.users[userId];
  if (!user) return null;
  const groups = Object.values(state.groups)
    .filter((g) => g.members.includes(userId))
    .sort((a, b) => compareIds(a.id, b.id))
    .map(({ id, name, policy, members }) => ({ id, name, policy, members }));
  const userIds = new Set<UserId>([userId, ...groups.flatMap((g) => g.members)]);
  const users = [...userIds].sort(compareIds).map((id) => state.users[id] as UserRecord);
  const keys = Object.values(state.keys)
    .filter((k) => k.holders.includes(userId))
    .sort((a, b) => compareIds(a.id, b.id))
    .map(keyViewOf);
  return { user, groups, users, keys };
}

/** The metadata of a key as devices see it: its record without holders, its life cycle flattened. */
export function keyViewOf(k: Pick<KeyRecord, 'id' | 'name' | 'owner' | 'algorithm' | 'lifecycle'>): KeyView {
  const c = k.lifecycle.context;
  return {
    id: k.id,
    name: k.name,
    owner: k.owner,
    algorithm: k.algorithm,
    state: k.lifecycle.value as KeyState,
    cryptoperiodMs: c.cryptoperiodMs,
    createdAt: c.createdAt,
    activatedAt: c.activatedAt,
    expiresAt: c.expiresAt,
    suspendedAt: c.suspendedAt,
    resumedAt: c.resumedAt,
    deactivatedAt: c.deactivatedAt,
    compromisedAt: c.compromisedAt,
    destroyedAt: c.destroyedAt,
  };
}

/**
 * The users whose projection differs between two states: exactly the users an update must be
 * published to after an operation (deleted users included, so their devices learn it).
 */
export function affectedUsers(before: KmsState, after: KmsState): UserId[] {
  const ids = new Set<UserId>([...Object.keys(before.users), ...Object.keys(after.users)]);
  return [...ids]
    .filter((id) => JSON.stringify(projectUser(before, id)) !== JSON.stringify(projectUser(after, id)))
    .sort(compareIds);
}
