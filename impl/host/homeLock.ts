/**
 * One command at a time per installation: two processes loading the same device images would each
 * save their own version and one would silently undo the other (and the HSM's anti-rollback counter
 * would then refuse the loser's database). The lock is a file, `.lock`, created exclusively and
 * holding the owner's process ID alone, as every version wrote it; a lock whose process is gone is
 * taken over.
 *
 * A process ID means something only in its own PID namespace, on its own host, in its own boot:
 * two containers sharing the home's volume, or two hosts sharing it over NFS, each see the other's
 * ID as dead (or, both PID 1, as their own), and judging by the ID alone both took the lock and one
 * undid the other's saved change. So the owner records who it is in a second file, `.lock.who`,
 * written just after it created `.lock` (and removed before it): the ID again, the host name, the
 * boot ID, the PID namespace and the process's start time (the last three where `/proc` gives them:
 * Linux). `.lock` itself stays the ID alone because an earlier `sekey` reads it as a number: given
 * anything else it sees a lock still being written, and five seconds later takes it over while its
 * holder works. Judging the ID, it finds the holder alive, as before (on this host and namespace).
 *
 * A lock with its record is taken over only when it was written on this host, in this boot and PID
 * namespace (as far as both sides can read them) and its process is gone or its ID was reused
 * (another start time); or when it was written before this host last booted, when its process is
 * gone for certain. A lock held elsewhere is `Busy` until it is released, or removed by hand once its
 * process is gone. A lock without its record counts as being taken for {@link FRESH_MS} (its owner
 * has not written the record yet); older, it is an earlier version's and is judged by its ID, as
 * then. A record naming another ID than `.lock`, or older than it, is left over (a crash between the
 * two files, or an earlier version's takeover, which removes `.lock` alone) and counts as none. A
 * `.lock` holding a record itself (written by the version of commit 4e5f006) is judged by it.
 *
 * Two races are closed. A lock file is created empty and its ID written just after: an empty (or
 * unreadable) lock younger than {@link FRESH_MS} is being taken, so it counts as held, not as stale.
 * And two processes finding the same stale lock must not both take over (one removing the other's
 * fresh lock): a takeover holds a third exclusive file while it checks that the lock is still the
 * very file judged stale and removes it with its record; a process releases the lock (and its
 * record) only if it is still the one it created.
 * @module
 */
import {
  closeSync,
  fstatSync,
  openSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import type { BigIntStats } from 'node:fs';
import { hostname, uptime } from 'node:os';
import { join } from 'node:path';
import { namingPath } from './atomicFile.ts';
import { InstallationError } from './installationError.ts';

const LOCK_FILE = '.lock';
/** Beside the lock, the record of who holds it. */
const WHO = '.who';
/** How long a lock without its record counts as being taken (created, its record not yet written). */
const FRESH_MS = 5_000;

/** Who holds a lock, as its record says. A field left out could not be read by its writer. */
interface Holder {
  pid: number;
  /** Left out for a lock without its record (an earlier version's), judged by the process ID alone. */
  host?: string | undefined;
  /** `/proc/sys/kernel/random/boot_id`: a new one each time the host boots. */
  boot?: string | undefined;
  /** The link `/proc/self/ns/pid`, such as `pid:[4026531836]`. */
  pidns?: string | undefined;
  /** Field 22 of `/proc/<pid>/stat`: clock ticks from boot to the process's start. */
  start?: string | undefined;
}

let me: Holder | undefined;
/** This process, as its lock records it. */
function self(): Holder {
  me ??= {
    pid: process.pid,
    host: hostname(),
    boot: readProc('/proc/sys/kernel/random/boot_id'),
    pidns: readProcLink('/proc/self/ns/pid'),
    start: startOf('self'),
  };
  return me;
}

function readProc(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim() || undefined;
  } catch {
    return undefined; // no /proc (macOS, Windows), or hidden
  }
}

function readProcLink(path: string): string | undefined {
  try {
    return readlinkSync(path);
  } catch {
    return undefined;
  }
}

function startOf(pid: number | 'self'): string | undefined {
  const stat = readProc(`/proc/${pid}/stat`);
  // After the command name (field 2), in parentheses, which may hold spaces and parentheses itself.
  return stat?.slice(stat.lastIndexOf(')') + 2).split(' ')[22 - 3];
}

/**
 * The record's text: `key=value` lines, the process ID last, so that a record read while it is being
 * written (a prefix) is told apart: it does not yet end with the line naming the process.
 */
function record(): string {
  const { pid, ...where } = self();
  const lines = Object.entries({ ...where, pid }).filter(([, value]) => value !== undefined);
  return lines.map(([key, value]) => `${key}=${value}\n`).join('');
}

/**
 * The holder a lock's or a record's text names: a bare process ID (`.lock`), or `key=value` lines
 * (`.lock.who`, or `.lock` as commit 4e5f006 wrote it). Null if it does not yet (being written) or
 * cannot.
 */
function parseHolder(text: string): Holder | null {
  if (!text.includes('=')) {
    const pid = Number(text.trim());
    return Number.isSafeInteger(pid) && pid > 0 ? { pid } : null;
  }
  if (!text.endsWith('\n')) return null;
  const fields = new Map(
    text.split('\n').map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
  );
  const pid = Number(fields.get('pid'));
  if (!Number.isSafeInteger(pid) || pid <= 0) return null;
  return {
    pid,
    host: fields.get('host'),
    boot: fields.get('boot'),
    pidns: fields.get('pidns'),
    start: fields.get('start'),
  };
}

/** Where a lock's holder runs: here (its ID can be checked), `gone` (an earlier boot), or elsewhere. */
type Place = 'here' | 'gone' | { elsewhere: string };

/** Where `holder`, of the lock as `seen`, runs; unknown fields must be unknown on both sides to match. */
function place(holder: Holder, seen: BigIntStats): Place {
  if (holder.host === undefined) return 'here'; // no record (an earlier version's lock): judged by the ID, as then
  const now = self();
  if (holder.boot !== undefined && now.boot !== undefined && holder.boot !== now.boot) {
    // Another boot: an earlier one of this host, whose processes are all gone, if this host's name
    // and written before it booted. Written since, it is another host's (under the same name, maybe).
    const beforeBoot = Number(seen.mtimeMs) < Date.now() - uptime() * 1000;
    return holder.host === now.host && beforeBoot ? 'gone' : { elsewhere: `another host named ${holder.host}` };
  }
  // The same boot ID is the same kernel, whatever the host name (a container's own, or renamed).
  const sameKernel = holder.boot !== undefined && holder.boot === now.boot;
  if (!sameKernel && holder.host !== now.host) return { elsewhere: `another host named ${holder.host}` };
  if (holder.boot !== now.boot || holder.pidns !== now.pidns) {
    return { elsewhere: `another PID namespace (a container?) on host ${holder.host}` };
  }
  return 'here';
}

/**
 * The locks this process holds, by path, with the stat of the file it created. A lock naming this
 * process's own ID (in this PID namespace) is held only if it is one of these: otherwise an earlier
 * process had the same ID and is gone. That is the rule in a container, where `sekey` runs as PID 1
 * every time: a lock left by one killed there named the next one's own ID, which counted as alive,
 * and every command was `Busy` until someone removed the file by hand. (A lock recording its PID
 * namespace is judged so only in that namespace: a container started anew has a new one, where a
 * killed run's lock is another namespace's, not provably stale.)
 */
const heldHere = new Map<string, BigIntStats>();

/**
 * A process that ends by `process.exit` while it holds a lock releases it on the way out. The CLI
 * exits at once, skipping every `finally`, when an interruption abandons a command, and one that
 * reached it while it took the lock does so with the lock held (a signal is handled only when the
 * event loop turns: `impl/cli/interrupts.ts`); left, the lock was taken over on this host only once
 * its process was found gone, and on a home shared over NFS or between containers it kept everyone
 * else `Busy` until removed by hand. A kill -9 still leaves it, as it must (see the module comment).
 */
let releasedOnExit = false;
function releaseOnExit(): void {
  if (releasedOnExit) return;
  releasedOnExit = true;
  process.on('exit', releaseHeldLocks);
}

/** Releases every lock this process holds (each only if it is still the one it created). */
export function releaseHeldLocks(): void {
  for (const [path, mine] of heldHere) releaseLock(path, mine);
  heldHere.clear();
}

/** Whether the lock at `path`, as `seen`, recording `holder` of this PID namespace, is held by it. */
function held(path: string, seen: BigIntStats, holder: Holder): boolean {
  if (holder.pid === process.pid) {
    const mine = heldHere.get(path);
    return mine !== undefined && sameFile(seen, mine);
  }
  if (!alive(holder.pid)) return false;
  // Alive, but maybe another process given the ID since: then its start time is not the holder's.
  const start = holder.start === undefined ? undefined : startOf(holder.pid);
  return start === undefined || start === holder.start;
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
      writeRecord(home, path, mine);
      heldHere.set(path, mine);
      releaseOnExit();
      return () => {
        if (heldHere.get(path) === mine) heldHere.delete(path);
        releaseLock(path, mine);
      };
    }
    let seen: BigIntStats;
    let named: Holder | null;
    try {
      seen = statSync(path, { bigint: true });
      named = parseHolder(readFileSync(path, 'utf8'));
    } catch {
      continue; // released between our open and this read: try again
    }
    const fresh = Date.now() - Number(seen.mtimeMs) < FRESH_MS;
    // Judged by its record (or by the lock itself, as 4e5f006 wrote it). Without one, a lock younger
    // than FRESH_MS is being taken (its record not written yet); older, an earlier version's: its ID.
    let holder = named;
    if (named !== null && named.host === undefined) holder = recordOf(path, seen, named.pid) ?? (fresh ? null : named);
    if (holder === null) {
      if (fresh) throw beingTaken(home, path, named?.pid ?? null, FRESH_MS - (Date.now() - Number(seen.mtimeMs)));
    } else {
      const at = place(holder, seen);
      if (typeof at === 'object') throw busy(home, path, holder.pid, at.elsewhere);
      if (at === 'here' && held(path, seen, holder)) throw busy(home, path, holder.pid);
    }
    takeOverStale(home, path, seen);
  }
  throw new InstallationError('Busy', `could not lock ${home}`);
}

/**
 * The record beside the lock at `path` (as `seen`) naming process `pid`; null if there is none, or
 * not whole yet, or it is left over: naming another process, or written before the lock was.
 */
function recordOf(path: string, seen: BigIntStats, pid: number): Holder | null {
  let record: Holder | null = null;
  try {
    const fd = openSync(`${path}${WHO}`, 'r');
    try {
      // The stat of the file read (not of the name, which a client may answer from its cache).
      const written = fstatSync(fd, { bigint: true });
      const text = readFileSync(fd, 'utf8');
      if (written.mtimeNs >= seen.mtimeNs) record = parseHolder(text);
    } finally {
      closeSync(fd);
    }
  } catch {
    // No record.
  }
  return record?.host !== undefined && record.pid === pid ? record : null;
}

/**
 * Writes this process's record beside the lock it just created (`mine`). If the lock is no longer
 * this one's by then (its owner was stopped for longer than {@link FRESH_MS}, and a process that
 * saw its ID as dead took over), this process does not hold it: `Busy`.
 */
function writeRecord(home: string, path: string, mine: BigIntStats): void {
  try {
    writeFileSync(`${path}${WHO}`, record()); // one write: a reader sees a prefix of it at worst
  } catch (error) {
    releaseLock(path, mine);
    throw namingPath(error, `${path}${WHO}`);
  }
  let now: BigIntStats | undefined;
  try {
    now = statSync(path, { bigint: true });
  } catch {
    // Taken over and released.
  }
  if (now === undefined || !sameFile(now, mine)) throw busy(home, path, null);
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
    writeSync(fd, String(process.pid)); // as every version wrote it: an earlier one reads it
    return fstatSync(fd, { bigint: true });
  } catch (error) {
    rmSync(path, { force: true });
    throw namingPath(error, path);
  } finally {
    closeSync(fd);
  }
}

/** Whether `now` is the very file `then` described (same inode, modification time and size). */
function sameFile(now: BigIntStats, then: BigIntStats): boolean {
  return now.ino === then.ino && now.mtimeNs === then.mtimeNs && now.size === then.size;
}

/**
 * Removes the file `path` if it is still the one this process created (a takeover may have replaced
 * it); first, the files `also` beside it (a lock's record: only its owner writes it).
 */
function releaseIfMine(path: string, mine: BigIntStats, also: string[] = []): void {
  try {
    // Not the inode alone: a file system may give a new file the inode of one just removed.
    if (!sameFile(statSync(path, { bigint: true }), mine)) return;
    for (const other of also) rmSync(other, { force: true });
    rmSync(path, { force: true });
  } catch {
    // Already gone.
  }
}

/** Releases the lock `path`, its record first, if it is still the one this process created. */
function releaseLock(path: string, mine: BigIntStats): void {
  releaseIfMine(path, mine, [`${path}${WHO}`]);
}

/** `Busy`; `elsewhere`, where the holder runs when this process cannot tell whether it still does. */
function busy(home: string, path: string, owner: number | null, elsewhere?: string): InstallationError {
  const who = owner === null ? 'another sekey process' : `another sekey process (pid ${owner})`;
  if (elsewhere === undefined) {
    return new InstallationError(
      'Busy',
      `${who} is using ${home}; wait for it (--wait SECONDS), or if it is gone, remove ${path}`,
    );
  }
  return new InstallationError(
    'Busy',
    `${who} is using ${home} from ${elsewhere}, where this one cannot tell whether it still runs; ` +
      `wait for it (--wait SECONDS), or remove ${path} only once that process is gone`,
  );
}

/**
 * `Busy` for a lock without its record, `clearsInMs` before it is no longer fresh ({@link FRESH_MS}):
 * a process is taking it (between its two writes), or one ended between them, or between the two
 * removals of its release (a kill -9). Its ID, where it names one, says which where that process
 * is not running here: once no longer fresh, the lock is judged by that ID and taken over, with no
 * one removing it by hand; an empty one too. Where the ID runs, the lock is an earlier version's,
 * or being taken: held while it runs, and said as any lock held.
 */
function beingTaken(home: string, path: string, owner: number | null, clearsInMs: number): InstallationError {
  const seconds = Math.max(1, Math.ceil(clearsInMs / 1000));
  const within = `within ${seconds} second${seconds === 1 ? '' : 's'}`;
  const wait = `Wait for it: run the command again with --wait ${seconds + 1} (or more)`;
  if (owner !== null && alive(owner)) return busy(home, path, owner);
  const named = owner === null ? '' : ` (pid ${owner}, which is not running here)`;
  return new InstallationError(
    'Busy',
    `the lock of ${home} (${path}) has no record of its holder yet: a sekey command that ended without ` +
      `releasing it${named} left it, or another is taking it this moment; a lock left so clears by itself ${within}`,
    `${wait}; nothing needs removing by hand.`,
  );
}

/**
 * Removes the stale lock `seen` (its stat when judged stale) if it is still that very file, its record
 * first. One process at a time may do so: it holds `<lock>.takeover`, created exclusively, while it
 * checks and removes; nobody else removes a lock, and a new lock can only be created once the old one
 * is gone, so the file checked is the file removed (and the record removed, its stale owner's). A
 * takeover file left by a crash is itself stale after {@link FRESH_MS} and removed. Exported for its
 * test.
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
    rmSync(`${path}${WHO}`, { force: true });
    rmSync(path, { force: true });
  } finally {
    releaseIfMine(guard, held);
  }
}
