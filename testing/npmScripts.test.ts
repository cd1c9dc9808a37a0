/**
 * What the npm scripts promise about the program they build and run: a build that fails runs nothing
 * (exit 3), and a signal reaches the program.
 *
 * The npm scripts that build and then run a program (`npm start`, `npm run properties`, …) `exec`
 * it, so that a signal npm forwards reaches it. npm sends a SIGTERM it receives to the shell running
 * the script (`sh -c`), which dies of it without passing it on: a `node` it started went on as an
 * orphan (a killed `npm run properties` exited 143 while its runner ran on, its table never printed),
 * where the README says SIGTERM stops a run with its table and exit code 143, as it stops `sekey`.
 */
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from 'vitest';

const ROOT = join(import.meta.dirname, '..');
const SCRIPTS: Record<string, string> = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).scripts;
/** The scripts that build and then start a program of dist/: every one of them, by its text. */
const RUNNERS = Object.keys(SCRIPTS).filter((name) =>
  /npm run build --silent && (exec )?node dist\//.test(SCRIPTS[name] ?? ''),
);

/**
 * Runs `script` as npm does (`sh -c`), with stand-ins for `npm` (the build: done) and `node` (its
 * `-e` check: dist/ is fresh; otherwise a program that says its PID and waits for SIGTERM), sends
 * the shell SIGTERM once the program runs, and says whether the program heard it and how the script
 * ended. The program is killed afterwards either way.
 */
async function termOf(script: string): Promise<{ heard: boolean; status: number | null }> {
  const bin = mkdtempSync(join(tmpdir(), 'sekey-npm-scripts-'));
  const stub = (name: string, text: string) => {
    writeFileSync(join(bin, name), `#!/bin/sh\n${text}\n`);
    chmodSync(join(bin, name), 0o755);
  };
  stub('npm', 'exit 0');
  stub(
    'node',
    [
      '[ "$1" = -e ] && exit 0',
      "trap 'echo heard; exit 143' TERM",
      'echo "up $$"',
      'while :; do sleep 0.05; done',
    ].join('\n'),
  );
  const child = spawn('sh', ['-c', script], { env: { PATH: `${bin}:${process.env['PATH'] ?? ''}` } });
  let out = '';
  let pid = 0;
  const up = new Promise<void>((resolve) =>
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
      const m = /up (\d+)/.exec(out);
      if (m && pid === 0) {
        pid = Number(m[1]);
        resolve();
      }
    }),
  );
  // 'exit', not 'close': a program that outlived the shell holds its output open.
  const ended = new Promise<number | null>((resolve) => child.on('exit', (status) => resolve(status)));
  try {
    await up;
    child.kill('SIGTERM');
    const status = await ended;
    // The program's own output goes on after the shell is gone, if it outlived it: give it a moment.
    await new Promise((resolve) => setTimeout(resolve, 300));
    return { heard: out.includes('heard'), status };
  } finally {
    try {
      if (pid !== 0) process.kill(pid, 'SIGKILL');
    } catch {
      // It ended, as it should.
    }
    rmSync(bin, { recursive: true, force: true });
  }
}

test('the scripts that build and run a program are found', () => {
  expect(RUNNERS).toEqual(expect.arrayContaining(['start', 'sekey', 'properties', 'bench', 'mutation']));
});

test.skipIf(process.platform === 'win32').each(RUNNERS)(
  'npm run %s: a SIGTERM to the script reaches its program (exec), which ends with its own code',
  async (name) => {
    const { heard, status } = await termOf(SCRIPTS[name] as string);
    expect(heard, `${name}: ${SCRIPTS[name]}`).toBe(true);
    expect(status).toBe(143);
  },
  20_000,
);

test('a build that fails type-checking emits nothing (noEmitOnError), so dist/ stays stale', () => {
  // tsc emits despite type errors by default: the failed build's JavaScript then made dist/ fresh
  // for `npm run sekey` (distFreshness.ts), whose next call ran it, exit 0, where the README says a
  // failed build runs nothing and exits 3. Built here with the build's own options, in a scratch folder.
  const dir = mkdtempSync(join(tmpdir(), 'sekey-build-'));
  try {
    writeFileSync(join(dir, 'package.json'), '{"type":"module"}\n');
    writeFileSync(join(dir, 'good.ts'), 'export const a: number = 1;\n');
    writeFileSync(join(dir, 'broken.ts'), "export const b: number = 'not a number';\n");
    const config = {
      extends: join(ROOT, 'tsconfig.build.json'),
      compilerOptions: { outDir: 'out', rootDir: '.', types: [] },
      include: ['*.ts'],
      exclude: [],
    };
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify(config));
    const tsc = join(ROOT, 'node_modules', '.bin', 'tsc');
    const failed = spawnSync(tsc, ['-p', join(dir, 'tsconfig.json')], { encoding: 'utf8' });
    expect(failed.status, failed.stdout).not.toBe(0);
    expect(existsSync(join(dir, 'out', 'good.js')), 'a file of the failed build was emitted').toBe(false);
    // The build script itself, on this config: tsc prints its errors on standard output, which
    // `npm run -s properties -- --json > r.json` (or `sekey simulate --json`) promises holds JSON only.
    const script = (SCRIPTS['build'] as string).replace('tsconfig.build.json', join(dir, 'tsconfig.json'));
    const env = { ...process.env, PATH: `${join(ROOT, 'node_modules', '.bin')}:${process.env['PATH'] ?? ''}` };
    const viaScript = spawnSync('sh', ['-c', script], { encoding: 'utf8', cwd: ROOT, env });
    expect([viaScript.status, viaScript.stdout]).toEqual([3, '']);
    expect(viaScript.stderr).toContain('error TS2322');
    expect(viaScript.stderr).toContain('the TypeScript build failed (its errors are above): nothing ran');
    rmSync(join(dir, 'broken.ts'));
    const built = spawnSync(tsc, ['-p', join(dir, 'tsconfig.json')], { encoding: 'utf8' });
    expect(built.status, built.stdout).toBe(0);
    expect(existsSync(join(dir, 'out', 'good.js')), 'the build, once it type-checks').toBe(true);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, 60_000);
