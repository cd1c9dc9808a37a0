/**
 * TEST KIT: runs the project's TypeScript in a child `node` process. Node 20 cannot strip types, so
 * the sources are transpiled once (vite's `transformWithOxc`, what vitest itself runs the sources
 * through; no type check: `tsc` checks them anyway) into a scratch directory that mirrors the tree
 * and links `node_modules`. Not TypeScript's `transpileModule`: the native `tsc` (TypeScript 7) has
 * no JavaScript API.
 * @module
 */
import { spawn, spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { transformWithOxc } from 'vite';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** What the CLI's children need. */
export const SOURCE_DIRS: readonly string[] = ['model', 'device', 'impl', 'testing'];

function* sources(dir: string): Generator<string> {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* sources(path);
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts') && !entry.name.endsWith('.d.ts'))
      yield path;
  }
}

/** Transpiles model/, device/, impl/ and testing/ (or `dirs`) into `outDir`; returns `outDir`. */
export async function transpileForChild(outDir: string, dirs: readonly string[] = SOURCE_DIRS): Promise<string> {
  for (const top of dirs) {
    for (const file of sources(join(ROOT, top))) {
      const out = join(outDir, relative(ROOT, file)).replace(/\.ts$/, '.js');
      mkdirSync(dirname(out), { recursive: true });
      // What `tsc` emits for this tsconfig (ES2022, `rewriteRelativeImportExtensions`): types
      // erased, `./x.ts` imported as `./x.js`, dynamic imports included.
      const { code } = await transformWithOxc(readFileSync(file, 'utf8'), file, {
        target: 'es2022',
        typescript: { rewriteImportExtensions: 'rewrite' },
      });
      writeFileSync(out, code);
    }
  }
  writeFileSync(join(outDir, 'package.json'), JSON.stringify({ type: 'module' }));
  symlinkSync(realpathSync(join(ROOT, 'node_modules')), join(outDir, 'node_modules'), 'dir');
  return outDir;
}

/** What a child run did. */
export interface ChildRun {
  readonly status: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `outDir/<script>` (a path under the tree, `.js`) with `args` and `env` (added to a bare PATH). */
export function runChild(
  outDir: string,
  script: string,
  args: readonly string[],
  env: Record<string, string>,
): ChildRun {
  const result = spawnSync(process.execPath, [join(outDir, script), ...args], {
    env: { PATH: process.env['PATH'] ?? '', ...env },
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { status: result.status, signal: result.signal, stdout: result.stdout, stderr: result.stderr };
}

/**
 * Runs `outDir/<script>` like {@link runChild}, in a child that pauses at point `pauseAt` of the
 * kill switch (`killSwitch.testkit.ts`); while it is paused, sends it `signal` from here (a real
 * signal, delivered by the kernel), then lets it go on. What the child did after the signal is
 * therefore fixed: the signal arrived exactly at that point. `paused` is the point's name, or null
 * when the child never reached it (it then ran to its end undisturbed).
 */
export async function runPausedChild(
  outDir: string,
  script: string,
  args: readonly string[],
  env: Record<string, string>,
  pauseAt: number,
  signal: NodeJS.Signals,
): Promise<ChildRun & { readonly paused: string | null }> {
  const dir = mkdtempSync(join(tmpdir(), 'sekey-pause-'));
  const child = spawn(process.execPath, [join(outDir, script), ...args], {
    env: { PATH: process.env['PATH'] ?? '', ...env, SEKEY_TEST_PAUSE_AT: String(pauseAt), SEKEY_TEST_PAUSE_DIR: dir },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const ended = new Promise<{ status: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('close', (status, endSignal) => resolve({ status, signal: endSignal })),
  );
  let exited = false;
  void ended.then(() => {
    exited = true;
  });
  const pausedFile = join(dir, 'paused');
  while (!exited && !existsSync(pausedFile)) await new Promise((resolve) => setTimeout(resolve, 5));
  const paused = existsSync(pausedFile) ? readFileSync(pausedFile, 'utf8') : null;
  if (paused !== null) {
    child.kill(signal);
    writeFileSync(join(dir, 'resume'), '');
  }
  const end = await ended;
  rmSync(dir, { recursive: true, force: true });
  return { ...end, stdout, stderr, paused };
}
