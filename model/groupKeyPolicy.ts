/**
 * The group key policy as data: what happens to every key of a group when a member joins or
 * leaves, when the group is deleted, and when one of its keys is compromised or otherwise stepped.
 * `model/kms.ts` reads this table to carry the rules out, and `docs/spec.md` prints it, so the
 * document and the behaviour are one thing.
 *
 * Why these rules: forward secrecy on leave and backward secrecy on join are the group-rekeying
 * properties of MLS (RFC 9420 §12.4: every Add and Remove is committed into a new epoch), carried
 * over to long-lived symmetric keys with the retirement transitions of NIST SP 800-57 Pt 1 §7 —
 * a key that never protected anything is destroyed (T2), one that did is deactivated (T8, T12) so
 * that its holders keep processing what it protected. The original SEkey has none of them: it never
 * rotates, and gives a joiner every past key, compromised ones included.
 * @module
 */
import type { KeyState } from './keyLifecycle.ts';

/** The events the group key policy reacts to. */
export const GROUP_KEY_EVENTS = ['join', 'leave', 'deleteGroup', 'compromise', 'otherKeyEvent'] as const;
/** An event of the group key policy. */
export type GroupKeyEvent = (typeof GROUP_KEY_EVENTS)[number];

/**
 * What the policy does to one key of the group, by the key's state:
 * - `keep`: nothing; a joiner does not receive it.
 * - `give`: the joiner becomes a holder.
 * - `retire`: destroyed if pre-active (NIST T2), deactivated if active or suspended (T8, T12).
 * - `retireIfHeld`: retired as above if somebody already holds it (it may have protected data the
 *   joiner must not read); given to the joiner if nobody does (it never protected anything).
 */
export type KeyFate = 'keep' | 'give' | 'retire' | 'retireIfHeld';

/** Each {@link KeyFate} in words, for the specification. */
export const KEY_FATES: Readonly<Record<KeyFate, string>> = {
  keep: 'left as it is; a joiner does not receive it',
  give: 'the joiner becomes a holder',
  retire: 'destroyed if pre-active (NIST T2), deactivated if active or suspended (T8, T12)',
  retireIfHeld:
    'retired as above if somebody already holds it (it may have protected what the joiner must not read); given to ' +
    'the joiner if nobody does (it never protected anything)',
};

/** Each {@link HolderChange} in words. */
export const HOLDER_CHANGES: Readonly<Record<HolderChange, string>> = {
  none: '—',
  leaver: 'the leaver, from every key of the group',
  everyone: 'every holder, from every key of the group',
};

/** Each {@link Replacement} in words. */
export const REPLACEMENTS: Readonly<Record<Replacement, string>> = {
  never: '—',
  ifActiveLost:
    "if the event took an active key out of `active`: one fresh key, activated at once with the group's default " +
    'cryptoperiod',
};

/** Who stops holding the group's keys. */
export type HolderChange = 'none' | 'leaver' | 'everyone';

/**
 * When a fresh key is generated and activated at once for the group's members (after the event):
 * `never`, or `ifActiveLost` — when the event took an active key out of `active` (retired it, or
 * compromised it), so that the group still has a key to protect with.
 */
export type Replacement = 'never' | 'ifActiveLost';

/** One row of the policy: an event, the group setting it applies to, and what it does. */
export interface GroupKeyRule {
  readonly event: GroupKeyEvent;
  /** The group's `shareHistory` setting the row applies to; `any` for both. */
  readonly shareHistory: boolean | 'any';
  /** What happens to each key of the group, by its state before the event. */
  readonly keys: Readonly<Record<KeyState, KeyFate>>;
  readonly holders: HolderChange;
  readonly replacement: Replacement;
  /** The event in words, for the specification. */
  readonly description: string;
}

const KEEP_ALL: Readonly<Record<KeyState, KeyFate>> = {
  preActivation: 'keep',
  active: 'keep',
  suspended: 'keep',
  deactivated: 'keep',
  compromised: 'keep',
  destroyed: 'keep',
  destroyedCompromised: 'keep',
};

/** Every key that could still protect is retired; the others are left as they are. */
const RETIRE_LIVE: Readonly<Record<KeyState, KeyFate>> = {
  ...KEEP_ALL,
  preActivation: 'retire',
  active: 'retire',
  suspended: 'retire',
};

/** The group key policy, row by row. Exactly one row applies to each (event, group setting). */
export const GROUP_KEY_POLICY: readonly GroupKeyRule[] = [
  {
    event: 'join',
    shareHistory: false,
    description: 'a user joins a group that does not share its history (`addMember`)',
    keys: { ...KEEP_ALL, preActivation: 'give', active: 'retireIfHeld', suspended: 'retireIfHeld' },
    holders: 'none',
    replacement: 'ifActiveLost',
  },
  {
    event: 'join',
    shareHistory: true,
    description: 'a user joins a group with `shareHistory` (`addMember`)',
    keys: { ...KEEP_ALL, preActivation: 'give', active: 'give', suspended: 'give', deactivated: 'give' },
    holders: 'none',
    replacement: 'never',
  },
  {
    event: 'leave',
    shareHistory: 'any',
    description: 'a member is removed (`removeMember`), or deleted with its user (`deleteUser`, once per group)',
    keys: RETIRE_LIVE,
    holders: 'leaver',
    replacement: 'ifActiveLost',
  },
  {
    event: 'deleteGroup',
    shareHistory: 'any',
    description: 'the group is deleted (`deleteGroup`)',
    keys: RETIRE_LIVE,
    holders: 'everyone',
    replacement: 'never',
  },
  {
    event: 'compromise',
    shareHistory: 'any',
    description: 'one key of the group is compromised (`keyEvent` `COMPROMISE`); its other keys are not suspect',
    keys: KEEP_ALL,
    holders: 'none',
    replacement: 'ifActiveLost',
  },
  {
    event: 'otherKeyEvent',
    shareHistory: 'any',
    description:
      'any other `keyEvent` (`ACTIVATE`, `SUSPEND`, `RESUME`, `DEACTIVATE`, `EXPIRE`, `DESTROY`) and the expiry ' +
      'sweep: the administrator rotates keys when it chooses',
    keys: KEEP_ALL,
    holders: 'none',
    replacement: 'never',
  },
];

/** The row of {@link GROUP_KEY_POLICY} for `event` in a group with the given setting. */
export function groupKeyRule(event: GroupKeyEvent, shareHistory: boolean): GroupKeyRule {
  // The table covers every (event, setting) pair: a test checks that exactly one row applies.
  return GROUP_KEY_POLICY.find(
    (r) => r.event === event && (r.shareHistory === 'any' || r.shareHistory === shareHistory),
  ) as GroupKeyRule;
}
