/**
 * One command at a time per installation: two processes loading the same device images would each
 * save their own version and one would silently undo the other (and the HSM's anti-rollback counter
 * would then refuse the loser's database). The lock is a file created exclusively, holding the
 * owner's process ID; a lock whose process is gone is taken over.
 *
 * Two races are closed. A lock file is created empty and its owner's ID written just after: an
 * empty (or partly written) lock younger than {@link FRESH_MS} is being taken, so it counts as held,
 * not as stale. And two processes finding the same stale lock must not both take over: each moves
 * the lock aside by rename (atomic: one of them gets it) and checks that what it moved is the very
 * file it judged stale; a fresh lock moved by mistake is put back, and the command reports `Busy`.
 * @module
 */
import { randomUUID } from 'node:crypto';
import { closeSync, linkSync, openSync, readFileSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import type { BigIntStats } from 'node:fs';
import { join } from 'node:path';
import { InstallationError } from './installationError.ts';

const LOCK_FILE = '.lock';
/** How long a lock without a process ID counts as being taken (created, its ID not yet written). */
const FRESH_MS = 5_000;

function alive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** How often a waiting command looks at the lock again. */
const RETRY_MS = 100;

/** Sleeps `ms` without returning to the event loop: the lock is taken inside synchronous code. */
function sleep(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * Takes the lock of `home` (which must exist); returns the function that releases it. With
 * `waitMs`, a lock held by a live process is tried again every 100 ms until then (`--wait`).
 * @throws InstallationError `Busy` when a live process holds it (still, after `waitMs`).
 */
export function lockHome(home: string, waitMs = 0): () => void {
  const deadline = Date.now() + waitMs;
  for (;;) {
    try {
      return tryLockHome(home);
    } catch (error) {
      const busy = error instanceof InstallationError && error.code === 'Busy';
      if (!busy || Date.now() >= deadline) throw error;
      sleep(Math.min(RETRY_MS, Math.max(1, deadline - Date.now())));
    }
  }
}

function tryLockHome(home: string): () => void {
  const path = join(home, LOCK_FILE);
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = openSync(path, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return () => rmSync(path, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    let seen: BigIntStats;
    let owner: number;
    try {
      seen = statSync(path, { bigint: true });
      owner = Number(readFileSync(path, 'utf8').trim());
    } catch {
      continue; // released between our open and this read: try again
    }
    const named = Number.isSafeInteger(owner) && owner > 0;
    if (named ? alive(owner) : Date.now() - Number(seen.mtimeMs) < FRESH_MS)
      throw busy(home, path, named ? owner : null);
    takeOverStale(home, path, seen);
  }
  throw new InstallationError('Busy', `could not lock ${home}`);
}

function busy(home: string, path: string, owner: number | null): InstallationError {
  const who = owner === null ? 'another sekey process' : `another sekey process (pid ${owner})`;
  return new InstallationError(
    'Busy',
    `${who} is using ${home}; wait for it (--wait SECONDS), or if it is gone, remove ${path}`,
  );
}

/**
 * Removes the stale lock `seen` (its stat when judged stale), unless another process replaced it
 * meanwhile: then puts that one back and throws `Busy`. Exported for its test.
 */
export function takeOverStale(home: string, path: string, seen: BigIntStats): void {
  const aside = `${path}.stale-${process.pid}-${randomUUID()}`;
  try {
    renameSync(path, aside);
  } catch {
    return; // someone else moved or released it first: try again
  }
  const moved = statSync(aside, { bigint: true });
  if (moved.ino !== seen.ino || moved.mtimeNs !== seen.mtimeNs || moved.size !== seen.size) {
    // A fresh lock, taken after ours was judged stale: give it back to its owner.
    try {
      linkSync(aside, path);
    } catch {
      // A third process locked in the meantime: the home is held either way.
    } finally {
      rmSync(aside, { force: true });
    }
    throw busy(home, path, null);
  }
  rmSync(aside, { force: true });
}
