import {
  closeSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import {
  FilesPartlyReplacedError,
  createFileAtomic,
  namingPath,
  removeLeftTemporaries,
  writeFileAtomic,
  writeFilesAtomic,
} from './atomicFile.ts';

describe('writeFileAtomic', () => {
  test('replaces the file whole, leaving no temporary file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sekey-atomic-'));
    const path = join(dir, 'report.json');
    writeFileAtomic(path, 'old');
    writeFileAtomic(path, 'new');
    expect(readFileSync(path, 'utf8')).toBe('new');
    expect(readdirSync(dir)).toEqual(['report.json']);
  });

  test('replaces by rename, never in place: a reader of the old file still reads it whole', () => {
    // Written in place (truncated, then written), the file is empty or partial until the write ends, and
    // for good after a crash in between; renamed over, it is the old or the new file, whole (POSIX rename).
    // A reader that opened the old file tells the two apart without a crash: in place, it reads the new bytes.
    const dir = mkdtempSync(join(tmpdir(), 'sekey-atomic-'));
    const path = join(dir, 'report.json');
    writeFileAtomic(path, 'the old report');
    const reader = openSync(path, 'r');
    try {
      writeFileAtomic(path, 'new');
      expect(readFileSync(reader, 'utf8'), 'read through the old file').toBe('the old report');
    } finally {
      closeSync(reader);
    }
    expect(readFileSync(path, 'utf8')).toBe('new');
    rmSync(dir, { recursive: true, force: true });
  });

  test('a mode given is the file’s mode exactly, the umask notwithstanding, and needs no read permission', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sekey-atomic-'));
    const path = join(dir, 'out.bin');
    const previous = process.umask(0o022);
    try {
      // 0o664 came out 0o644 under the umask; a write-only mode was reopened for reading to be
      // flushed, which fails for anyone but root.
      for (const mode of [0o664, 0o200, 0o600]) {
        writeFileAtomic(path, 'bytes', mode);
        expect(statSync(path).mode & 0o777, mode.toString(8)).toBe(mode);
      }
    } finally {
      process.umask(previous);
    }
    expect(readFileSync(path, 'utf8')).toBe('bytes');
  });

  test('a rename that fails (a folder where the file should be) throws and leaves nothing behind', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sekey-atomic-'));
    mkdirSync(join(dir, 'report.json'));
    expect(() => writeFileAtomic(join(dir, 'report.json'), 'x')).toThrow(/EISDIR|EEXIST|ENOTEMPTY|EPERM/);
    expect(readdirSync(dir)).toEqual(['report.json']);
  });
});

describe('createFileAtomic', () => {
  test('creates the file whole; an existing one is kept, EEXIST, and no temporary file is left', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sekey-atomic-'));
    const path = join(dir, 'manufacturer.json');
    createFileAtomic(path, 'first', 0o600);
    expect(readFileSync(path, 'utf8')).toBe('first');
    if (process.platform !== 'win32') expect(statSync(path).mode & 0o777).toBe(0o600);
    // The second creator loses instead of replacing the first one's file.
    expect(() => createFileAtomic(path, 'second')).toThrow(expect.objectContaining({ code: 'EEXIST' }));
    expect(readFileSync(path, 'utf8')).toBe('first');
    expect(readdirSync(dir)).toEqual(['manufacturer.json']);
  });
});

describe('writeFilesAtomic', () => {
  test('replaces files together; one that cannot be written replaces none, and leaves nothing behind', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sekey-atomic-'));
    const [json, html] = [join(dir, 'report.json'), join(dir, 'report.html')];
    writeFilesAtomic([
      [json, 'old data'],
      [html, 'old page'],
    ]);
    // The page's folder is gone (a full disk fails the same way, while writing): the data stays old too.
    expect(() =>
      writeFilesAtomic([
        [json, 'new data'],
        [join(dir, 'gone', 'report.html'), 'new page'],
      ]),
    ).toThrow(/ENOENT/);
    expect([readFileSync(json, 'utf8'), readFileSync(html, 'utf8')]).toEqual(['old data', 'old page']);
    expect(readdirSync(dir).sort()).toEqual(['report.html', 'report.json']);
    writeFilesAtomic([
      [json, 'new data'],
      [html, 'new page'],
    ]);
    expect([readFileSync(json, 'utf8'), readFileSync(html, 'utf8')]).toEqual(['new data', 'new page']);
    expect(readdirSync(dir).sort()).toEqual(['report.html', 'report.json']);
  });

  test('a rename that fails after another succeeded says which files are new and which are old', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sekey-atomic-'));
    const [json, html] = [join(dir, 'report.json'), join(dir, 'report.html')];
    // A folder that is not empty in the page's place: written beside it, the page cannot be renamed over it.
    mkdirSync(html);
    writeFileSync(join(html, 'kept'), 'x');
    let thrown: unknown;
    try {
      writeFilesAtomic([
        [json, 'new data'],
        [html, 'new page'],
      ]);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(FilesPartlyReplacedError);
    const partly = thrown as FilesPartlyReplacedError;
    expect([partly.replaced, partly.kept]).toEqual([[json], [html]]);
    expect(partly.message).toMatch(new RegExp(`^replaced ${json} but not ${html}: E[A-Z]+: `));
    expect(readFileSync(json, 'utf8')).toBe('new data');
    expect(readdirSync(dir).sort()).toEqual(['report.html', 'report.json']);
  });
});

describe('removeLeftTemporaries', () => {
  test("removes only this module's temporary files (regular files so named), and says which", () => {
    const dir = mkdtempSync(join(tmpdir(), 'sekey-tmp-left-'));
    try {
      const left = ['.tmp-installation.json-0123456789ab', '.tmp-COMMIT-a1b2c3d4e5f6'];
      for (const name of left) writeFileSync(join(dir, name), 'cut short');
      const kept = ['.tmp-installation.json-012345', 'installation.json', '.tmp-junk', 'notes.tmp-x-0123456789ab'];
      for (const name of kept) writeFileSync(join(dir, name), 'keep');
      // A folder or a link so named is no temporary file of this module's.
      mkdirSync(join(dir, '.tmp-folder-0123456789ab'));
      symlinkSync(join(dir, 'installation.json'), join(dir, '.tmp-link-0123456789ab'));
      expect(removeLeftTemporaries(dir).sort()).toEqual([...left].sort());
      expect(readdirSync(dir).sort()).toEqual([...kept, '.tmp-folder-0123456789ab', '.tmp-link-0123456789ab'].sort());
      expect(readFileSync(join(dir, 'installation.json'), 'utf8')).toBe('keep');
      expect(removeLeftTemporaries(join(dir, 'absent'))).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('namingPath', () => {
  test("names the file of a descriptor's failed call, and leaves an error that names one as it is", () => {
    const full = Object.assign(new Error('ENOSPC: no space left on device, write'), {
      code: 'ENOSPC',
      syscall: 'write',
    });
    expect(namingPath(full, '/h/.lock')).toBe(full);
    expect(full).toMatchObject({ message: "ENOSPC: no space left on device, write '/h/.lock'", path: '/h/.lock' });
    const named = Object.assign(new Error("EACCES: permission denied, open '/h/.lock'"), {
      code: 'EACCES',
      path: '/h/.lock',
    });
    namingPath(named, '/elsewhere');
    expect(named.message).toBe("EACCES: permission denied, open '/h/.lock'");
    const plain = new Error('not a system error');
    namingPath(plain, '/h/.lock');
    expect(plain.message).toBe('not a system error');
  });
});
