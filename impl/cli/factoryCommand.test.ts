import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, expect, test } from 'vitest';
import { transpileForChild } from './childProcess.testkit.ts';
import { removeTempDirs, tempDir } from './sekeyRun.testkit.ts';

afterAll(removeTempDirs);

/** Runs the transpiled CLI in a child process, without waiting for it. */
function sekeyChild(built: string, args: readonly string[]): Promise<{ status: number | null; stdout: string }> {
  const child = spawn(process.execPath, [join(built, 'impl/cli/sekey.js'), ...args], {
    env: { PATH: process.env['PATH'] ?? '' },
  });
  let stdout = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
  });
  child.stderr.resume();
  return new Promise((resolve) => child.on('close', (status) => resolve({ status, stdout })));
}

test('factory init run by several processes at once: one creates the factory, the others are refused', {
  timeout: 120_000,
}, async () => {
  const built = await transpileForChild(join(tempDir(), 'sekey'));
  // Several rounds: the race (a check for the file, then a rename over it) needs the processes to
  // overlap, which they do not every time.
  for (let round = 0; round < 3; round++) {
    const dir = join(tempDir(), 'factory');
    const runs = await Promise.all(
      Array.from({ length: 4 }, () => sekeyChild(built, ['factory', 'init', '--dir', dir, '--json'])),
    );
    const made = runs.filter((r) => r.status === 0);
    expect(made).toHaveLength(1);
    for (const refused of runs.filter((r) => r.status !== 0)) {
      expect(refused.status).toBe(1);
      expect(JSON.parse(refused.stdout)).toMatchObject({ error: { code: 'AlreadyInitialized' } });
    }
    // The key the winner announced is the one the folder keeps.
    const announced = (JSON.parse(made[0]?.stdout ?? '{}') as { publicKey?: string }).publicKey;
    const kept = (JSON.parse(readFileSync(join(dir, 'manufacturer.json'), 'utf8')) as { publicKey: string }).publicKey;
    expect(announced).toBe(kept);
  }
});
