/**
 * `docs/errors.md`: one table of every error code SEkey-TS raises, with what it means and what the
 * user should do. It is generated, never written by hand, from the doc comments in the sources:
 * each entry of a `*_ERROR_CODES` list (the codes of `KmsError`, `SekeyError`, `DatabaseError`,
 * `InstallationError`, `DeviceError`, `CliError`, the binary codec's and the persisted snapshot's)
 * and each storage-fault class with its own `code` (flash, key store, power loss). The comment's
 * text is the meaning; its `@remedy` tag, what to do. Beside it, `docs/errors.json` holds the same
 * rows for programs, and for `sekey` itself, which prints a refusal's remedy under it
 * (`errorRemedy.ts`) unless the error carries a remedy for its own situation (`reportError.ts`).
 *
 * Nothing can drift: a code without a comment or a `@remedy` fails the generation, a list read from
 * the source must equal the list at run time, every code must be PascalCase, `npm run errors --
 * --check` and `errorCatalogue.test.ts` fail when `docs/errors.md` is stale, and the test fails when
 * a source file declares codes that {@link ERROR_SOURCES} does not list.
 * @module
 */
import { BINARY_CODEC_ERROR_CODES } from '../../device/binaryCodec.ts';
import { DEVICE_ERROR_CODES } from '../../device/deviceError.ts';
import { PERSISTED_SNAPSHOT_ERROR_CODES } from '../../model/persistedSnapshot.ts';
import { KMS_ERROR_CODES } from '../../model/kmsError.ts';
import { DATABASE_ERROR_CODES } from '../db/databaseError.ts';
import { INSTALLATION_ERROR_CODES } from '../host/installationError.ts';
import { SEKEY_ERROR_CODES } from '../protocol/sekeyError.ts';
import { CLI_ERROR_CODES } from './cliError.ts';

/** Where codes are declared: a list of codes of one class, or a file of classes with one code each. */
export type ErrorSource =
  | {
      readonly kind: 'list';
      readonly path: string;
      readonly className: string;
      readonly listName: string;
      readonly codes: readonly string[];
    }
  | { readonly kind: 'classes'; readonly path: string };

/** Every file that declares error codes, in the order of the table (paths from the package root). */
export const ERROR_SOURCES: readonly ErrorSource[] = [
  {
    kind: 'list',
    path: 'model/kmsError.ts',
    className: 'KmsError',
    listName: 'KMS_ERROR_CODES',
    codes: KMS_ERROR_CODES,
  },
  {
    kind: 'list',
    path: 'impl/protocol/sekeyError.ts',
    className: 'SekeyError',
    listName: 'SEKEY_ERROR_CODES',
    codes: SEKEY_ERROR_CODES,
  },
  {
    kind: 'list',
    path: 'impl/db/databaseError.ts',
    className: 'DatabaseError',
    listName: 'DATABASE_ERROR_CODES',
    codes: DATABASE_ERROR_CODES,
  },
  {
    kind: 'list',
    path: 'impl/host/installationError.ts',
    className: 'InstallationError',
    listName: 'INSTALLATION_ERROR_CODES',
    codes: INSTALLATION_ERROR_CODES,
  },
  {
    kind: 'list',
    path: 'impl/cli/cliError.ts',
    className: 'CliError',
    listName: 'CLI_ERROR_CODES',
    codes: CLI_ERROR_CODES,
  },
  {
    kind: 'list',
    path: 'device/deviceError.ts',
    className: 'DeviceError',
    listName: 'DEVICE_ERROR_CODES',
    codes: DEVICE_ERROR_CODES,
  },
  {
    kind: 'list',
    path: 'model/persistedSnapshot.ts',
    className: 'PersistedSnapshotError',
    listName: 'PERSISTED_SNAPSHOT_ERROR_CODES',
    codes: PERSISTED_SNAPSHOT_ERROR_CODES,
  },
  {
    kind: 'list',
    path: 'device/binaryCodec.ts',
    className: 'BinaryCodecError',
    listName: 'BINARY_CODEC_ERROR_CODES',
    codes: BINARY_CODEC_ERROR_CODES,
  },
  { kind: 'classes', path: 'device/keyStoreErrors.ts' },
  { kind: 'classes', path: 'device/flashErrors.ts' },
  { kind: 'classes', path: 'device/powerLossError.ts' },
];

/** One row of the table. */
export interface ErrorEntry {
  readonly className: string;
  readonly code: string;
  readonly meaning: string;
  readonly remedy: string;
  /** The file that declares the code. */
  readonly path: string;
}

/** Error codes are PascalCase, whatever class carries them. */
export const ERROR_CODE_PATTERN = /^[A-Z][a-z0-9]+(?:[A-Z][a-z0-9]*)*$/;

/** A doc comment (`/** … *\/`, delimiters included or not) as its text and its `@remedy` tag. */
export function readDocComment(comment: string): { meaning: string; remedy: string | null } {
  const lines = comment
    .replace(/^\/\*\*/, '')
    .replace(/\*\/$/, '')
    .split('\n')
    .map((l) => l.replace(/^\s*\*(?!\/) ?/, ''));
  const text = lines.join('\n').replace(/\{@link\s+([^}\s]+)\s*\}/g, '`$1`');
  const [meaning = '', ...tags] = text.split(/^\s*(?=@[a-z]+\b)/m);
  const remedy = tags.find((t) => t.startsWith('@remedy'));
  const flat = (s: string): string => s.replace(/\s+/g, ' ').trim();
  return { meaning: flat(meaning), remedy: remedy === undefined ? null : flat(remedy.slice('@remedy'.length)) };
}

/** The codes of `export const listName = [ … ] as const;` in `source`, each with its doc comment. */
export function codeListEntries(source: string, listName: string): Array<{ code: string; comment: string | null }> {
  const start = source.indexOf(`export const ${listName} = [`);
  const end = source.indexOf('] as const;', start);
  if (start < 0 || end < 0) throw new Error(`no \`export const ${listName} = [ … ] as const;\``);
  const body = source.slice(source.indexOf('[', start) + 1, end);
  const entries: Array<{ code: string; comment: string | null }> = [];
  let comment: { text: string; end: number } | null = null;
  for (const m of body.matchAll(/\/\*\*[\s\S]*?\*\/|\/\/[^\n]*|'([^']*)'/g)) {
    if (m[0].startsWith('//')) continue;
    if (m[1] === undefined) {
      comment = { text: m[0], end: m.index + m[0].length };
      continue;
    }
    const attached = comment !== null && body.slice(comment.end, m.index).trim() === '';
    entries.push({ code: m[1], comment: attached && comment ? comment.text : null });
    comment = null;
  }
  return entries;
}

/** The classes of `source` that carry their own `readonly code = '…' as const`, with their doc comments. */
export function codedClassEntries(source: string): Array<{ className: string; code: string; comment: string | null }> {
  const entries: Array<{ className: string; code: string; comment: string | null }> = [];
  const classes = [...source.matchAll(/^export (?:abstract )?class (\w+)/gm)];
  classes.forEach((c, i) => {
    const body = source.slice(c.index, classes[i + 1]?.index ?? source.length);
    const code = /readonly code = '([^']*)' as const;/.exec(body)?.[1];
    if (code === undefined) return;
    const before = source.slice(0, c.index);
    const comment = /(\/\*\*(?:(?!\*\/)[\s\S])*\*\/)\s*$/.exec(before)?.[1] ?? null;
    entries.push({ className: c[1] as string, code, comment });
  });
  return entries;
}

function entry(path: string, className: string, code: string, comment: string | null): ErrorEntry {
  const where = `${path}: ${className} \`${code}\``;
  if (!ERROR_CODE_PATTERN.test(code)) throw new Error(`${where}: error codes are PascalCase`);
  if (comment === null) throw new Error(`${where} has no doc comment`);
  const { meaning, remedy } = readDocComment(comment);
  if (meaning === '') throw new Error(`${where}: its doc comment does not say what it means`);
  if (remedy === null || remedy === '')
    throw new Error(`${where}: its doc comment has no @remedy (what the user should do)`);
  return { className, code, meaning, remedy, path };
}

/**
 * Every error code, read from the sources through `read` (a path from the package root → its text).
 * @throws Error when a code has no doc comment, no `@remedy`, is not PascalCase, or a list in the
 *   source differs from the list this program was built with.
 */
export function errorCatalogue(read: (path: string) => string): ErrorEntry[] {
  const rows: ErrorEntry[] = [];
  for (const source of ERROR_SOURCES) {
    const text = read(source.path);
    if (source.kind === 'list') {
      const parsed = codeListEntries(text, source.listName);
      const codes = parsed.map((p) => p.code);
      if (codes.join() !== source.codes.join()) {
        throw new Error(
          `${source.path}: ${source.listName} reads [${codes.join(', ')}] but is [${source.codes.join(', ')}] at ` +
            `run time (rebuild?)`,
        );
      }
      for (const p of parsed) rows.push(entry(source.path, source.className, p.code, p.comment));
    } else {
      const parsed = codedClassEntries(text);
      if (parsed.length === 0) throw new Error(`${source.path}: no class with a \`readonly code = '…' as const\``);
      for (const p of parsed) rows.push(entry(source.path, p.className, p.code, p.comment));
    }
  }
  return rows;
}

const cell = (s: string): string => s.replace(/\|/g, '\\|');

/** The whole of `docs/errors.md`. */
export function renderErrorCatalogue(read: (path: string) => string): string {
  const rows = errorCatalogue(read);
  return [
    '# SEkey-TS error codes',
    '',
    '<!-- Generated by `npm run errors` from the doc comments of the error code lists and error classes. Do not ' +
      'edit by hand. -->',
    '',
    'Every refusal is a typed error with a stable `code`: programs switch on the class and the code, never on the ' +
      'message, which is for people and never holds key bytes, PINs or plaintext. A refused operation changes ' +
      'nothing. ' +
      'The `sekey` command prints `code: message` and exits with 1 (2 for a wrong command line, 3 for an internal ' +
      'error; with `--json` it also prints `{"error": {code, message, exit, remedy}}`, whose code is `Usage` for a ' +
      'wrong command line and `Internal` for an internal error, neither of them in the table; a file-system error ' +
      "keeps the system's code, such as `ENOENT` or `EACCES`, and its message names the path). Under the message " +
      'it prints what to do (for the common file-system errors, `ENOSPC`, `EACCES`, `EROFS` and the like, a line ' +
      'of its own): the ' +
      "remedy for the command's situation where it has one (which PIN, which file is in the way), else the " +
      'code\'s "What to do" below, which covers every situation of the code; `--json` gives the same as the ' +
      "error's `remedy`. `docs/errors.json` holds this table for programs. Two codes are not refusals: " +
      '`ShareNotWritten` (exit 4) says the change was made and saved, and printed as done (with `--json`, the ' +
      "command's own object, with a `warning` of this code and message when it is an object, and no error " +
      'object), but its files did not all reach the share; `ImagesNotSaved` ' +
      '(exit 4 too, and the same `warning`) says the change is in effect, held by a checkpoint, but the last save ' +
      'failed; ' +
      '`CheckpointNotSaved` exits 4 too when the command had changed something before it stopped. A command that ' +
      'Ctrl-C, SIGTERM or SIGHUP abandons before it changed anything exits 130, 143 or 129 (with `--json`, the ' +
      'code is `Interrupted`); one interrupted while changing finishes the change first. A hang-up (SIGHUP) ' +
      'concerns a command only while it uses the terminal: one whose input and output are files, as under ' +
      '`nohup`, says so on standard error and goes on. A code can exist ' +
      'in two classes (`UnknownKey` of the KMS and of an HSM): the class tells them apart. The last rows are ' +
      "faults of the simulated HSM's storage: its key store, its flash and power loss.",
    '',
    '| Class | Code | Meaning | What to do |',
    '|---|---|---|---|',
    ...rows.map((r) => `| \`${r.className}\` | \`${r.code}\` | ${cell(r.meaning)} | ${cell(r.remedy)} |`),
    '',
    `Sources: ${ERROR_SOURCES.map((s) => `\`${s.path}\``).join(', ')}.`,
    '',
  ].join('\n');
}

/** Where the catalogue's rows for programs go beside the document `out`: `errors.md` → `errors.json`. */
export function catalogueJsonPath(out: string): string {
  return out.endsWith('.md') ? `${out.slice(0, -'.md'.length)}.json` : `${out}.json`;
}

/** The rows of `docs/errors.md` for programs (`docs/errors.json`): class, code, meaning, what to do. */
export function renderErrorCatalogueJson(read: (path: string) => string): string {
  const rows = errorCatalogue(read).map((r) => ({
    class: r.className,
    code: r.code,
    meaning: r.meaning,
    remedy: r.remedy,
  }));
  const generated = 'by `npm run errors` from the doc comments of the error code lists and error classes';
  return `${JSON.stringify({ generated, errors: rows }, null, 2)}\n`;
}
