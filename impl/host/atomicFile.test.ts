import { mkdirSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { writeFileAtomic } from './atomicFile.ts';

describe('writeFileAtomic', () => {
  test('replaces the file whole, leaving no temporary file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sekey-atomic-'));
    const path = join(dir, 'report.json');
    writeFileAtomic(path, 'old');
    writeFileAtomic(path, 'new');
    expect(readFileSync(path, 'utf8')).toBe('new');
    expect(readdirSync(dir)).toEqual(['report.json']);
  });

  test('a rename that fails (a folder where the file should be) throws and leaves nothing behind', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sekey-atomic-'));
    mkdirSync(join(dir, 'report.json'));
    expect(() => writeFileAtomic(join(dir, 'report.json'), 'x')).toThrow(/EISDIR|EEXIST|ENOTEMPTY|EPERM/);
    expect(readdirSync(dir)).toEqual(['report.json']);
  });
});
