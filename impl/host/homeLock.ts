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

/**
 * Takes the lock of `home` (which must exist); returns the function that releases it.
 * @throws InstallationError `Busy` when a live process holds it.
 */
export function lockHome(home: string): () => void {
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
          `another sekey process (pid ${owner}) is using ${home}; if it is gone, remove ${path}`,
        );
      }
      rmSync(path, { force: true });
    }
  }
  throw new InstallationError('Busy', `could not lock ${home}`);
}
