import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
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

describe('the home lock', () => {
  test('is held by its process ID and released', async () => {
    const h = home();
    const release = await lockHome(h);
    expect(readFileSync(join(h, '.lock'), 'utf8')).toBe(String(process.pid));
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

  test('a lock without its process ID yet is being taken: held while fresh, stale once old', async () => {
    const h = home();
    const lock = join(h, '.lock');
    // What a competing process's lock looks like between its exclusive create and its write.
    writeFileSync(lock, '');
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
    release();
    expect(readFileSync(lock, 'utf8')).toBe('12345678');
  });
});
