import { describe, expect, test } from 'vitest';
import { PowerLossError } from '../../device/powerLossError.ts';
import { sqliteMemoryUsed } from '../db/sqlite.ts';
import { Admin } from '../kms/admin.ts';
import { FIRST_KEY_NUMBER } from '../../model/kms.ts';
import { Deployment } from './deployment.ts';
import { TEST_DEVICES } from './testDevices.testkit.ts';

const POLICY = { maxKeys: 3, algorithm: 'AES-256-GCM', defaultCryptoperiodMs: 86_400_000 } as const;

describe('Deployment', () => {
  // A simulation or a property suite makes deployment after deployment in one process; SQLite's
  // memory is out of the garbage collector's reach, so what is not closed stays for good (the
  // kmsImpl suite grew by 2.6 MB a run before its worlds were closed).
  test('dispose closes every database it opened, the replaced and reopened ones included', async () => {
    const before = await sqliteMemoryUsed();
    const d = await Deployment.create({ seed: 'dispose', start: Date.UTC(2026, 0, 1), devices: TEST_DEVICES });
    d.admin.addUser('U1', 'alice');
    d.admin.addUser('U2', 'bob');
    await d.provision('U1');
    await d.provision('U2');
    d.admin.addGroup('G1', 'team', POLICY);
    d.admin.addMember('G1', 'U1');
    d.admin.activateKey(d.admin.addKey('G1', 'first'));
    await d.publisher.publish();
    await d.sync('U1');
    // A lost HSM replaced, both sides rebooted: each leaves a connection behind unless closed.
    await d.provision('U2');
    await d.reopenAdmin();
    await d.reopenUser('U1');
    expect(await sqliteMemoryUsed()).toBeGreaterThan(before);
    d.dispose();
    expect(await sqliteMemoryUsed()).toBe(before);
  });

  test('an Admin.open that fails while it reconciles the HSM (a power cut) frees what it opened', async () => {
    const d = await Deployment.create({ seed: 'reconcile-cut', start: Date.UTC(2026, 0, 1), devices: TEST_DEVICES });
    // A KMS key no row names (an interrupted operation's orphan): Admin.open erases it, a flash write.
    d.adminDevice.generateKey(FIRST_KEY_NUMBER + 500);
    const before = await sqliteMemoryUsed();
    d.adminFlash.cutPowerAfter(1);
    await expect(Admin.open({ device: d.adminDevice, sd: d.adminCard })).rejects.toThrow(PowerLossError);
    expect(await sqliteMemoryUsed()).toBe(before);
    d.dispose();
  });
});
