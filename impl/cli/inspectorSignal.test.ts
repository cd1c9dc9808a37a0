import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { transformWithOxc } from 'vite';

const scratch = mkdtempSync(join(tmpdir(), 'sekey-usr1-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/**
 * A child that sends itself SIGUSR1, with or without `inspectorSignal.ts` imported first, and prints
 * the inspector's URL a moment later (`undefined` when no debugger opened). Port 0: a free one.
 */
async function inspectorAfterSignal(guarded: boolean): Promise<string> {
  const source = join(import.meta.dirname, 'inspectorSignal.ts');
  const { code } = await transformWithOxc(readFileSync(source, 'utf8'), source, { target: 'es2022' });
  writeFileSync(join(scratch, 'inspectorSignal.mjs'), code);
  const script = join(scratch, `child-${guarded}.mjs`);
  writeFileSync(
    script,
    `${guarded ? "import './inspectorSignal.mjs';" : ''}
import inspector from 'node:inspector';
process.kill(process.pid, 'SIGUSR1');
await new Promise((resolve) => setTimeout(resolve, 500));
process.stdout.write(String(inspector.url()));
inspector.close();
`,
  );
  const child = spawnSync(process.execPath, ['--inspect-port=0', script], { encoding: 'utf8', timeout: 60_000 });
  expect(child.status, child.stderr).toBe(0);
  return child.stdout;
}

describe.skipIf(process.platform === 'win32')('SIGUSR1 opens no debugger in sekey', () => {
  test('without the guard Node opens its inspector on SIGUSR1; with it, none opens', async () => {
    expect(await inspectorAfterSignal(false)).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\//);
    expect(await inspectorAfterSignal(true)).toBe('undefined');
  });

  test('sekey.ts imports the guard before anything else', () => {
    const sekey = readFileSync(join(import.meta.dirname, 'sekey.ts'), 'utf8');
    const imports = sekey.split('\n').filter((line) => line.startsWith('import '));
    expect(imports[0]).toBe("import './inspectorSignal.ts';");
  });
});
