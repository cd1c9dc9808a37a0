import { existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ackStream } from '../protocol/streams.ts';
import {
  ADMIN_PIN,
  USER_PIN,
  manualInstallation,
  provisionedUsers,
  removeTempDirs,
  sekey,
  tempDir,
} from './sekeyRun.testkit.ts';
import type { Run } from './sekeyRun.testkit.ts';

afterAll(removeTempDirs);

describe('bad input is refused before it can do harm', () => {
  let run: (...argv: string[]) => Promise<Run>;
  let home: string;

  beforeAll(async () => {
    ({ run, home } = await manualInstallation());
    expect((await run('admin', 'add-group', 'G1', 'team', '--max-keys', '4', '--cryptoperiod', '30d')).code).toBe(0);
  });

  test('a cryptoperiod over 100 years is a usage error, and the listings keep working', async () => {
    for (const argv of [
      ['admin', 'add-group', 'G2', 'big', '--max-keys', '2', '--cryptoperiod', '100000000d'],
      ['admin', 'add-key', 'G1', 'k', '--cryptoperiod', '36526d'],
      ['admin', 'set-cryptoperiod', 'G1', '100000000d'],
    ]) {
      const r = await run(...argv);
      expect(r.code, argv.join(' ')).toBe(2);
      expect(r.err).toContain('at most 100 years (36525d)');
    }
    const keys = await run('admin', 'groups');
    expect(keys.code).toBe(0);
    expect(keys.out).not.toContain('G2');
  });

  test('dates that are not on the calendar are refused, and do not move the clock', async () => {
    const before = JSON.parse(readFileSync(join(home, 'installation.json'), 'utf8')) as { lastTime: number };
    for (const at of ['2026-02-30', '2026-04-31T10:00Z', '2026-01-06T24:00Z']) {
      const r = await run('admin', 'add-user', 'U9', 'x', '--at', at);
      expect(r.code, at).toBe(2);
      expect(r.err).toContain('real ISO 8601 date');
    }
    const after = JSON.parse(readFileSync(join(home, 'installation.json'), 'utf8')) as { lastTime: number };
    expect(after.lastTime).toBe(before.lastTime);
  });

  test('names with line breaks and terminal escapes are printed escaped, in lines and tables', async () => {
    const added = await run('admin', 'add-user', 'U5', 'eve\u001b[2J\nU6  mallory');
    expect(added.out).toContain("added user U5 'eve\\u{1b}[2J\\nU6  mallory'");
    const users = await run('admin', 'users');
    expect(users.out).toMatch(/^U5 +eve\\u\{1b\}\[2J\\nU6 {2}mallory +- +-$/m);
    expect(users.out.split('\n')).toHaveLength(2);
  });

  test('an input file that is missing or a folder: CannotRead, before any HSM is opened', async () => {
    const missing = await run('user', 'U1', 'decrypt', 'no-such.skm', 'out.txt');
    expect([missing.code, missing.err]).toEqual([
      1,
      'sekey user U1 decrypt: CannotRead: no-such.skm: no such file\n' +
        '  what to do: Check the path (relative to the working directory), or give - for standard input.',
    ]);
    const folder = await run('user', 'U1', 'check-update', tempDir());
    expect(folder.code).toBe(1);
    expect(folder.err).toMatch(/: CannotRead: .*: a folder, not a file\n {2}what to do: /);
  });

  const KEEP_REMEDY = '  what to do: Give a new or empty folder DIR, with nothing at DIR-factory beside it.';

  test('demo --keep on a folder that is not empty: a coded refusal, no stack', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'x'), 'x');
    const r = await sekey(['demo', '--keep', dir]);
    expect(r.code).toBe(1);
    expect(r.err).toBe(`sekey demo: NotEmpty: --keep ${dir}: the directory is not empty\n${KEEP_REMEDY}`);
    expect(readdirSync(dir)).toEqual(['x']);
    // A folder whose factory's place beside it is taken: refused before the folder is made.
    const taken = join(tempDir(), 'kept');
    writeFileSync(`${taken}-factory`, 'x');
    const factoryTaken = await sekey(['demo', '--keep', taken]);
    expect(factoryTaken.code).toBe(1);
    expect(factoryTaken.err.split('\n')[0]).toBe(
      `sekey demo: NotEmpty: --keep ${taken}: ${taken}-factory, where its factory goes, is taken`,
    );
    expect(existsSync(taken)).toBe(false);
    // A file given as the folder: the same refusal, not mkdir's EEXIST.
    const file = join(dir, 'x');
    const onFile = await sekey(['demo', '--keep', file]);
    expect(onFile.code).toBe(1);
    expect(onFile.err).toBe(`sekey demo: NotEmpty: --keep ${file}: a file is there, not a folder\n${KEEP_REMEDY}`);
  });

  test("factory init --dir on a file, or under one: the file named, not mkdir's EEXIST or ENOTDIR", async () => {
    const file = join(tempDir(), 'x');
    writeFileSync(file, 'x');
    const onFile = await sekey(['factory', 'init', '--dir', file]);
    expect(onFile.code).toBe(1);
    expect(onFile.err).toBe(`sekey factory init: ENOTDIR: ${file} is a file, not a folder`);
    const under = await sekey(['factory', 'init', '--dir', join(file, 'factory')]);
    expect(under.code).toBe(1);
    expect(under.err).toBe(
      `sekey factory init: ENOTDIR: ${file} is a file, not a folder (on the way to ${join(file, 'factory')})`,
    );
    expect(readFileSync(file, 'utf8')).toBe('x');
  });

  test('spec and errors outside a clone: a coded refusal naming what to do, no stack', async () => {
    const outside = tempDir();
    for (const command of ['spec', 'errors']) {
      const r = await sekey([command], { cwd: outside });
      expect(r.code, command).toBe(1);
      expect(r.err).toMatch(new RegExp(`^sekey ${command}: NotInRepository: .*root of an SEkey-TS clone`));
      // The error and what to do, and no stack.
      expect(r.err.split('\n')).toHaveLength(2);
      expect(r.err.split('\n')[1]).toMatch(/^ {2}what to do: Run them at the root of the clone/);
    }
    // --check writes nothing, and is not said to: it compares the clone's docs/ (it said 'writes its docs/').
    const check = await sekey(['spec', '--check'], { cwd: outside });
    expect(check.code).toBe(1);
    expect(check.err.split('\n')[0]).toBe(
      `sekey spec: NotInRepository: ${outside} is not the root of an SEkey-TS clone: \`sekey spec --check\` compares ` +
        'its docs/ (or give --out FILE)',
    );
    // spec with --out writes anywhere.
    const out = join(outside, 'spec.md');
    expect((await sekey(['spec', '--out', out], { cwd: outside })).code).toBe(0);
    expect(existsSync(out)).toBe(true);
    // Not to a folder, nor under a file: a coded refusal in words, not the file system's EISDIR or EEXIST.
    for (const [target, why] of [
      [outside, 'it is a folder'],
      [join(out, 'spec.md'), `${out} is a file, not a folder`],
    ] as const) {
      const r = await sekey(['spec', '--out', target], { cwd: outside });
      expect(r.code, target).toBe(1);
      expect(r.err, target).toMatch(new RegExp(`^sekey spec: CannotWrite: cannot write .*: ${why}`));
    }
  });
});

describe('--at on an installation that follows the system clock', () => {
  test('is refused with a hint, and nothing moves; init refuses --at with --clock system', async () => {
    const home = join(tempDir(), 'home');
    const factory = join(tempDir(), 'factory');
    const now = Date.UTC(2026, 5, 1);
    const world = {
      env: { SEKEY_HOME: home, SEKEY_FACTORY: factory, SEKEY_ADMIN_PIN: ADMIN_PIN },
      cwd: tempDir(),
      clock: { now: () => now },
    };
    expect((await sekey(['factory', 'init'], world)).code).toBe(0);
    const both = await sekey(
      ['admin', 'init', '--admin-pin', ADMIN_PIN, '--user-pin', USER_PIN, '--clock', 'system', '--at', '+1d'],
      world,
    );
    expect(both.code).toBe(2);
    expect((await sekey(['admin', 'init', '--admin-pin', ADMIN_PIN, '--user-pin', USER_PIN], world)).code).toBe(0);
    const ahead = await sekey(['admin', 'add-user', 'U1', 'alice', '--at', '+1d'], world);
    expect(ahead.code).toBe(1);
    expect(ahead.err).toContain('SystemClock: --at is for installations with a manual clock');
    // The clock did not move: the next command at the real time runs.
    const users = await sekey(['admin', 'add-user', 'U1', 'alice'], world);
    expect(users.code).toBe(0);
    const config = JSON.parse(readFileSync(join(home, 'installation.json'), 'utf8')) as { lastTime: number };
    expect(config.lastTime).toBe(now);
  });
});

describe('users and their devices over time', () => {
  let run: (...argv: string[]) => Promise<Run>;
  let home: string;

  beforeAll(async () => {
    ({ run, home } = await manualInstallation());
    await provisionedUsers(run, [['U1', 'alice']]);
    expect((await run('admin', 'publish')).code).toBe(0);
  });

  test('a lost acknowledgement is sent again by the next sync', async () => {
    expect((await run('user', 'U1', 'sync')).code).toBe(0);
    const acks = join(home, 'share', ackStream('U1'));
    const sent = readdirSync(acks);
    expect(sent).toHaveLength(1);
    for (const name of sent) rmSync(join(acks, name));
    const again = await run('user', 'U1', 'sync');
    expect(again.code).toBe(0);
    expect(readdirSync(acks)).toEqual(sent);
    expect((await run('admin', 'collect-acks')).out).toBe('acknowledged: U1 #1');
    expect((await run('admin', 'status')).out).toMatch(/U1 +acknowledged/);
  });

  test('a deleted user added again needs a new HSM: its retired one is not shown as its own', async () => {
    expect((await run('admin', 'delete-user', 'U1', '--yes')).code).toBe(0);
    expect((await run('admin', 'add-user', 'U1', 'alice again')).code).toBe(0);
    const users = await run('admin', 'users');
    expect(users.out).toMatch(/U1 +alice again +- +needs a new HSM \(\w+ retired\)/);
    const info = await run('admin', 'user-info', 'U1');
    expect(info.out).toMatch(/HSM: +needs a new HSM/);
    expect(info.out).toMatch(/updates: +-/);
    const asJson = JSON.parse((await run('admin', 'user-info', 'U1', '--json')).out) as Record<string, unknown>;
    expect(asJson).toMatchObject({ serial: null, needsDevice: true, publication: null });
    expect((await run('admin', 'status')).out).toMatch(/U1 +pending, HSM retired/);
    // The retired HSM applies its last file (which empties its replica): its status says so, not "U1 ''",
    // nor "not synced yet" once it applied updates.
    await run('user', 'U1', 'sync');
    expect((await run('user', 'U1', 'status')).out).toMatch(
      /^U1 \(not in this replica: deleted by the administrator: this HSM is retired\) on HSM /,
    );
  });
});
