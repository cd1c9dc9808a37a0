/**
 * A secret the device replaces does not stay behind in its flash: after a factory reset (new identity)
 * and after every PIN change or reset (new verifier), a raw read of every flash sector holds no
 * 8-byte piece of the old identity secret or of the old verifier's hash. The record area keeps the
 * previous base in the sector it leaves until the next base save (`recordArea.ts`); a save that
 * supersedes a secret erases it at once, and a boot finishes that erase after a cut.
 */
import { describe, expect, it } from 'vitest';
import { decodeDeviceState } from './deviceState.ts';
import type { DeviceState } from './deviceState.ts';
import type { Flash } from './flash.ts';
import { findSecretResidue, rawImage } from './keyStore.testkit.ts';
import { PowerLossError } from './powerLossError.ts';
import { RecordArea } from './recordArea.ts';
import { DEFAULT_STATE_SECTORS, testOnlyHooks } from './secube.ts';
import { ADMIN_PIN, TEST_MANUFACTURER, USER_PIN, makeDevice, reboot } from './secube.testkit.ts';

/** The device state as flash holds it now (read through a fresh record area, as a boot would). */
function storedState(flash: Flash): DeviceState {
  const content = new RecordArea({ flash, sectors: DEFAULT_STATE_SECTORS }).load();
  if (content === undefined) throw new Error('no device state in flash');
  return decodeDeviceState(content.payload);
}

/** Everything in flash that a secret of `state` could leave: its identity secret and both verifiers' hashes. */
const secretsOf = (state: DeviceState): Uint8Array[] => [
  state.identitySecret,
  state.pins.user.hash,
  state.pins.admin.hash,
];

describe('superseded secrets leave no trace in flash', () => {
  it('a factory reset leaves no piece of the old identity secret, nor of the old PIN verifiers', () => {
    const t = makeDevice('superseded-reset');
    const { device, flash } = t;
    const old = storedState(flash);
    expect(findSecretResidue(rawImage(flash), secretsOf(old))).toBeDefined(); // the scan sees them while live
    expect(testOnlyHooks(device).readIdentitySecret()).toEqual(old.identitySecret);

    device.login('admin', ADMIN_PIN);
    device.generateKey(9);
    device.factoryReset({ userPin: 'new-user-pin', adminPin: 'new-admin-pin', manufacturer: TEST_MANUFACTURER });
    // Ordinary use after the reset: logins journal spent and restored tries, keys are generated.
    for (let i = 0; i < 5; i++) {
      device.login('admin', 'new-admin-pin');
      device.generateKey(100 + i);
      device.logout();
    }
    expect(testOnlyHooks(device).readIdentitySecret()).not.toEqual(old.identitySecret);
    expect(findSecretResidue(rawImage(flash), secretsOf(old))).toBeUndefined();
    // And the device boots on what it kept.
    expect(reboot(t).identityPublicKey).toEqual(device.identityPublicKey);
  });

  it.each([
    ['the user changes the user PIN', 'user'],
    ['the admin resets the user PIN', 'admin'],
    ['the admin changes the admin PIN', 'admin'],
  ] as const)('%s: the old verifier is gone, the other secrets stay', (what, level) => {
    const t = makeDevice(`superseded-${what}`);
    const { device, flash } = t;
    const old = storedState(flash);
    device.login(level, level === 'admin' ? ADMIN_PIN : USER_PIN);
    if (what.startsWith('the user')) device.changeUserPin('a-new-user-pin');
    else if (what.includes('resets')) device.resetUserPin('a-new-user-pin');
    else device.changeAdminPin('a-new-admin-pin');
    device.logout();
    const now = storedState(flash);
    const changed = what.includes('admin PIN') ? old.pins.admin.hash : old.pins.user.hash;
    expect(findSecretResidue(rawImage(flash), [changed])).toBeUndefined();
    expect(now.identitySecret).toEqual(old.identitySecret);
    expect(reboot(t).identityPublicKey).toEqual(device.identityPublicKey);
  });

  it('a cut in the erase that forgets the old base: the next boot erases it', () => {
    const t = makeDevice('superseded-cut');
    const { device, flash } = t;
    const old = storedState(flash);
    device.login('admin', ADMIN_PIN);
    // The factory reset's writes: key store format (erases), then the state's erase, program and the
    // forgetting erase. Cut at the last erase: count the operations of a reset on a twin device first.
    const twin = makeDevice('superseded-cut');
    twin.device.login('admin', ADMIN_PIN);
    const before = twin.flash.operations;
    const writes: { kind: string; sector: number }[] = [];
    twin.flash.setWriteListener((w) => writes.push({ kind: w.kind, sector: w.sector }));
    twin.device.factoryReset({ userPin: 'u-pin-2', adminPin: 'a-pin-2', manufacturer: TEST_MANUFACTURER });
    const operations = twin.flash.operations - before;
    // The reset's last flash operation is the erase of the state sector it left.
    expect(writes.at(-1)?.kind).toBe('erase');
    expect(DEFAULT_STATE_SECTORS).toContain(writes.at(-1)?.sector);
    flash.cutPowerAfter(operations);
    expect(() =>
      device.factoryReset({ userPin: 'u-pin-2', adminPin: 'a-pin-2', manufacturer: TEST_MANUFACTURER }),
    ).toThrow(PowerLossError);
    flash.cancelPowerCut();
    flash.powerOn();
    // The new state is what the flash holds; the erase of the old one was cut (garbage, maybe the
    // secret's bytes among it) and the boot erases that sector again.
    const blank = () => DEFAULT_STATE_SECTORS.filter((i) => rawImage(flash, [i]).every((b) => b === 0xff)).length;
    expect(blank()).toBe(0);
    const rebooted = reboot(t);
    expect(blank()).toBe(1);
    expect(rebooted.identityPublicKey).toEqual(twin.device.identityPublicKey);
    expect(findSecretResidue(rawImage(flash), secretsOf(old))).toBeUndefined();
    rebooted.login('admin', 'a-pin-2');
  });
});
