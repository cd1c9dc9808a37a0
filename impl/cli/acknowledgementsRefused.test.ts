import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, expect, test } from 'vitest';
import { manualInstallation, provisionedUsers, removeTempDirs } from './sekeyRun.testkit.ts';

afterAll(removeTempDirs);

test('a sync after one whose acknowledgements the share refused names that cause of the files it finds', async () => {
  const { home, run } = await manualInstallation();
  await provisionedUsers(run, [['U1', 'alice']]);
  const ok = async (...argv: string[]) => {
    const r = await run(...argv);
    expect(r.code, `${argv.join(' ')}: ${r.err}`).toBe(0);
    return r;
  };
  await ok('admin', 'publish');
  await ok('user', 'U1', 'sync');
  await ok('admin', 'collect-acks');
  // Two files wait; the share then refuses alice's acknowledgements (a full or read-only share; here
  // a file where her acknowledgements' folder should be).
  await ok('admin', 'rename-user', 'U1', 'alice two');
  await ok('admin', 'rename-user', 'U1', 'alice three');
  const acks = join(home, 'share', 'acks', 'U1');
  rmSync(acks, { recursive: true, force: true });
  mkdirSync(join(home, 'share', 'acks'), { recursive: true });
  writeFileSync(acks, 'where the folder should be');
  const refused = await run('user', 'U1', 'sync');
  expect(refused.code).toBe(4);
  expect(refused.out).toBe('applied #2, #3; now at update #3');
  expect(refused.err).toContain('ShareNotWritten');
  // What to do is the sync's own too: not the general remedy, which leads with the administrator's publish.
  const todo = refused.err.split('\n').find((line) => line.trim().startsWith('what to do:'));
  expect(todo).toMatch(/the next `?sync`? sends the acknowledgements again/);
  expect(todo).not.toContain('admin publish');
  rmSync(acks);
  // The share takes them again: #2 is still there, and no acknowledgement covers it. The warning named
  // only old files put back and a restored admin HSM, which sent the user to suspect the administrator.
  const next = await ok('user', 'U1', 'sync');
  expect(next.out).toBe('nothing new (at update #3)');
  expect(next.err).toContain('(000000000002.update): passed over, and #3');
  expect(next.err).toContain('An earlier sync whose acknowledgements the share refused (ShareNotWritten) leaves them');
  // And it was only that: the administrator collects #3, which covers both, and sees nothing amiss.
  const collected = await ok('admin', 'collect-acks');
  expect(collected.out).toContain('U1 #3');
  expect(collected.err).toBe('');
});
