/**
 * `-` as IN reads standard input to its end however late the writer writes: the executable, in a
 * shell pipeline, on the demo's installation. `readFileSync(0)` failed here with EAGAIN (Node makes a
 * piped standard input non-blocking), so a pipe whose writer was slower than `sekey` lost the command.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { transpileForChild } from './childProcess.testkit.ts';
import { demoInstallation, removeTempDirs, tempDir } from './sekeyRun.testkit.ts';

afterAll(removeTempDirs);

let sekey: string;
let demo: Awaited<ReturnType<typeof demoInstallation>>;

beforeAll(async () => {
  const built = await transpileForChild(join(tempDir(), 'sekey'));
  sekey = `"${process.execPath}" "${join(built, 'impl/cli/sekey.js')}"`;
  demo = await demoInstallation();
});

/** Runs `script` in `sh` on the demo's desk, with its environment. */
function shell(script: string) {
  return spawnSync('sh', ['-c', script], {
    cwd: demo.desk,
    env: { ...process.env, ...demo.env },
    encoding: 'utf8',
  });
}

test('a writer that writes a second late: the whole input is encrypted, and decrypts to it', () => {
  const late = shell(`(sleep 1; cat plan.txt) | ${sekey} user U1 encrypt --to U2 - late.skm`);
  expect(late.status, late.stderr).toBe(0);
  const back = shell(`${sekey} user U2 decrypt late.skm -`);
  expect(back.status, back.stderr).toBe(0);
  expect(back.stdout).toBe(readFileSync(join(demo.home, 'desk', 'plan.txt'), 'utf8'));
});

test('one sekey piped into another, which waits for the installation the first one holds', () => {
  const piped = shell(`${sekey} user U1 encrypt --to U2 plan.txt - | ${sekey} user U2 decrypt --wait 30 - -`);
  expect(piped.status, piped.stderr).toBe(0);
  expect(piped.stdout).toBe(readFileSync(join(demo.home, 'desk', 'plan.txt'), 'utf8'));
});
