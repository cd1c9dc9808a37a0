/**
 * The "what to do" a refusal prints fits the situation the command met, not only the error's code
 * (`reportError.ts`, `CodedError.remedy`): each case a user review found printed advice for another
 * situation of the same code (a `simulate` report, a message's recipients, a locked user PIN, a
 * group-writable folder, a marker inside a file, a paragraph of every cause).
 */
import { cpSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { demoInstallation, removeTempDirs, sekey, tempDir } from './sekeyRun.testkit.ts';
import type { Run } from './sekeyRun.testkit.ts';

afterAll(removeTempDirs);

let demo: Awaited<ReturnType<typeof demoInstallation>>;
let home: string;
let desk: string;
let run: (...argv: string[]) => Promise<Run>;

beforeAll(async () => {
  demo = await demoInstallation();
  // A copy per file: the demo's own installation stays as it was.
  home = join(tempDir(), 'home');
  cpSync(demo.home, home, { recursive: true });
  desk = join(home, 'desk');
  const env = { ...demo.env, SEKEY_HOME: home };
  run = (...argv) => sekey(argv, { env, cwd: desk });
});

/** The refusal's exit code, its error line and its "what to do" line. */
function refusal(r: Run): { code: number; error: string | undefined; remedy: string | undefined } {
  const lines = r.err.split('\n');
  const at = lines.findIndex((l) => l.startsWith('  what to do: '));
  return { code: r.code, error: lines[at - 1], remedy: lines[at]?.slice('  what to do: '.length) };
}

describe('each refusal prints the way out of its own situation', () => {
  test('encrypt to a folder: name a file, not "create the folder first" nor simulate', async () => {
    mkdirSync(join(desk, 'outdir'));
    writeFileSync(join(desk, 'in.txt'), 'hello');
    expect(refusal(await run('user', 'U1', 'encrypt', '--to', 'U2', 'in.txt', 'outdir'))).toEqual({
      code: 1,
      error: 'sekey user U1 encrypt: CannotWrite: cannot write outdir: it is a folder, not a file',
      remedy: 'Name a file as OUT (a new file in outdir, say), or give - for standard output.',
    });
    const json = await run('user', 'U1', 'encrypt', '--to', 'U2', 'in.txt', 'outdir', '--json');
    expect(JSON.parse(json.out).error.remedy).toBe(
      'Name a file as OUT (a new file in outdir, say), or give - for standard output.',
    );
    const noFolder = await run('user', 'U1', 'encrypt', '--to', 'U2', 'in.txt', join('nowhere', 'x.skm'));
    expect(refusal(noFolder).remedy).toBe(
      `Create the folder first (mkdir -p ${join(desk, 'nowhere')}), or give OUT in a folder that exists.`,
    );
  });

  test('reset-user-pin of an unknown user: the list of users, not recipients and add-member', async () => {
    expect(refusal(await run('admin', 'reset-user-pin', 'U99', '--new-pin', 'new-user-pin'))).toEqual({
      code: 1,
      error: 'sekey admin reset-user-pin: UnknownUser: no user U99',
      remedy: 'Check the ID: sekey admin users lists the users.',
    });
  });

  test('a wrong admin PIN: check the admin PIN, not how a locked user PIN is reset', async () => {
    expect(refusal(await run('admin', 'users', '--pin', 'not-the-pin'))).toEqual({
      code: 1,
      error: 'sekey admin users: WrongPin: wrong admin PIN, 2 tries left',
      remedy: 'Check the admin PIN and try again.',
    });
    expect((await run('admin', 'users')).code).toBe(0); // the tries back
    expect(refusal(await run('user', 'U1', 'keys', '--pin', 'not-the-pin')).remedy).toBe(
      'Check the user PIN and try again; a forgotten one is set anew by the administrator.',
    );
    expect((await run('user', 'U1', 'keys')).code).toBe(0);
  });

  test("a file in place of users/U4: put U4's HSM folder back, not chmod nor a new home", async () => {
    const dir = join(home, 'users', 'U4');
    renameSync(dir, `${dir}.away`);
    writeFileSync(dir, 'x');
    try {
      const r = refusal(await run('user', 'U4', 'sync'));
      expect([r.code, r.error]).toEqual([1, expect.stringContaining(`UnsafeHome: ${dir} is not a folder`)]);
      expect(r.remedy).toBe(`Move the file ${dir} away and put U4's HSM folder back there (restore it from a backup).`);
    } finally {
      rmSync(dir);
      renameSync(`${dir}.away`, dir);
    }
  });

  test('a file in place of the share: move it away and mount the share, no marker inside a file', async () => {
    const share = join(home, 'share');
    renameSync(share, `${share}.away`);
    writeFileSync(share, 'x');
    try {
      expect(refusal(await run('admin', 'publish'))).toEqual({
        code: 1,
        error: `sekey admin publish: ShareMissing: the share ${share} is not a folder`,
        remedy:
          `Move the file ${share} away and mount the share there (or restore its folder), or fix share in ` +
          'installation.json if the share is elsewhere.',
      });
    } finally {
      rmSync(share);
      renameSync(`${share}.away`, share);
    }
  });

  test('BadInstallation: the way out of the case met, not a paragraph of every cause', async () => {
    // U1's folder holding U2's HSM: refused before any PIN reaches it.
    const u1 = join(home, 'users', 'U1');
    renameSync(u1, `${u1}.away`);
    cpSync(join(home, 'users', 'U2'), u1, { recursive: true });
    try {
      const r = refusal(await run('user', 'U1', 'keys'));
      expect([r.code, r.error]).toEqual([1, expect.stringMatching(/BadInstallation: .* no PIN was tried on it$/)]);
      expect(r.remedy).toBe(
        `Put U1's HSM back in ${u1} (or restore the folder from a backup), and U2's in ${join(home, 'users', 'U2')} ` +
          'if it is not there.',
      );
    } finally {
      rmSync(u1, { recursive: true });
      renameSync(`${u1}.away`, u1);
    }
    // A junk installation.json.
    const config = join(home, 'installation.json');
    const saved = readFileSync(config);
    writeFileSync(config, '{}');
    try {
      expect(refusal(await run('admin', 'users'))).toEqual({
        code: 1,
        error:
          'sekey admin users: BadInstallation: installation.json: it has no "format" field (this sekey reads ' +
          'format 1): not a file SEkey wrote',
        remedy: "Restore installation.json from a backup, or point --home at the installation's folder.",
      });
    } finally {
      writeFileSync(config, saved);
    }
    expect((await run('admin', 'users')).code).toBe(0);
  });

  test('a lock a killed command left without its record: it clears by itself, nothing to remove', async () => {
    // What kill -9 leaves between the lock's two files (taking it, or releasing it): `.lock` naming a
    // process that is gone, no `.lock.who` beside it. Judged by that ID once 5 s old, so taken over.
    const lock = join(home, '.lock');
    writeFileSync(lock, '999999999');
    try {
      const r = refusal(await run('user', 'U1', 'sync'));
      expect([r.code, r.error]).toEqual([
        1,
        expect.stringMatching(
          new RegExp(
            `^sekey user U1 sync: Busy: the lock of ${home} \\(${lock}\\) has no record of its holder yet: a sekey ` +
              'command that ended without releasing it \\(pid 999999999, which is not running here\\) left it, ' +
              'or another is taking it this moment; a lock left so clears by itself within [1-5] seconds?$',
          ),
        ),
      ]);
      expect(r.remedy).toMatch(/^Wait for it: run the command again with --wait [2-6] \(or more\); nothing needs /);
      expect(r.error).not.toContain('remove');
      // As it says: waiting takes the lock over once it is no longer fresh.
      expect((await run('user', 'U1', 'sync', '--wait', '10')).code).toBe(0);
    } finally {
      rmSync(lock, { force: true });
    }
  });

  test('a junk manufacturer.json says what is wrong in words, and how to get a factory', async () => {
    const factory = join(tempDir(), 'factory');
    mkdirSync(factory);
    const file = join(factory, 'manufacturer.json');
    const provision = () =>
      run(
        'admin',
        'provision',
        'U5',
        '--user-pin',
        'user-pin-5',
        '--device-admin-pin',
        'device-5',
        '--factory',
        factory,
      );
    const restore =
      `Restore ${file} from a backup, or point --factory at another factory folder (sekey factory init --dir DIR ` +
      'makes one).';
    writeFileSync(file, '{}');
    expect(refusal(await provision())).toEqual({
      code: 1,
      error:
        `sekey admin provision: BadInstallation: ${file}: it has no "format" field (this sekey reads format 1): ` +
        'not a file SEkey wrote',
      remedy: restore,
    });
    writeFileSync(file, '{"format": 7}');
    expect(refusal(await provision())).toEqual({
      code: 1,
      error: `sekey admin provision: BadInstallation: ${file}: format 7 is newer than this sekey reads (1)`,
      remedy: `Upgrade SEkey if a newer one wrote it; if not, restore ${restore.slice('Restore '.length)}`,
    });
    rmSync(file);
    expect(refusal(await provision()).remedy).toBe(
      'Point --factory (or SEKEY_FACTORY) at a factory folder; sekey factory init --dir DIR makes one.',
    );
  });
});

describe('a deleted group', () => {
  test('is said as deleted, its ID not to be made again, not "made with add-group"', async () => {
    expect((await run('admin', 'delete-group', 'G2', '--yes')).code).toBe(0);
    const remedy =
      'G2 was deleted, and a group ID is never used again (old keys stay attributed to the group that owned ' +
      'them): sekey admin groups lists the groups; sekey admin add-group makes a new one under an ID not used ' +
      'before.';
    expect(refusal(await run('admin', 'keys', '--group', 'G2'))).toEqual({
      code: 1,
      error: 'sekey admin keys: UnknownGroup: no group G2: it was deleted',
      remedy,
    });
    expect(refusal(await run('admin', 'group-info', 'G2')).remedy).toBe(remedy);
    // As it says: add-group refuses the ID.
    expect(
      refusal(await run('admin', 'add-group', 'G2', 'again', '--max-keys', '2', '--cryptoperiod', '30d')).error,
    ).toMatch(/DuplicateGroup: group G2 exists or existed$/);
    // A group never made keeps the general remedy.
    expect(refusal(await run('admin', 'keys', '--group', 'G9')).error).toBe(
      'sekey admin keys: UnknownGroup: no group G9',
    );
  });
});
