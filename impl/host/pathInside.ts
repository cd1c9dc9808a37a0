/**
 * Whether one folder lies inside another, for the checks that keep secrets off the share and out of
 * the home: judged on real paths (a link into a folder is inside it; a path not made yet is judged by
 * its nearest existing parent) and by whole path components (a folder named `..factory` inside the
 * home is inside it, though its relative path starts with '..').
 * @module
 */
import { existsSync, realpathSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';

/** `path` with every link resolved, as far as it exists. */
function realPath(path: string): string {
  const absolute = resolve(path);
  const parent = dirname(absolute);
  if (existsSync(absolute)) return realpathSync(absolute);
  return parent === absolute ? absolute : join(realPath(parent), basename(absolute));
}

/** Whether `path` is `folder` or lies inside it. */
export function pathInside(path: string, folder: string): boolean {
  const rel = relative(realPath(folder), realPath(path));
  return !(rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel));
}
