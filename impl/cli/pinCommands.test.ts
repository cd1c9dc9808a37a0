import { copyFileSync, cpSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  ADMIN_PIN,
  DEVICE_ADMIN_PIN,
  USER_PIN,
  manualInstallation,
  provisionedUsers,
  removeTempDirs,
  sekey,
} from './sekeyRun.testkit.ts';
import type { Run } from './sekeyRun.testkit.ts';
import { triesLeftOnDisk } from './pinCommands.ts';

afterAll(removeTempDirs);

describe('PINs: change, reset, and the warning before the last try', () => {
  let run: (...argv: string[]) => Promise<Run>;
  let home: string;
  let env: Record<string, string>;
  let desk: string;

  /** `sekey argv --json` on a terminal where `newPin` is typed twice; what it printed, parsed. */
  async function typedJson(argv: readonly string[], newPin: string): Promise<unknown> {
    const typed = await sekey([...argv, '--json'], { env, cwd: desk, answers: [newPin, newPin] });
    return JSON.parse(typed.out.slice(typed.out.indexOf('{')));
  }

  beforeAll(async () => {
    ({ run, home, env, desk } = await manualInstallation());
    await provisionedUsers(run, [['U1', 'alice']]);
  });

  test('a wrong user PIN leaving one try warns about the next; after lockout, reset-user-pin recovers', async () => {
    const dir = join(home, 'users', 'U1');
    expect(triesLeftOnDisk(dir, 'user')).toBe(3);
    const first = await run('user', 'U1', 'keys', '--pin', 'wrong-1');
    expect(first.code).toBe(1);
    expect(first.err).not.toContain('warning');
    const second = await run('user', 'U1', 'keys', '--pin', 'wrong-2');
    expect(second.err).toContain('WrongPin');
    expect(second.err).toContain(
      "warning: ONE user PIN try left on U1's HSM: another wrong PIN locks it; then the administrator sets a new " +
        'user PIN through the admin HSM (`sekey admin reset-user-pin U1`)',
    );
    // On a terminal the warning comes before the PIN is typed.
    const { SEKEY_USER_PIN: _, ...noPin } = env;
    const asked = await sekey(['user', 'U1', 'keys'], { env: noPin, cwd: desk, answers: [USER_PIN] });
    expect(asked.code).toBe(0);
    expect(asked.err.split('\n')[0]).toMatch(/^warning: ONE user PIN try left/);
    await run('user', 'U1', 'keys', '--pin', 'wrong-3');
    await run('user', 'U1', 'keys', '--pin', 'wrong-4');
    // The last try is not spent by a PIN that was not typed, from --pin or from the environment.
    const fromOption = await run('user', 'U1', 'keys', '--pin', 'wrong-5');
    expect(fromOption.code).toBe(1);
    expect(fromOption.err).toMatch(
      /^sekey user U1 keys: LastPinTry: ONE user PIN try left on U1's HSM, .*--pin is not/,
    );
    expect(fromOption.err).toContain('add --last-try');
    expect((await run('user', 'U1', 'keys')).err).toContain('a PIN from $SEKEY_USER_PIN is not spent on it');
    expect(triesLeftOnDisk(dir, 'user')).toBe(1);
    // With --last-try it is, and the lockout says how to recover.
    const spent = await run('user', 'U1', 'keys', '--pin', 'wrong-5', '--last-try');
    expect(spent.err).toContain('WrongPin');
    expect(spent.err).toContain(
      "U1's HSM is locked at user level: the administrator sets a new user PIN through the admin HSM " +
        '(`sekey admin reset-user-pin U1`)',
    );
    const locked = await run('user', 'U1', 'keys');
    expect(locked.err).toContain('PinLocked');
    expect(locked.err).toContain("U1's HSM is locked at user level");
    expect(triesLeftOnDisk(dir, 'user')).toBe(0);
    // Refusals first: each changes nothing on U1's HSM.
    expect((await run('admin', 'reset-user-pin', '--new-pin', 'x-new-pin')).code).toBe(2); // no user
    const oldWay = await run('admin', 'reset-user-pin', 'U1', '--device-admin-pin', DEVICE_ADMIN_PIN);
    expect(oldWay.code).toBe(2); // the device admin PIN is no longer the way
    expect(oldWay.err).toContain('--device-admin-pin');
    const short = await run('admin', 'reset-user-pin', 'U1', '--new-pin', 'abc');
    expect([short.code, short.err]).toEqual([2, expect.stringContaining('--new-pin: a PIN must be 4 to 64 bytes')]);
    expect((await run('admin', 'reset-user-pin', 'U9', '--new-pin', 'x-new-pin')).err).toContain('UnknownUser');
    const wrongAdmin = await run('admin', 'reset-user-pin', 'U1', '--new-pin', 'x-new-pin', '--pin', 'wrong-admin');
    expect(wrongAdmin).toMatchObject({ code: 1 });
    expect(wrongAdmin.err).toContain('WrongPin');
    expect(triesLeftOnDisk(dir, 'user')).toBe(0);
    // Through the admin HSM, with the admin PIN only: no device admin PIN, no new HSM.
    const reset = await run('admin', 'reset-user-pin', 'U1', '--new-pin', 'fresh-pin');
    expect(reset).toMatchObject({
      code: 0,
      err: '',
      out: "U1's HSM has a new user PIN, with all its tries (PIN reset order #1 of the admin HSM)",
    });
    expect(triesLeftOnDisk(dir, 'user')).toBe(3);
    expect((await run('user', 'U1', 'keys', '--pin', 'fresh-pin')).code).toBe(0);
    expect((await run('user', 'U1', 'keys')).err).toContain('WrongPin');
    // The user changes it again, from its own session.
    const changed = await run('user', 'U1', 'change-pin', '--pin', 'fresh-pin', '--new-pin', 'chosen-pin');
    expect(changed).toMatchObject({
      code: 0,
      out: "U1's HSM has a new user PIN: use it from now on (--pin or SEKEY_USER_PIN)",
    });
    expect((await run('user', 'U1', 'keys', '--pin', 'fresh-pin')).err).toContain('WrongPin');
    expect((await run('user', 'U1', 'keys', '--pin', 'chosen-pin')).code).toBe(0);
    // A second reset, typed at a terminal, in JSON: the next order; the audit names user, never PIN.
    expect(await typedJson(['admin', 'reset-user-pin', 'U1'], 'typed-pin')).toEqual({
      command: 'admin reset-user-pin',
      user: 'U1',
      order: 2,
    });
    expect((await run('user', 'U1', 'keys', '--pin', 'typed-pin')).code).toBe(0);
    const audit = await run('admin', 'audit');
    expect(audit.out).toContain('resetUserPin');
    expect(audit.out).not.toContain('typed-pin');
  });

  test("reset-user-pin looks at U's HSM before the admin HSM issues (and audits) an order", async () => {
    await provisionedUsers(run, [['U2', 'bob']]);
    const [u1, u2] = [join(home, 'users', 'U1'), join(home, 'users', 'U2')];
    const lastAudit = async () => (await run('admin', 'audit')).out.trim().split('\n').at(-1);
    const before = await lastAudit();
    renameSync(u1, `${u1}.own`);
    try {
      // Another user's HSM in U1's folder: named, not UnknownKey from U2's HSM refusing the order.
      cpSync(u2, u1, { recursive: true });
      const other = await run('admin', 'reset-user-pin', 'U1', '--new-pin', 'x-new-pin');
      expect([other.code, ...other.err.split('\n').slice(0, 2)]).toEqual([
        1,
        expect.stringMatching(/^sekey admin reset-user-pin: BadInstallation: .*U1 holds HSM \S+, not U1's \S+$/),
        `  what to do: Put U1's own HSM back in ${u1} (or restore the folder from a backup).`,
      ]);
      // Its card gone: Tampered, and no reset on record.
      rmSync(join(u1, 'sd.img'));
      expect((await run('admin', 'reset-user-pin', 'U1', '--new-pin', 'x-new-pin')).err).toContain('Tampered');
      expect(await lastAudit()).toBe(before);
    } finally {
      rmSync(u1, { recursive: true, force: true });
      renameSync(`${u1}.own`, u1);
    }
  });

  test('counting the tries left (outside the lock) leaves a save in progress alone', async () => {
    // Another command is saving the admin HSM: its new images are written, its commit marker not yet.
    // Counting tries before a prompt used to run the images' recovery, which deleted them: the
    // saver then reported success with its change lost, or renamed a new card beside an old flash.
    const dir = join(home, 'admin');
    const files = readdirSync(dir).sort();
    copyFileSync(join(dir, 'flash.img'), join(dir, 'flash.img.new'));
    copyFileSync(join(dir, 'sd.img'), join(dir, 'sd.img.new'));
    try {
      expect(triesLeftOnDisk(dir, 'admin')).toBe(3);
      expect(readdirSync(dir).sort()).toEqual([...files, 'flash.img.new', 'sd.img.new'].sort());
    } finally {
      for (const name of ['flash.img.new', 'sd.img.new']) rmSync(join(dir, name), { force: true });
    }
  });

  test('admin change-pin: the new PIN opens the admin HSM, the old one no longer; typed twice if asked', async () => {
    const changed = await run('admin', 'change-pin', '--new-pin', 'second-admin-pin');
    expect(changed).toMatchObject({ code: 0 });
    expect(changed.out).toContain('the admin HSM has a new admin PIN');
    expect((await run('admin', 'users', '--pin', 'second-admin-pin')).code).toBe(0);
    expect((await run('admin', 'users', '--pin', ADMIN_PIN)).err).toContain('WrongPin');
    // The PIN in use is no new PIN: refused, not announced as a change.
    const same = await run('admin', 'change-pin', '--pin', 'second-admin-pin', '--new-pin', 'second-admin-pin');
    expect([same.code, same.err]).toEqual([
      2,
      expect.stringContaining('--new-pin: this is the admin PIN in use; nothing was changed'),
    ]);
    expect(same.out).toBe('');
    const typo = await sekey(['admin', 'change-pin', '--pin', 'second-admin-pin'], {
      env,
      cwd: desk,
      answers: ['third-admin-pin', 'third-admin-pn'],
    });
    expect(typo.code).toBe(1);
    expect(typo.err).toContain('NotConfirmed: the two new admin PINs typed differ');
    // What to do is to type them again, not to answer yes or pass --yes: change-pin asks no question
    // and refuses --yes as an unknown option.
    expect(typo.err.split('\n').filter((l) => l.startsWith('  what to do: '))).toEqual([
      '  what to do: Nothing to undo: run the command again and type the same new PIN both times (hidden, so ' +
        'typed with care).',
    ]);
    expect(await typedJson(['admin', 'change-pin', '--pin', 'second-admin-pin'], 'third-admin-pin')).toEqual({
      command: 'admin change-pin',
      changed: 'admin PIN',
    });
    // Two wrong admin PINs in a row: the warning names what a locked admin HSM costs.
    await run('admin', 'users', '--pin', 'wrong-admin-1');
    const last = await run('admin', 'users', '--pin', 'wrong-admin-2');
    expect(last.err).toContain('warning: ONE admin PIN try left on the admin HSM');
    expect(last.err).toContain('loses the installation');
    // Even the right PIN is not tried from --pin on the last try: typed at the prompt, it is.
    const notTried = await run('admin', 'users', '--pin', 'third-admin-pin');
    expect([notTried.code, notTried.err]).toEqual([1, expect.stringContaining('LastPinTry')]);
    const { SEKEY_ADMIN_PIN: _, ...noPin } = env;
    const typed = await sekey(['admin', 'users'], { env: noPin, cwd: desk, answers: ['third-admin-pin'] });
    expect(typed.code).toBe(0);
    expect(typed.err.split('\n')).toEqual([
      'warning: ONE admin PIN try left on the admin HSM: if it is wrong, only a factory reset of the admin HSM ' +
        'helps, and it loses the installation (every key, user and group)',
      'admin PIN of the admin HSM: ',
    ]);
    expect((await run('admin', 'change-pin', '--pin', 'third-admin-pin')).code).toBe(2);
  });

  test('a new PIN from the environment (SEKEY_NEW_ADMIN_PIN, SEKEY_NEW_USER_PIN), off the command line', async () => {
    const own = await manualInstallation();
    await provisionedUsers(own.run, [['U1', 'alice']]);
    const withEnv = (extra: Record<string, string>, ...argv: string[]) =>
      sekey(argv, { env: { ...own.env, ...extra }, cwd: own.desk });
    const none = await own.run('admin', 'change-pin');
    expect([none.code, none.err]).toEqual([2, expect.stringContaining('set SEKEY_NEW_ADMIN_PIN, or run it on a')]);
    expect((await withEnv({ SEKEY_NEW_ADMIN_PIN: 'env-admin-pin' }, 'admin', 'change-pin')).code).toBe(0);
    expect((await own.run('admin', 'users', '--pin', 'env-admin-pin')).code).toBe(0);
    const reset = await withEnv(
      { SEKEY_ADMIN_PIN: 'env-admin-pin', SEKEY_NEW_USER_PIN: 'env-user-pin' },
      'admin',
      'reset-user-pin',
      'U1',
    );
    expect(reset.code, reset.err).toBe(0);
    expect((await own.run('user', 'U1', 'keys', '--pin', 'env-user-pin')).code).toBe(0);
    // The PIN in use, named by its variable, is no change.
    const same = await withEnv(
      { SEKEY_NEW_USER_PIN: 'env-user-pin' },
      'user',
      'U1',
      'change-pin',
      '--pin',
      'env-user-pin',
    );
    expect([same.code, same.err]).toEqual([
      2,
      expect.stringContaining('$SEKEY_NEW_USER_PIN: this is the user PIN in use'),
    ]);
    // The option still wins over the variable.
    const option = await withEnv(
      { SEKEY_NEW_USER_PIN: 'not-this-one' },
      'user',
      'U1',
      'change-pin',
      '--pin',
      'env-user-pin',
      '--new-pin',
      'option-user-pin',
    );
    expect(option.code, option.err).toBe(0);
    expect((await own.run('user', 'U1', 'keys', '--pin', 'option-user-pin')).code).toBe(0);
  });
});
