import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, test } from 'vitest';
import { INSTALLATION_FILE } from './installationConfig.ts';
import { HOME_SEARCH_FOLDERS, requireShareOffOtherHomes } from './otherInstallations.ts';

let root = '';
afterEach(() => rmSync(root, { recursive: true, force: true }));

/** A folder that reads as an installation's home: it holds `installation.json`. */
function home(path: string): void {
  mkdirSync(path, { recursive: true });
  writeFileSync(join(path, INSTALLATION_FILE), '{}');
}

test('the search for a home inside the share looks at a bounded number of folders, shallowest first', () => {
  root = mkdtempSync(join(tmpdir(), 'other-homes-'));
  const share = join(root, 'share');
  const own = join(root, 'own');
  mkdirSync(own);
  // The share and its first level fill the bound; a home one level below comes after them all.
  const firstLevel = HOME_SEARCH_FOLDERS - 1;
  for (let i = 0; i < firstLevel; i++) mkdirSync(join(share, `d${i}`), { recursive: true });
  home(join(share, 'd0', 'deep-home'));
  // Past the bound: not judged (a large tree given as --share is not walked whole).
  expect(() => requireShareOffOtherHomes(share, own)).not.toThrow();
  // A home among the first level's folders is within it, wherever it comes among its siblings.
  rmSync(join(share, `d${firstLevel - 1}`), { recursive: true });
  home(join(share, 'z-home'));
  expect(() => requireShareOffOtherHomes(share, own)).toThrow(/holds another SEkey installation's home, .*z-home/);
});
