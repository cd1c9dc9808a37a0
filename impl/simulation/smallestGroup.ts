/**
 * smallest-group: an encryption or a re-protection must use the model's smallest-group key, or give
 * its refusal, judged as far as the sender's replica allows (a sender behind the model over what was
 * published to it, or by the heartbeat rule alone).
 * @module
 */
import { keyUsage } from '../../model/keyLifecycle.ts';
import { keyStateOf, selectKey } from '../../model/kms.ts';
import type { KmsState, UserId } from '../../model/kms.ts';
import type { User } from '../kms/user.ts';
import type { Deployment, UserSlot } from './deployment.ts';
import type { DeploymentModel, LedgerEntry } from './referenceModel.ts';
import { violated } from './invariantError.ts';
import { isSynced } from './modelViews.ts';

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
