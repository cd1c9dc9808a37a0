/**
 * The database commit figures the README quotes are those of the committed results: each one-row
 * commit at 10 MiB, ours beside the original's (modelled) and the hypothetical whole-file baseline of
 * the same run, the latter labelled as such; and no figure left from a version of the bench that
 * measured a commit into an empty table.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { COMMIT_KINDS } from './dbCommit.ts';
import { defaultResultsPath, repositoryRoot } from './results.ts';

type Json = { readonly [key: string]: unknown };
const db = (JSON.parse(readFileSync(defaultResultsPath(), 'utf8')) as Json)['db'] as Json;
const readme = readFileSync(join(repositoryRoot(), 'README.md'), 'utf8');
const figures = readme.slice(readme.indexOf('## Figures'), readme.indexOf('## Property suites'));
const commitAt10 = (db['commit'] as Json)['mib10'] as Json;

/** A ratio as the README writes it: one decimal under 10, whole above. */
const times = (ratio: number): string =>
  `${ratio < 10 ? ratio.toFixed(1) : Math.round(ratio).toLocaleString('en-US')}×`;

describe('database commit results', () => {
  test('hold every commit kind at 10 MiB, into a populated table', () => {
    for (const kind of COMMIT_KINDS) {
      const c = commitAt10[kind] as Json;
      expect(c['rowsBefore'] as number, kind).toBeGreaterThan(1000);
    }
  });

  test("the README's rows quote them: bytes written, the original's and the whole file's ratios", () => {
    const row = (start: string): string => figures.split('\n').find((l) => l.startsWith(start)) ?? '';
    const bytesRow = row('| bytes written per one-row commit');
    const cyclesRow = row('| same commits:');
    for (const kind of COMMIT_KINDS) {
      const c = commitAt10[kind] as Json;
      const ours = c['ours'] as Json;
      const bytes = (cost: unknown): string =>
        `${((cost as Json)['bytesWritten'] as number).toLocaleString('en-US')} B`;
      expect(bytesRow, kind).toContain(bytes(ours));
      expect(bytesRow, kind).toContain(bytes(c['original']));
      for (const baseline of ['originalOverOurs', 'wholeFileOverOurs']) {
        const ratio = c[baseline] as Json;
        expect(bytesRow, `${kind} ${baseline}`).toContain(times(ratio['written'] as number));
        expect(cyclesRow, `${kind} ${baseline}`).toContain(times(ratio['cycles'] as number));
      }
    }
  });

  test('say that the whole-file baseline is hypothetical and the original a lower bound', () => {
    const bytesRow = figures.split('\n').find((l) => l.startsWith('| bytes written per one-row commit')) ?? '';
    expect(bytesRow).toContain('Hypothetical, the whole export re-encrypted');
    expect(bytesRow).toContain('a lower bound');
    expect(String(db['commitMethod'])).toContain('wholeFile, hypothetical');
  });

  test('keep no figure of the commit into an empty table', () => {
    for (const stale of ['bytesWrittenPerCommit', 'bytesEncryptedPerCommit', 'cyclesPerCommit', 'wholeFileOverOurs'])
      expect(db[stale], stale).toBeUndefined();
  });
});

test('the Figures header says modelled times leave out the host link, which no device code charges', () => {
  expect(figures).toContain('leave out the host link');
  // Charging it would make the sentence false: the header must change with it.
  const sources = (dir: string): string[] =>
    readdirSync(join(repositoryRoot(), dir), { recursive: true, encoding: 'utf8' })
      .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))
      .map((f) => readFileSync(join(repositoryRoot(), dir, f), 'utf8'));
  for (const text of [...sources('device'), ...sources('impl')]) expect(text).not.toMatch(/charge\(\s*'usb\.byte'/);
});
