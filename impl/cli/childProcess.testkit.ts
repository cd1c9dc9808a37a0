/**
 * TEST KIT: runs the project's TypeScript in a child `node` process. Node 20 cannot strip types, so
 * the sources are transpiled once (TypeScript's `transpileModule`, no type check: `tsc` checks them
 * anyway) into a scratch directory that mirrors the tree and links `node_modules`.
 * @module
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const SOURCE_DIRS = ['model', 'device', 'impl', 'testing'];

function* sources(dir: string): Generator<string> {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* sources(path);
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts') && !entry.name.endsWith('.d.ts'))
      yield path;
  }
}

/** Transpiles model/, device/, impl/ and testing/ into `outDir`; returns `outDir`. */
export function transpileForChild(outDir: string): string {
  const compilerOptions: ts.CompilerOptions = {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.ESNext,
    verbatimModuleSyntax: true,
    rewriteRelativeImportExtensions: true,
  };
  for (const top of SOURCE_DIRS) {
    for (const file of sources(join(ROOT, top))) {
      const out = join(outDir, relative(ROOT, file)).replace(/\.ts$/, '.js');
      mkdirSync(dirname(out), { recursive: true });
      writeFileSync(
        out,
        ts.transpileModule(readFileSync(file, 'utf8'), { compilerOptions, fileName: file }).outputText,
      );
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
