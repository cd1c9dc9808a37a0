/**
 * The last PIN try is not spent by a PIN that was not typed, also when two commands wait for the
 * same installation: the rule is checked under the session's lock, right before the PIN is tried.
 * Checked only before the lock (as it first was), both commands saw two tries left, and the second
 * one spent the last: two cron runs with a stale PIN locked the admin HSM for good.
 */
import { spawn } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { transpileForChild } from './childProcess.testkit.ts';
import { triesLeftOnDisk } from './pinCommands.ts';
import { manualInstallation, removeTempDirs, tempDir } from './sekeyRun.testkit.ts';

afterAll(removeTempDirs);

let sekey: string;

beforeAll(async () => {
  sekey = join(await transpileForChild(join(tempDir(), 'sekey')), 'impl/cli/sekey.js');
});

/** Runs the executable with `args` in `env`; resolves with its exit code and standard error. */
function child(args: readonly string[], env: Record<string, string>): Promise<{ code: number | null; err: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [sekey, ...args], { env: { PATH: process.env['PATH'] ?? '', ...env } });
    let err = '';
    p.stderr.on('data', (chunk: Buffer) => {
      err += chunk.toString('utf8');
    });
    p.on('error', reject);
    p.on('close', (code) => resolve({ code, err }));
  });
}

test('two commands with a stale PIN waiting for the same lock spend one try, not the last', async () => {
  const { home, env } = await manualInstallation();
  const stale = { ...env, SEKEY_ADMIN_PIN: 'stale-admin-pin' };
  expect((await child(['admin', 'users'], stale)).err).toContain('WrongPin');
  const adminDir = join(home, 'admin');
  expect(triesLeftOnDisk(adminDir, 'admin')).toBe(2);
  // Another process holds the installation (this one's ID: alive), so both commands check the
  // tries on disk (two left), then wait for the lock.
  const lock = join(home, '.lock');
  writeFileSync(lock, String(process.pid));
  const both = [child(['admin', 'users', '--wait', '60'], stale), child(['admin', 'users', '--wait', '60'], stale)];
  await new Promise((resolve) => setTimeout(resolve, 1500));
  rmSync(lock);
  const errors = (await Promise.all(both)).map((r) => {
    expect(r.code).toBe(1);
    return r.err;
  });
  expect(errors.filter((e) => e.includes('WrongPin: wrong admin PIN, 1 try left'))).toHaveLength(1);
  expect(errors.filter((e) => e.includes('LastPinTry: ONE admin PIN try left on the admin HSM'))).toHaveLength(1);
  expect(triesLeftOnDisk(adminDir, 'admin')).toBe(1);
});
