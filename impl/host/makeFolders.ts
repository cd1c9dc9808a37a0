/**
 * `mkdir -p` without Node's recursive mode. `mkdirSync(path, { recursive: true })` loops forever,
 * synchronously (100 % CPU, deaf to Ctrl-C and SIGTERM, whose handlers cannot run), when a folder on
 * the path exists but says ENOENT for a child it cannot hold: a path under `/proc` (seen on Node
 * 20.20: `sekey simulate --out /proc/x` never returned), and, as reported elsewhere, a stale mount.
 * Node takes ENOENT as "the parent is missing", makes the parent (EEXIST: fine) and tries again
 * (https://github.com/nodejs/node/issues/27198 for an earlier form of the loop). Here each missing
 * folder is made once, from the nearest one that exists down, so the file system's own error is
 * thrown instead.
 * @module
 */
import { lstatSync, mkdirSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

/** Whether anything is at `path` (a dangling link included: it is there, and cannot hold folders). */
function present(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Makes the folder `path` and every missing folder above it (with `mode`, if given), as
 * `mkdirSync(path, { recursive: true, mode })` does, and returns the first folder this call made
 * (absolute: `path` is resolved first, `..` by its text as `path.resolve` does), or undefined when
 * it made none (a folder already, or made by another process meanwhile).
 * @throws the file system's error (ENOENT, ENOTDIR, EEXIST for a file at `path`, EACCES…) where
 *   Node's recursive mode would hang or throw.
 */
export function makeFolders(path: string, mode?: number): string | undefined {
  const absolute = resolve(path);
  const missing: string[] = [];
  for (let at = absolute; !present(at); at = dirname(at)) {
    missing.unshift(at);
    if (dirname(at) === at) break;
  }
  if (missing.length === 0) {
    // A folder (or a link to one) is done; anything else is refused as mkdir refuses it (EEXIST).
    if (statSync(absolute).isDirectory()) return undefined;
    mkdirSync(absolute);
  }
  let first: string | undefined;
  for (const folder of missing) {
    try {
      mkdirSync(folder, mode === undefined ? undefined : { mode });
      first ??= folder;
    } catch (error) {
      // Made by another process meanwhile: as good as made here, but not this call's to report.
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || !statSync(folder).isDirectory()) throw error;
    }
  }
  return first;
}
