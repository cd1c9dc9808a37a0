/**
 * What the user should do about a refusal, as `sekey` prints it under the error: the "What to do"
 * of the error's row in the catalogue (`docs/errors.json`, generated with `docs/errors.md` from the
 * `@remedy` tags of the sources, so the two never differ). Printing the remedy with the error saves a
 * trip to the docs, as `git` and `cargo` do with their hints.
 *
 * The catalogue is read from the package (the clone, or the installed package, whose `files` ship
 * `docs/`) only when a command fails. A missing or unreadable catalogue, or a code it does not list
 * (a file-system error's `ENOENT`), gives no remedy; the error itself is printed as ever.
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
