import type * as fs from 'node:fs';
import { chmodSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, test, vi } from 'vitest';
import { createFileAtomic, writeFileAtomic, writeFilesAtomic } from './atomicFile.ts';

// The mode of each file at the moment bytes are written into it: what a process killed then leaves
// behind (`sekey user U decrypt IN OUT` killed mid-write left `.tmp-OUT-…` of plaintext, mode 0644).
// `swapIn`: a folder whose temporary file is replaced by a link to `victim` once its bytes are flushed, as
// someone who may write in the folder could do before its mode is set.
// `calls`: the writes and mode changes, in order.
const seen = vi.hoisted(() => ({
  modes: [] as number[],
  swapIn: null as string | null,
  victim: '',
  calls: [] as string[],
}));
vi.mock('node:fs', async (importOriginal) => {
  const real = await importOriginal<typeof fs>();
  return {
    ...real,
    writeFileSync: (...args: Parameters<typeof real.writeFileSync>) => {
      if (typeof args[0] === 'number') {
        seen.modes.push(real.fstatSync(args[0]).mode & 0o777);
        seen.calls.push('write');
      }
      real.writeFileSync(...args);
    },
    fchmodSync: (fd: number, mode: number) => {
      seen.calls.push(`fchmod ${mode.toString(8)}`);
      real.fchmodSync(fd, mode);
    },
    fsyncSync: (fd: number) => {
      real.fsyncSync(fd);
      const dir = seen.swapIn;
      if (dir === null) return;
      for (const name of real.readdirSync(dir).filter((n) => n.startsWith('.tmp-'))) {
        real.renameSync(join(dir, name), join(dir, 'moved-away'));
        real.symlinkSync(seen.victim, join(dir, name));
      }
    },
  };
});

afterEach(() => {
  seen.modes = [];
  seen.swapIn = null;
  seen.calls = [];
});

test("an atomic write's temporary file is owner-only while it holds the bytes; the file then gets its mode", () => {
  const dir = mkdtempSync(join(tmpdir(), 'sekey-tmpmode-'));
  const previous = process.umask(0o022);
  try {
    writeFileAtomic(join(dir, 'plain.txt'), 'secret');
    writeFileAtomic(join(dir, 'shared.txt'), 'secret', 0o644);
    createFileAtomic(join(dir, 'new.txt'), 'secret');
    writeFilesAtomic([[join(dir, 'report.json'), '{}']]);
    expect(seen.modes).toEqual([0o600, 0o600, 0o600, 0o600]);
    // Without a mode, the one a new file gets under the umask; with one, exactly that.
    expect(statSync(join(dir, 'plain.txt')).mode & 0o777).toBe(0o644);
    expect(statSync(join(dir, 'shared.txt')).mode & 0o777).toBe(0o644);
    expect(statSync(join(dir, 'new.txt')).mode & 0o777).toBe(0o644);
    expect(statSync(join(dir, 'report.json')).mode & 0o777).toBe(0o644);
    process.umask(0o077);
    writeFileAtomic(join(dir, 'private.txt'), 'secret');
    expect(statSync(join(dir, 'private.txt')).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(dir, 'private.txt'), 'utf8')).toBe('secret');
    expect(readdirSync(dir).sort()).toEqual(['new.txt', 'plain.txt', 'private.txt', 'report.json', 'shared.txt']);
  } finally {
    process.umask(previous);
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the mode is set through the descriptor that wrote the bytes: a link put in its place changes nothing', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sekey-tmpmode-'));
  const elsewhere = mkdtempSync(join(tmpdir(), 'sekey-tmpmode-victim-'));
  const previous = process.umask(0o022);
  try {
    seen.victim = join(elsewhere, 'id_ed25519');
    writeFileSync(seen.victim, 'private key');
    chmodSync(seen.victim, 0o600);
    seen.swapIn = dir;
    writeFileAtomic(join(dir, 'out.txt'), 'x');
    // Set by path, the mode went through the link: the victim became 0644.
    expect(statSync(seen.victim).mode & 0o777).toBe(0o600);
  } finally {
    process.umask(previous);
    rmSync(dir, { recursive: true, force: true });
    rmSync(elsewhere, { recursive: true, force: true });
  }
});

test('no mode is changed before the bytes are in, and none that is already right (a FAT stick refuses changes)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sekey-tmpmode-'));
  const previous = process.umask(0o077);
  try {
    // Created owner-only by open(2), and owner-only is the mode a new file gets here: nothing to change.
    writeFileAtomic(join(dir, 'a.txt'), 'x');
    expect(seen.calls).toEqual(['write']);
    process.umask(0o022);
    seen.calls = [];
    writeFileAtomic(join(dir, 'b.txt'), 'x');
    expect(seen.calls).toEqual(['write', 'fchmod 644']);
  } finally {
    process.umask(previous);
    rmSync(dir, { recursive: true, force: true });
  }
});
