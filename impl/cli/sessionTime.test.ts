/**
 * The session's time is recorded before anything the device makes durable mid-session: a command
 * killed after a commit must not leave the database stamped later than `installation.json`'s last
 * recorded time, or the next session could run at an earlier time than a committed change.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, test } from 'vitest';
import { Installation } from '../host/installation.ts';
import { readInstallationConfig, writeInstallationConfig } from '../host/installationConfig.ts';
import type { CliIo } from './cliIo.ts';
import { main } from './sekeyCommand.ts';

const scratch = mkdtempSync(join(tmpdir(), 'sekey-time-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** An io in the scratch folder with `env`, keeping what is said on standard error. */
function recordingIo(env: Record<string, string>): { io: CliIo; errors: string[] } {
  const errors: string[] = [];
  return { io: { out: () => undefined, err: (l) => void errors.push(l), env, cwd: scratch }, errors };
}

test('a commit inside a session records the session time first', async () => {
  const home = join(scratch, 'home');
  const factory = join(scratch, 'factory');
  const env = { SEKEY_HOME: home, SEKEY_FACTORY: factory };
  const io: CliIo = { out: () => undefined, err: () => undefined, env, cwd: scratch };
  expect(await main(['factory', 'init', '--dir', factory], io)).toBe(0);
  expect(
    await main(
      ['admin', 'init', '--admin-pin', 'admin-pin-1', '--user-pin', 'user-pin-1', '--at', '2026-01-05T09:00Z'],
      io,
    ),
  ).toBe(0);
  const before = readInstallationConfig(home).lastTime;
  const later = before + 86_400_000;
  const installation = new Installation(home, { at: { kind: 'absolute', ms: later } });
  await installation.withAdmin('admin-pin-1', async ({ admin }) => {
    admin.addUser('U1', 'alice');
    // Still inside the session: were the process killed now, the commit stamped `later` is on disk,
    // and so must be the time.
    expect(readInstallationConfig(home).lastTime).toBe(later);
  });
  expect(readInstallationConfig(home).lastTime).toBe(later);
});

test('a refused command leaves the clock; one that ran, or committed before it failed, moves it', async () => {
  const home = join(scratch, 'refused');
  const factory = join(scratch, 'refused-factory');
  const { io, errors } = recordingIo({ SEKEY_HOME: home, SEKEY_FACTORY: factory });
  const run = (...argv: string[]) => main(argv, io);
  expect(await run('factory', 'init', '--dir', factory)).toBe(0);
  expect(
    await run('admin', 'init', '--admin-pin', 'admin-pin-1', '--user-pin', 'user-pin-1', '--at', '2026-01-05'),
  ).toBe(0);
  const start = readInstallationConfig(home).lastTime;
  const day = 86_400_000;
  // A wrong PIN spends a try (made durable at once), but stamps nothing: the clock stays.
  expect(await run('admin', 'keys', '--at', '+30d', '--pin', 'wrong-pin')).toBe(1);
  expect(errors.at(-2)).toMatch(/WrongPin/);
  expect(errors.at(-1)).toMatch(/^ {2}what to do: Check the admin PIN/);
  expect(readInstallationConfig(home).lastTime).toBe(start);
  // So an earlier time than the refused command's is still open.
  expect(await run('admin', 'users', '--at', '+1d', '--pin', 'admin-pin-1')).toBe(0);
  expect(readInstallationConfig(home).lastTime).toBe(start + day);
  // A refusal before any commit (nothing expired, so the sweep committed nothing) leaves it too.
  expect(await run('admin', 'add-user', 'U1', 'alice', '--at', '+1d', '--pin', 'admin-pin-1')).toBe(0);
  expect(await run('admin', 'add-user', 'U1', 'again', '--at', '+1d', '--pin', 'admin-pin-1')).toBe(1);
  expect(errors.at(-2)).toMatch(/DuplicateUser/);
  expect(readInstallationConfig(home).lastTime).toBe(start + 2 * day);
  // A session that committed (stamped with its time) and then failed moves it to that time.
  const installation = new Installation(home, { at: { kind: 'absolute', ms: start + 9 * day } });
  await expect(
    installation.withAdmin('admin-pin-1', async ({ admin }) => {
      admin.addUser('U2', 'bob');
      throw new Error('failed after a commit');
    }),
  ).rejects.toThrow('failed after a commit');
  expect(readInstallationConfig(home).lastTime).toBe(start + 9 * day);
});

test('admin init --at before the epoch is a usage error and writes no installation', async () => {
  const home = join(scratch, 'before-epoch');
  const factory = join(scratch, 'before-epoch-factory');
  const { io, errors } = recordingIo({ SEKEY_FACTORY: factory });
  expect(await main(['factory', 'init', '--dir', factory], io)).toBe(0);
  // It wrote an installation whose last time was negative, which no command could open afterwards.
  const init = ['admin', 'init', '--home', home, '--admin-pin', 'admin-pin-1', '--user-pin', 'user-pin-1'];
  expect(await main([...init, '--at', '1969-12-31'], io)).toBe(2);
  expect(errors.join('\n')).toContain('--at must be a real ISO 8601 date or time from 1970 to 9999');
  expect(existsSync(home)).toBe(false);
  expect(await main([...init, '--at', '1970-01-01'], io)).toBe(0);
  expect(readInstallationConfig(home).lastTime).toBe(0);
  expect(await main(['admin', 'users', '--home', home, '--pin', 'admin-pin-1'], io)).toBe(0);
});

test('a relative --at never lands after the year 9999; the clock stays', async () => {
  const home = join(scratch, 'far');
  const factory = join(scratch, 'far-factory');
  const { io, errors } = recordingIo({ SEKEY_HOME: home, SEKEY_FACTORY: factory });
  const run = (...argv: string[]) => main(argv, io);
  expect(await run('factory', 'init', '--dir', factory)).toBe(0);
  const pins = ['--admin-pin', 'admin-pin-1', '--user-pin', 'user-pin-1'];
  expect(await run('admin', 'init', ...pins, '--at', '9999-12-01')).toBe(0);
  const start = readInstallationConfig(home).lastTime;
  expect(await run('admin', 'users', '--at', '+31d', '--pin', 'admin-pin-1')).toBe(1);
  expect(errors.at(-2)).toBe(
    'sekey admin users: TimeOutOfRange: --at names 9999-12-01T00:00:00.000Z + 31 days, after the end of the year 9999',
  );
  expect(readInstallationConfig(home).lastTime).toBe(start);
  // The last millisecond of the year is still a time.
  expect(await run('admin', 'users', '--at', `+${30 * 86_400_000 + 86_399_999}ms`, '--pin', 'admin-pin-1')).toBe(0);
  expect(readInstallationConfig(home).lastTime).toBe(Date.UTC(9999, 11, 31, 23, 59, 59, 999));
});

// From a CLI review: time only went forward as far as installation.json's lastTime, a file anyone can
// edit or restore from an old backup; set back, the admin stamped audit entries before recorded ones.
test('a session before the last audited operation is refused, whatever installation.json says', async () => {
  const home = join(scratch, 'backdated');
  const factory = join(scratch, 'backdated-factory');
  const { io, errors } = recordingIo({ SEKEY_HOME: home, SEKEY_FACTORY: factory });
  const run = (...argv: string[]) => main(argv, io);
  expect(await run('factory', 'init', '--dir', factory)).toBe(0);
  const pins = ['--admin-pin', 'admin-pin-1', '--user-pin', 'user-pin-1'];
  expect(await run('admin', 'init', ...pins, '--at', '2026-03-01T09:00Z')).toBe(0);
  expect(await run('admin', 'add-user', 'U1', 'alice', '--pin', 'admin-pin-1', '--no-publish')).toBe(0);
  const config = readInstallationConfig(home);
  writeInstallationConfig(home, { ...config, lastTime: 1 });
  expect(await run('admin', 'add-user', 'U2', 'bob', '--pin', 'admin-pin-1', '--no-publish')).toBe(1);
  expect(errors.at(-2)).toBe(
    "sekey admin add-user: ClockWentBack: this session's time 1970-01-01T00:00:00.001Z is before the last audited " +
      'operation (in the admin database), 2026-03-01T09:00:00.000Z: time only moves forward; if installation.json ' +
      'was restored or edited, its lastTime is behind: fix the clock, or on a manual clock give --at after that time',
  );
  // Nothing was done; at the right time the command runs.
  expect(
    await run('admin', 'add-user', 'U2', 'bob', '--pin', 'admin-pin-1', '--no-publish', '--at', '2026-03-02'),
  ).toBe(0);
  const audit = new Installation(home).withAdmin('admin-pin-1', async ({ admin }) =>
    admin.auditLog().map((e) => [e.action, new Date(e.at).toISOString()]),
  );
  expect((await audit).filter(([action]) => action === 'addUser')).toEqual([
    ['addUser', '2026-03-01T09:00:00.000Z'],
    ['addUser', '2026-03-02T00:00:00.000Z'],
  ]);
  // A user's HSM holds its own record of time: the last update it applied. Set back, a user session
  // is refused too (it would take that update's heartbeat for one dated ahead of its clock).
  const provision = ['--user-pin', 'user-pin-1', '--device-admin-pin', 'dev-admin-pin-1', '--pin', 'admin-pin-1'];
  expect(await run('admin', 'provision', 'U1', ...provision, '--yes')).toBe(0);
  expect(await run('user', 'U1', 'sync', '--pin', 'user-pin-1', '--at', '2026-03-03')).toBe(0);
  writeInstallationConfig(home, { ...readInstallationConfig(home), lastTime: Date.UTC(2026, 2, 2) });
  expect(await run('user', 'U1', 'status', '--pin', 'user-pin-1')).toBe(1);
  expect(errors.at(-2)).toContain(
    "sekey user U1 status: ClockWentBack: this session's time 2026-03-02T00:00:00.000Z is before the last update " +
      "U1's HSM applied (in its database), 2026-03-03T00:00:00.000Z",
  );
});
