/**
 * Whether one folder lies inside another, for the checks that keep secrets off the share and out of
 * the home: judged on real paths (a link into a folder is inside it, also a link whose target is not
 * made yet: init makes it; a path not made yet is judged by its nearest existing parent) and by
 * whole path components (a folder named `..factory` inside the home is inside it, though its
 * relative path starts with '..').
 * @module
 */
import { existsSync, lstatSync, readlinkSync, realpathSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';

/** Links followed at most, as the kernel does (ELOOP beyond): a cycle of links ends here. */
const MAX_LINKS = 40;

/** The target of `path` if it is a link (dangling ones included), else null. */
function linkTarget(path: string): string | null {
  try {
    return lstatSync(path).isSymbolicLink() ? resolve(dirname(path), readlinkSync(path)) : null;
  } catch {
    return null;
  }
}

/**
 * `path` with every link resolved, as far as it exists; links to what does not exist yet followed
 * too. The parent is resolved first, so that a relative link target is read from the folder the
 * link really lies in, as the kernel reads it (the parent may be reached through a link itself).
 */
export function realPath(path: string, links = 0): string {
  const absolute = resolve(path);
  if (existsSync(absolute)) return realpathSync(absolute);
  const parent = dirname(absolute);
  if (parent === absolute) return absolute;
  const here = join(realPath(parent, links), basename(absolute));
  const target = links < MAX_LINKS ? linkTarget(here) : null;
  return target === null ? here : realPath(target, links + 1);
}

/** Whether `path` is `folder` or lies inside it. */
export function pathInside(path: string, folder: string): boolean {
  const rel = relative(realPath(folder), realPath(path));
  return !(rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel));
}
