/**
 * The folders of an installation and what they must be before a command uses them: the home and its
 * HSM folders private to their owner (whoever may change them could make a command write a copy of
 * an HSM into a file of theirs), the share off the home's own files, and no file in the way of a
 * folder an init is about to make.
 * @module
 */
import { existsSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { ADMIN_DIR } from './installationConfig.ts';
import { InstallationError } from './installationError.ts';
import { inTheWayOf } from './makeFolders.ts';
import { pathInside } from './pathInside.ts';
import { notPrivate } from './privateFolder.ts';

/** The folder of the users' HSMs, in the home: `users/<U>/`. */
export const USERS_DIR = 'users';

/** Where the share is, in the home, unless `init` is told otherwise. */
const DEFAULT_SHARE_FOLDER = 'share';

/**
 * The share an `init` in `home` makes, given `share` or not: as `installation.json` records it (the
 * default relative to the home, so that the home can move) and as a folder.
 */
export function initialShare(home: string, share?: string): { readonly recorded: string; readonly dir: string } {
  const recorded = share === undefined ? DEFAULT_SHARE_FOLDER : resolve(share);
  return { recorded, dir: resolve(home, recorded) };
}

/**
 * The share is the untrusted folder (every user and the network read and write it): it may lie in
 * the home, but never over the home's own files.
 * @throws InstallationError `ShareOverlapsHome` when `shareDir` is the home, holds it, or lies in its
 *   admin HSM's or user HSMs' folders.
 */
export function requireShareOffHome(shareDir: string, home: string, what: string): void {
  const own = [ADMIN_DIR, USERS_DIR].find((folder) => pathInside(shareDir, join(home, folder)));
  if (!pathInside(home, shareDir) && own === undefined) return;
  const where = own === undefined ? 'is the installation home or holds it' : `lies in the home's ${own}/ folder`;
  throw new InstallationError(
    'ShareOverlapsHome',
    `${what}, ${shareDir}, ${where}: its readers would reach the HSM images; give the share a folder of its own`,
  );
}

/**
 * @throws InstallationError `BadInstallation` when `folder` exists but is not a folder (`--home` or
 *   `--share` naming a file; `why` says which), rather than an errno from the lock file, a listing or
 *   a mkdir inside it.
 */
export function requireFolder(
  folder: string,
  why = '--home (or SEKEY_HOME) names a file',
  remedy = "Point `--home` (or SEKEY_HOME) at the installation's folder.",
): void {
  if (existsSync(folder) && !statSync(folder).isDirectory())
    throw new InstallationError('BadInstallation', `${folder} is not a folder: ${why}`, remedy);
}

/**
 * @throws InstallationError `BadInstallation` when a file lies on the way to `folder`, which does not
 *   exist yet, or a link to nothing is at it (what makeFolders would refuse): checked before an init
 *   makes anything, since the share is made only after the admin
 *   HSM (a mkdir's ENOTDIR then would leave that HSM behind).
 */
export function requireWayTo(folder: string, what: string, remedy: string): void {
  const file = inTheWayOf(folder);
  if (file === null) return;
  // At `folder` itself, after requireFolder, only a link to nothing is left in the way.
  const why =
    file === resolve(folder)
      ? `is a link that leads nowhere, where ${what} goes`
      : `is a file, on the way to ${what} ${folder}`;
  throw new InstallationError('BadInstallation', `${file} ${why}`, remedy);
}

/**
 * @throws InstallationError `UnsafeHome` when `path` is not its user's alone to change
 *   (`privateFolder.ts`): the home (`follow`: it may be a link its owner made), or a folder of HSM
 *   images in it, whose parent is checked too when it is `users/`.
 */
export function requirePrivate(path: string, follow: boolean): void {
  const folders = !follow && basename(dirname(path)) === USERS_DIR ? [dirname(path), path] : [path];
  for (const folder of folders) {
    const why = notPrivate(folder, follow);
    if (why === null) continue;
    // The way out that fits the reason (privateFolder.ts words each one), and the folder it is.
    const what =
      basename(dirname(folder)) === USERS_DIR
        ? `${basename(folder)}'s HSM folder`
        : basename(folder) === ADMIN_DIR
          ? "the admin HSM's folder"
          : 'the folder';
    const fix = why.startsWith('is a symbolic link')
      ? `Replace the link ${folder} with ${what} itself.`
      : why.startsWith('is not a folder')
        ? `Move the file ${folder} away and put ${what} back there (restore it from a backup).`
        : why.startsWith('belongs to')
          ? "Run the command as the folder's owner, or use a home of your own."
          : `Close it to others: \`chmod go-w ${folder}\`; if someone else could have changed it, move the ` +
            'installation to a new home of your own.';
    throw new InstallationError(
      'UnsafeHome',
      `${folder} ${why}: whoever may change it could make this command write a copy of an HSM into a file ` +
        'of theirs, so the command stopped before using it',
      fix,
    );
  }
}

/** The mode of a home `init` makes: its owner's to change, readable by others (the share may be in it). */
export const HOME_MODE = 0o755;
