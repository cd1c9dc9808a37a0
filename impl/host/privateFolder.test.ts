/**
 * Whether a folder is its owner's alone to change, and files written never through a name someone
 * else planted (a security review wrote copies of the admin HSM into a file of its own through both).
 * The commands' refusal of such a home: `impl/cli/unsafeHome.test.ts`.
 */
import { chmodSync, closeSync, linkSync, readFileSync, statSync, symlinkSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { afterAll, describe, expect, test } from 'vitest';
import { openOwnFile, writeFileDurable } from './atomicFile.ts';
import { notPrivate, privateGroup } from './privateFolder.ts';

const posix = process.getuid !== undefined;
const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'sekey-private-'));
  dirs.push(dir);
  return dir;
}

describe.skipIf(!posix)('a home that others may change is refused (UnsafeHome)', () => {
  test('a private folder passes; one its group or others may write to does not; a missing one is no reason', () => {
    const dir = tempDir();
    expect(notPrivate(dir, true)).toBeNull();
    chmodSync(dir, 0o775);
    // Group-writable passes only when the group is the user's private one (umask 002 systems).
    const own = privateGroup(statSync(dir).gid, process.getuid?.() ?? -1);
    if (own) expect(notPrivate(dir, true)).toBeNull();
    else expect(notPrivate(dir, true)).toMatch(/may be written to by its group \(mode 775\)/);
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
});

describe('private groups (umask 002 systems)', () => {
  test("only the user's primary group, named after it, with no other member or account, is private", () => {
    const dir = tempDir();
    const lookup = (group: string, passwd: string) => {
      writeFileSync(join(dir, 'group'), group);
      writeFileSync(join(dir, 'passwd'), passwd);
      return { name: 'alice', primaryGid: 1001, groupFile: join(dir, 'group'), passwdFile: join(dir, 'passwd') };
    };
    const passwd = 'root:x:0:0::/root:/bin/sh\nalice:x:1001:1001::/home/alice:/bin/sh\n';
    expect(privateGroup(1001, 1001, lookup('root:x:0:\nalice:x:1001:\n', passwd))).toBe(true);
    expect(privateGroup(1001, 1001, lookup('alice:x:1001:alice\n', passwd))).toBe(true);
    // Another member, another name, another account's primary group, not her primary group, no file.
    expect(privateGroup(1001, 1001, lookup('alice:x:1001:alice,mallory\n', passwd))).toBe(false);
    expect(privateGroup(1001, 1001, lookup('staff:x:1001:\n', passwd))).toBe(false);
    const shared = `${passwd}mallory:x:1002:1001::/home/mallory:/bin/sh\n`;
    expect(privateGroup(1001, 1001, lookup('alice:x:1001:\n', shared))).toBe(false);
    expect(privateGroup(100, 1001, lookup('users:x:100:\nalice:x:1001:\n', passwd))).toBe(false);
    expect(privateGroup(1001, 1001, { ...lookup('', ''), groupFile: join(dir, 'absent') })).toBe(false);
  });
});

describe.skipIf(!posix)('openOwnFile: never writes through a name someone else planted', () => {
  const write = (path: string, text: string) => {
    const { fd } = openOwnFile(path, 0o600);
    try {
      writeSync(fd, text);
    } finally {
      closeSync(fd);
    }
  };

  test('a symbolic or hard link under the name is replaced by a file of its own; the other is untouched', () => {
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

  test('a FIFO under the name does not block it: replaced too; a new entry says so, one rewritten does not', () => {
    const dir = tempDir();
    const fifo = join(dir, 'checkpoint.0');
    if (spawnSync('mkfifo', [fifo]).status !== 0) return; // no mkfifo here: nothing to show
    const opened = openOwnFile(fifo, 0o600);
    closeSync(opened.fd);
    expect([opened.created, statSync(fifo).isFile()]).toEqual([true, true]);
    const again = openOwnFile(fifo, 0o600);
    closeSync(again.fd);
    expect(again.created).toBe(false);
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
