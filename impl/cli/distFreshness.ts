/**
 * Whether `dist/` holds a build of the current sources, so that `npm run sekey` runs the built
 * command at once instead of compiling the tree on every call (even the native tsc of TypeScript 7
 * takes seconds, against a fraction of a second to run a command). Compares modification times,
 * as make(1) does: every source that `tsconfig.build.json` compiles must have its `.js` in `dist/`,
 * no older than the source and than the build's configuration. The `sekey` script of package.json
 * imports it from `dist/` and builds only when it finds something stale (or no `dist/` at all).
 * @module
 */
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

/** The folders `tsconfig.build.json` compiles (it leaves out tests and test kits). */
const BUILT = ['model', 'device', 'impl', 'bench'] as const;
/** Files whose change calls for a rebuild of everything. */
const CONFIGURATION = ['tsconfig.json', 'tsconfig.build.json', 'package.json'] as const;

function* builtSources(dir: string): Generator<string> {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* builtSources(path);
    else if (/(?<!\.test|\.testkit|\.d)\.ts$/.test(entry.name)) yield path;
  }
}

function mtime(path: string): number | null {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return null;
  }
}

/** The sources under `root` whose build in `root/dist` is missing or older (empty: dist is fresh). */
export function staleSources(root: string): string[] {
  const configured = Math.max(...CONFIGURATION.map((f) => mtime(join(root, f)) ?? 0));
  const stale: string[] = [];
  for (const top of BUILT) {
    for (const source of builtSources(join(root, top))) {
      const path = relative(root, source);
      const built = mtime(join(root, 'dist', path.replace(/\.ts$/, '.js')));
      if (built === null || built < Math.max(mtime(source) ?? 0, configured)) stale.push(path);
    }
  }
  return stale;
}
