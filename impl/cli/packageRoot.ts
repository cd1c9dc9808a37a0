/**
 * The root of this package (the folder whose package.json is SEkey-TS's), found above this file,
 * whether it runs from the sources (`impl/cli/`) or from the build (`dist/impl/cli/`). The version
 * and the error catalogue's remedies are read from there.
 * @module
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package's root and its package.json, or null when no SEkey-TS package.json is above `from`. */
export function packageRoot(
  from: string = dirname(fileURLToPath(import.meta.url)),
): { readonly dir: string; readonly version: string } | null {
  for (let dir = from; ; dir = dirname(dir)) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: unknown; version?: unknown };
      if (pkg.name === 'sekey' && typeof pkg.version === 'string') return { dir, version: pkg.version };
    } catch {
      // not here: look higher up
    }
    if (dirname(dir) === dir) return null;
  }
}
