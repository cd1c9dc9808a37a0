import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { transpileForChild } from './childProcess.testkit.ts';
import { removeTempDirs, tempDir } from './sekeyRun.testkit.ts';

afterAll(removeTempDirs);

describe('a command started in a folder deleted since', () => {
  let built: string;
  beforeAll(async () => {
    built = await transpileForChild(join(tempDir(), 'sekey'));
  }, 120_000);

  /** `sekey argv` in a child whose working folder is removed before the command starts. */
  function inDeletedFolder(...argv: string[]) {
    const gone = join(tempDir(), 'gone');
    mkdirSync(gone);
    const script = 'cd "$1" && rmdir "$1" && shift && exec "$@"';
    const command = [process.execPath, join(built, 'impl/cli/sekey.js'), ...argv];
    return spawnSync('/bin/sh', ['-c', script, 'sh', gone, ...command], {
      env: { PATH: process.env['PATH'] ?? '', SEKEY_ADMIN_PIN: 'not-used-1234' },
      encoding: 'utf8',
      timeout: 60_000,
    });
  }

  test.skipIf(process.platform === 'win32')('needs no working folder for --version or an absolute home', () => {
    const version = inDeletedFolder('--version');
    expect({ status: version.status, stderr: version.stderr }).toEqual({ status: 0, stderr: '' });
    // An absolute home that holds no installation: refused as such, not for the working folder.
    const absolute = inDeletedFolder('admin', 'status', '--home', join(tempDir(), 'no-home'), '--json');
    expect(absolute.status).toBe(1);
    expect(JSON.parse(absolute.stdout)).toMatchObject({ error: { code: 'NotInitialized' } });
  });

  test.skipIf(process.platform === 'win32')('needs none where every path is absolute: factory init, admin init', () => {
    const root = tempDir();
    const [factory, home, share] = ['factory', 'home', 'share'].map((name) => join(root, name)) as [
      string,
      string,
      string,
    ];
    const made = inDeletedFolder('factory', 'init', '--dir', factory);
    expect({ status: made.status, stderr: made.stderr }).toEqual({ status: 0, stderr: '' });
    const init = ['--home', home, '--factory', factory, '--share', share];
    const initialised = inDeletedFolder(
      'admin',
      'init',
      ...init,
      '--admin-pin',
      'admin-1234',
      '--user-pin',
      'user-1234',
    );
    expect({ status: initialised.status, stderr: initialised.stderr }).toEqual({ status: 0, stderr: '' });
  });

  test.skipIf(process.platform === 'win32')('refuses what needs it with NoWorkingFolder, no stack trace', () => {
    const run = inDeletedFolder('admin', 'status');
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/^sekey admin status: NoWorkingFolder: the folder this command was started in/m);
    expect(run.stderr).not.toMatch(/^\s+at /m);
    const json = inDeletedFolder('admin', 'status', '--json');
    expect(JSON.parse(json.stdout)).toMatchObject({ error: { code: 'NoWorkingFolder', exit: 1 } });
  });
});
