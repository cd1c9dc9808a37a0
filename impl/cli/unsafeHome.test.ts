/**
 * The commands refuse a home others may change (`impl/host/privateFolder.ts`), before anything is
 * read or written; init makes a home closed to others whatever the umask.
 */
import { chmodSync, mkdirSync, readFileSync, renameSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { manualInstallation, provisionedUsers, removeTempDirs, tempDir } from './sekeyRun.testkit.ts';

afterAll(removeTempDirs);

describe.skipIf(process.getuid === undefined)('a home others may change is refused (UnsafeHome)', () => {
  test('commands refuse a group-writable home, and an admin/ that is a link: nothing touched', async () => {
    const { home, run } = await manualInstallation();
    chmodSync(home, 0o777);
    const open = await run('admin', 'status');
    expect(open.code).toBe(1);
    expect(open.err).toMatch(/UnsafeHome: .* may be written to by its group and others \(mode 777\)/);
    expect(open.err).toContain(`what to do: Close it to others: chmod go-w ${home}; if someone else could`);
    chmodSync(home, 0o755);
    expect((await run('admin', 'status')).code).toBe(0);
    const before = readFileSync(join(home, 'admin', 'flash.img'));
    // Someone moved admin/ away and put a link to it in its place.
    renameSync(join(home, 'admin'), join(home, 'admin.real'));
    symlinkSync(join(home, 'admin.real'), join(home, 'admin'));
    const linked = await run('admin', 'add-user', 'U1', 'alice');
    expect(linked.code).toBe(1);
    expect(linked.err).toMatch(/UnsafeHome: .*admin is a symbolic link: /);
    expect(linked.err).toContain(
      `what to do: Replace the link ${join(home, 'admin')} with the admin HSM's folder itself.`,
    );
    expect(readFileSync(join(home, 'admin.real', 'flash.img'))).toEqual(before);
  });

  test("a user's folder others may write to is refused before any save in it is finished", async () => {
    const { home, run } = await manualInstallation();
    await provisionedUsers(run, [['U1', 'alice']]);
    const dir = join(home, 'users', 'U1');
    const before = readFileSync(join(dir, 'flash.img'));
    chmodSync(dir, 0o777);
    // What someone who may write there plants: a "committed save" whose new flash image is theirs.
    writeFileSync(join(dir, 'flash.img.new'), 'not an HSM');
    writeFileSync(join(dir, 'COMMIT'), 'flash.img.new\n');
    for (const argv of [
      ['user', 'U1', 'keys'],
      ['admin', 'reset-user-pin', 'U1', '--new-pin', 'user-pin-2'],
    ]) {
      const r = await run(...argv);
      expect([r.code, r.err], argv.join(' ')).toEqual([1, expect.stringMatching(/UnsafeHome: .*users\/U1 may be/)]);
      expect(readFileSync(join(dir, 'flash.img')), argv.join(' ')).toEqual(before);
    }
  });

  test('init refuses a home others may write to, and makes one closed to them whatever the umask', async () => {
    const open = join(tempDir(), 'open');
    mkdirSync(open);
    chmodSync(open, 0o777);
    const { run } = await manualInstallation();
    const refused = await run('admin', 'init', '--home', open, '--admin-pin', 'admin-pin', '--user-pin', 'user-pin');
    expect(refused.code).toBe(1);
    expect(refused.err).toMatch(/UnsafeHome/);
    const previous = process.umask(0o002);
    try {
      const made = join(tempDir(), 'made');
      const init = await run('admin', 'init', '--home', made, '--admin-pin', 'admin-pin', '--user-pin', 'user-pin');
      expect(init.code, init.err).toBe(0);
      expect(statSync(made).mode & 0o022).toBe(0);
    } finally {
      process.umask(previous);
    }
  });
});
