/**
 * The data of the whole-KMS model: users, groups with their policies and members, keys with their
 * owner, holders and life-cycle snapshot. Plain immutable records: every operation builds new ones.
 *
 * Identifiers follow the original SEkey's formats (`U<n>`, `G<n>`, `K<n>`, at most 11 characters),
 * so the two can be compared side by side; names are any text of 1–100 characters — including `;`,
 * which blocked users for good in the original (its update replay split SQL text on `;`).
 * @module
 */
import type { KeyLifecycleSnapshot, KeyState } from './keyLifecycle.ts';
import { KmsError } from './kmsError.ts';

/** A user's ID: `U` and a decimal number without leading zero, at most 11 characters. */
export type UserId = string;
/** A group's ID: `G` and a decimal number without leading zero, at most 11 characters. */
export type GroupId = string;
/** A key's ID: `K` and a decimal number, allocated by the KMS. */
export type KeyId = string;

/** Algorithms a group policy may name. SEkey keys are 256-bit AES keys used with GCM. */
export const ALGORITHMS = ['AES-256-GCM'] as const;
/** An algorithm of a group policy. */
export type Algorithm = (typeof ALGORITHMS)[number];

/** A group's security policy (the original's `group_policy`). */
export interface GroupPolicy {
  /** How many keys that can still protect (pre-active, active, suspended) the group may own. */
  readonly maxKeys: number;
  readonly algorithm: Algorithm;
  /** Default and maximum cryptoperiod of the group's keys, in milliseconds. */
  readonly defaultCryptoperiodMs: number;
}

/** A user. */
export interface UserRecord {
  readonly id: UserId;
  readonly name: string;
}

/** A group. */
export interface GroupRecord {
  readonly id: GroupId;
  readonly name: string;
  readonly policy: GroupPolicy;
  /** Members, sorted. The group's size for key selection is `members.length`. */
  readonly members: readonly UserId[];
  /**
   * Whether a member who joins also receives the group's deactivated keys, so it can read the
   * group's history. Off by default: backward secrecy.
   */
  readonly shareHistory: boolean;
}

/** A key's metadata. The key material lives only in HSMs. */
export interface KeyRecord {
  readonly id: KeyId;
  readonly name: string;
  readonly owner: GroupId;
  readonly algorithm: Algorithm;
  readonly lifecycle: KeyLifecycleSnapshot;
  /** Users whose devices must hold this key, sorted. Empty once destroyed. */
  readonly holders: readonly UserId[];
}

/** The whole KMS. */
export interface KmsState {
  readonly users: Readonly<Record<UserId, UserRecord>>;
  readonly groups: Readonly<Record<GroupId, GroupRecord>>;
  readonly keys: Readonly<Record<KeyId, KeyRecord>>;
  /** IDs of deleted groups: never reused, since their keys' metadata still names them. */
  readonly retiredGroupIds: readonly GroupId[];
  /** The number of the next key ID (`K<n>`); the original's KMS key range starts at 2000. */
  readonly nextKeyNumber: number;
}

/** The first KMS key number, as in the original's ID plan (2000–4294867293). */
export const FIRST_KEY_NUMBER = 2000;

/** An empty KMS. */
export const EMPTY_KMS: KmsState = Object.freeze({
  users: Object.freeze({}),
  groups: Object.freeze({}),
  keys: Object.freeze({}),
  retiredGroupIds: Object.freeze([]),
  nextKeyNumber: FIRST_KEY_NUMBER,
});

/** States in which a key may still be used to protect, now or later. */
export const LIVE_KEY_STATES: readonly KeyState[] = ['preActivation', 'active', 'suspended'];
/** States in which a key's material no longer exists anywhere. */
export const DESTROYED_KEY_STATES: readonly KeyState[] = ['destroyed', 'destroyedCompromised'];

/** The state of a key. */
export function keyStateOf(key: KeyRecord): KeyState {
  return key.lifecycle.value as KeyState;
}

const ID_PATTERN = { user: /^U[1-9][0-9]{0,9}$/, group: /^G[1-9][0-9]{0,9}$/ } as const;

/** The form of a user or group ID, as refusals say it: `U followed by a number from 1, no leading zero`. */
export function idForm(kind: 'user' | 'group'): string {
  return `${kind === 'user' ? 'U' : 'G'} followed by a number from 1, no leading zero`;
}

/** Checks a user or group ID; returns an `InvalidId` error or null. */
export function checkId(kind: 'user' | 'group', id: string): KmsError | null {
  return ID_PATTERN[kind].test(id)
    ? null
    : new KmsError('InvalidId', `${kind} ID '${id}' must be ${idForm(kind)} (at most 11 characters)`);
}

/** The longest name, as the original's NAMELEN. */
export const MAX_NAME_LENGTH = 100;

/**
 * Checks a name: 1–100 characters of any content (B7: the original allowed anything; so do we) but
 * not blank: a name of spaces alone lists as an empty column, nobody can tell it from none. Returns
 * an `InvalidName` error or null.
 */
export function checkName(name: string): KmsError | null {
  const length = [...name].length;
  if (length < 1 || length > MAX_NAME_LENGTH)
    return new KmsError('InvalidName', `a name must have 1 to ${MAX_NAME_LENGTH} characters, got ${length}`);
  return BLANK.test(name)
    ? new KmsError('InvalidName', 'a name must not be blank (white space or invisible characters alone)')
    : null;
}

/**
 * Nothing visible: white space, and what Unicode says to render as nothing unless supported
 * (`Default_Ignorable_Code_Point`: zero-width space and joiners, direction controls, variation
 * selectors, the Hangul fillers U+115F, U+1160, U+3164, U+FFA0, soft hyphen), and the blank Braille
 * pattern U+2800. `trim()` misses all but the white space; the format characters that show a glyph
 * (U+0600, U+06DD: prepended marks) are not default-ignorable, and a name of them is kept.
 */
const BLANK = /^[\p{White_Space}\p{Default_Ignorable_Code_Point}\u2800]*$/u;

/**
 * The longest default cryptoperiod a group policy takes, and so the longest of any key: 100 years
 * (36,525 days). NIST SP 800-57 Pt 1 Rev 5 §5.3.6 suggests at most a few years for every key type,
 * so this bounds mistakes, not policy: it keeps every end of cryptoperiod (`activatedAt +
 * cryptoperiodMs`) a safe integer and, for any time the host takes (up to the year 9999), a date
 * (ECMA-262 §21.4.1.1); an unbounded one made ends of cryptoperiod no Date holds. The command line
 * takes durations up to the same bound.
 */
export const MAX_CRYPTOPERIOD_MS = 36_525 * 86_400_000;

/** Checks a group policy; returns an `InvalidPolicy` error or null. */
export function checkPolicy(policy: GroupPolicy): KmsError | null {
  if (!Number.isSafeInteger(policy.maxKeys) || policy.maxKeys < 1) {
    return new KmsError('InvalidPolicy', `maxKeys must be a positive integer, got ${policy.maxKeys}`);
  }
  if (!(ALGORITHMS as readonly string[]).includes(policy.algorithm)) {
    return new KmsError(
      'InvalidPolicy',
      `algorithm must be one of ${ALGORITHMS.join(', ')}, got '${policy.algorithm}'`,
    );
  }
  const cryptoperiodMs = policy.defaultCryptoperiodMs;
  if (!Number.isSafeInteger(cryptoperiodMs) || cryptoperiodMs < 1 || cryptoperiodMs > MAX_CRYPTOPERIOD_MS) {
    return new KmsError(
      'InvalidPolicy',
      `defaultCryptoperiodMs must be a positive integer of at most ${MAX_CRYPTOPERIOD_MS / 86_400_000} days, ` +
        `got ${cryptoperiodMs}`,
    );
  }
  return null;
}

/** Sorted copy of a list of IDs, by their number (so `U10` sorts after `U9`). */
export function sortIds<T extends string>(ids: Iterable<T>): T[] {
  return [...ids].sort(compareIds);
}

/** Compares two IDs of the same kind by their number, then as text. */
export function compareIds(a: string, b: string): number {
  const na = Number(a.slice(1));
  const nb = Number(b.slice(1));
  if (na !== nb) return na < nb ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}
