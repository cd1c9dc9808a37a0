/**
 * Whether a folder of an installation is its owner's alone to change. The home holds the HSM images
 * (`admin/flash.img` is the admin HSM's key store: whoever reads it holds a copy of the HSM), and a
 * command writes them there again and again. Whoever else may create, rename or link entries in
 * those folders can make a command write a copy of an HSM into a file of theirs (a checkpoint slot
 * linked to their own file, or `admin/` renamed and put back as a folder of theirs): a security
 * review did exactly that with a home another user owned, a home made world-writable, and with
 * hard links. So, as OpenSSH's `StrictModes` does for `~/.ssh` (sshd_config(5)), every command checks
 * the home and the folders of HSMs it opens: each must be a folder owned by the user running it (or
 * by root), that neither its group nor others may write to.
 *
 * A folder its group may write to passes when that group is the user's own private group (named
 * after the user, the user's primary group, no other member and no other account's primary group):
 * the default on Debian, Ubuntu, Fedora and RHEL, where users run with umask 002 and earlier
 * versions made homes 0775. Debian's OpenSSH accepts the same (its `user-group-modes` patch). The
 * group database is read from `/etc/group` and `/etc/passwd`: a group known only to a directory
 * service (LDAP, NSS) is not seen as private.
 *
 * What it does not see: the folders above the home (an attacker who may rename the home's parent
 * entries can swap the whole home; keep it under a folder only you can change, as `~` is) and
 * ACLs beyond the mode bits. Where the platform has no user IDs (Windows), nothing is checked.
 * @module
 */
import { lstatSync, readFileSync, statSync } from 'node:fs';
import type { Stats } from 'node:fs';
import { userInfo } from 'node:os';

/** Mode bits that let the folder's group or others create, remove or rename entries in it. */
const WRITABLE_BY_OTHERS = 0o022;

/**
 * Why the folder at `path` (or, with `kind` `file`, the regular file) is not private, or null when it
 * is (or when the platform has no user IDs). `follow`: a symbolic link to a folder is taken as that
 * folder (the home may be one, made by its owner); inside the home, a link is refused, since only
 * someone who can write there made it. A missing folder is no reason (nothing is in it to protect
 * yet). For a file the same mode bits count: group or others' write lets them change it in place.
 */
export function notPrivate(path: string, follow: boolean, kind: 'folder' | 'file' = 'folder'): string | null {
  const uid = process.getuid?.();
  if (uid === undefined) return null;
  let st: Stats;
  try {
    st = follow ? statSync(path) : lstatSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
  if (st.isSymbolicLink()) return 'is a symbolic link';
  if (kind === 'folder' ? !st.isDirectory() : !st.isFile())
    return kind === 'folder' ? 'is not a folder' : 'is not a file';
  if (st.uid !== uid && st.uid !== 0) return `belongs to user ID ${st.uid}, not to you (${uid})`;
  if ((st.mode & WRITABLE_BY_OTHERS) === 0) return null;
  if ((st.mode & 0o002) === 0 && privateGroup(st.gid, uid)) return null;
  const who = [(st.mode & 0o020) !== 0 ? 'its group' : '', (st.mode & 0o002) !== 0 ? 'others' : ''].filter(Boolean);
  return `may be written to by ${who.join(' and ')} (mode ${(st.mode & 0o7777).toString(8)})`;
}

/** The lines of a colon-separated database (`/etc/group`, `/etc/passwd`), split; none if unreadable. */
function database(path: string): string[][] {
  try {
    return readFileSync(path, 'utf8')
      .split('\n')
      .filter((line) => line !== '' && !line.startsWith('#'))
      .map((line) => line.split(':'));
  } catch {
    return [];
  }
}

/** Who asks, and where the group database is: this process's user and `/etc`, unless a test says. */
export interface GroupLookup {
  readonly name: string;
  readonly primaryGid: number;
  readonly groupFile: string;
  readonly passwdFile: string;
}

function thisUser(): GroupLookup {
  return {
    name: userInfo().username,
    primaryGid: process.getgid?.() ?? -1,
    groupFile: '/etc/group',
    passwdFile: '/etc/passwd',
  };
}

/**
 * Whether group `gid` is the private group of user `uid`: the user's primary group, named after the
 * user, no member listed but the user, and no other account's primary group (group(5), passwd(5)).
 */
export function privateGroup(gid: number, uid: number, who: GroupLookup = thisUser()): boolean {
  if (gid !== who.primaryGid) return false;
  const group = database(who.groupFile).find((fields) => Number(fields[2]) === gid);
  if (group === undefined || group[0] !== who.name) return false;
  const members = (group[3] ?? '').split(',').filter((m) => m !== '');
  if (members.some((m) => m !== who.name)) return false;
  return !database(who.passwdFile).some((fields) => Number(fields[3]) === gid && Number(fields[2]) !== uid);
}
