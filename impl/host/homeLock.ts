/**
 * One command at a time per installation: two processes loading the same device images would each
 * save their own version and one would silently undo the other (and the HSM's anti-rollback counter
 * would then refuse the loser's database). The lock is a file created exclusively, holding the
 * owner's process ID; a lock whose process is gone is taken over.
 * @module
 */
import { openSync, closeSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { InstallationError } from './installationError.ts';

const LOCK_FILE = '.lock';

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
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return () => rmSync(path, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      let owner = Number.NaN;
      try {
        owner = Number(readFileSync(path, 'utf8').trim());
      } catch {
        // Released between our open and this read: try again.
      }
      if (Number.isSafeInteger(owner) && owner > 0 && alive(owner)) {
        throw new InstallationError(
          'Busy',
          `another sekey process (pid ${owner}) is using ${home}; wait for it (--wait SECONDS), or if it is gone, ` +
            `remove ${path}`,
        );
      }
      rmSync(path, { force: true });
    }
  }
  throw new InstallationError('Busy', `could not lock ${home}`);
}
