/**
 * A new HSM finds its predecessor's files on the share until the administrator's next publish: its
 * sync says whose they are and what to do, rather than that someone may be writing to the share.
 * The serial it names comes from a header nothing authenticates, so the advice is to check it
 * against the administrator's records, and a damaged header names no HSM at all.
 */
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
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
    const serial = /HSM: +(\w+)/.exec((await run('admin', 'user-info', 'U1')).out)?.[1] as string;
    expect(before.err.split('\n')).toEqual([
      `refused 000000000002.update: forged (its header, which nothing vouches for, names HSM ${old})`,
      `files that say they are for another HSM of this user (${old}): a new HSM finds its predecessor's files ` +
        "until the administrator's next publish sends it its own, so sync again after it. If they keep coming, " +
        `ask the administrator to compare this HSM's serial (${serial}) with the one \`sekey admin user-info ` +
        'U1` shows: another serial there means this HSM was replaced by that one (use that one: this one gets ' +
        'nothing more) or, if none was provisioned since this one, an admin HSM restored from a backup taken ' +
        'before this HSM was provisioned (provision it again, factory-reset first); this serial there means the ' +
        "files are not the administrator's (someone may be writing to the share), and nothing needs resetting",
    ]);
    expect(JSON.parse((await run('user', 'U1', 'sync', '--json')).out).refused).toEqual([
      { name: '000000000002.update', reason: 'forged', namesHsm: old },
    ]);
    expect((await run('admin', 'publish')).out).toMatch(/published: U1 #3 resync/);
    const after = await run('user', 'U1', 'sync');
    expect([after.code, after.out, after.err]).toEqual([0, 'applied #3; now at update #3', '']);
  });

  test('a file whose header serial is damaged names no HSM: refused as forged, with the share advice', async () => {
    const { run, home } = await manualInstallation();
    await provisionedUsers(run, [['U1', 'alice']]);
    expect((await run('user', 'U1', 'sync')).code).toBe(0);
    expect((await run('admin', 'add-group', 'G1', 'team', '--max-keys', '4', '--cryptoperiod', '30d')).code).toBe(0);
    expect((await run('admin', 'add-member', 'G1', 'U1')).code).toBe(0);
    const stream = join(home, 'share', 'updates', 'U1');
    const name = readdirSync(stream).sort().at(-1) as string;
    const path = join(stream, name);
    const bytes = readFileSync(path);
    const serial = /HSM: +(\w+)/.exec((await run('admin', 'user-info', 'U1')).out)?.[1] as string;
    // One byte of the recipient serial in the header turned to NUL, as a bad copy or a flipped bit might.
    const at = bytes.indexOf(Buffer.from(serial)) + 30;
    expect(at).toBeGreaterThan(30);
    bytes[at] = 0;
    writeFileSync(path, bytes);
    const sync = await run('user', 'U1', 'sync');
    expect(sync.code).toBe(1);
    expect(sync.err.split('\n')).toEqual([
      `refused ${name}: forged`,
      "nothing refused is applied: the administrator's next publish writes genuine files back and removes files " +
        'numbered past what it published, so sync again after it; if files keep being refused, tell the ' +
        'administrator (someone may be writing to the share)',
    ]);
    expect(JSON.parse((await run('user', 'U1', 'sync', '--json')).out).refused).toEqual([{ name, reason: 'forged' }]);
  });
});
