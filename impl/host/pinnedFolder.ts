/**
 * Work inside a folder of an untrusted tree (the share), pinned against symbolic-link races.
 *
 * Checking each folder of a path with `lstat` and then writing by that path is a race (CWE-367):
 * between the check and the write, anyone who can write to the share can swap a checked folder for a
 * symbolic link to a folder of the administrator's, and the write lands there. POSIX closes it with
 * `openat(2)` on a directory descriptor, which Node does not offer. The working directory is such a
 * descriptor: the process enters the tree one folder at a time, each after `lstat` found a real
 * directory, and checks after entering that it is in that very directory (the same device and inode);
 * once in, a swap of the folder's name no longer matters, as names are resolved from the inode the
 * process is in. The work then uses bare names (`.tmp-…`, `000012.upd`) in the folder.
 *
 * The working directory belongs to the whole process, so the work must be synchronous (nothing else
 * runs meanwhile) and the process's folder is restored before returning. Not for worker threads,
 * which cannot change it.
 *
 * Shown on POSIX systems, where a relative name is resolved from the working directory's inode (the
 * tests race the swap on Linux). Windows resolves it from the working directory's path instead, and
 * relies on a folder that is some process's working directory being held open against renaming;
 * that is not tested here.
 * @module
 */
import { lstatSync, mkdirSync } from 'node:fs';
import type { BigIntStats } from 'node:fs';
import { join, parse, sep } from 'node:path';
import { fsyncDirectory } from './atomicFile.ts';
import { makeFolders } from './makeFolders.ts';

/** Why the folder could not be entered. */
export type FolderRefusal =
  /** A folder on the way does not exist (and was not to be made). */
  | { readonly kind: 'missing'; readonly path: string }
  /** A folder on the way is something else: a symbolic link, a file, a FIFO… (`what` says which). */
  | { readonly kind: 'notDirectory'; readonly path: string; readonly what: string }
  /** The folder was swapped between its check and entering it. */
  | { readonly kind: 'swapped'; readonly path: string };

/** The outcome: the work's value, or why the folder was not entered (and the work not done). */
export type Pinned<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly refusal: FolderRefusal };

const same = (a: BigIntStats, b: BigIntStats): boolean => a.dev === b.dev && a.ino === b.ino;

/** What kind of entry `stats` is, for messages. */
export function kindOf(stats: {
  isFile(): boolean;
  isDirectory(): boolean;
  isSymbolicLink(): boolean;
  isFIFO(): boolean;
  isSocket(): boolean;
}): string {
  if (stats.isFile()) return 'a regular file';
  if (stats.isDirectory()) return 'a directory';
  if (stats.isSymbolicLink()) return 'a symbolic link';
  if (stats.isFIFO()) return 'a FIFO';
  return stats.isSocket() ? 'a socket' : 'a device';
}

/**
 * Runs `work` with the process inside `root/segments…`, entered as the module comment says; a
 * missing folder is made when `make` is set (flushed into its parent), the root too. `root` itself
 * is trusted (the installation's configured share, whose parent the share's writers cannot change)
 * and entered by its path. The process's working directory is restored whatever happens; when it
 * cannot be (the folder the process was in was removed or moved meanwhile), the process goes to the
 * root of the file system rather than stay in the share, and the work's outcome stands.
 * @throws what `work` or the file system throws (EACCES, EIO…).
 */
export function inPinnedFolder<T>(root: string, segments: readonly string[], make: boolean, work: () => T): Pinned<T> {
  let back: string | null;
  try {
    back = process.cwd();
  } catch {
    // The process's folder was removed (ENOENT from getcwd): there is no path to come back to.
    back = null;
  }
  if (make) makeFolders(root);
  process.chdir(root);
  try {
    let path = root;
    for (const segment of segments) {
      path = join(path, segment);
      let seen: BigIntStats;
      try {
        seen = lstatSync(segment, { bigint: true });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
        if (!make) return { ok: false, refusal: { kind: 'missing', path } };
        try {
          mkdirSync(segment);
          fsyncDirectory('.');
        } catch (made) {
          // Made by someone else meanwhile: judged below like any folder found there.
          if ((made as NodeJS.ErrnoException).code !== 'EEXIST') throw made;
        }
        seen = lstatSync(segment, { bigint: true });
      }
      if (!seen.isDirectory()) return { ok: false, refusal: { kind: 'notDirectory', path, what: kindOf(seen) } };
      try {
        process.chdir(segment);
      } catch (error) {
        // Gone, or made a file, since its lstat: swapped.
        const code = (error as NodeJS.ErrnoException).code;
        if (code === 'ENOENT' || code === 'ENOTDIR') return { ok: false, refusal: { kind: 'swapped', path } };
        throw error;
      }
      // A link put in its place after the lstat was followed: then this is another directory.
      if (!same(lstatSync('.', { bigint: true }), seen)) return { ok: false, refusal: { kind: 'swapped', path } };
    }
    return { ok: true, value: work() };
  } finally {
    leave(back);
  }
}

/**
 * Goes back to `back`, or, when that fails (removed, moved, no longer searchable), to the root of the
 * file system: never left in the share, and never an error that would hide the work's outcome (a
 * write done and flushed reported as failed).
 */
function leave(back: string | null): void {
  if (back !== null) {
    try {
      process.chdir(back);
      return;
    } catch {
      // gone since: below
    }
  }
  process.chdir(back === null ? sep : parse(back).root);
}
