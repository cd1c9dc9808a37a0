import { appendFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { ProgressReader, parseProgress } from './progressLine.ts';

describe('progress lines', () => {
  test('complete lines are parsed; a partial last line waits', () => {
    const { lines, rest } = parseProgress(
      '{"kind":"run","suite":"kms","test":"t","operations":3}\n\n{"kind":"other"}\n{"kind":"begin"',
    );
    expect(lines).toEqual([{ kind: 'run', suite: 'kms', test: 't', operations: 3 }]);
    expect(rest).toBe('{"kind":"begin"');
  });

  test('the reader returns only what was appended since, even a line cut in the middle of a character', () => {
    const dir = mkdtempSync(join(tmpdir(), 'progress-'));
    try {
      const file = join(dir, 'p.jsonl');
      const reader = new ProgressReader(file);
      expect(reader.read()).toEqual([]);
      const line = Buffer.from('{"kind":"begin","suite":"kms","test":"user’s groups","planned":2}\n');
      const cut = line.indexOf(Buffer.from('’')) + 1;
      appendFileSync(file, line.subarray(0, cut));
      expect(reader.read()).toEqual([]);
      appendFileSync(file, line.subarray(cut));
      expect(reader.read()).toEqual([{ kind: 'begin', suite: 'kms', test: 'user’s groups', planned: 2 }]);
      expect(reader.read()).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
