import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { deepMerge, defaultResultsPath, mergeResults, repositoryRoot } from './results.ts';

describe('bench results file', () => {
  test('deep-merges objects and replaces everything else', () => {
    expect(deepMerge({ a: { x: 1, y: [1] }, b: 2 }, { a: { y: [2], z: 3 } })).toEqual({
      a: { x: 1, y: [2], z: 3 },
      b: 2,
    });
  });

  test('a bench never erases another bench’s section', () => {
    const path = join(mkdtempSync(join(tmpdir(), 'sekey-bench-')), 'latest.json');
    mergeResults('flash', { keysPerSector: { ours: 3540 } }, path);
    mergeResults('db', { bytesWrittenPerCommit: { mib1: { ours: 1 } } }, path);
    mergeResults('flash', { writeAmplification: { full90: { ours: 1.2 } } }, path);
    const doc = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
    expect(doc['flash']).toEqual({ keysPerSector: { ours: 3540 }, writeAmplification: { full90: { ours: 1.2 } } });
    expect(doc['db']).toEqual({ bytesWrittenPerCommit: { mib1: { ours: 1 } } });
  });

  test('a quick run writes its figures apart: never over the committed bench/results/latest.json', () => {
    expect(defaultResultsPath()).toBe(join(repositoryRoot(), 'bench', 'results', 'latest.json'));
    expect(defaultResultsPath(true)).toBe(join(repositoryRoot(), 'reports', 'bench-quick.json'));
  });

  test('a results file that is not JSON stops the run instead of being overwritten', () => {
    const path = join(mkdtempSync(join(tmpdir(), 'sekey-bench-')), 'latest.json');
    writeFileSync(path, 'not json');
    expect(() => mergeResults('db', {}, path)).toThrow(SyntaxError);
    expect(readFileSync(path, 'utf8')).toBe('not json');
  });
});
