import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { errorCatalogue } from './errorCatalogue.ts';
import { readCatalogue, remedyOf } from './errorRemedy.ts';
import { packageRoot } from './packageRoot.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const TWO = [
  { class: 'KmsError', code: 'UnknownKey', remedy: 'Check the ID (`sekey admin keys`).' },
  { class: 'DeviceError', code: 'UnknownKey', remedy: 'Check the key ID.' },
  { class: 'CliError', code: 'NotEmpty', remedy: 'Give a new or empty folder.' },
];

describe('what to do about a refusal', () => {
  test("the error's class picks the row; the catalogue's backticks are dropped for the terminal", () => {
    expect(remedyOf('KmsError', 'UnknownKey', TWO)).toBe('Check the ID (sekey admin keys).');
    expect(remedyOf('DeviceError', 'UnknownKey', TWO)).toBe('Check the key ID.');
  });

  test('another class takes a code of one class only; a code of two, or of none, gives no remedy', () => {
    expect(remedyOf('Error', 'NotEmpty', TWO)).toBe('Give a new or empty folder.');
    expect(remedyOf('Error', 'UnknownKey', TWO)).toBeNull();
    expect(remedyOf('Error', 'ENOENT', TWO)).toBeNull();
  });

  test('the installed catalogue gives every code its remedy, as docs/errors.md says it', () => {
    const rows = errorCatalogue((path) => readFileSync(join(ROOT, path), 'utf8'));
    for (const r of rows)
      expect(remedyOf(r.className, r.code), `${r.className} ${r.code}`).toBe(r.remedy.replace(/`/g, ''));
  });

  test('the catalogue is found above the module, in the sources or in dist/; above no package, none', () => {
    expect(packageRoot(join(ROOT, 'impl', 'cli'))?.dir).toBe(join(ROOT, '.').replace(/\/$/, ''));
    expect(packageRoot(join(ROOT, 'dist', 'impl', 'cli'))?.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(packageRoot(tmpdir())).toBeNull();
  });

  test('a catalogue that is missing or not one gives no rows, so errors print as ever', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sekey-remedy-'));
    try {
      expect(readCatalogue(join(dir, 'errors.json'))).toEqual([]);
      writeFileSync(join(dir, 'bad.json'), '{"errors": ');
      expect(readCatalogue(join(dir, 'bad.json'))).toEqual([]);
      writeFileSync(join(dir, 'odd.json'), JSON.stringify({ errors: [{ class: 'A', code: 'B' }, ...TWO, 7] }));
      expect(readCatalogue(join(dir, 'odd.json'))).toEqual(TWO);
      writeFileSync(join(dir, 'flat.json'), '[]');
      expect(readCatalogue(join(dir, 'flat.json'))).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
