/**
 * durability, at rest: what an HSM (a user's, or the admin's) holds in its memory is what its flash
 * would boot with now: its PIN tries and its counters.
 * @module
 */
import type { UserId } from '../../model/kms.ts';
import type { Deployment } from './deployment.ts';
import type { DeviceState } from '../../device/deviceState.ts';
import type { SecubeDevice } from '../../device/secube.ts';
import { RESERVED_COUNTERS } from '../../device/secubeCounters.ts';
import { violated } from './invariantError.ts';

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
