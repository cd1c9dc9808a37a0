import { existsSync, mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { makeFolders, notAFolderMessage } from './makeFolders.ts';

const base = mkdtempSync(join(tmpdir(), 'sekey-folders-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));

describe('makeFolders', () => {
  test('makes every missing folder and returns the first, as mkdirSync(recursive) does', () => {
    const deep = join(base, 'a', 'b', 'c');
    expect(makeFolders(deep, 0o700)).toBe(join(base, 'a'));
    expect(statSync(deep).isDirectory()).toBe(true);
    if (process.platform !== 'win32') expect(statSync(join(base, 'a', 'b')).mode & 0o777).toBe(0o700);
    expect(makeFolders(deep)).toBeUndefined();
    // Through a link to a folder: it is one.
    symlinkSync(join(base, 'a'), join(base, 'to-a'), 'dir');
    expect(makeFolders(join(base, 'to-a', 'b'))).toBeUndefined();
    expect(makeFolders(join(base, 'to-a', 'd'))).toBe(join(base, 'to-a', 'd'));
    expect(existsSync(join(base, 'a', 'd'))).toBe(true);
  });

  test('a file on the way or at the end is refused with ENOTDIR, naming the file', () => {
    const file = join(base, 'file');
    writeFileSync(file, 'x');
    expect(() => makeFolders(file)).toThrow(
      expect.objectContaining({ code: 'ENOTDIR', path: file, message: `${file} is a file, not a folder` }),
    );
    const under = join(file, 'x', 'y');
    expect(() => makeFolders(under)).toThrow(
      expect.objectContaining({ code: 'ENOTDIR', message: `${file} is a file, not a folder (on the way to ${under})` }),
    );
    expect(existsSync(join(file, 'x'))).toBe(false);
    // Its own errors are told from the file system's, whose messages name nothing in words.
    let thrown: unknown;
    try {
      makeFolders(under);
    } catch (error) {
      thrown = error;
    }
    expect(notAFolderMessage(thrown)).toBe(`${file} is a file, not a folder (on the way to ${under})`);
    expect(notAFolderMessage(Object.assign(new Error('ENOTDIR: not a directory'), { code: 'ENOTDIR' }))).toBeNull();
  });

  test("throws the file system's error: a dangling link; a path under /proc, where Node's recursive mode spins", () => {
    symlinkSync(join(base, 'gone'), join(base, 'dangling'), 'dir');
    expect(() => makeFolders(join(base, 'dangling', 'out'))).toThrow(
      expect.objectContaining({ code: 'ENOENT', message: expect.stringContaining('is a link that leads nowhere') }),
    );
    expect(existsSync(join(base, 'gone'))).toBe(false);
    if (existsSync('/proc/self')) {
      expect(() => makeFolders('/proc/sekey-no-such/dir')).toThrow(expect.objectContaining({ code: 'ENOENT' }));
    }
  });
});
