import type * as fs from 'node:fs';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, test, vi } from 'vitest';
import { createFileAtomic, writeFileAtomic, writeFilesAtomic } from './atomicFile.ts';

// The mode of each file at the moment bytes are written into it: what a process killed then leaves
// behind (`sekey user U decrypt IN OUT` killed mid-write left `.tmp-OUT-…` of plaintext, mode 0644).
const seen = vi.hoisted(() => ({ modes: [] as number[] }));
vi.mock('node:fs', async (importOriginal) => {
  const real = await importOriginal<typeof fs>();
  return {
    ...real,
    writeFileSync: (...args: Parameters<typeof real.writeFileSync>) => {
      if (typeof args[0] === 'number') seen.modes.push(real.fstatSync(args[0]).mode & 0o777);
      real.writeFileSync(...args);
    },
  };
});

afterEach(() => {
  seen.modes = [];
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
