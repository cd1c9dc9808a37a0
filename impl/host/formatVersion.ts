/**
 * The `format` field of a file SEkey writes (`installation.json`, `manufacturer.json`): what is wrong
 * with one that is not the version this program reads, in words. A junk file (`{}`) has no
 * version to name, and a newer one needs a newer SEkey, not a backup.
 * @module
 */

/** What is wrong with the `format` value `found` of a file that must be version `expected`. */
export function formatProblem(found: unknown, expected: number): { readonly why: string; readonly newer: boolean } {
  const reads = `this sekey reads format ${expected}`;
  if (found === undefined) return { why: `it has no "format" field (${reads}): not a file SEkey wrote`, newer: false };
  if (typeof found === 'number' && Number.isSafeInteger(found) && found > expected)
    return { why: `format ${found} is newer than this sekey reads (${expected})`, newer: true };
  // Versions start at 1: an older one is a version still, which this sekey no longer reads.
  if (typeof found === 'number' && Number.isSafeInteger(found) && found >= 1)
    return { why: `format ${found} is older than this sekey reads (${expected})`, newer: false };
  const shown = JSON.stringify(found) ?? String(found);
  const value = shown.length > 40 ? `${shown.slice(0, 40)}…` : shown;
  return { why: `"format" is ${value}, not a format version (${reads})`, newer: false };
}
