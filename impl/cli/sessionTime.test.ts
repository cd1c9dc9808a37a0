/**
 * The session's time is recorded before anything the device makes durable mid-session: a command
 * killed after a commit must not leave the database stamped later than `installation.json`'s last
 * recorded time, or the next session could run at an earlier time than a committed change.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, test } from 'vitest';
import { Installation } from '../host/installation.ts';
import { readInstallationConfig } from '../host/installationConfig.ts';
import type { CliIo } from './cliIo.ts';
import { main } from './sekeyCommand.ts';

const scratch = mkdtempSync(join(tmpdir(), 'sekey-time-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

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
