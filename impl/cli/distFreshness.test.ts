import { mkdirSync, utimesSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { staleSources } from './distFreshness.ts';
import { removeTempDirs, tempDir } from './sekeyRun.testkit.ts';

afterAll(removeTempDirs);

function file(root: string, path: string, secondsAgo: number): void {
  const full = join(root, path);
  mkdirSync(dirname(full), { recursive: true });
  writeFileSync(full, '');
  const t = Date.now() / 1000 - secondsAgo;
  utimesSync(full, t, t);
}

describe('is dist/ a build of the sources?', () => {
  test('fresh when every built source has a newer .js; tests, test kits and configuration handled', () => {
    const root = tempDir();
    for (const top of ['model', 'device', 'bench']) mkdirSync(join(root, top));
    file(root, 'tsconfig.json', 100);
    file(root, 'impl/cli/a.ts', 50);
    file(root, 'impl/cli/a.test.ts', 1);
    file(root, 'impl/cli/a.testkit.ts', 1);
    file(root, 'dist/impl/cli/a.js', 40);
    expect(staleSources(root)).toEqual([]);
    // A source edited after its build, a new source, a newer configuration: stale.
    file(root, 'impl/cli/a.ts', 10);
    expect(staleSources(root)).toEqual(['impl/cli/a.ts']);
    file(root, 'dist/impl/cli/a.js', 5);
    file(root, 'model/b.ts', 30);
    expect(staleSources(root)).toEqual(['model/b.ts']);
    file(root, 'dist/model/b.js', 5);
    expect(staleSources(root)).toEqual([]);
    file(root, 'tsconfig.build.json', 1);
    expect(staleSources(root).sort()).toEqual(['impl/cli/a.ts', 'model/b.ts']);
  });
});
