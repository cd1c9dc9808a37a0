/**
 * `bench/results/latest.json`: one file that several benches contribute to. Each write merges a
 * section into what is already there, so running one bench never erases another's figures.
 * @module
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeFolders } from '../impl/host/makeFolders.ts';

/** Plain JSON object. */
export type JsonObject = { [key: string]: unknown };

function isPlainObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Deep merge: objects merge key by key, anything else (arrays included) is replaced. */
export function deepMerge(base: JsonObject, update: Readonly<JsonObject>): JsonObject {
  const out: JsonObject = { ...base };
  for (const [key, value] of Object.entries(update)) {
    const current = out[key];
    out[key] = isPlainObject(current) && isPlainObject(value) ? deepMerge(current, value) : value;
  }
  return out;
}

/**
 * The repository root: the nearest ancestor of this module with a package.json, so the path is the
 * same whether this runs from `bench/` (sources) or `dist/bench/` (build).
 */
export function repositoryRoot(start = dirname(fileURLToPath(import.meta.url))): string {
  for (let dir = resolve(start); ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) return process.cwd();
  }
}

/**
 * Where a run's figures go: `bench/results/latest.json`, the committed file the README quotes; a
 * `--quick` run's to `reports/bench-quick.json` (not tracked), so that a smoke run never replaces
 * the figures of a full one.
 */
export function defaultResultsPath(quick = false): string {
  const root = repositoryRoot();
  return quick ? join(root, 'reports', 'bench-quick.json') : join(root, 'bench', 'results', 'latest.json');
}

/**
 * Merges `data` into `section` of the results file (created if missing) and returns the whole
 * document. The file is replaced atomically (write to a temporary file, then rename).
 * @throws SyntaxError when the existing file is not JSON: better to stop than to drop others' data.
 */
export function mergeResults(section: string, data: Readonly<JsonObject>, path = defaultResultsPath()): JsonObject {
  const existing: unknown = existsSync(path) ? JSON.parse(readFileSync(path, 'utf8')) : {};
  const document = isPlainObject(existing) ? existing : {};
  const merged = deepMerge(document, { [section]: data });
  merged['updatedAt'] = new Date().toISOString();
  makeFolders(dirname(path));
  const tmp = `${path}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(merged, null, 2)}\n`);
  renameSync(tmp, path);
  return merged;
}
