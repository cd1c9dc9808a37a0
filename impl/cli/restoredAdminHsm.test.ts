import { cpSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { DEVICE_ADMIN_PIN, manualInstallation, provisionedUsers, removeTempDirs, tempDir } from './sekeyRun.testkit.ts';

afterAll(removeTempDirs);

/**
 * Alice (U1) and bob (U2) in G1, with K2000 active and applied by both; then the admin HSM's folder
 * is copied (`backup`). `ok` runs a command and expects it to succeed.
 */
async function backedUpTeam() {
  const { home, run } = await manualInstallation();
  await provisionedUsers(run, [
    ['U1', 'alice'],
    ['U2', 'bob'],
  ]);
  const ok = async (...argv: string[]) => {
    const r = await run(...argv);
    expect(r.code, `${argv.join(' ')}: ${r.err}`).toBe(0);
    return r;
  };
  for (const argv of [
    ['add-group', 'G1', 'team', '--max-keys', '4', '--cryptoperiod', '30d', '--no-publish'],
    ['add-member', 'G1', 'U1', '--no-publish'],
    ['add-member', 'G1', 'U2', '--no-publish'],
    ['add-key', 'G1', 'before', '--no-publish'],
    ['activate-key', 'K2000'],
  ])
    await ok('admin', ...argv);
  for (const u of ['U1', 'U2']) await ok('user', u, 'sync');
  const backup = join(tempDir(), 'admin-backup');
  cpSync(join(home, 'admin'), backup, { recursive: true });
  return { home, run, ok, backup };
}

describe("sekey after the admin HSM's folder is restored from a backup", () => {
  test('publish warns of the HSMs ahead and holds them, status marks them, resync says it cannot help', async () => {
    const { home, run, ok, backup } = await backedUpTeam();
    // Alice applies a file the backup does not know of; her acknowledgement is collected.
    await ok('admin', 'add-key', 'G1', 'lost', '--no-publish');
    await ok('admin', 'activate-key', 'K2001');
    await ok('user', 'U1', 'sync');
    await ok('admin', 'publish');
    rmSync(join(home, 'admin'), { recursive: true });
    cpSync(backup, join(home, 'admin'), { recursive: true });
    // The restored admin gives K2001 to another key; alice passes over its file and acknowledges hers again.
    expect((await ok('admin', 'add-key', 'G1', 'again', '--no-publish')).out).toContain('K2001');
    await ok('admin', 'activate-key', 'K2001');
    const passed = await ok('user', 'U1', 'sync');
    expect(passed.out).toBe('nothing new (at update #2)');
    expect(passed.err).toBe(
      'warning: the share holds update files numbered at or below #2, other than the one this HSM applied, that ' +
        'no acknowledgement on the share covers (000000000001.resync, 000000000002.update): passed over, and ' +
        "#2's acknowledgement sent again. An earlier sync whose acknowledgements the share refused " +
        "(ShareNotWritten) leaves them, and so do old files put back on the share: the administrator's next " +
        'collection clears them; an admin HSM restored from a backup does it too, writing new files under numbers ' +
        'this HSM applied, and the acknowledgement tells the administrator',
    );
    // Status reads the share and records nothing: the warning says publication is held only once a
    // collection records the HSM (a change's own publication would still send it files until then).
    const unrecorded = await ok('admin', 'status');
    expect(unrecorded.err).toContain(
      'Nothing more is published to it once a collection records this (sekey admin collect-acks, or the next ' +
        "sekey admin publish); until then a change's own publication still sends it files it cannot use: ",
    );
    // The stale advice before anything was collected: the share says alice is ahead, so no resync is
    // requested (one numbered past her files she would apply), and the collection records her.
    const early = await ok('admin', 'resync', 'U1');
    expect(early.out).toContain('U1: its HSM is ahead of this admin database, and a resync cannot repair it');
    expect(early.out).not.toMatch(/U1 #\d+ resync/);
    expect(early.err).toContain("warning: U1's HSM");
    expect((await ok('user', 'U2', 'sync')).out).toMatch(/applied/);
    const published = await ok('admin', 'publish');
    expect(published.out).toMatch(/^acknowledged: U2 #1, U2 #2$/m);
    expect(published.err).toMatch(
      /^warning: U1's HSM \S+ acknowledged update #2, which this admin database never published \(its #2 to U1 is /m,
    );
    expect(published.err).toContain('never published (its #2 to U1 is another file): the admin HSM was restored');
    expect(published.err).toContain('Nothing more is published to it: provision a new HSM (sekey admin provision U1)');
    expect(published.err).not.toContain("U2's HSM");
    const collected = await ok('admin', 'collect-acks', '--json');
    expect(JSON.parse(collected.out).ahead.map((a: { userId: string }) => a.userId)).toEqual(['U1']);
    expect(collected.err).toContain("warning: U1's HSM");
    const status = await ok('admin', 'status');
    expect(status.out).toMatch(/^U1 +pending, HSM ahead: applied #2 \(see warning\) +#2 +#0$/m);
    expect(status.err).toContain("warning: U1's HSM");
    // Recorded now: held.
    expect(status.err).toContain('other keys. Nothing more is published to it: provision a new HSM');
    // Stale in time, as an HSM that acknowledges nothing is: told to get a new HSM, not to resync.
    const stale = await run('admin', 'stale', '--at', '+8d');
    expect([stale.code, stale.out]).toEqual([
      1,
      'stale (an update unacknowledged for 7d): U1 — their HSM is ahead of this admin database and gets nothing more ' +
        '(see the warning): `sekey admin provision U`',
    ]);
    expect(stale.err).toContain("warning: U1's HSM");
    const resync = await ok('admin', 'resync', 'U1');
    expect(resync.out).toContain(
      'U1: its HSM is ahead of this admin database, and a resync cannot repair it: none requested, and nothing',
    );
    expect(resync.out).not.toMatch(/U1 #\d+ resync/);
    // The audit log records it once, with the collection that found it.
    const audit = await ok('admin', 'audit', '--json');
    const entries = (JSON.parse(audit.out) as Array<{ action: string; detailsText: string }>).filter((e) =>
      e.detailsText.includes('"ahead"'),
    );
    expect(entries.map((e) => e.action)).toEqual(['acknowledge']);
    // The remedy the warning gives: a new HSM (here it replaces the old one's folder), then the old one forgotten.
    const old = /HSM (\S+) acknowledged/.exec(published.err)?.[1] as string;
    const pins = ['--user-pin', 'alice-pin-2', '--device-admin-pin', DEVICE_ADMIN_PIN];
    await ok('admin', 'provision', 'U1', ...pins, '--yes');
    await ok('user', 'U1', 'sync', '--pin', 'alice-pin-2');
    const after = await ok('admin', 'publish');
    expect([after.out, after.err]).toEqual([expect.stringMatching(/^acknowledged: U1 #3$/m), '']);
    expect((await ok('admin', 'forget-hsm', old, '--destroyed', '--yes')).out).toContain(`forgot HSM ${old}`);
    expect((await ok('admin', 'status')).err).toBe('');
  });

  test('an HSM provisioned after the backup: its acknowledgement warned of, cleared by a provisioning', async () => {
    const { home, ok, backup } = await backedUpTeam();
    // The lost time: bob gets a new HSM, which applies its resync and acknowledges it; then the admin
    // HSM's folder is restored from the backup, which has no record of that HSM.
    const pins = ['--user-pin', 'bob-pin-2', '--device-admin-pin', DEVICE_ADMIN_PIN];
    await ok('admin', 'provision', 'U2', ...pins, '--yes');
    await ok('user', 'U2', 'sync', '--pin', 'bob-pin-2');
    const unknown = /HSM: +(\w+)/.exec((await ok('admin', 'user-info', 'U2')).out)?.[1] as string;
    rmSync(join(home, 'admin'), { recursive: true });
    cpSync(backup, join(home, 'admin'), { recursive: true });
    const published = await ok('admin', 'publish');
    expect(published.err.split('\n')).toEqual([
      `warning: acks/U2/000000000002.ack on the share is an acknowledgement from U2's HSM ${unknown}, which this ` +
        'admin database has no record of. If the admin HSM was restored from a backup, ' +
        `${unknown} was provisioned after it and holds keys this database lost: factory-reset it, then provision ` +
        'it again (sekey admin provision U2). If not, someone who can write the share made the file up (its seal ' +
        'cannot be checked here): remove it',
    ]);
    const collected = JSON.parse((await ok('admin', 'collect-acks', '--json')).out);
    expect(collected.unrecordedHsms).toEqual([
      { userId: 'U2', serial: unknown, sequence: 2, name: '000000000002.ack' },
    ]);
    for (const argv of [['status'], ['stale']]) expect((await ok('admin', ...argv)).err).toContain(unknown);
    // The remedy: a new HSM for bob (here it replaces the unknown one's folder). The file goes with it.
    const again = await ok(
      'admin',
      'provision',
      'U2',
      '--user-pin',
      'bob-pin-3',
      '--device-admin-pin',
      DEVICE_ADMIN_PIN,
      '--yes',
    );
    expect(again.out).toContain(
      `removed from the share, the HSM they came from replaced: acknowledgements of ${unknown}, which this admin ` +
        'database has no record of (acks/U2/000000000002.ack)',
    );
    expect(again.err).toBe('');
    await ok('user', 'U2', 'sync', '--pin', 'bob-pin-3');
    expect((await ok('admin', 'publish')).err).toBe('');
    expect((await ok('admin', 'status')).err).toBe('');
  });

  test('a user added after the backup: added again and provisioned, its HSM of the lost time is cleared', async () => {
    const { home, run, ok, backup } = await backedUpTeam();
    // The lost time: carol is added and gets an HSM, which applies its resync and acknowledges it.
    await ok('admin', 'add-user', 'U3', 'carol', '--no-publish');
    await ok('admin', 'provision', 'U3', '--user-pin', 'carol-pin-1', '--device-admin-pin', DEVICE_ADMIN_PIN, '--yes');
    await ok('user', 'U3', 'sync', '--pin', 'carol-pin-1');
    rmSync(join(home, 'admin'), { recursive: true });
    cpSync(backup, join(home, 'admin'), { recursive: true });
    // The restored database has no carol: nothing reads her stream, and nothing warns.
    expect((await ok('admin', 'publish')).err).toBe('');
    await ok('admin', 'add-user', 'U3', 'carol', '--no-publish');
    const pins = ['--user-pin', 'carol-pin-2', '--device-admin-pin', DEVICE_ADMIN_PIN];
    const removed = /^removed from the share, the HSM they came from replaced: acknowledgements of \w+, (.*)$/m;
    expect(removed.exec((await ok('admin', 'provision', 'U3', ...pins, '--yes')).out)?.[1]).toMatch(
      /^which this admin database has no record of \(acks\/U3\/\d+\.ack\)$/,
    );
    expect((await ok('admin', 'publish')).err).toBe('');
    expect((await ok('admin', 'status')).err).toBe('');
    expect((await run('user', 'U3', 'sync', '--pin', 'carol-pin-2')).code).toBe(0);
  });
});
