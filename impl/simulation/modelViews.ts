/**
 * The views the checkers compare with the model: a replica's, the admin's observable state and the
 * model's in the same terms, and which user is synced now; with model-agreement, the admin's database
 * and HSM against the model.
 * @module
 */
import { DESTROYED_KEY_STATES, compareIds, keyStateOf } from '../../model/kms.ts';
import type { KmsState } from '../../model/kms.ts';
import { keyViewOf } from '../../model/projection.ts';
import type { Admin } from '../kms/admin.ts';
import type { User } from '../kms/user.ts';
import type { Deployment, UserSlot } from './deployment.ts';
import type { DeploymentModel, ReplicaView } from './referenceModel.ts';
import { runPure } from './referenceModel.ts';
import { same } from './invariantError.ts';

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

export function heldIds(ids: readonly number[]): string[] {
  return ids.filter((n) => n >= 2000 && n < 0x0c00_0000).map((n) => `K${n}`);
}
