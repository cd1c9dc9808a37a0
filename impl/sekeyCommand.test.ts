import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { renderSpec } from '../model/specDocument.ts';
import { main, usage } from './sekeyCommand.ts';

let out: string[];
let err: string[];
beforeEach(() => {
  out = [];
  err = [];
  vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void out.push(a.join(' ')));
  vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void err.push(a.join(' ')));
});
afterEach(() => vi.restoreAllMocks());

describe('sekey', () => {
  test('no command prints the usage and fails; --help succeeds', () => {
    expect(main([])).toBe(2);
    expect(out.join('\n')).toBe(usage());
    expect(main(['--help'])).toBe(0);
    expect(usage()).toMatch(/demo .*\n.*machines .*\n.*spec /);
  });

  test('unknown commands and arguments are usage errors (exit 2)', () => {
    expect(main(['frobnicate'])).toBe(2);
    expect(err.join('\n')).toContain("unknown command 'frobnicate'");
    expect(main(['demo', 'extra'])).toBe(2);
    expect(err.join('\n')).toContain("unexpected argument 'extra'");
    expect(main(['spec', '--out'])).toBe(2);
    expect(err.join('\n')).toContain('--out needs a value');
  });

  test('every command has its own --help', () => {
    for (const name of ['demo', 'machines', 'spec']) {
      expect(main([name, '--help'])).toBe(0);
      expect(out.pop()).toMatch(new RegExp(`^usage: sekey ${name}`));
    }
  });

  test('spec writes the document and --check tells stale from current', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'sekey-')), 'spec.md');
    expect(main(['spec', '--check', '--out', file])).toBe(1);
    expect(err.pop()).toContain('is missing');
    expect(main(['spec', '--out', file])).toBe(0);
    expect(readFileSync(file, 'utf8')).toBe(renderSpec());
    expect(main(['spec', '--check', '--out', file])).toBe(0);
    writeFileSync(file, 'old');
    expect(main(['spec', '--check', '--out', file])).toBe(1);
    expect(err.pop()).toContain('is stale');
  });

  test('demo walks through the model and machines lists them', () => {
    expect(main(['demo'])).toBe(0);
    const text = out.join('\n');
    expect(text).toContain('alice → bob:   K2001 of G2');
    expect(text).toContain('K2000 is now deactivated; replacement: K2002 of G1');
    expect(text).toContain('recorded at the end of its cryptoperiod (day 7)');
    expect(text).toContain('refused: UnknownUser');
    out = [];
    expect(main(['machines'])).toBe(0);
    expect(out).toHaveLength(4);
  });
});
