/**
 * A home others may change is refused before anything is read or written, and what a command writes
 * in the HSMs' folders never goes through a name someone else planted (a security review wrote
 * copies of the admin HSM into a file of its own through both).
 */
import {
  chmodSync,
  closeSync,
  linkSync,
  mkdirSync,
  readFileSync,
  renameSync,
  statSync,
  symlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { manualInstallation, removeTempDirs, tempDir } from '../cli/sekeyRun.testkit.ts';
import { openOwnFile, writeFileDurable } from './atomicFile.ts';
import { notPrivate } from './privateFolder.ts';

afterAll(removeTempDirs);

const posix = process.getuid !== undefined;

describe.skipIf(!posix)('a home that others may change is refused (UnsafeHome)', () => {
  test('a private folder passes; one its group or others may write to does not; a missing one is no reason', () => {
    const dir = tempDir();
    expect(notPrivate(dir, true)).toBeNull();
    chmodSync(dir, 0o775);
    expect(notPrivate(dir, true)).toMatch(/may be written to by its group \(mode 775\)/);
    chmodSync(dir, 0o757);
    expect(notPrivate(dir, true)).toMatch(/may be written to by others \(mode 757\)/);
    chmodSync(dir, 0o700);
    expect(notPrivate(join(dir, 'absent'), true)).toBeNull();
    const file = join(dir, 'f');
    writeFileSync(file, '');
    expect(notPrivate(file, true)).toBe('is not a folder');
    symlinkSync(dir, join(dir, 'link'));
    expect(notPrivate(join(dir, 'link'), false)).toBe('is a symbolic link');
    expect(notPrivate(join(dir, 'link'), true)).toBeNull();
  });

  test('every command refuses a group-writable home, and one whose admin/ is a link; nothing read or written', async () => {
    const { home, run } = await manualInstallation();
    chmodSync(home, 0o777);
    const open = await run('admin', 'status');
    expect(open.code).toBe(1);
    expect(open.err).toMatch(/UnsafeHome: .* may be written to by its group and others \(mode 777\).*chmod go-w/);
    chmodSync(home, 0o755);
    expect((await run('admin', 'status')).code).toBe(0);
    const before = readFileSync(join(home, 'admin', 'flash.img'));
    // Someone moved admin/ away and put a link to it in its place.
    renameSync(join(home, 'admin'), join(home, 'admin.real'));
    symlinkSync(join(home, 'admin.real'), join(home, 'admin'));
    const linked = await run('admin', 'add-user', 'U1', 'alice');
    expect(linked.code).toBe(1);
    expect(linked.err).toMatch(/UnsafeHome: .*admin is a symbolic link/);
    expect(readFileSync(join(home, 'admin.real', 'flash.img'))).toEqual(before);
  });

  test('init refuses a home that others may write to, and makes a new one closed to them whatever the umask', async () => {
    const open = join(tempDir(), 'open');
    mkdirSync(open);
    chmodSync(open, 0o777);
    const { run } = await manualInstallation();
    const refused = await run('admin', 'init', '--home', open, '--admin-pin', 'admin-pin', '--user-pin', 'user-pin');
    expect(refused.code).toBe(1);
    expect(refused.err).toMatch(/UnsafeHome/);
    const previous = process.umask(0o002);
    try {
      const made = join(tempDir(), 'made');
      const init = await run('admin', 'init', '--home', made, '--admin-pin', 'admin-pin', '--user-pin', 'user-pin');
      expect(init.code, init.err).toBe(0);
      expect(statSync(made).mode & 0o022).toBe(0);
    } finally {
      process.umask(previous);
    }
  });
});

describe.skipIf(!posix)('openOwnFile: never writes through a name someone else planted', () => {
  const write = (path: string, text: string) => {
    const fd = openOwnFile(path, 0o600);
    try {
      writeSync(fd, text);
    } finally {
      closeSync(fd);
    }
  };

  test('a symbolic link or a hard link under the name is replaced by a file of its own; the other file is untouched', () => {
    const dir = tempDir();
    const theirs = join(dir, 'theirs');
    writeFileSync(theirs, 'their bytes', { mode: 0o666 });
    symlinkSync(theirs, join(dir, 'checkpoint.0'));
    linkSync(theirs, join(dir, 'checkpoint.1'));
    write(join(dir, 'checkpoint.0'), 'HSM copy');
    write(join(dir, 'checkpoint.1'), 'HSM copy');
    expect(readFileSync(theirs, 'utf8')).toBe('their bytes');
    for (const slot of ['checkpoint.0', 'checkpoint.1']) {
      const st = statSync(join(dir, slot));
      expect([st.nlink, st.mode & 0o777, readFileSync(join(dir, slot), 'utf8')]).toEqual([1, 0o600, 'HSM copy']);
    }
  });

  test('a file of its own is written in place from its start, its mode set exactly', () => {
    const dir = tempDir();
    const path = join(dir, 'own');
    writeFileSync(path, 'a much longer old content', { mode: 0o644 });
    const inode = statSync(path).ino;
    writeFileDurable(path, 'new', 0o600);
    expect([readFileSync(path, 'utf8'), statSync(path).mode & 0o777, statSync(path).ino]).toEqual([
      'new',
      0o600,
      inode,
    ]);
  });
});
