/**
 * Whole-file replacement that a crash cannot tear: write a temporary file next to the target, flush
 * it, rename it over the target (atomic within one directory on POSIX file systems), then flush the
 * directory so the rename itself is durable.
 * @module
 */
import { closeSync, fsyncSync, openSync, renameSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';

/** Writes `bytes` to `path` and flushes them to stable storage. */
export function writeFileDurable(path: string, bytes: Uint8Array | string): void {
  writeFileSync(path, bytes);
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
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

/** Replaces `path` with `bytes` atomically: readers see the old file or the new one, never a mix. */
export function writeFileAtomic(path: string, bytes: Uint8Array | string): void {
  const dir = dirname(path);
  const tmp = join(dir, `.tmp-${basename(path)}-${randomBytes(6).toString('hex')}`);
  writeFileDurable(tmp, bytes);
  renameSync(tmp, path);
  fsyncDirectory(dir);
}
