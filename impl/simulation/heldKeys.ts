/**
 * need-to-know over the keys an HSM holds: never a key of a group its user never belonged to, exactly
 * its replica's keys after a clean sync, or as many of them as its key store has room for (the rest
 * owed as imports).
 * @module
 */
import type { UserId } from '../../model/kms.ts';
import type { Deployment, UserSlot } from './deployment.ts';
import { openUser } from './deployment.ts';
import type { DeploymentModel } from './referenceModel.ts';
import type { InvariantName } from './invariantError.ts';
import { same, violated } from './invariantError.ts';
import { heldIds, replicaView, usable } from './modelViews.ts';

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
