/**
 * Whole-file replacement that a crash cannot tear: write a temporary file next to the target, flush
 * it, rename it over the target (atomic within one directory on POSIX file systems), then flush the
 * directory so the rename itself is durable.
 * @module
 */
import {
  closeSync,
  constants,
  fchmodSync,
  fstatSync,
  fsyncSync,
  ftruncateSync,
  linkSync,
  lstatSync,
  openSync,
  readdirSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';
import { messageOf } from '../../model/codedError.ts';

/** O_NOFOLLOW where the platform has it (not on Windows, which has no such links to fear here). */
const NO_FOLLOW = constants.O_NOFOLLOW ?? 0;
/** A temporary file's mode while it holds the bytes ({@link writeTemporary}). */
const OWNER_ONLY = 0o600;

/**
 * Opens `path` for writing from its start, as a file of this process's alone: never through a
 * symbolic link (O_NOFOLLOW), never blocking on a FIFO (O_NONBLOCK, which a regular file ignores),
 * and never into a file that has another name (a hard link) or another owner, nor anything but a
 * regular file. What stands under the name otherwise is removed (the name only: a link's target,
 * or the file's other names, are left as they are) and the file created anew, exclusively, so that
 * no one can slip one in between (with `createMode`, as open(2) applies it: less the umask, and no
 * chmod, which a file system without Unix modes may refuse). Then it is emptied and given `mode`
 * exactly (the umask does not narrow it). Such a name can only have been planted by someone who may
 * write in the folder, which the installation refuses anyway (`privateFolder.ts`): this is the second
 * line.
 * @returns the open file descriptor, which the caller closes, and whether the name is a new entry
 *   of the folder (the caller flushes the folder for it to last).
 */
export function openOwnFile(
  path: string,
  mode?: number,
  createMode: number = mode ?? 0o666,
): { readonly fd: number; readonly created: boolean } {
  const flags = constants.O_WRONLY | NO_FOLLOW;
  const uid = process.getuid?.();
  let fd: number | undefined;
  let created = false;
  try {
    fd = openSync(path, flags | (constants.O_NONBLOCK ?? 0));
    const st = fstatSync(fd);
    if (!st.isFile() || st.nlink !== 1 || (uid !== undefined && st.uid !== uid)) {
      closeSync(fd);
      fd = undefined;
    }
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    // ENOENT: nothing there yet. ELOOP: a symbolic link under the name (O_NOFOLLOW). ENXIO: a FIFO
    // with no reader (O_NONBLOCK). Each is created anew below.
    if (code !== 'ENOENT' && code !== 'ELOOP' && code !== 'ENXIO') throw error;
  }
  if (fd === undefined) {
    rmSync(path, { force: true });
    fd = openSync(path, flags | constants.O_CREAT | constants.O_EXCL, createMode);
    created = true;
  }
  try {
    ftruncateSync(fd, 0);
    if (mode !== undefined) fchmodSync(fd, mode);
  } catch (error) {
    closeSync(fd);
    throw error;
  }
  return { fd, created };
}

/**
 * Writes `bytes` to `path` and flushes them to stable storage, through one descriptor: reopening
 * the file to flush it failed for a mode without read permission (a write-only file replaced with
 * its own mode kept). `mode` sets the file's permissions exactly (the umask does not narrow them);
 * `after.createMode` is the mode a new file is created with (by open(2), less the umask), and
 * `after.modeOnceFlushed` the one it is given once the bytes are flushed, through the same descriptor
 * (a path could be swapped for a link to another file meanwhile). The file is opened by
 * {@link openOwnFile}: nothing under the name but a file of this user's own is written through. A
 * failed write, flush or mode change names `shownAs` ({@link namingPath}).
 */
export function writeFileDurable(
  path: string,
  bytes: Uint8Array | string,
  mode?: number,
  shownAs = path,
  after: { readonly createMode?: number; readonly modeOnceFlushed?: number } = {},
): void {
  const { createMode, modeOnceFlushed } = after;
  let fd: number;
  try {
    fd = openOwnFile(path, mode, createMode).fd;
  } catch (error) {
    // The open names the file it made, a temporary one (`.tmp-…`, `flash.img.new`): no name the user knows.
    throw namingPath(error, shownAs, path);
  }
  try {
    writeFileSync(fd, bytes);
    fsyncSync(fd);
    // Only a change is made: a file system without Unix modes (FAT) refuses one it cannot show, and
    // shows a new file the mode its mount gives every file, which is then already the one asked for.
    if (modeOnceFlushed !== undefined && (fstatSync(fd).mode & 0o777) !== modeOnceFlushed)
      fchmodSync(fd, modeOnceFlushed);
  } catch (error) {
    throw namingPath(error, shownAs);
  } finally {
    closeSync(fd);
  }
}

/**
 * A system call's error on a file descriptor (a `write` on a full disk: `ENOSPC: no space left on
 * device, write`) names no file; the one written is named, as Node names it for calls on a path.
 * Without it a full disk under a decrypted OUT, or under an HSM's images, said neither which file
 * nor which disk, where what to do is to free space on the disk that holds it. An error on `written`,
 * a temporary file standing in for `path` (an open on a full disk: `ENOSPC: …, open '/d/.tmp-out-…'`),
 * names `path` instead, the temporary name after it in parentheses.
 * @returns the same error, its `message` and `path` completed when it named none, or named `written`
 */
export function namingPath(error: unknown, path: string, written = path): unknown {
  const e = error as NodeJS.ErrnoException;
  if (!(e instanceof Error) || typeof e.code !== 'string') return error;
  if (e.path === undefined) {
    e.message = `${e.message} '${path}'`;
    e.path = path;
  } else if (e.path === written && written !== path) {
    e.message = e.message.replace(`'${written}'`, () => `'${path}' (${basename(written)})`);
    e.path = path;
  }
  return error;
}

/** The name of a temporary file of this module's that stands in for `path`, beside it. */
function temporaryName(path: string): string {
  return join(dirname(path), `.tmp-${basename(path)}-${randomBytes(6).toString('hex')}`);
}

/**
 * The mode a new file gets in `path`'s folder (0666 less the umask), read off an empty file made for
 * the purpose and removed: reading the umask itself (process.umask() without an argument) is
 * deprecated, and refused in worker threads. Never the file that will hold the bytes, which would
 * then lie open at this mode, empty, to whoever opens it first and reads what comes later.
 */
function newFileMode(path: string): number {
  const probe = temporaryName(path);
  let fd: number;
  try {
    fd = openSync(probe, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | NO_FOLLOW, 0o666);
  } catch (error) {
    throw namingPath(error, path, probe);
  }
  try {
    return fstatSync(fd).mode & 0o777;
  } finally {
    closeSync(fd);
    rmSync(probe, { force: true });
  }
}

/**
 * Writes `bytes` to `tmp`, a temporary file of this module's that stands in for `shownAs`, owner-only
 * while it holds them, then gives it `mode`, or without one the mode a new file gets
 * ({@link newFileMode}), through its own descriptor once the bytes are flushed, just before it takes
 * its name. Owner-only, because a process killed between the write and the rename leaves the file
 * behind, and only folders an installation locks are cleaned of them ({@link removeLeftTemporaries}):
 * `sekey user decrypt` killed mid-write left its plaintext under `.tmp-OUT-…` in OUT's folder,
 * readable by everyone, for good. A crash after the flush leaves at worst a file narrower than asked
 * (the mode change is not flushed before the rename), never a wider one.
 */
function writeTemporary(tmp: string, bytes: Uint8Array | string, mode: number | undefined, shownAs: string): void {
  // Made owner-only by open(2) itself (a fresh name: nothing to narrow), so no chmod runs before the
  // bytes are in: a FAT stick takes the write as it did.
  writeFileDurable(tmp, bytes, undefined, shownAs, {
    createMode: OWNER_ONLY,
    modeOnceFlushed: mode ?? newFileMode(shownAs),
  });
}

/** Flushes a directory's entries (renames, creations); a no-op where the platform cannot. */
export function fsyncDirectory(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    // Windows cannot open directories for fsync; its renames are journalled by NTFS instead.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/**
 * Writes `bytes` to a flushed temporary file next to `path`, then `place`s it as `path` (a rename
 * replaces, a hard link only creates) and flushes the folder. The temporary file never stays
 * behind: after a rename it is gone, after a link or a failure it is removed.
 */
function placeDurably(
  path: string,
  bytes: Uint8Array | string,
  mode: number | undefined,
  place: (tmp: string, path: string) => void,
): void {
  const dir = dirname(path);
  const tmp = temporaryName(path);
  try {
    // A failure names the file asked for, not its temporary name (whose disk is the same).
    writeTemporary(tmp, bytes, mode, path);
    place(tmp, path);
  } finally {
    // A full disk, or a folder where the file should be: nothing replaced, and nothing left behind.
    rmSync(tmp, { force: true });
  }
  fsyncDirectory(dir);
}

/** The name of a temporary file this module writes beside `target` (`.tmp-<target>-<12 hex digits>`). */
const TEMPORARY_NAME = /^\.tmp-.+-[0-9a-f]{12}$/;

/**
 * Removes the temporary files of this module's writes that a killed process left in `dir` (a
 * `kill -9` between the write and the rename skips the clean-up): only regular files named as this
 * module names them, never followed through a link. For folders only processes holding their lock
 * write in (an installation's home and HSM folders), where no such file can be another's write in
 * progress. A folder that does not exist has none.
 * @returns the names removed
 */
export function removeLeftTemporaries(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const removed: string[] = [];
  for (const name of names) {
    if (!TEMPORARY_NAME.test(name)) continue;
    const path = join(dir, name);
    if (!lstatSync(path, { throwIfNoEntry: false })?.isFile()) continue;
    rmSync(path, { force: true });
    removed.push(name);
  }
  return removed;
}

/**
 * Replaces `path` with `bytes` atomically: readers see the old file or the new one, never a mix.
 * `mode` sets the permissions of the new file (e.g. `0o600` for owner-only).
 */
export function writeFileAtomic(path: string, bytes: Uint8Array | string, mode?: number): void {
  placeDurably(path, bytes, mode, renameSync);
}

/**
 * Creates `path` with `bytes`, whole, only if no file has that name: the bytes go to a temporary file
 * next to it, flushed, which is then hard-linked as `path`. link(2) fails with EEXIST when the name
 * is taken, so of processes creating the same file at once exactly one wins (a check for the file
 * followed by a rename let each of them replace the last), and a reader never sees it half written.
 * @throws the `EEXIST` error when `path` exists; nothing is changed, no temporary file left
 */
export function createFileAtomic(path: string, bytes: Uint8Array | string, mode?: number): void {
  placeDurably(path, bytes, mode, linkSync);
}

/**
 * {@link writeFilesAtomic} failed after it had replaced some of its files: a rename failed (a folder
 * put in a target's place since it was checked, say). `replaced` are the new ones, `kept` the old;
 * `cause` is the rename's error.
 */
export class FilesPartlyReplacedError extends Error {
  override name = 'FilesPartlyReplacedError';
  readonly replaced: readonly string[];
  readonly kept: readonly string[];
  constructor(replaced: readonly string[], kept: readonly string[], cause: unknown) {
    const why = messageOf(cause);
    super(`replaced ${replaced.join(', ')} but not ${kept.join(', ')}: ${why}`, { cause });
    this.replaced = replaced;
    this.kept = kept;
  }
}

/**
 * Replaces several files together, as far as a file system allows: every new file is written and
 * flushed beside its target first, and only then are they renamed over their targets, one after
 * the other. A failure while writing (a full disk) replaces none of them, so files that belong
 * together (a report's data and its rendering) never mix two runs; only a crash between the renames,
 * which need no space, can leave some replaced and some not, and so can a rename that fails after
 * another succeeded ({@link FilesPartlyReplacedError}, which says which).
 */
export function writeFilesAtomic(files: ReadonlyArray<readonly [path: string, bytes: Uint8Array | string]>): void {
  const written: Array<readonly [tmp: string, path: string]> = [];
  try {
    for (const [path, bytes] of files) {
      const tmp = temporaryName(path);
      written.push([tmp, path]);
      writeTemporary(tmp, bytes, undefined, path);
    }
    const replaced: string[] = [];
    for (const [tmp, path] of written) {
      try {
        renameSync(tmp, path);
      } catch (error) {
        if (replaced.length === 0) throw error;
        throw new FilesPartlyReplacedError(
          replaced,
          files.map(([p]) => p).filter((p) => !replaced.includes(p)),
          error,
        );
      }
      replaced.push(path);
    }
  } finally {
    for (const [tmp] of written) rmSync(tmp, { force: true });
  }
  for (const dir of new Set(files.map(([path]) => dirname(path)))) fsyncDirectory(dir);
}
