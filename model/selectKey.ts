/**
 * Smallest-group key selection: which key a sender uses to encrypt for a set of recipients.
 *
 * The rule (the SEkey paper §IV-F; the original's `sekey_find_key_v3`): among the groups that contain
 * the sender and every recipient and own a usable key, take the smallest (fewest members), so the
 * data is readable by as few people as possible; then pick one usable key of those groups. A key is
 * usable for encryption when it is `active` and its cryptoperiod is still running.
 *
 * The tie-break between keys is chosen on purpose: **the most recently activated key wins**, then the
 * one whose cryptoperiod ends last, then the highest key number (the newest key). After a rotation
 * or a rekey, new data moves to the new key at once and the old key's exposure stops growing. The
 * original's comments promise "most recent key", but its code prefers the *shortest* usage window and
 * then the *lowest* ID, which in practice keeps encrypting under the oldest key. Ties between groups
 * of the same size are settled by the same key order over all their usable keys, which makes the
 * result independent of any storage order.
 *
 * When the smallest common group has no usable key, the next smallest that has one is used, as in
 * the original: every group considered contains the sender and every recipient, so the message
 * still reaches exactly the people it is addressed to, and refusing would push users to work around
 * the KMS (a private channel, a reused key) precisely when the admin has not yet rotated a key. The
 * price — more members of a larger group could read it — is the one the admin accepted when making
 * that group; `NoUsableKey` comes only when no common group has a usable key.
 *
 * Data for the sender alone (no other recipient: the paper's "private usage", such as a file kept on
 * a cloud server) follows the same rule. The paper (§IV-F) has SEkey look for a group whose only
 * member is the sender; such a group is the smallest there can be, so its usable key always wins.
 * Where the paper stops, this rule goes on: with no such group (or none with a usable key), the key
 * of the smallest group the sender is in is used, which that group's other members could read, as
 * for any message the fallback above serves. The selection names the group, so a caller that wants
 * the paper's stricter reading refuses any group of more than one member.
 *
 * Only users the sender can know are valid recipients: a user's device holds only its groups and
 * their members, so naming anyone else is `UnknownUser`, even if that user exists elsewhere.
 * @module
 */
import { keyUsageAt } from './keyLifecycle.ts';
import { KmsError } from './kmsError.ts';
import { compareIds, keyStateOf } from './kmsState.ts';
import type { GroupId, GroupRecord, KeyId, KeyRecord, KmsState, UserId } from './kmsState.ts';

/** The key chosen for a message, and the group that owns it. */
export interface KeySelection {
  readonly keyId: KeyId;
  readonly groupId: GroupId;
}

/** The outcome of {@link selectKey}. */
export type KeySelectionResult =
  | { readonly ok: true; readonly selection: KeySelection }
  | { readonly ok: false; readonly error: KmsError };

/** Whether `key` may encrypt at `now`: active and within its cryptoperiod. */
export function canProtect(key: KeyRecord, now: number): boolean {
  return keyUsageAt(keyStateOf(key), key.lifecycle.context, now).protect;
}

/** One criterion of the tie-break between usable keys, and why it is there. */
export interface KeyPreferenceCriterion {
  /** What is compared. */
  readonly by: 'activatedAt' | 'expiresAt' | 'keyNumber';
  /** The preferred end: the highest value wins. */
  readonly prefer: 'latest' | 'highest';
  readonly why: string;
}

/**
 * The tie-break between usable keys, in order: the first criterion that tells two keys apart
 * decides. {@link compareKeyPreference} reads this list; the specification prints it.
 */
export const KEY_PREFERENCE: readonly KeyPreferenceCriterion[] = [
  {
    by: 'activatedAt',
    prefer: 'latest',
    why: 'after a rotation or a rekey new data moves to the new key at once, and the old one stops collecting exposure',
  },
  {
    by: 'expiresAt',
    prefer: 'latest',
    why: 'of keys activated together, the one usable longest',
  },
  {
    by: 'keyNumber',
    prefer: 'highest',
    why: 'the newest key; key numbers are never reused, so the order is total and independent of storage order',
  },
];

function criterion(by: KeyPreferenceCriterion['by'], a: KeyRecord, b: KeyRecord): number {
  if (by === 'keyNumber') return compareIds(b.id, a.id);
  // Only keys that can protect are compared, and those have been activated: both times are set.
  return (b.lifecycle.context[by] as number) - (a.lifecycle.context[by] as number);
}

/** Orders usable keys, preferred first, by {@link KEY_PREFERENCE}. */
export function compareKeyPreference(a: KeyRecord, b: KeyRecord): number {
  for (const c of KEY_PREFERENCE) {
    const order = criterion(c.by, a, b);
    if (order !== 0) return order;
  }
  return 0;
}

/**
 * Selects the key `sender` uses to encrypt for `recipients` at `now` (the sender may be among them;
 * no recipients means the smallest group of the sender alone, as the original allows).
 */
export function selectKey(
  state: KmsState,
  sender: UserId,
  recipients: readonly UserId[],
  now: number,
): KeySelectionResult {
  if (!state.users[sender]) return { ok: false, error: new KmsError('UnknownUser', `no user ${sender}`) };
  const senderGroups = Object.values(state.groups).filter((g) => g.members.includes(sender));
  const known = new Set([sender, ...senderGroups.flatMap((g) => g.members)]);
  for (const recipient of recipients) {
    if (!known.has(recipient)) {
      return { ok: false, error: new KmsError('UnknownUser', `${sender} shares no group with ${recipient}`) };
    }
  }
  const common = senderGroups.filter((g) => recipients.every((r) => g.members.includes(r)));
  if (common.length === 0) {
    return {
      ok: false,
      error: new KmsError('NoCommonGroup', `no group contains ${sender} and ${recipients.join(', ')}`),
    };
  }
  const usable = (group: GroupRecord): KeyRecord[] =>
    Object.values(state.keys).filter((k) => k.owner === group.id && canProtect(k, now));
  const withKeys = common.filter((g) => usable(g).length > 0);
  if (withKeys.length === 0) {
    return {
      ok: false,
      error: new KmsError('NoUsableKey', `no active key in ${common.map((g) => g.id).join(', ')}`),
    };
  }
  const smallest = Math.min(...withKeys.map((g) => g.members.length));
  const best = withKeys
    .filter((g) => g.members.length === smallest)
    .flatMap(usable)
    .sort(compareKeyPreference)[0] as KeyRecord;
  return { ok: true, selection: { keyId: best.id, groupId: best.owner } };
}
