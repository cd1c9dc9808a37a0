/**
 * The house rules (README, "What is here" and "Conventions"), checked on the import statements of
 * every source file, so that a change that breaks the layering fails the tests instead of waiting
 * for a reviewer:
 *
 * - layers point down only: `testing` ← `model` ← `device` ← `impl` ← `properties`, `bench`;
 *   `model/` imports nothing but xstate;
 * - inside `impl/`, rooms point down only: `db`, `protocol` ← `kms` ← `host` ← `simulation` ← `cli`;
 *   Admin and User are peers that talk through `protocol/` (neither imports the other nor the
 *   publisher);
 * - production code never imports a test kit (`*.testkit.ts`) or a test file, and only tests import
 *   `testing/`.
 */
import { readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { dirname, join, normalize } from 'node:path';
import { describe, expect, test } from 'vitest';

const ROOT = join(import.meta.dirname, '..');
const files = execFileSync('git', ['ls-files', '*.ts'], { cwd: ROOT, encoding: 'utf8' })
  .split('\n')
  .filter((f) => f !== '' && !f.startsWith('node_modules/'));

/** Every `from '…'` or `import('…')` specifier of a file, resolved against the repository root when relative. */
function importsOf(file: string): { spec: string; target: string | null }[] {
  const text = readFileSync(join(ROOT, file), 'utf8');
  const specs = [...text.matchAll(/(?:from|import)\s*\(?\s*['"]([^'"]+)['"]/g)].map((m) => m[1] as string);
  return specs.map((spec) => ({ spec, target: spec.startsWith('.') ? normalize(join(dirname(file), spec)) : null }));
}

const LAYERS = ['testing', 'model', 'device', 'impl', 'properties', 'bench'] as const;
const IMPL_ROOMS = ['db', 'protocol', 'kms', 'host', 'simulation', 'cli'] as const;
const rank = (path: string): number => LAYERS.indexOf(path.split('/')[0] as (typeof LAYERS)[number]);
const room = (path: string): number =>
  path.startsWith('impl/') ? IMPL_ROOMS.indexOf(path.split('/')[1] as (typeof IMPL_ROOMS)[number]) : -1;
const isTest = (path: string): boolean => /\.(test|testkit)\.ts$/.test(path);

describe('layers (README, "Conventions": arrows point down only)', () => {
  const sources = files.filter((f) => rank(f) >= 0);
  const arrows = sources.flatMap((from) => importsOf(from).map((i) => ({ from, ...i })));

  test('the check sees the tree', () => {
    expect(sources.length).toBeGreaterThan(100);
    expect(arrows.filter((a) => a.target !== null).length).toBeGreaterThan(300);
  });

  test('no import goes up a layer', () => {
    const up = arrows.filter((a) => a.target !== null && rank(a.target) > rank(a.from));
    expect(up.map((a) => `${a.from} → ${a.spec}`)).toEqual([]);
  });

  test('model/ imports only xstate and itself', () => {
    const outside = arrows.filter(
      (a) =>
        a.from.startsWith('model/') &&
        !isTest(a.from) &&
        a.target === null &&
        !['xstate', 'xstate/graph'].includes(a.spec),
    );
    expect(outside.map((a) => `${a.from} → ${a.spec}`)).toEqual([]);
  });

  test('inside impl/, rooms point down only: db, protocol ← kms ← host ← simulation ← cli', () => {
    const bad = arrows.filter((a) => {
      if (a.target === null || !a.from.startsWith('impl/') || !a.target.startsWith('impl/')) return false;
      const [from, to] = [room(a.from), room(a.target)];
      if (from < 0 || to < 0) return true; // a file outside the rooms
      return to > from || (from <= 1 && to <= 1 && from !== to && !isTest(a.from));
    });
    expect(bad.map((a) => `${a.from} → ${a.spec}`)).toEqual([]);
  });

  test('Admin and User are peers: neither imports the other, nor the publisher', () => {
    const adminSide = ['impl/kms/publisher.ts', 'impl/kms/acknowledgementCollector.ts', 'impl/kms/publicationRows.ts'];
    const peers: Record<string, string[]> = {
      'impl/kms/admin.ts': ['impl/kms/user.ts', 'impl/kms/userSync.ts'],
      'impl/kms/user.ts': ['impl/kms/admin.ts', ...adminSide],
      'impl/kms/userSync.ts': ['impl/kms/admin.ts', ...adminSide],
    };
    const bad = arrows.filter((a) => a.target !== null && (peers[a.from] ?? []).includes(a.target));
    expect(bad.map((a) => `${a.from} → ${a.spec}`)).toEqual([]);
  });

  test('production code imports no test kit, test file or testing/ helper', () => {
    const bad = arrows.filter(
      (a) =>
        !isTest(a.from) &&
        !a.from.startsWith('properties/') &&
        a.target !== null &&
        (isTest(a.target) || a.target.startsWith('testing/')),
    );
    expect(bad.map((a) => `${a.from} → ${a.spec}`)).toEqual([]);
  });
});
