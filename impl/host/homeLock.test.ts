import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, test, vi } from 'vitest';
import { lockHome, releaseHeldLocks, takeOverStale } from './homeLock.ts';

const homes: string[] = [];
function home(): string {
  const dir = mkdtempSync(join(tmpdir(), 'sekey-lock-'));
  homes.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of homes.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** This process's lock record, as fields (what the record of a lock it takes holds). */
async function ownRecord(): Promise<Map<string, string>> {
  const h = home();
  const release = await lockHome(h);
  const text = readFileSync(join(h, '.lock.who'), 'utf8');
  release();
  return new Map(
    text
      .trimEnd()
      .split('\n')
      .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
  );
}

/** A lock record as another process would write it: this one's with `changes` (undefined: left out). */
async function recordWith(changes: Record<string, string | undefined>): Promise<string> {
  const fields = await ownRecord();
  for (const [key, value] of Object.entries(changes)) {
    fields.delete(key);
    if (value !== undefined) fields.set(key, value);
  }
  const { pid = String(process.pid), ...rest } = Object.fromEntries(fields);
  return Object.entries({ ...rest, pid })
    .map(([key, value]) => `${key}=${value}\n`)
    .join('');
}

/** Writes the lock of `h` as another process holding it would: its ID in `.lock`, then its record. */
async function holdAs(h: string, changes: Record<string, string | undefined>): Promise<string> {
  const lock = join(h, '.lock');
  writeFileSync(lock, changes['pid'] ?? String(process.pid));
  writeFileSync(`${lock}.who`, await recordWith(changes));
  return lock;
}

/** Writes `.lock` of `h` holding `text` (no record); its path. */
function writeLock(h: string, text: string): string {
  const lock = join(h, '.lock');
  writeFileSync(lock, text);
  return lock;
}

/** Sets the modification time of `paths` to `at`. */
function age(at: Date, ...paths: string[]): void {
  for (const path of paths) utimesSync(path, at, at);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * How an earlier sekey (before the lock recorded its holder, 99614f0) judges the lock at `path`,
 * in another process at time `now`: its rule, copied. The text as a number, the process ID; none
 * (NaN, not a positive integer) is a lock still being written, held for 5 s, then stale.
 */
function olderSekeyJudges(path: string, now = Date.now()): 'held' | 'being written' | 'stale' {
  const owner = Number(readFileSync(path, 'utf8').trim());
  const named = Number.isSafeInteger(owner) && owner > 0;
  if (named) return alive(owner) ? 'held' : 'stale';
  return now - statSync(path).mtimeMs < 5_000 ? 'being written' : 'stale';
}

/** A process's start time, field 22 of its `/proc/<pid>/stat`. */
function startOf(pid: number): string {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]!;
}

const linux = existsSync('/proc/self/ns/pid') && existsSync('/proc/sys/kernel/random/boot_id');
const DEAD = '999999999'; // above any PID_MAX: no process has it
const LONG_AGO = new Date('2000-01-01T00:00:00Z'); // before this host booted

describe('the home lock', () => {
  test('is held by its process ID, recorded beside it, and released with its record', async () => {
    const h = home();
    const release = await lockHome(h);
    // `.lock` as every version wrote it: the ID alone, no newline.
    expect(readFileSync(join(h, '.lock'), 'utf8')).toBe(String(process.pid));
    const text = readFileSync(join(h, '.lock.who'), 'utf8');
    expect(text).toMatch(new RegExp(`^host=.*\\npid=${process.pid}\\n$`, 's'));
    expect(text).toContain(`host=${hostname()}\n`);
    if (linux) expect(text).toMatch(/\nboot=[0-9a-f-]{36}\npidns=pid:\[\d+\]\nstart=\d+\n/);
    await expect(lockHome(h)).rejects.toThrow(/another sekey process \(pid \d+\)/);
    release();
    expect(existsSync(join(h, '.lock'))).toBe(false);
    expect(existsSync(join(h, '.lock.who'))).toBe(false);
  });

  test('the locks this process holds go at its exit (releaseHeldLocks), one taken over since stays', async () => {
    const [mine, theirs] = [home(), home()];
    await lockHome(mine);
    await lockHome(theirs);
    // Taken over since by another process (this one judged gone): a new file, not this process's to remove.
    rmSync(join(theirs, '.lock.who'));
    rmSync(join(theirs, '.lock'));
    writeFileSync(join(theirs, '.lock'), '1');
    expect(process.listeners('exit')).toContain(releaseHeldLocks);
    releaseHeldLocks();
    expect(existsSync(join(mine, '.lock'))).toBe(false);
    expect(existsSync(join(mine, '.lock.who'))).toBe(false);
    expect(readFileSync(join(theirs, '.lock'), 'utf8')).toBe('1');
    // Nothing held any more: the lock is free to take again.
    (await lockHome(mine))();
  });

  test('an earlier sekey judges a lock held here by its process ID: held, never taken over', async () => {
    const h = home();
    const lock = join(h, '.lock');
    const release = await lockHome(h);
    // Judged by another process: this one is alive, however long it holds the lock.
    expect(olderSekeyJudges(lock)).toBe('held');
    expect(olderSekeyJudges(lock, Date.now() + 60_000)).toBe('held');
    release();
    // The record in `.lock` itself (as 4e5f006 wrote it) read as a lock being written, then stale:
    // the earlier sekey took it over five seconds on, while its holder still worked.
    writeFileSync(lock, await recordWith({ pid: String(process.ppid) }));
    expect(olderSekeyJudges(lock)).toBe('being written');
    expect(olderSekeyJudges(lock, Date.now() + 60_000)).toBe('stale');
  });

  test('a lock naming this process’s ID that this process does not hold is stale (a container’s PID 1)', async () => {
    const h = home();
    // Left by a killed command that had the same process ID (PID 1 in a container, every time):
    // by an earlier version (no record, older than 5 s), or by this one (its record, this namespace).
    for (const leave of [
      () => age(new Date(Date.now() - 60_000), writeLock(h, String(process.pid))),
      async () => void (await holdAs(h, {})),
    ]) {
      await leave();
      const release = await lockHome(h);
      // Held now, by this process: a second command in it is still refused.
      await expect(lockHome(h)).rejects.toThrow(expect.objectContaining({ code: 'Busy' }));
      release();
      expect(existsSync(join(h, '.lock'))).toBe(false);
    }
  });

  test.each([
    ['empty', '', undefined],
    ['no record', DEAD, undefined],
    ['a half-written record', DEAD, `host=${hostname()}\npid=99`],
    ['a record without its ID', DEAD, `host=${hostname()}\n`],
    ['a half-written record in the lock (4e5f006)', `host=${hostname()}\npid=1`, undefined],
    ['a record in the lock without its ID (4e5f006)', `host=${hostname()}\n`, undefined],
  ])('a lock (%s) is being taken: held while fresh, judged by its ID once old', async (_, text, who) => {
    const h = home();
    const lock = join(h, '.lock');
    // What a competing process's lock looks like between its exclusive create and its writes.
    writeFileSync(lock, text);
    if (who !== undefined) writeFileSync(`${lock}.who`, who);
    const busy = lockHome(h);
    await expect(busy).rejects.toThrow(expect.objectContaining({ code: 'Busy' }));
    // Not "remove the lock if it is gone": a lock without its record clears by itself once not fresh
    // (5 s after it was written, here just now: a slow machine may have taken a second or more since).
    const left = text === DEAD ? `(pid ${DEAD}, which is not running here) left it, or another is taking it` : '';
    await expect(busy).rejects.toThrow(
      expect.objectContaining({
        message: expect.stringMatching(new RegExp(`${left.replace(/[()]/g, '\\$&')}.*clears by itself within [1-5] s`)),
        remedy: expect.stringMatching(
          /^Wait for it: run the command again with --wait [2-6] \(or more\); nothing needs /,
        ),
      }),
    );
    await expect(busy).rejects.not.toThrow('remove');
    expect(existsSync(lock)).toBe(true);
    age(new Date(Date.now() - 60_000), lock);
    const release = await lockHome(h); // no ID, or a dead one: taken over, the record with it
    expect(readFileSync(`${lock}.who`, 'utf8')).toContain(`pid=${process.pid}\n`);
    release();
    expect(existsSync(`${lock}.who`)).toBe(false);
  });

  test('an earlier version’s lock (no record) of a live process is held, however old', async () => {
    const h = home();
    const lock = writeLock(h, String(process.ppid)); // a live process (this one's parent)
    for (const at of [new Date(), new Date(Date.now() - 60_000)]) {
      age(at, lock);
      await expect(lockHome(h)).rejects.toThrow(`another sekey process (pid ${process.ppid}) is using ${h}; wait`);
    }
  });

  test('a record left over (naming another process, or older than the lock) counts as none', async () => {
    const h = home();
    const lock = join(h, '.lock');
    // A record that, were it the lock's, would make it Busy (another host); the lock names a dead ID.
    const elsewhere = await recordWith({ host: 'nfs-peer', boot: undefined, pidns: undefined, pid: DEAD });
    for (const [pid, whoAt] of [
      ['999999998', new Date()], // a crash between the two files, or an earlier version's takeover
      [DEAD, new Date(Date.now() - 3_600_000)], // the same ID, but written before the lock
    ] as const) {
      writeFileSync(`${lock}.who`, elsewhere);
      age(whoAt, `${lock}.who`);
      writeLock(h, pid);
      // No record: being taken while fresh, then the earlier version's lock of a dead process.
      await expect(lockHome(h)).rejects.toThrow(`(pid ${pid}, which is not running here) left it`);
      age(new Date(Date.now() - 60_000), lock);
      const release = await lockHome(h);
      expect(readFileSync(`${lock}.who`, 'utf8')).toContain(`pid=${process.pid}\n`);
      release();
      expect(existsSync(lock) || existsSync(`${lock}.who`)).toBe(false);
    }
  });

  test('a stale lock replaced after it was judged stale is left alone, not taken over', () => {
    const h = home();
    const lock = join(h, '.lock');
    writeFileSync(lock, '999999999');
    const judged = statSync(lock, { bigint: true });
    // Another process took the stale lock over and holds a fresh one (a new file) in its place.
    rmSync(lock);
    writeFileSync(lock, String(process.pid));
    writeFileSync(`${lock}.who`, `pid=${process.pid}\n`);
    expect(() => takeOverStale(h, lock, judged)).toThrow(expect.objectContaining({ code: 'Busy' }));
    expect(readFileSync(lock, 'utf8')).toBe(String(process.pid));
    expect(existsSync(`${lock}.who`)).toBe(true);
    expect(existsSync(`${lock}.takeover`)).toBe(false);
    // The very file judged stale goes, and its record with it.
    takeOverStale(h, lock, statSync(lock, { bigint: true }));
    expect(existsSync(lock)).toBe(false);
    expect(existsSync(`${lock}.who`)).toBe(false);
  });

  test('one takeover at a time: a fresh takeover file means busy; one left by a crash is removed', async () => {
    const h = home();
    const lock = join(h, '.lock');
    writeFileSync(lock, '999999999');
    age(new Date(Date.now() - 60_000), lock); // stale: busy for the takeover file alone
    writeFileSync(`${lock}.takeover`, '999999998');
    await expect(lockHome(h)).rejects.toThrow(expect.objectContaining({ code: 'Busy' }));
    expect(readFileSync(lock, 'utf8')).toBe('999999999');
    const old = new Date(Date.now() - 60_000);
    utimesSync(`${lock}.takeover`, old, old);
    const release = await lockHome(h);
    expect(readFileSync(lock, 'utf8')).toBe(String(process.pid));
    expect(existsSync(`${lock}.takeover`)).toBe(false);
    release();
  });

  test('a wait retries until the lock is free, and lets timers (and signal listeners) run meanwhile', async () => {
    const h = home();
    const release = await lockHome(h);
    let ticks = 0;
    const ticker = setInterval(() => {
      ticks += 1;
    }, 20);
    setTimeout(release, 250);
    try {
      const again = await lockHome(h, 5_000);
      expect(ticks).toBeGreaterThan(3); // the event loop went round while it waited
      again();
    } finally {
      clearInterval(ticker);
    }
    const held = await lockHome(h);
    await expect(lockHome(h, 150)).rejects.toThrow(expect.objectContaining({ code: 'Busy' }));
    held();
  });

  test('a process releases only its own lock, not one that replaced it', async () => {
    const h = home();
    const lock = join(h, '.lock');
    const release = await lockHome(h);
    rmSync(lock);
    writeFileSync(lock, '12345678');
    writeFileSync(`${lock}.who`, `host=${hostname()}\npid=12345678\n`);
    release();
    expect(readFileSync(lock, 'utf8')).toBe('12345678');
    expect(readFileSync(`${lock}.who`, 'utf8')).toContain('pid=12345678\n');
  });

  test('an old lock holding its process ID alone is judged by it, as before', async () => {
    const h = home();
    const lock = join(h, '.lock');
    writeFileSync(lock, `${process.ppid}\n`); // a live process (this one's parent)
    age(new Date(Date.now() - 60_000), lock); // older than 5 s: not a lock whose record is being written
    await expect(lockHome(h)).rejects.toThrow(`another sekey process (pid ${process.ppid}) is using ${h}; wait`);
    writeFileSync(lock, DEAD);
    age(new Date(Date.now() - 60_000), lock);
    const release = await lockHome(h);
    expect(readFileSync(lock, 'utf8')).toBe(String(process.pid));
    release();
  });

  test('a lock of a dead process on another host is Busy: it cannot be checked from here', async () => {
    const h = home();
    const lock = await holdAs(h, { host: 'nfs-peer', boot: undefined, pidns: undefined, pid: DEAD });
    const busy = lockHome(h);
    await expect(busy).rejects.toThrow(expect.objectContaining({ code: 'Busy' }));
    await expect(busy).rejects.toThrow(
      `another sekey process (pid ${DEAD}) is using ${h} from another host named nfs-peer, where this one cannot ` +
        `tell whether it still runs; wait for it (--wait SECONDS), or remove ${lock} only once that process is gone`,
    );
    expect(readFileSync(lock, 'utf8')).toBe(DEAD);
    expect(readFileSync(`${lock}.who`, 'utf8')).toContain(`pid=${DEAD}\n`);
    // Another host's, whatever its boot: written since this host booted, so not an earlier boot of it.
    await holdAs(h, { host: 'nfs-peer', boot: '00000000-0000-0000-0000-000000000000', pid: DEAD });
    age(LONG_AGO, lock, `${lock}.who`);
    await expect(lockHome(h)).rejects.toThrow(/from another host named nfs-peer/);
    // The record in the lock itself, as 4e5f006 wrote it, is judged the same.
    rmSync(`${lock}.who`);
    writeFileSync(lock, await recordWith({ host: 'nfs-peer', boot: undefined, pidns: undefined, pid: DEAD }));
    age(new Date(Date.now() - 60_000), lock);
    await expect(lockHome(h)).rejects.toThrow(`(pid ${DEAD}) is using ${h} from another host named nfs-peer, where`);
  });

  test.skipIf(!linux)('a lock of a dead process in another PID namespace is Busy, even naming this ID', async () => {
    const h = home();
    // The cron job's container and the operator's, on one host, sharing the home's volume.
    for (const pid of [DEAD, String(process.pid)]) {
      await holdAs(h, { pidns: 'pid:[1]', pid });
      await expect(lockHome(h)).rejects.toThrow(
        `another sekey process (pid ${pid}) is using ${h} from another PID namespace (a container?) ` +
          `on host ${hostname()}`,
      );
    }
    // A namespace recorded on one side only (no /proc on the other) is not known to be the same.
    const lock = await holdAs(h, { pidns: undefined, pid: DEAD });
    age(new Date(Date.now() - 60_000), lock, `${lock}.who`);
    await expect(lockHome(h)).rejects.toThrow(/from another PID namespace \(a container\?\)/);
    expect(existsSync(lock)).toBe(true);
    expect(existsSync(`${lock}.who`)).toBe(true);
  });

  test.skipIf(!linux)(
    'a lock from an earlier boot of this host is taken over, not one written since it booted',
    async () => {
      const h = home();
      // Its process ID is alive now (this one's parent): another boot's processes are all gone anyway.
      const lock = await holdAs(h, { boot: '00000000-0000-0000-0000-000000000000', pid: String(process.ppid) });
      await expect(lockHome(h)).rejects.toThrow(/from another host named /);
      age(LONG_AGO, lock, `${lock}.who`);
      const release = await lockHome(h);
      expect(readFileSync(lock, 'utf8')).toBe(String(process.pid));
      expect(readFileSync(`${lock}.who`, 'utf8')).toContain(`pid=${process.pid}\n`);
      release();
    },
  );

  test.skipIf(!linux)('a lock whose process ID was reused (another start time) is taken over', async () => {
    const h = home();
    const parent = String(process.ppid); // alive, in this PID namespace
    const lock = await holdAs(h, { start: startOf(process.ppid), pid: parent });
    await expect(lockHome(h)).rejects.toThrow(`another sekey process (pid ${parent}) is using ${h}; wait`);
    await holdAs(h, { start: String(Number(startOf(process.ppid)) + 1), pid: parent });
    const release = await lockHome(h);
    expect(readFileSync(lock, 'utf8')).toBe(String(process.pid));
    release();
  });

  test('a lock of a live process this user may not signal (EPERM) is held, never taken over', async () => {
    // kill(pid, 0) answers EPERM for a live process of another user (POSIX kill(2)): alive. No process
    // answers so to root, as tests often run, so the answer is staged for the lock's process ID alone.
    const h = home();
    const lock = await holdAs(h, { pid: DEAD });
    const kill = process.kill.bind(process);
    const spy = vi.spyOn(process, 'kill').mockImplementation((pid, signal) => {
      if (pid !== Number(DEAD)) return kill(pid, signal);
      throw Object.assign(new Error(`kill ${DEAD}: operation not permitted`), { code: 'EPERM' });
    });
    try {
      await expect(lockHome(h)).rejects.toThrow(`another sekey process (pid ${DEAD}) is using ${h}; wait`);
    } finally {
      spy.mockRestore();
    }
    expect(readFileSync(lock, 'utf8')).toBe(DEAD);
    expect(readFileSync(`${lock}.who`, 'utf8')).toContain(`pid=${DEAD}\n`);
  });

  test.skipIf(!linux)('a lock of a dead process on this host, boot and PID namespace is taken over', async () => {
    const h = home();
    const lock = await holdAs(h, { pid: DEAD });
    (await lockHome(h))();
    expect(existsSync(lock)).toBe(false);
    expect(existsSync(`${lock}.who`)).toBe(false);
  });
});
