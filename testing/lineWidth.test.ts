/**
 * Lines stay within the formatter's width (biome.json `formatter.lineWidth`). The formatter wraps
 * code, but not comments, strings or template literals: this check covers those too, so a reader
 * never scrolls sideways.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from 'vitest';

const ROOT = join(import.meta.dirname, '..');
const WIDTH: number = JSON.parse(readFileSync(join(ROOT, 'biome.json'), 'utf8')).formatter.lineWidth;

test(`every TypeScript line is at most ${WIDTH} characters`, () => {
  const files = execFileSync('git', ['ls-files', '*.ts'], { cwd: ROOT, encoding: 'utf8' }).split('\n').filter(Boolean);
  expect(files.length).toBeGreaterThan(100);
  const long = files.flatMap((file) =>
    readFileSync(join(ROOT, file), 'utf8')
      .split('\n')
      .map((line, i) => ({ file, line: i + 1, width: [...line].length }))
      .filter((l) => l.width > WIDTH),
  );
  expect(long.map((l) => `${l.file}:${l.line} (${l.width})`)).toEqual([]);
});
