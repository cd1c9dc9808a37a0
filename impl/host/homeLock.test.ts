import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { lockHome, takeOverStale } from './homeLock.ts';

const homes: string[] = [];
function home(): string {
  const dir = mkdtempSync(join(tmpdir(), 'sekey-lock-'));
  homes.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of homes.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** This process's lock record, as fields (what a lock it takes holds). */
async function ownRecord(): Promise<Map<string, string>> {
  const h = home();
  const release = await lockHome(h);
  const text = readFileSync(join(h, '.lock'), 'utf8');
  release();
  return new Map(
    text
      .trimEnd()
      .split('\n')
      .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
  );
}

/** A lock's text as another process would write it: this one's record with `changes` (undefined: left out). */
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

/** A process's start time, field 22 of its `/proc/<pid>/stat`. */
function startOf(pid: number): string {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]!;
}

const linux = existsSync('/proc/self/ns/pid') && existsSync('/proc/sys/kernel/random/boot_id');
const DEAD = '999999999'; // above any PID_MAX: no process has it
const LONG_AGO = new Date('2000-01-01T00:00:00Z'); // before this host booted

describe('the home lock', () => {
  test('is held by its process ID and released', async () => {
    const h = home();
    const release = await lockHome(h);
    const text = readFileSync(join(h, '.lock'), 'utf8');
    expect(text).toMatch(new RegExp(`^host=.*\\npid=${process.pid}\\n$`, 's'));
    expect(text).toContain(`host=${hostname()}\n`);
    if (linux) expect(text).toMatch(/\nboot=[0-9a-f-]{36}\npidns=pid:\[\d+\]\nstart=\d+\n/);
    await expect(lockHome(h)).rejects.toThrow(/another sekey process \(pid \d+\)/);
    release();
    expect(existsSync(join(h, '.lock'))).toBe(false);
  });

  test('a lock naming this process’s ID that this process does not hold is stale (a container’s PID 1)', async () => {
    const h = home();
    // Left by a killed command that had the same process ID (PID 1 in a container, every time).
    writeFileSync(join(h, '.lock'), String(process.pid));
    const release = await lockHome(h);
    // Held now, by this process: a second command in it is still refused.
    await expect(lockHome(h)).rejects.toThrow(expect.objectContaining({ code: 'Busy' }));
    release();
    expect(existsSync(join(h, '.lock'))).toBe(false);
  });

  test.each([
    ['empty', ''],
    ['half-written', `host=${hostname()}\npid=1`],
    ['record without its ID', `host=${hostname()}\n`],
  ])('a lock without its process ID yet (%s) is being taken: held while fresh, stale once old', async (_, text) => {
    const h = home();
    const lock = join(h, '.lock');
    // What a competing process's lock looks like between its exclusive create and its write.
    writeFileSync(lock, text);
    await expect(lockHome(h)).rejects.toThrow(expect.objectContaining({ code: 'Busy' }));
    expect(existsSync(lock)).toBe(true);
    const old = new Date(Date.now() - 60_000);
    utimesSync(lock, old, old);
    (await lockHome(h))();
  });

  test('a stale lock replaced after it was judged stale is left alone, not taken over', () => {
    const h = home();
    const lock = join(h, '.lock');
    writeFileSync(lock, '999999999');
    const judged = statSync(lock, { bigint: true });
    // Another process took the stale lock over and holds a fresh one (a new file) in its place.
    rmSync(lock);
    writeFileSync(lock, String(process.pid));
    expect(() => takeOverStale(h, lock, judged)).toThrow(expect.objectContaining({ code: 'Busy' }));
    expect(readFileSync(lock, 'utf8')).toBe(String(process.pid));
    expect(existsSync(`${lock}.takeover`)).toBe(false);
    // The very file judged stale goes.
    takeOverStale(h, lock, statSync(lock, { bigint: true }));
    expect(existsSync(lock)).toBe(false);
  });

  test('one takeover at a time: a fresh takeover file means busy; one left by a crash is removed', async () => {
    const h = home();
    const lock = join(h, '.lock');
    writeFileSync(lock, '999999999');
    writeFileSync(`${lock}.takeover`, '999999998');
    await expect(lockHome(h)).rejects.toThrow(expect.objectContaining({ code: 'Busy' }));
    expect(readFileSync(lock, 'utf8')).toBe('999999999');
    const old = new Date(Date.now() - 60_000);
    utimesSync(`${lock}.takeover`, old, old);
    const release = await lockHome(h);
    expect(readFileSync(lock, 'utf8')).toContain(`pid=${process.pid}\n`);
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
    release();
    expect(readFileSync(lock, 'utf8')).toBe('12345678');
  });

  test('an old lock holding its process ID alone is judged by it, as before', async () => {
    const h = home();
    const lock = join(h, '.lock');
    writeFileSync(lock, `${process.ppid}\n`); // a live process (this one's parent)
    await expect(lockHome(h)).rejects.toThrow(`another sekey process (pid ${process.ppid}) is using ${h}; wait`);
    writeFileSync(lock, DEAD);
    const release = await lockHome(h);
    expect(readFileSync(lock, 'utf8')).toContain(`pid=${process.pid}\n`);
    release();
  });

  test('a lock of a dead process on another host is Busy: it cannot be checked from here', async () => {
    const h = home();
    const lock = join(h, '.lock');
    writeFileSync(lock, await recordWith({ host: 'nfs-peer', boot: undefined, pidns: undefined, pid: DEAD }));
    const busy = lockHome(h);
    await expect(busy).rejects.toThrow(expect.objectContaining({ code: 'Busy' }));
    await expect(busy).rejects.toThrow(
      `another sekey process (pid ${DEAD}) is using ${h} from another host named nfs-peer, where this one cannot ` +
        `tell whether it still runs; wait for it (--wait SECONDS), or remove ${lock} only once that process is gone`,
    );
    expect(readFileSync(lock, 'utf8')).toContain(`pid=${DEAD}\n`);
    // Another host's, whatever its boot: written since this host booted, so not an earlier boot of it.
    writeFileSync(
      lock,
      await recordWith({ host: 'nfs-peer', boot: '00000000-0000-0000-0000-000000000000', pid: DEAD }),
    );
    utimesSync(lock, LONG_AGO, LONG_AGO);
    await expect(lockHome(h)).rejects.toThrow(/from another host named nfs-peer/);
  });

  test.skipIf(!linux)('a lock of a dead process in another PID namespace is Busy, even naming this ID', async () => {
    const h = home();
    const lock = join(h, '.lock');
    // The cron job's container and the operator's, on one host, sharing the home's volume.
    for (const pid of [DEAD, String(process.pid)]) {
      writeFileSync(lock, await recordWith({ pidns: 'pid:[1]', pid }));
      await expect(lockHome(h)).rejects.toThrow(
        `another sekey process (pid ${pid}) is using ${h} from another PID namespace (a container?) ` +
          `on host ${hostname()}`,
      );
    }
    // A namespace recorded on one side only (no /proc on the other) is not known to be the same.
    writeFileSync(lock, await recordWith({ pidns: undefined, pid: DEAD }));
    await expect(lockHome(h)).rejects.toThrow(/from another PID namespace \(a container\?\)/);
    expect(existsSync(lock)).toBe(true);
  });

  test.skipIf(!linux)(
    'a lock from an earlier boot of this host is taken over, not one written since it booted',
    async () => {
      const h = home();
      const lock = join(h, '.lock');
      // Its process ID is alive now (this one's parent): another boot's processes are all gone anyway.
      writeFileSync(
        lock,
        await recordWith({ boot: '00000000-0000-0000-0000-000000000000', pid: String(process.ppid) }),
      );
      await expect(lockHome(h)).rejects.toThrow(/from another host named /);
      utimesSync(lock, LONG_AGO, LONG_AGO);
      const release = await lockHome(h);
      expect(readFileSync(lock, 'utf8')).toContain(`pid=${process.pid}\n`);
      release();
    },
  );

  test.skipIf(!linux)('a lock whose process ID was reused (another start time) is taken over', async () => {
    const h = home();
    const lock = join(h, '.lock');
    const parent = String(process.ppid); // alive, in this PID namespace
    writeFileSync(lock, await recordWith({ start: startOf(process.ppid), pid: parent }));
    await expect(lockHome(h)).rejects.toThrow(`another sekey process (pid ${parent}) is using ${h}; wait`);
    writeFileSync(lock, await recordWith({ start: String(Number(startOf(process.ppid)) + 1), pid: parent }));
    const release = await lockHome(h);
    expect(readFileSync(lock, 'utf8')).toContain(`pid=${process.pid}\n`);
    release();
  });

  test.skipIf(!linux)('a lock of a dead process on this host, boot and PID namespace is taken over', async () => {
    const h = home();
    const lock = join(h, '.lock');
    writeFileSync(lock, await recordWith({ pid: DEAD }));
    (await lockHome(h))();
    expect(existsSync(lock)).toBe(false);
  });
});
