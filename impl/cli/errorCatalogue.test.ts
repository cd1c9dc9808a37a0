import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import type { CliIo } from './cliIo.ts';
import {
  ERROR_CODE_PATTERN,
  ERROR_SOURCES,
  codedClassEntries,
  codeListEntries,
  errorCatalogue,
  readDocComment,
  catalogueJsonPath,
  renderErrorCatalogue,
  renderErrorCatalogueJson,
} from './errorCatalogue.ts';
import { main } from './sekeyCommand.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const read = (path: string): string => readFileSync(join(ROOT, path), 'utf8');

/** `read`, with one file's text changed by `edit`. */
const readEdited = (path: string, edit: (text: string) => string) => (p: string) =>
  p === path ? edit(read(p)) : read(p);

/** Every non-test source file of the layers that may declare error codes. */
function sourceFiles(): string[] {
  const files: string[] = [];
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, e.name);
      if (e.isDirectory()) walk(path);
      else if (e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') && !e.name.endsWith('.testkit.ts'))
        files.push(relative(ROOT, path));
    }
  };
  for (const layer of ['model', 'device', 'impl']) walk(join(ROOT, layer));
  return files;
}

describe('docs/errors.md', () => {
  test('is current (run `npm run errors` after changing an error code or its doc comment)', () => {
    const committed = readFileSync(join(ROOT, 'docs/errors.md'), 'utf8');
    expect(
      committed === renderErrorCatalogue(read),
      'docs/errors.md is stale: run `npm run errors` and commit it',
    ).toBe(true);
    const json = readFileSync(join(ROOT, 'docs/errors.json'), 'utf8');
    expect(json === renderErrorCatalogueJson(read), 'docs/errors.json is stale: run `npm run errors`').toBe(true);
  });

  test('docs/errors.json holds the same rows for programs: class, code, meaning, what to do', () => {
    const rows = errorCatalogue(read);
    const parsed = JSON.parse(renderErrorCatalogueJson(read)) as { errors: unknown[] };
    expect(parsed.errors).toEqual(
      rows.map((r) => ({ class: r.className, code: r.code, meaning: r.meaning, remedy: r.remedy })),
    );
    expect(catalogueJsonPath('/x/docs/errors.md')).toBe('/x/docs/errors.json');
    expect(catalogueJsonPath('/tmp/table')).toBe('/tmp/table.json');
  });

  test('lists every file that declares error codes, and every code is PascalCase', () => {
    const declaring = sourceFiles().filter((f) =>
      /^export const \w+_ERROR_CODES = \[|^\s+readonly code = '|extends CodedError</m.test(read(f)),
    );
    const listed = ERROR_SOURCES.map((s) => s.path);
    expect(declaring.sort()).toEqual([...listed].sort());
    const rows = errorCatalogue(read);
    expect(rows.filter((r) => !ERROR_CODE_PATTERN.test(r.code))).toEqual([]);
    expect(rows.length).toBeGreaterThan(60);
    // A code at most once per class.
    expect(new Set(rows.map((r) => `${r.className}.${r.code}`)).size).toBe(rows.length);
  });

  test('one table row per code, with its meaning and what to do', () => {
    const doc = renderErrorCatalogue(read);
    expect(doc).toContain(
      '| `DeviceError` | `WrongPin` | The PIN compared unequal; one try was spent. | Check the PIN and try again',
    );
    expect(doc).toContain('| `PowerLossError` | `PowerLoss` |');
    expect(doc.split('\n').filter((l) => l.startsWith('| `'))).toHaveLength(errorCatalogue(read).length);
  });
});

describe('the generator', () => {
  test('reads doc comments: text, @remedy, links, and pipes escaped in the table', () => {
    expect(readDocComment('/** One line. */')).toEqual({ meaning: 'One line.', remedy: null });
    expect(
      readDocComment('/**\n   * Two\n   * lines, {@link X}.\n   * @remedy Do\n   *   this.\n   * @see y\n   */'),
    ).toEqual({
      meaning: 'Two lines, `X`.',
      remedy: 'Do this.',
    });
    const source =
      "export const L = [\n  /** A | B.\n   * @remedy C. */\n  'Aa',\n  'Bb',\n  // 'not a code'\n] as const;";
    expect(codeListEntries(source, 'L')).toEqual([
      { code: 'Aa', comment: '/** A | B.\n   * @remedy C. */' },
      { code: 'Bb', comment: null },
    ]);
    expect(() => codeListEntries(source, 'M')).toThrow(/no `export const M/);
    expect(
      codedClassEntries(
        '/** Base. */\nexport abstract class B extends Error {\n  abstract readonly code: string;\n}\nexport class ' +
          "C extends B {\n  readonly code = 'Cc' as const;\n}",
      ),
    ).toEqual([{ className: 'C', code: 'Cc', comment: null }]);
    const piped = readEdited('model/kmsError.ts', (t) =>
      t.replace('A user with this ID already exists.', 'A user | with this ID already exists.'),
    );
    expect(renderErrorCatalogue(piped)).toContain('| `DuplicateUser` | A user \\| with this ID already exists. |');
  });

  test(
    'refuses a code without a doc comment, without @remedy, in another casing, or a list that differs from the ' +
      'build',
    () => {
      expect(() =>
        errorCatalogue(
          readEdited('impl/db/databaseError.ts', (t) =>
            t.replace(/\/\*\*\n {3}\* Written by a newer schema\.[\s\S]*?\*\/\n/, ''),
          ),
        ),
      ).toThrow(/DatabaseError `SchemaTooNew` has no doc comment/);
      expect(() =>
        errorCatalogue(
          readEdited('impl/host/installationError.ts', (t) => t.replace('@remedy Provision one', 'Provision one')),
        ),
      ).toThrow(/InstallationError `NoDevice`: its doc comment has no @remedy/);
      expect(() =>
        errorCatalogue(readEdited('device/powerLossError.ts', (t) => t.replace("'PowerLoss'", "'POWER_LOSS'"))),
      ).toThrow(/PowerLossError `POWER_LOSS`: error codes are PascalCase/);
      expect(() =>
        errorCatalogue(
          readEdited('impl/protocol/sekeyError.ts', (t) =>
            t.replace("'NotProvisioned',", "'NotProvisioned',\n  'Extra',"),
          ),
        ),
      ).toThrow(/SEKEY_ERROR_CODES reads .* at run time/);
      expect(() =>
        errorCatalogue(readEdited('device/flashErrors.ts', () => '/** Nothing. */\nexport class X extends Error {}')),
      ).toThrow(/no class with a/);
      expect(() =>
        errorCatalogue(
          readEdited('model/kmsError.ts', (t) =>
            t.replace(' * A user with this ID already exists.\n   * @remedy', ' * @remedy'),
          ),
        ),
      ).toThrow(/`DuplicateUser`: its doc comment does not say what it means/);
    },
  );
});

describe('sekey errors', () => {
  async function sekey(argv: readonly string[]): Promise<{ code: number; out: string; err: string }> {
    const out: string[] = [];
    const err: string[] = [];
    const io: CliIo = { out: (l) => out.push(l), err: (l) => err.push(l), env: {}, cwd: ROOT };
    const code = await main(argv, io);
    return { code, out: out.join('\n'), err: err.join('\n') };
  }

  test('writes the document and --check tells stale from current', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sekey-errors-'));
    try {
      const file = join(dir, 'errors.md');
      const missing = await sekey(['errors', '--check', '--out', file]);
      expect(missing.code).toBe(1);
      expect(missing.err).toContain('is missing: run `npm run errors`');
      expect((await sekey(['errors', '--out', file])).code).toBe(0);
      expect(readFileSync(file, 'utf8')).toBe(renderErrorCatalogue(read));
      expect(readFileSync(join(dir, 'errors.json'), 'utf8')).toBe(renderErrorCatalogueJson(read));
      expect((await sekey(['errors', '--check', '--out', file])).out).toContain('is current, with 1 companion file.');
      writeFileSync(file, 'old');
      const stale = await sekey(['errors', '--check', '--out', file]);
      expect(stale.code).toBe(1);
      expect(stale.err).toContain('is stale');
      // The JSON beside it is checked too.
      expect((await sekey(['errors', '--out', file])).code).toBe(0);
      writeFileSync(join(dir, 'errors.json'), '{}');
      const staleJson = await sekey(['errors', '--check', '--out', file]);
      expect([staleJson.code, staleJson.err]).toEqual([
        1,
        `${join(dir, 'errors.json')} is stale: run \`npm run errors\` and commit it.`,
      ]);
      expect((await sekey(['errors', '--help'])).out).toMatch(/^usage: sekey errors \[--check\] \[--out FILE\]/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
