/**
 * One command at a time per installation: two processes loading the same device images would each
 * save their own version and one would silently undo the other (and the HSM's anti-rollback counter
 * would then refuse the loser's database). The lock is a file created exclusively, holding the
 * owner's process ID; a lock whose process is gone is taken over.
 *
 * Two races are closed. A lock file is created empty and its owner's ID written just after: an
 * empty (or unreadable) lock younger than {@link FRESH_MS} is being taken, so it counts as held, not
 * as stale. And two processes finding the same stale lock must not both take over (one removing the
 * other's fresh lock): a takeover holds a second exclusive file while it checks that the lock is
 * still the very file judged stale and removes it; a process releases the lock only if it is still
 * the one it created.
 * @module
 */
import { closeSync, fstatSync, openSync, readFileSync, rmSync, statSync, writeSync } from 'node:fs';
import type { BigIntStats } from 'node:fs';
import { join } from 'node:path';
import { InstallationError } from './installationError.ts';

const LOCK_FILE = '.lock';
/** How long a lock without a process ID counts as being taken (created, its ID not yet written). */
const FRESH_MS = 5_000;

/**
 * The locks this process holds, by path, with the stat of the file it created. A lock naming this
 * process's own ID is held only if it is one of these: otherwise an earlier process had the same ID
 * and is gone. That is the rule in a container, where `sekey` runs as PID 1 every time: a lock left
 * by one killed there named the next one's own ID, which counted as alive, and every command was
 * `Busy` until someone removed the file by hand.
 */
const heldHere = new Map<string, BigIntStats>();

/** Whether the lock at `path`, as `seen`, naming process `pid`, is held by a live process. */
function held(path: string, seen: BigIntStats, pid: number): boolean {
  if (pid === process.pid) {
    const mine = heldHere.get(path);
    return mine !== undefined && sameFile(seen, mine);
  }
  return alive(pid);
}

function alive(pid: number): boolean {
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

/**
 * Takes the lock of `home` (which must exist); resolves to the function that releases it. With
 * `waitMs`, a lock held by a live process is tried again every 100 ms until then (`--wait`). The
 * wait is a timer, not a blocking sleep: the process's signal listeners run while it waits, so
 * Ctrl-C abandons a command that is still waiting for another one (`impl/cli/interrupts.ts`).
 * `onWait` is told once, with the `Busy` error's message, when the wait begins.
 * @throws InstallationError `Busy` when a live process holds it (still, after `waitMs`).
 */
export async function lockHome(home: string, waitMs = 0, onWait?: (busy: string) => void): Promise<() => void> {
  const deadline = Date.now() + waitMs;
  let told = false;
  for (;;) {
    try {
      return tryLockHome(home);
    } catch (error) {
      const busy = error instanceof InstallationError && error.code === 'Busy';
      if (!busy || Date.now() >= deadline) throw error;
      if (!told) onWait?.(error.message);
      told = true;
      const pause = Math.min(RETRY_MS, Math.max(1, deadline - Date.now()));
      await new Promise<void>((resolve) => setTimeout(resolve, pause));
    }
  }
}

function tryLockHome(home: string): () => void {
  const path = join(home, LOCK_FILE);
  for (let attempt = 0; attempt < 3; attempt++) {
    const mine = createExclusive(path);
    if (mine !== null) {
      heldHere.set(path, mine);
      return () => {
        if (heldHere.get(path) === mine) heldHere.delete(path);
        releaseIfMine(path, mine);
      };
    }
    let seen: BigIntStats;
    let owner: number;
    try {
      seen = statSync(path, { bigint: true });
      owner = Number(readFileSync(path, 'utf8').trim());
    } catch {
      continue; // released between our open and this read: try again
    }
    // A lock younger than FRESH_MS may still be being written: only its process ID can say.
    const named = Number.isSafeInteger(owner) && owner > 0;
    const fresh = Date.now() - Number(seen.mtimeMs) < FRESH_MS;
    if (named ? held(path, seen, owner) : fresh) throw busy(home, path, named ? owner : null);
    takeOverStale(home, path, seen);
  }
  throw new InstallationError('Busy', `could not lock ${home}`);
}

/** Creates `path` exclusively with this process's ID; its stat, or null if it exists already. */
function createExclusive(path: string): BigIntStats | null {
  let fd: number;
  try {
    fd = openSync(path, 'wx');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return null;
    throw error;
  }
  try {
    writeSync(fd, String(process.pid));
    return fstatSync(fd, { bigint: true });
  } catch (error) {
    rmSync(path, { force: true });
    throw error;
  } finally {
    closeSync(fd);
  }
}

/** Whether `now` is the very file `then` described (same inode, modification time and size). */
function sameFile(now: BigIntStats, then: BigIntStats): boolean {
  return now.ino === then.ino && now.mtimeNs === then.mtimeNs && now.size === then.size;
}

/** Removes the lock if it is still the one this process created (a takeover may have replaced it). */
function releaseIfMine(path: string, mine: BigIntStats): void {
  try {
    // Not the inode alone: a file system may give a new file the inode of one just removed.
    if (sameFile(statSync(path, { bigint: true }), mine)) rmSync(path, { force: true });
  } catch {
    // Already gone.
  }
}

function busy(home: string, path: string, owner: number | null): InstallationError {
  const who = owner === null ? 'another sekey process' : `another sekey process (pid ${owner})`;
  return new InstallationError(
    'Busy',
    `${who} is using ${home}; wait for it (--wait SECONDS), or if it is gone, remove ${path}`,
  );
}

/**
 * Removes the stale lock `seen` (its stat when judged stale) if it is still that very file. One
 * process at a time may do so: it holds `<lock>.takeover`, created exclusively, while it checks and
 * removes; nobody else removes a lock, and a new lock can only be created once the old one is gone,
 * so the file checked is the file removed. A takeover file left by a crash is itself stale after
 * {@link FRESH_MS} and removed. Exported for its test.
 */
export function takeOverStale(home: string, path: string, seen: BigIntStats): void {
  const guard = `${path}.takeover`;
  const held = createExclusive(guard);
  if (held === null) {
    let age = 0;
    try {
      age = Date.now() - Number(statSync(guard, { bigint: true }).mtimeMs);
    } catch {
      return; // released meanwhile: the caller tries again
    }
    if (age < FRESH_MS) throw busy(home, path, null);
    rmSync(guard, { force: true }); // left by a crash: the caller tries again
    return;
  }
  try {
    let now: BigIntStats;
    try {
      now = statSync(path, { bigint: true });
    } catch {
      return; // released meanwhile: the caller tries again
    }
    if (!sameFile(now, seen)) throw busy(home, path, null);
    rmSync(path, { force: true });
  } finally {
    releaseIfMine(guard, held);
  }
}
