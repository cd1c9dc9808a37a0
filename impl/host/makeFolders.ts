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
function present(path: string, stat: (path: string) => unknown = lstatSync): boolean {
  try {
    stat(path);
    return true;
  } catch {
    return false;
  }
}

/** Whether `path` is a folder or a link to one (a dangling link is not). */
function isFolder(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/**
 * The error for a file (or a link to one, or to nothing) where a folder must be: the code mkdir(2)
 * gives for it on the way (ENOTDIR; ENOENT for a link to nothing), with a message that names it,
 * which Node's (`ENOTDIR: not a directory, mkdir '/a/file/b'`, or EEXIST for the file itself)
 * leaves the user to work out.
 */
/** The errors {@link notAFolder} made: their message names the path in the way. */
const named = new WeakSet<object>();

/**
 * The message of an error {@link makeFolders} threw about a file (or a link to nothing) in the way,
 * which names it; null for any other error (the file system's own, whose message does not).
 */
export function notAFolderMessage(error: unknown): string | null {
  return error instanceof Error && named.has(error) ? error.message : null;
}

function notAFolder(file: string, wanted: string): NodeJS.ErrnoException {
  const way = file === wanted ? '' : ` (on the way to ${wanted})`;
  // A link to nothing keeps mkdir's ENOENT.
  const dangling = lstatSync(file).isSymbolicLink() && !present(file, statSync);
  const what = dangling ? 'a link that leads nowhere' : 'a file';
  const error = Object.assign(new Error(`${file} is ${what}, not a folder${way}`), {
    code: dangling ? 'ENOENT' : 'ENOTDIR',
    path: file,
  });
  named.add(error);
  return error;
}

/**
 * The way to the absolute path `absolute`: the folders missing on it, from the top down, and what is
 * in the way, if anything: the nearest thing that exists (`absolute` itself, or the first above it)
 * when it is not a folder nor a link to one.
 */
function wayTo(absolute: string): { readonly missing: string[]; readonly inTheWay: string | null } {
  const missing: string[] = [];
  let at = absolute;
  for (; !present(at); at = dirname(at)) {
    missing.unshift(at);
    if (dirname(at) === at) break;
  }
  return { missing, inTheWay: present(at) && !isFolder(at) ? at : null };
}

/**
 * What {@link makeFolders} would find in the way of `path` (a file, or a link to nothing, at `path`
 * or at the nearest path above it that exists), checked before any folder is made; null when none.
 */
export function inTheWayOf(path: string): string | null {
  return wayTo(resolve(path)).inTheWay;
}

/**
 * Makes the folder `path` and every missing folder above it (with `mode`, if given), as
 * `mkdirSync(path, { recursive: true, mode })` does, and returns the first folder this call made
 * (absolute: `path` is resolved first, `..` by its text as `path.resolve` does), or undefined when
 * it made none (a folder already, or made by another process meanwhile).
 * @throws an error coded ENOTDIR that names the file when a file is at `path` or on the way to it
 *   (ENOENT for a link to nothing); the file system's own error (ENOENT, EACCES…) where Node's
 *   recursive mode would hang or throw.
 */
export function makeFolders(path: string, mode?: number): string | undefined {
  const absolute = resolve(path);
  const { missing, inTheWay } = wayTo(absolute);
  if (inTheWay !== null) throw notAFolder(inTheWay, absolute);
  if (missing.length === 0) return undefined;
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
