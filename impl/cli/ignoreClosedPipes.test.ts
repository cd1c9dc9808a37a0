import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { transformWithOxc } from 'vite';
import { transpileForChild } from './childProcess.testkit.ts';

const scratch = mkdtempSync(join(tmpdir(), 'sekey-pipe-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/**
 * A child that prints a line, lets its reader go, prints on, then finishes with exit code 7 (its
 * "work"), with or without `ignoreClosedPipes`; the parent closes the pipe after the first output.
 */
async function childWhoseReaderLeaves(ignore: boolean): Promise<{ status: number | null; stderr: string }> {
  const source = join(import.meta.dirname, 'ignoreClosedPipes.ts');
  const { code } = await transformWithOxc(readFileSync(source, 'utf8'), source, { target: 'es2022' });
  writeFileSync(join(scratch, 'ignoreClosedPipes.mjs'), code);
  const script = join(scratch, `child-${ignore}.mjs`);
  writeFileSync(
    script,
    `import { ignoreClosedPipes } from './ignoreClosedPipes.mjs';
${ignore ? 'ignoreClosedPipes(process.stdout, process.stderr);' : ''}
process.stdout.write('first\\n');
await new Promise((resolve) => setTimeout(resolve, 300));
for (let i = 0; i < 1000; i++) {
  process.stdout.write('line ' + i + '\\n');
  await new Promise((resolve) => setImmediate(resolve));
}
process.exitCode = 7;
`,
  );
  const child = spawn(process.execPath, [script], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  child.stdout.once('data', () => child.stdout.destroy());
  const status = await new Promise<number | null>((resolve) => child.on('close', (s) => resolve(s)));
  return { status, stderr };
}

describe('output to a reader that left (`… | head -1`)', () => {
  test('is dropped: the command finishes with its own exit code, no stack trace', async () => {
    expect(await childWhoseReaderLeaves(true)).toEqual({ status: 7, stderr: '' });
  }, 30_000);

  test('without it, the first write after the reader left kills the process mid-work (EPIPE)', async () => {
    const { status, stderr } = await childWhoseReaderLeaves(false);
    expect(status).toBe(1);
    expect(stderr).toMatch(/EPIPE/);
  }, 30_000);
});

describe('output that fails otherwise (a full disk)', () => {
  test.skipIf(!existsSync('/dev/full'))(
    'is dropped too, the work finishes, and the failure is kept for sekey to report',
    async () => {
      const source = join(import.meta.dirname, 'ignoreClosedPipes.ts');
      const { code } = await transformWithOxc(readFileSync(source, 'utf8'), source, { target: 'es2022' });
      writeFileSync(join(scratch, 'ignoreClosedPipes.mjs'), code);
      const script = join(scratch, 'child-full.mjs');
      writeFileSync(
        script,
        `import { ignoreClosedPipes, outputFailure } from './ignoreClosedPipes.mjs';
ignoreClosedPipes(process.stdout);
for (let i = 0; i < 100; i++) {
  process.stdout.write('line ' + i + '\\n');
  await new Promise((resolve) => setImmediate(resolve));
}
process.stderr.write('failure: ' + outputFailure()?.code + '\\n');
process.exitCode = 7;
`,
      );
      const full = openSync('/dev/full', 'w');
      try {
        const child = spawn(process.execPath, [script], { stdio: ['ignore', full, 'pipe'] });
        let stderr = '';
        child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
          stderr += chunk;
        });
        const status = await new Promise<number | null>((resolve) => child.on('close', (s) => resolve(s)));
        expect({ status, stderr }).toEqual({ status: 7, stderr: 'failure: ENOSPC\n' });
      } finally {
        closeSync(full);
      }
    },
    30_000,
  );
});

test.skipIf(!existsSync('/dev/full'))(
  'sekey whose output fails: says so on standard error, exit 4 where it would be 0; a refusal keeps its code',
  { timeout: 120_000 },
  async () => {
    const built = await transpileForChild(join(scratch, 'sekey'));
    const full = openSync('/dev/full', 'w');
    try {
      for (const [argv, exit] of [
        [['--version'], 4],
        [['frob', '--json'], 2],
      ] as const) {
        const child = spawn(process.execPath, [join(built, 'impl/cli/sekey.js'), ...argv], {
          stdio: ['ignore', full, 'pipe'],
        });
        let stderr = '';
        child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
          stderr += chunk;
        });
        const status = await new Promise<number | null>((resolve) => child.on('close', (s) => resolve(s)));
        expect(status, argv.join(' ')).toBe(exit);
        expect(stderr).toContain('sekey: its output could not all be written (ENOSPC): what it printed is incomplete');
        expect(stderr).not.toContain('    at ');
      }
    } finally {
      closeSync(full);
    }
  },
);
