/**
 * The PINs `admin init` and `admin provision` set on the HSM they create: from their options (seen
 * by every local user in `ps`), else from SEKEY_NEW_ADMIN_PIN, SEKEY_NEW_USER_PIN and
 * SEKEY_NEW_DEVICE_ADMIN_PIN, else typed twice at a hidden prompt; without any of them, refused
 * before anything is touched, naming the three ways (`pinCommands.ts`, `NEW_PIN_ENV`).
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Flash } from '../../device/flash.ts';
import { SdCard } from '../../device/sdcard.ts';
import { SecubeDevice } from '../../device/secube.ts';
import { peekDeviceImages } from '../host/deviceImages.ts';
import { ADMIN_PIN, manualInstallation, removeTempDirs, sekey, tempDir } from './sekeyRun.testkit.ts';
import type { Run } from './sekeyRun.testkit.ts';
import { adminCommandHelp } from './runAdmin.ts';

afterAll(removeTempDirs);

/** Whether the HSM whose images are in `dir` opens a session at `level` with `pin` (on a copy in memory). */
function opensWith(dir: string, level: 'admin' | 'user', pin: string): boolean {
  const images = peekDeviceImages(dir);
  if (images === null) throw new Error(`no HSM in ${dir}`);
  const device = new SecubeDevice({ flash: Flash.fromImage(images.flash), sdcard: SdCard.fromImage(images.sd) });
  try {
    device.login(level, pin);
    return true;
  } catch {
    return false;
  }
}

/** The example line of `help` that gives the PINs in the environment: its variables and its arguments. */
function environmentExample(help: string): { env: Record<string, string>; argv: string[] } {
  const line = /^ {2}(SEKEY_NEW_\w+=\S+ )+sekey .*$/m.exec(help)?.[0];
  if (line === undefined) throw new Error(`no environment example in\n${help}`);
  const words = line.trim().split(' ');
  const start = words.indexOf('sekey');
  return {
    env: Object.fromEntries(words.slice(0, start).map((w) => w.split('=') as [string, string])),
    argv: words.slice(start + 1),
  };
}

describe('the help of init and provision', () => {
  test.each(['init', 'provision'])('%s: a PIN option is visible in ps; the safer ways, with an example', (name) => {
    const help = adminCommandHelp(name) as string;
    const text = help.replace(/\s+/g, ' ');
    expect(text).toContain(
      'A PIN on the command line is visible to every local user while the command runs (`ps`): leave a PIN option ' +
        'out to type that PIN twice at a hidden prompt, or give it in the environment',
    );
    const variables = name === 'init' ? ['ADMIN', 'USER'] : ['USER', 'DEVICE_ADMIN'];
    expect(Object.keys(environmentExample(help).env)).toEqual(variables.map((v) => `SEKEY_NEW_${v}_PIN`));
    for (const v of variables) expect(text).toContain(`else $SEKEY_NEW_${v}_PIN, else asked twice on a terminal`);
  });

  test('the examples run: init in an empty folder, provision of a new user', async () => {
    const desk = join(tempDir(), 'desk');
    mkdirSync(desk);
    expect((await sekey(['factory', 'init', '--dir', '../factory'], { cwd: desk })).code).toBe(0);
    const init = environmentExample(adminCommandHelp('init') as string);
    const home = join(desk, '.sekey');
    const made = await sekey(init.argv, { env: init.env, cwd: desk });
    expect([made.code, made.err]).toEqual([0, '']);
    expect(opensWith(join(home, 'admin'), 'admin', init.env['SEKEY_NEW_ADMIN_PIN'] as string)).toBe(true);
    expect(opensWith(join(home, 'admin'), 'user', init.env['SEKEY_NEW_USER_PIN'] as string)).toBe(true);

    const adminPin = init.env['SEKEY_NEW_ADMIN_PIN'] as string;
    const env = { SEKEY_FACTORY: join(desk, '..', 'factory'), SEKEY_ADMIN_PIN: adminPin };
    expect((await sekey(['admin', 'add-user', 'U5', 'erin', '--no-publish'], { env, cwd: desk })).code).toBe(0);
    const provision = environmentExample(adminCommandHelp('provision') as string);
    const provisioned = await sekey(provision.argv, {
      env: { ...env, ...provision.env } as Record<string, string>,
      cwd: desk,
    });
    expect([provisioned.code, provisioned.err]).toEqual([0, '']);
    const dir = join(home, 'users', 'U5');
    expect(opensWith(dir, 'user', provision.env['SEKEY_NEW_USER_PIN'] as string)).toBe(true);
    expect(opensWith(dir, 'admin', provision.env['SEKEY_NEW_DEVICE_ADMIN_PIN'] as string)).toBe(true);
  });
});

describe('admin init: the PINs it sets', () => {
  let desk: string;
  let factory: string;

  beforeAll(async () => {
    desk = tempDir();
    factory = join(tempDir(), 'factory');
    expect((await sekey(['factory', 'init', '--dir', factory])).code).toBe(0);
  });

  /** `sekey admin init` in a new home, with `env` (and the factory) and, given `answers`, a terminal typing them. */
  async function init(
    argv: readonly string[],
    env: Record<string, string>,
    answers?: readonly string[],
  ): Promise<{ run: Run; home: string }> {
    const home = join(tempDir(), 'home');
    const world = { env: { SEKEY_FACTORY: factory, ...env }, cwd: desk, ...(answers === undefined ? {} : { answers }) };
    return { run: await sekey(['admin', 'init', '--home', home, ...argv], world), home };
  }

  test('from the environment, without a terminal; an option given wins over its variable', async () => {
    const env = { SEKEY_NEW_ADMIN_PIN: 'env-admin-pin', SEKEY_NEW_USER_PIN: 'env-user-pin' };
    const fromEnv = await init([], env);
    expect([fromEnv.run.code, fromEnv.run.err]).toEqual([0, '']);
    expect(opensWith(join(fromEnv.home, 'admin'), 'admin', 'env-admin-pin')).toBe(true);
    expect(opensWith(join(fromEnv.home, 'admin'), 'user', 'env-user-pin')).toBe(true);
    const users = await sekey(['admin', 'users', '--home', fromEnv.home], {
      env: { SEKEY_ADMIN_PIN: 'env-admin-pin' },
    });
    expect(users.code).toBe(0);

    const mixed = await init(['--admin-pin', 'option-admin-pin'], env);
    expect(mixed.run.code).toBe(0);
    expect(opensWith(join(mixed.home, 'admin'), 'admin', 'option-admin-pin')).toBe(true);
    expect(opensWith(join(mixed.home, 'admin'), 'user', 'env-user-pin')).toBe(true);
  });

  test('a PIN no HSM takes is named by its variable; an empty variable is unset', async () => {
    const short = await init([], { SEKEY_NEW_ADMIN_PIN: 'abc', SEKEY_NEW_USER_PIN: 'env-user-pin' });
    expect([short.run.code, short.run.err]).toEqual([
      2,
      expect.stringContaining('$SEKEY_NEW_ADMIN_PIN: a PIN must be 4 to 64 bytes long'),
    ]);
    expect(existsSync(short.home)).toBe(false);
    const empty = await init(['--admin-pin', 'option-admin-pin'], { SEKEY_NEW_USER_PIN: '' });
    expect([empty.run.code, empty.run.err]).toEqual([2, expect.stringContaining('none was given for --user-pin:')]);
  });

  test('on a terminal, each PIN not given is typed twice at a hidden prompt', async () => {
    const typed = await init(['--json'], {}, [
      'typed-admin-pin',
      'typed-admin-pin',
      'typed-user-pin',
      'typed-user-pin',
    ]);
    expect(typed.run.code).toBe(0);
    expect(typed.run.err.split('\n')).toEqual([
      'new admin PIN of the admin HSM: ',
      'new admin PIN of the admin HSM again: ',
      'new user PIN of the admin HSM: ',
      'new user PIN of the admin HSM again: ',
    ]);
    expect(JSON.parse(typed.run.out)).toMatchObject({ command: 'admin init' });
    expect(opensWith(join(typed.home, 'admin'), 'admin', 'typed-admin-pin')).toBe(true);
    expect(opensWith(join(typed.home, 'admin'), 'user', 'typed-user-pin')).toBe(true);
    // Only the one not given is asked for.
    const one = await init(['--admin-pin', 'option-admin-pin'], {}, ['typed-user-pin', 'typed-user-pin']);
    expect(one.run.code).toBe(0);
    expect(one.run.err).not.toContain('admin PIN');
    expect(opensWith(join(one.home, 'admin'), 'user', 'typed-user-pin')).toBe(true);
  });

  test('two different PINs typed, or one too short, create nothing', async () => {
    const typo = await init([], {}, ['typed-admin-pin', 'typed-admin-pim']);
    expect([typo.run.code, typo.run.err]).toEqual([
      1,
      expect.stringContaining('NotConfirmed: the two admin PINs typed for the admin HSM differ; nothing was created'),
    ]);
    expect(typo.run.err).not.toContain('user PIN');
    // The way out is to type them alike, not the general remedy's "answer yes (or pass --yes …)".
    expect(typo.run.err).toContain('  what to do: Nothing to undo: run the command again and type the same new PIN');
    expect(typo.run.err).not.toContain('--yes');
    expect(existsSync(typo.home)).toBe(false);
    const short = await init(['--admin-pin', 'option-admin-pin'], {}, ['abc', 'abc']);
    expect([short.run.code, short.run.err]).toEqual([
      2,
      expect.stringContaining('the new user PIN of the admin HSM typed: a PIN must be 4 to 64 bytes'),
    ]);
    expect(existsSync(short.home)).toBe(false);
  });

  test('nothing is typed for a home that holds an installation', async () => {
    const first = await init([], { SEKEY_NEW_ADMIN_PIN: 'env-admin-pin', SEKEY_NEW_USER_PIN: 'env-user-pin' });
    expect(first.run.code).toBe(0);
    const again = await sekey(['admin', 'init', '--home', first.home], {
      env: { SEKEY_FACTORY: factory },
      cwd: desk,
      answers: [],
    });
    expect([again.code, again.err]).toEqual([1, expect.stringMatching(/^[^\n]*AlreadyInitialized: .* already holds/)]);
  });

  test('without option, variable or terminal: refused, naming the three ways; login PINs do not count', async () => {
    const none = await init([], { SEKEY_ADMIN_PIN: ADMIN_PIN, SEKEY_USER_PIN: 'user-pin-1234' });
    expect(none.run.code).toBe(2);
    expect(none.run.err).toContain(
      "init sets the admin HSM's PINs, and none was given for --admin-pin, --user-pin: set SEKEY_NEW_ADMIN_PIN " +
        'and SEKEY_NEW_USER_PIN, or run it on a terminal to type them (hidden, twice), or pass --admin-pin PIN ' +
        'and --user-pin PIN (a PIN on the command line is visible to other local users: ps)',
    );
    expect(existsSync(none.home)).toBe(false);
    const one = await init([], { SEKEY_NEW_USER_PIN: 'env-user-pin' });
    expect(one.run.err).toContain(
      'none was given for --admin-pin: set SEKEY_NEW_ADMIN_PIN, or run it on a terminal to type it (hidden, twice), ' +
        'or pass --admin-pin PIN (',
    );
    // --pin is a PIN to log in with: init has none.
    const pin = await init(['--pin', ADMIN_PIN], { SEKEY_NEW_ADMIN_PIN: 'a-pin-1', SEKEY_NEW_USER_PIN: 'a-pin-2' });
    expect([pin.run.code, pin.run.err]).toEqual([2, expect.stringContaining('not --pin')]);
  });
});

describe('admin provision: the PINs it sets on the new HSM', () => {
  let run: (...argv: string[]) => Promise<Run>;
  let home: string;
  let env: Record<string, string>;
  let desk: string;

  beforeAll(async () => {
    ({ run, home, env, desk } = await manualInstallation());
    for (const [id, name] of [
      ['U1', 'alice'],
      ['U2', 'bob'],
      ['U3', 'carol'],
    ])
      expect((await run('admin', 'add-user', id as string, name as string, '--no-publish')).code).toBe(0);
  });

  test('from the environment, without a terminal', async () => {
    const pins = { SEKEY_NEW_USER_PIN: 'alice-env-pin', SEKEY_NEW_DEVICE_ADMIN_PIN: 'alice-hsm-admin' };
    const provisioned = await sekey(['admin', 'provision', 'U1', '--no-publish'], {
      env: { ...env, ...pins },
      cwd: desk,
    });
    expect([provisioned.code, provisioned.err]).toEqual([0, '']);
    expect(opensWith(join(home, 'users', 'U1'), 'user', 'alice-env-pin')).toBe(true);
    expect(opensWith(join(home, 'users', 'U1'), 'admin', 'alice-hsm-admin')).toBe(true);
    expect((await run('user', 'U1', 'status', '--pin', 'alice-env-pin')).code).toBe(0);
  });

  test('on a terminal: the admin PIN, then each new PIN twice; two that differ provision nothing', async () => {
    const { SEKEY_ADMIN_PIN: _, ...noPin } = env;
    const answers = [ADMIN_PIN, 'bob-typed-pin', 'bob-typed-pin', 'bob-hsm-admin', 'bob-hsm-admin'];
    const typed = await sekey(['admin', 'provision', 'U2', '--no-publish'], { env: noPin, cwd: desk, answers });
    expect(typed.code).toBe(0);
    expect(typed.err.split('\n')).toEqual([
      'admin PIN of the admin HSM: ',
      "new user PIN of U2's new HSM: ",
      "new user PIN of U2's new HSM again: ",
      "new admin PIN of U2's new HSM: ",
      "new admin PIN of U2's new HSM again: ",
    ]);
    expect(opensWith(join(home, 'users', 'U2'), 'user', 'bob-typed-pin')).toBe(true);
    expect(opensWith(join(home, 'users', 'U2'), 'admin', 'bob-hsm-admin')).toBe(true);

    const typo = await sekey(['admin', 'provision', 'U3', '--user-pin', 'carol-pin-1'], {
      env,
      cwd: desk,
      answers: ['carol-hsm-admin', 'carol-hsm-admim'],
    });
    expect([typo.code, typo.err]).toEqual([
      1,
      expect.stringContaining("NotConfirmed: the two admin PINs typed for U3's new HSM differ; U3 was not provisioned"),
    ]);
    expect(peekDeviceImages(join(home, 'users', 'U3'))).toBeNull();
    // Nothing is typed for a user who does not exist.
    const unknown = await sekey(['admin', 'provision', 'U9'], { env, cwd: desk, answers: [] });
    expect([unknown.code, unknown.err.split('\n')[0]]).toEqual([1, 'sekey admin provision: UnknownUser: no user U9']);
  });

  test('without option, variable or terminal: refused before the admin PIN is asked for', async () => {
    const { SEKEY_ADMIN_PIN: _, ...noPin } = env;
    const none = await sekey(['admin', 'provision', 'U3'], { env: noPin, cwd: desk });
    expect(none.code).toBe(2);
    expect(none.err).toContain(
      "provision sets the new HSM's PINs, and none was given for --user-pin, --device-admin-pin: set " +
        'SEKEY_NEW_USER_PIN and SEKEY_NEW_DEVICE_ADMIN_PIN, or run it on a terminal to type them (hidden, twice), ' +
        'or pass --user-pin PIN and --device-admin-pin PIN (a PIN on the command line is visible to other local ' +
        'users: ps)',
    );
    // The login PIN the environment gives U's HSM later is not taken as the new one.
    const userPinOnly = await run('admin', 'provision', 'U3', '--device-admin-pin', 'carol-hsm-admin');
    expect([userPinOnly.code, userPinOnly.err]).toEqual([2, expect.stringContaining('none was given for --user-pin:')]);
    const short = await sekey(['admin', 'provision', 'U3', '--user-pin', 'carol-pin-1'], {
      env: { ...env, SEKEY_NEW_DEVICE_ADMIN_PIN: 'abc' },
      cwd: desk,
    });
    expect([short.code, short.err]).toEqual([2, expect.stringContaining('$SEKEY_NEW_DEVICE_ADMIN_PIN: a PIN must be')]);
    expect(peekDeviceImages(join(home, 'users', 'U3'))).toBeNull();
  });
});
