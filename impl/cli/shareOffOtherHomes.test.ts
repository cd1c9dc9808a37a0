/**
 * `admin init` keeps its share off every other installation's home, as off its own, and its home out
 * of every share (`impl/host/otherInstallations.ts`): a share at another home put that home's admin
 * HSM images and `installation.json` in a folder other people read, and init wrote its marker there.
 */
import { cpSync, existsSync, mkdirSync, readdirSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import {
  ADMIN_PIN,
  USER_PIN,
  manualInstallation,
  provisionedUsers,
  removeTempDirs,
  tempDir,
} from './sekeyRun.testkit.ts';

afterAll(removeTempDirs);

/** Every path under `folder`, to show an init refused changed nothing there. */
function tree(folder: string): string[] {
  return readdirSync(folder, { recursive: true, encoding: 'utf8' }).sort();
}

describe("init keeps the share off other installations' homes and the home out of shares (ShareOverlapsHome)", () => {
  test('a share that is, holds or lies in the HSM folders of another home is refused, naming that home', async () => {
    const { home, run } = await manualInstallation();
    await provisionedUsers(run, [['U1', 'alice']]);
    const other = realpathSync(home);
    // A home known by its users' HSMs alone (its installation.json lost), and one an init cut short.
    const usersOnly = join(tempDir(), 'users-only');
    cpSync(join(home, 'users'), join(usersOnly, 'users'), { recursive: true });
    const cutShort = join(tempDir(), 'cut-short');
    mkdirSync(cutShort);
    writeFileSync(join(cutShort, '.init-pending'), '2026-01-05T09:00:00.000Z\n');
    const link = join(tempDir(), 'link-to-home');
    symlinkSync(home, link, 'dir');
    const before = tree(home);
    const fresh = join(tempDir(), 'fresh');
    const init = (share: string) =>
      run('admin', 'init', '--home', fresh, '--share', share, '--admin-pin', ADMIN_PIN, '--user-pin', USER_PIN);
    for (const [share, where, named] of [
      [home, 'is', other],
      [link, 'is', other],
      [dirname(home), 'holds', other],
      [join(home, 'admin', 'share'), 'lies in the admin/ folder of', other],
      [join(home, 'users', 'U1'), 'lies in the users/ folder of', other],
      [usersOnly, 'is', realpathSync(usersOnly)],
      [cutShort, 'is', realpathSync(cutShort)],
    ] as const) {
      const refused = await init(share);
      expect(refused.code, share).toBe(1);
      expect(refused.err, share).toContain(
        `ShareOverlapsHome: the share, ${share}, ${where} another SEkey installation's home, ${named}: `,
      );
      expect(refused.err, share).toContain(`away from ${named}`);
      // Refused before anything was made: no new home, no marker on the would-be share.
      expect(existsSync(fresh), share).toBe(false);
      expect(existsSync(join(share, '.sekey-share')), share).toBe(false);
    }
    expect(tree(home)).toEqual(before);
    // As for its own home: a new folder of the other home, outside its HSMs' folders, is no overlap.
    const beside = await init(join(home, 'beside'));
    expect(beside.code, beside.err).toBe(0);
    expect((await run('admin', 'users')).code).toBe(0);
  });

  test('a home that is or lies in a share (a folder holding .sekey-share) is refused, naming the share', async () => {
    const { home, run } = await manualInstallation();
    const share = join(realpathSync(home), 'share');
    for (const [fresh, where] of [
      [join(home, 'share'), 'is'],
      [join(home, 'share', 'nested', 'home'), 'lies in'],
    ] as const) {
      const refused = await run(
        ...['admin', 'init', '--home', fresh, '--share', join(tempDir(), 'own-share')],
        ...['--admin-pin', ADMIN_PIN, '--user-pin', USER_PIN],
      );
      expect(refused.code, fresh).toBe(1);
      expect(refused.err, fresh).toContain(
        `ShareOverlapsHome: the home, ${fresh}, ${where} the share ${share} (it holds .sekey-share): `,
      );
      expect(existsSync(join(fresh, 'admin')), fresh).toBe(false);
    }
    expect(readdirSync(share)).not.toContain('nested');
    expect((await run('admin', 'users')).code).toBe(0);
  });
});
