/**
 * What an `admin init` keeps apart from the other installations on the machine: its share off their
 * homes (whoever reads the share, every user and the network, would reach their HSM images), and its
 * home out of their shares. A home is known by the files an installation writes in it
 * (`installation.ts`): `installation.json`, an init's `.init-pending`, or an admin or user HSM's
 * images, any of which is there from an init's first step on (a home whose `installation.json` was
 * lost still holds its HSMs); a share by its `.sekey-share` marker.
 * @module
 */
import { lstatSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { showsDeviceImage } from './deviceImages.ts';
import { SHARE_MARKER } from './directoryTransport.ts';
import { USERS_DIR } from './homeFolders.ts';
import { ADMIN_DIR, INIT_PENDING_FILE, INSTALLATION_FILE } from './installationConfig.ts';
import { InstallationError } from './installationError.ts';
import { pathInside, realPath } from './pathInside.ts';

/** Whether an entry (of any kind, a link to nothing too) is at `path`; one that cannot be looked at is not. */
function present(path: string): boolean {
  try {
    return lstatSync(path, { throwIfNoEntry: false }) !== undefined;
  } catch {
    return false;
  }
}

/** The folders in `dir` (links not followed); none when it cannot be read. */
function subfolders(dir: string): string[] {
  try {
    return readdirSync(dir, { withFileTypes: true })
      .filter((entry) => entry.isDirectory())
      .map((entry) => join(dir, entry.name));
  } catch {
    return [];
  }
}

/** Whether `folder` is an installation's home (see the module comment); looked at, never changed. */
function isInstallationHome(folder: string): boolean {
  return (
    [INSTALLATION_FILE, INIT_PENDING_FILE].some((name) => present(join(folder, name))) ||
    showsDeviceImage(join(folder, ADMIN_DIR)) ||
    subfolders(join(folder, USERS_DIR)).some(showsDeviceImage)
  );
}

/** `folder` and each folder it lies in, up to the root. */
function selfAndParents(folder: string): string[] {
  const parent = dirname(folder);
  return parent === folder ? [folder] : [folder, ...selfAndParents(parent)];
}

/**
 * Folders {@link homeWithin} looks at, at most. A share is usually a new or small folder; one given
 * as a large existing tree (a network mount, `/`) would otherwise be walked whole before `init` did
 * anything. Walked breadth first, so what is left unjudged past the bound is the deepest part of such
 * a tree: a simplification, as the check is a guard against a mistaken `--share`, not an audit.
 */
export const HOME_SEARCH_FOLDERS = 4096;

/**
 * The first installation home at or below `folder` (breadth first, links not followed: no cycle,
 * at most {@link HOME_SEARCH_FOLDERS} folders), or null.
 */
function homeWithin(folder: string): string | null {
  const pending = [folder];
  for (let seen = 0; seen < pending.length && seen < HOME_SEARCH_FOLDERS; seen++) {
    const dir = pending[seen] as string;
    if (isInstallationHome(dir)) return dir;
    pending.push(...subfolders(dir));
  }
  return null;
}

/**
 * The share keeps off the other installations' homes as off its own (`requireShareOffHome`): it may
 * lie in one (its own share is there by default), but is none, holds none, and lies in no admin/ or
 * users/ folder of one. Judged on real paths (a link to a home is that home).
 * @throws InstallationError `ShareOverlapsHome`, naming the other home, when it does.
 */
export function requireShareOffOtherHomes(shareDir: string, home: string): void {
  const share = realPath(shareDir);
  const own = realPath(home);
  let overlap: { readonly where: string; readonly other: string } | null = null;
  for (const folder of selfAndParents(share)) {
    if (folder === own || !isInstallationHome(folder)) continue;
    const inside = [ADMIN_DIR, USERS_DIR].find((f) => pathInside(share, join(folder, f)));
    if (folder === share) overlap = { where: 'is', other: folder };
    else if (inside !== undefined) overlap = { where: `lies in the ${inside}/ folder of`, other: folder };
    if (overlap !== null) break;
  }
  const within = overlap === null ? homeWithin(share) : null;
  if (within !== null) overlap = { where: 'holds', other: within };
  if (overlap === null) return;
  throw new InstallationError(
    'ShareOverlapsHome',
    `the share, ${shareDir}, ${overlap.where} another SEkey installation's home, ${overlap.other}: its readers ` +
      "would reach that installation's HSM images",
    `Give the share a folder of its own (\`--share DIR\`), away from ${overlap.other}.`,
  );
}

/**
 * The home lies in no share (a folder holding `.sekey-share`, another installation's or one left
 * over): the share's readers would reach its HSM images. Judged on real paths.
 * @throws InstallationError `ShareOverlapsHome`, naming the share, when it does.
 */
export function requireHomeOffShares(home: string): void {
  const own = realPath(home);
  const share = selfAndParents(own).find((folder) => present(join(folder, SHARE_MARKER)));
  if (share === undefined) return;
  throw new InstallationError(
    'ShareOverlapsHome',
    `the home, ${home}, ${share === own ? 'is' : 'lies in'} the share ${share} (it holds ${SHARE_MARKER}): ` +
      "the share's readers would reach the HSM images",
    'Give the home a folder outside every share (`--home DIR`).',
  );
}

/**
 * The installation home or share that `folder` is or lies in (its nearest), or null: a factory made
 * there would be refused by every `admin init` and `provision` on that installation
 * (`openFactory`), and its manufacturer's key would be in the installation's backups, or on the
 * share every user and the network read. Judged on real paths, a folder not made yet by its parents.
 */
export function installationAround(folder: string): { readonly kind: 'home' | 'share'; readonly at: string } | null {
  for (const dir of selfAndParents(realPath(folder))) {
    if (isInstallationHome(dir)) return { kind: 'home', at: dir };
    if (present(join(dir, SHARE_MARKER))) return { kind: 'share', at: dir };
  }
  return null;
}
