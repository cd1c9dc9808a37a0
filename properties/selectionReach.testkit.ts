/**
 * How far a checked key selection reached into the rules of `model/selectKey.ts`. A selection with
 * one candidate key passes whatever the rules say, so a suite that compares selections with the
 * model's counts those a rule had to decide: by the smallest group (common groups of different sizes
 * each had a usable key), and by the key number, the last criterion of `KEY_PREFERENCE` (another
 * usable key of the chosen size tied with the chosen one on every earlier criterion). Read in the
 * model, at the time of the selection. Shared by the kmsImpl and deployment suites. Test support only.
 * @module
 */
import { canProtect } from '../model/kms.ts';
import type { GroupRecord, KeySelection, KmsState } from '../model/kms.ts';
import { KEY_PREFERENCE } from '../model/selectKey.ts';

/** The groups holding `sender` and every recipient. */
function commonGroups(state: KmsState, sender: string, recipients: readonly string[]): GroupRecord[] {
  return Object.values(state.groups).filter((g) => [sender, ...recipients].every((u) => g.members.includes(u)));
}

/** Whether the smallest-group rule decides `sender`'s selection for `recipients` in `state` at `now`. */
export function decidedBySize(state: KmsState, sender: string, recipients: readonly string[], now: number): boolean {
  const sizes = commonGroups(state, sender, recipients)
    .filter((g) => Object.values(state.keys).some((k) => k.owner === g.id && canProtect(k, now)))
    .map((g) => g.members.length);
  return new Set(sizes).size > 1;
}

/**
 * Whether the key `chosen` for `sender` and `recipients` in `state` at `now` was preferred by its
 * number alone: another usable key of a common group of the same size equals it on every earlier
 * criterion of `KEY_PREFERENCE` (activated at the same time, ending its cryptoperiod at the same time).
 */
export function decidedByNumber(
  state: KmsState,
  sender: string,
  recipients: readonly string[],
  now: number,
  chosen: KeySelection,
): boolean {
  const size = state.groups[chosen.groupId]?.members.length;
  const tier = new Set(
    commonGroups(state, sender, recipients)
      .filter((g) => g.members.length === size)
      .map((g) => g.id),
  );
  const key = state.keys[chosen.keyId];
  if (key === undefined) return false;
  const before = KEY_PREFERENCE.flatMap((c) => (c.by === 'keyNumber' ? [] : [c.by]));
  return Object.values(state.keys).some(
    (k) =>
      k.id !== key.id &&
      tier.has(k.owner) &&
      canProtect(k, now) &&
      before.every((by) => k.lifecycle.context[by] === key.lifecycle.context[by]),
  );
}
