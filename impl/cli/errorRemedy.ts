/**
 * What the user should do about a refusal, as `sekey` prints it under the error: the "What to do"
 * of the error's row in the catalogue (`docs/errors.json`, generated with `docs/errors.md` from the
 * `@remedy` tags of the sources, so the two never differ). Printing the remedy with the error saves a
 * trip to the docs, as `git` and `cargo` do with their hints.
 *
 * The catalogue is read from the package (the clone, or the installed package, whose `files` ship
 * `docs/`) only when a command fails. A missing or unreadable catalogue, or a code it does not list,
 * gives no remedy; the error itself is printed as ever. A file-system error (a system call's `ENOSPC`,
 * `EACCES` …) is in no catalogue of ours: {@link systemRemedy} has a line for the common ones.
 * @module
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from './packageRoot.ts';

/** One row of `docs/errors.json`. */
interface CatalogueRow {
  readonly class: string;
  readonly code: string;
  readonly remedy: string;
}

/** The rows of the catalogue at `path`, or none when it cannot be read as one. */
export function readCatalogue(path: string): readonly CatalogueRow[] {
  try {
    const parsed = JSON.parse(readFileSync(path, 'utf8')) as { errors?: unknown };
    if (!Array.isArray(parsed.errors)) return [];
    return parsed.errors.filter(
      (r): r is CatalogueRow =>
        typeof r === 'object' &&
        r !== null &&
        typeof r.class === 'string' &&
        typeof r.code === 'string' &&
        typeof r.remedy === 'string',
    );
  } catch {
    return [];
  }
}

let installed: readonly CatalogueRow[] | undefined;

/** The catalogue of this package (read once). */
function installedCatalogue(): readonly CatalogueRow[] {
  if (installed === undefined) {
    const root = packageRoot();
    installed = root === null ? [] : readCatalogue(join(root.dir, 'docs', 'errors.json'));
  }
  return installed;
}

/**
 * The remedy for an error of class `name` (`KmsError`, `DeviceError`, `KeyStoreFullError`, …) with
 * `code`, as plain text for a terminal (the catalogue's backticks dropped), or null. The class decides
 * where a code exists in two (`UnknownKey` of the KMS and of an HSM); an error of another class (a
 * subclass, say) takes the code's remedy when only one class has that code.
 */
export function remedyOf(
  name: string,
  code: string,
  catalogue: readonly CatalogueRow[] = installedCatalogue(),
): string | null {
  const byCode = catalogue.filter((r) => r.code === code);
  const row = byCode.find((r) => r.class === name) ?? (byCode.length === 1 ? byCode[0] : undefined);
  return row === undefined ? null : row.remedy.replace(/`([^`]*)`/g, '$1');
}

/**
 * What to do about the common failures of a system call on a file (`ENOSPC`, `EACCES`, …), whatever
 * the command: the error's message names the call and the path. Null for other codes.
 */
export const SYSTEM_REMEDIES: Readonly<Record<string, string>> = {
  ENOSPC: 'Free space on the disk that holds the path named (or lift its quota), then run the command again.',
  EDQUOT: 'Free space within your disk quota on the file system that holds the path named, then run the command again.',
  EFBIG: 'Lift the file-size limit (ulimit -f) or free space, then run the command again.',
  EACCES: 'Check the owner and permissions of the path named and of the folders above it (run as its owner).',
  EPERM: 'Check the owner and permissions of the path named and of the folders above it (run as its owner).',
  // Not only a home's: an OUT file, a --keep or --out folder, a share may be the path named.
  EROFS:
    'The file system that holds the path named is mounted read-only: remount it writable, or give a path on ' +
    'another one (for the installation, another --home).',
  ENOENT: 'Check the path named: a folder on the way is missing, or was moved or deleted meanwhile.',
  EMFILE: 'Too many open files: raise the limit (ulimit -n) or close other programs, then run the command again.',
  EIO: 'The disk reported an input/output error: check it (and its connection) before running the command again.',
};

/** The remedy for a file-system error with `code` (see {@link SYSTEM_REMEDIES}), or null. */
export function systemRemedy(error: unknown): string | null {
  if (!(error instanceof Error) || typeof (error as NodeJS.ErrnoException).syscall !== 'string') return null;
  return SYSTEM_REMEDIES[(error as NodeJS.ErrnoException).code ?? ''] ?? null;
}
