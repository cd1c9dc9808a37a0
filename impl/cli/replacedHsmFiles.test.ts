/**
 * A new HSM finds its predecessor's files on the share until the administrator's next publish: its
 * sync says whose they are and what to do, rather than that someone may be writing to the share.
 */
import { afterAll, describe, expect, test } from 'vitest';
import {
  DEVICE_ADMIN_PIN,
  USER_PIN,
  manualInstallation,
  provisionedUsers,
  removeTempDirs,
} from './sekeyRun.testkit.ts';

afterAll(removeTempDirs);

describe('sekey user sync on a new HSM, before the publish that sends it its files', () => {
  test("the predecessor's files are refused, naming that HSM; after the next publish, the new HSM syncs", async () => {
    const { run } = await manualInstallation();
    await provisionedUsers(run, [['U1', 'alice']]);
    for (const argv of [
      ['add-group', 'G1', 'team', '--max-keys', '4', '--cryptoperiod', '30d', '--no-publish'],
      ['add-member', 'G1', 'U1', '--no-publish'],
      ['add-key', 'G1', 'k', '--no-publish'],
      ['activate-key', 'K2000'],
    ])
      expect((await run('admin', ...argv)).code, argv.join(' ')).toBe(0);
    expect((await run('user', 'U1', 'sync')).code).toBe(0);
    // A file for alice's HSM, which she does not sync before her HSM is replaced.
    expect((await run('admin', 'rename-group', 'G1', 'core')).code).toBe(0);
    const old = /HSM: +(\w+)/.exec((await run('admin', 'user-info', 'U1')).out)?.[1] as string;
    const pins = ['--user-pin', USER_PIN, '--device-admin-pin', DEVICE_ADMIN_PIN];
    expect((await run('admin', 'provision', 'U1', ...pins, '--yes', '--no-publish')).code).toBe(0);
    const before = await run('user', 'U1', 'sync');
    expect(before.code).toBe(1);
    expect(before.err.split('\n')).toEqual([
      `refused 000000000002.update: forged (it names HSM ${old})`,
      `files for another HSM of this user (${old}), sealed for it: a new HSM finds its predecessor's files until ` +
        "the administrator's next publish sends it its own, so sync again after it; if they keep coming, the " +
        "administrator's database does not know this HSM (an admin HSM restored from a backup taken before it " +
        'was provisioned): ask the administrator to provision it again, factory-reset first',
    ]);
    expect(JSON.parse((await run('user', 'U1', 'sync', '--json')).out).refused).toEqual([
      { name: '000000000002.update', reason: 'forged', namesHsm: old },
    ]);
    expect((await run('admin', 'publish')).out).toMatch(/published: U1 #3 resync/);
    const after = await run('user', 'U1', 'sync');
    expect([after.code, after.out, after.err]).toEqual([0, 'applied #3; now at update #3', '']);
  });
});
