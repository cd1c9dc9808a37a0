/**
 * The README's persistent-installation block runs as written: pasted into a shell, in a fresh
 * folder, with `sekey` on the PATH as `npm link` puts it there (here a shim running the same
 * executable, transpiled from the sources; the test does not touch the global npm prefix).
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, expect, test } from 'vitest';
import { transpileForChild } from './childProcess.testkit.ts';
import { removeTempDirs, tempDir } from './sekeyRun.testkit.ts';

afterAll(removeTempDirs);

/** The first `sh` block after `heading` in the README. */
function readmeBlock(heading: string): string {
  const readme = readFileSync(join(import.meta.dirname, '..', '..', 'README.md'), 'utf8');
  const block = /```sh\n([\s\S]*?)```/.exec(readme.slice(readme.indexOf(heading)))?.[1];
  if (block === undefined) throw new Error(`no sh block after ${heading}`);
  return block;
}

test('the persistent-installation block of the README runs as written, in a fresh folder', {
  timeout: 600_000,
}, async () => {
  const block = readmeBlock('### A persistent installation');
  expect(block).toContain("echo 'meet at noon' > notes.txt");
  const home = tempDir();
  const bin = join(tempDir(), 'bin');
  mkdirSync(bin);
  const built = await transpileForChild(join(tempDir(), 'sekey'));
  // What `npm link` installs: an executable named after package.json's bin, running the CLI.
  const shim = join(bin, 'sekey');
  writeFileSync(shim, `#!/bin/sh\nexec "${process.execPath}" "${join(built, 'impl/cli/sekey.js')}" "$@"\n`);
  chmodSync(shim, 0o755);
  const desk = join(home, 'desk');
  mkdirSync(desk);
  const run = spawnSync('sh', ['-e', '-c', block], {
    cwd: desk,
    env: { HOME: home, PATH: `${bin}:${process.env['PATH'] ?? ''}` },
    encoding: 'utf8',
    timeout: 540_000,
  });
  expect(run.stderr).toBe('');
  expect(run.status).toBe(0);
  expect(readFileSync(join(desk, 'notes-copy.txt'), 'utf8')).toBe('meet at noon\n');
  expect(run.stdout).toMatch(/^K2000: new key of G1 'team-2026'/m);
  expect(run.stdout).toMatch(/audit log: \d+ entries, hash chain intact/);
});
