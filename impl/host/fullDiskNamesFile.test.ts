import type * as fs from 'node:fs';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, test, vi } from 'vitest';
import { writeFileAtomic, writeFilesAtomic } from './atomicFile.ts';
import { saveDeviceCheckpoint, saveDeviceImages } from './deviceImages.ts';

// A full disk, as Node reports it for a write through a descriptor: the message names the call and
// no path (seen with `sekey user U decrypt IN OUT` on a full disk: "ENOSPC: no space left on device,
// write", under a remedy that says to free space "on the disk that holds the path named").
// `noEntries`: a disk full of entries (no inode, no block for the folder to grow): a new file cannot be
// created, and Node's error names the path opened, for an atomic write its temporary file's.
const disk = vi.hoisted(() => ({ full: false, noEntries: false }));
const enospc = () =>
  Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', errno: -28, syscall: 'write' });
vi.mock('node:fs', async (importOriginal) => {
  const real = await importOriginal<typeof fs>();
  return {
    ...real,
    openSync: (...args: Parameters<typeof real.openSync>) => {
      const [path, flags] = args;
      if (disk.noEntries && typeof flags === 'number' && (flags & real.constants.O_CREAT) !== 0)
        throw Object.assign(new Error(`ENOSPC: no space left on device, open '${String(path)}'`), {
          code: 'ENOSPC',
          errno: -28,
          syscall: 'open',
          path: String(path),
        });
      return real.openSync(...args);
    },
    writeFileSync: (...args: Parameters<typeof real.writeFileSync>) => {
      if (disk.full && typeof args[0] === 'number') throw enospc();
      real.writeFileSync(...args);
    },
    writeSync: (...args: Parameters<typeof real.writeSync>) => {
      if (disk.full) throw enospc();
      return (real.writeSync as (...a: Parameters<typeof real.writeSync>) => number)(...args);
    },
  };
});

afterEach(() => {
  disk.full = false;
  disk.noEntries = false;
});

/** The message of what `run` throws. */
function thrown(run: () => void): string {
  try {
    run();
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('it did not throw');
}

test('a full disk under atomic writes names the file asked for, not its temporary name', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sekey-full-'));
  const out = join(dir, 'plain.txt');
  disk.full = true;
  expect(thrown(() => writeFileAtomic(out, 'decrypted'))).toBe(`ENOSPC: no space left on device, write '${out}'`);
  // So does a write of files that go together (a report and its rendering).
  expect(thrown(() => writeFilesAtomic([[out, 'data']]))).toBe(`ENOSPC: no space left on device, write '${out}'`);
  expect(readdirSync(dir)).toEqual([]);
});

test("a full disk under an HSM's images or its checkpoint names the file that could not be written", () => {
  const dir = mkdtempSync(join(tmpdir(), 'sekey-full-'));
  const images = { flash: new Uint8Array(64).fill(0xff), sd: new Uint8Array(512) };
  disk.full = true;
  expect(thrown(() => saveDeviceImages(dir, images))).toBe(
    `ENOSPC: no space left on device, write '${join(dir, 'flash.img')}'`,
  );
  expect(thrown(() => saveDeviceCheckpoint(dir, images))).toMatch(
    new RegExp(`^ENOSPC: no space left on device, write '${join(dir, 'checkpoint')}\\.[01]'$`),
  );
});

test('a file that cannot be created names the file asked for, its temporary name after it', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sekey-full-'));
  const out = join(dir, 'plain.txt');
  disk.noEntries = true;
  expect(thrown(() => writeFileAtomic(out, 'decrypted'))).toMatch(
    new RegExp(`^ENOSPC: no space left on device, open '${out}' \\(\\.tmp-plain\\.txt-[0-9a-f]{12}\\)$`),
  );
  const images = { flash: new Uint8Array(64).fill(0xff), sd: new Uint8Array(512) };
  expect(thrown(() => saveDeviceImages(dir, images))).toBe(
    `ENOSPC: no space left on device, open '${join(dir, 'flash.img')}' (flash.img.new)`,
  );
  expect(readdirSync(dir)).toEqual([]);
});
