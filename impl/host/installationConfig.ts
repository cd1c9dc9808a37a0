/**
 * `installation.json`: the few facts about an installation that live outside every HSM — format
 * version, the admin HSM's serial (to notice a swapped admin image), where the share is, how time is
 * kept, the last time any command ran at (so time never goes back between runs), and the
 * distribution's timings: when a user is stale, how often heartbeats go out, how long users may
 * encrypt after the latest one; and the serial of each user's HSM, checked before a PIN is typed.
 * @module
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from './atomicFile.ts';
import { formatProblem } from './formatVersion.ts';
import { InstallationError } from './installationError.ts';
import { messageOf } from '../../model/codedError.ts';
import { checkId } from '../../model/kms.ts';
import { DEFAULT_HEARTBEAT_INTERVAL_MS, defaultFreshnessWindow } from '../../model/publication.ts';
import { checkFreshnessOptions } from '../kms/publisher.ts';

/** The format version this code writes and reads. */
export const INSTALLATION_FORMAT = 1;

/** The file's name in the home directory. */
export const INSTALLATION_FILE = 'installation.json';
/** The admin HSM's folder in the home (its flash and card images). */
export const ADMIN_DIR = 'admin';
/**
 * Written in the home before `admin init` makes anything, removed once `installation.json` is
 * saved: what tells an init cut short (made again) from an installation whose `installation.json`
 * was lost (refused: a new admin HSM over the old one would throw away its keys and database).
 */
export const INIT_PENDING_FILE = '.init-pending';

/**
 * How a command learns the time: `system` reads the host clock (and refuses to run if it is behind
 * the last recorded time); `manual` stands still at the last recorded time until `--at` moves it,
 * for simulations and demos.
 */
export type ClockMode = 'system' | 'manual';

/** The contents of `installation.json`. */
export interface InstallationConfig {
  readonly format: typeof INSTALLATION_FORMAT;
  readonly adminSerial: string;
  /** The share (DirectoryTransport root): relative to the home directory, or absolute. */
  readonly share: string;
  readonly clock: ClockMode;
  /** The latest time any command ran at, ms since the epoch. */
  readonly lastTime: number;
  /** How long a publication may stay unacknowledged before its user counts as stale. */
  readonly staleAfterMs: number;
  /**
   * A user whose latest update file is this old gets a heartbeat-only file at the next publish
   * (`admin init --heartbeat`). Absent in files written before heartbeats: {@link freshnessOf}
   * gives the default.
   */
  readonly heartbeatIntervalMs?: number;
  /** How long users may encrypt after the latest heartbeat they applied (`admin init --freshness`). */
  readonly freshnessWindowMs?: number;
  readonly createdAt: number;
  /**
   * The serial of the HSM last provisioned here for each user, by user ID: what a user command
   * checks the HSM in `users/<U>/` against *before* logging in, so that an HSM in the wrong folder
   * (another user's, a retired one restored from an old backup, the admin's) is refused without
   * spending one of its PIN tries. A hint, not a proof: the HSM's own database still says whose it
   * is after login. Absent in files written before it, and for a user until a command runs on their
   * HSM or provisions one. The admin database, which pairs each user with the HSM in service, has the
   * last word: every admin session writes its pairing here (an `installation.json` restored from a
   * backup older than a provisioning names the replaced HSM until then).
   */
  readonly userHsms?: Readonly<Record<string, string>>;
  /**
   * The serial of an HSM whose provisioning began and was not seen to finish, by user ID: written
   * before the new HSM's images are saved in `users/<U>/`, and removed once the admin's images that
   * pair it are saved (or, by any admin session, when the admin database pairs it). The new HSM is
   * saved before the admin's pairing on purpose (a crash in between leaves an HSM the admin does not
   * know, which provisioning again replaces); this says which HSM that is, so that its user's
   * commands and a provisioning run again do not take it for one in service. Absent when none.
   */
  readonly unpairedHsms?: Readonly<Record<string, string>>;
  /**
   * Set (to the session's time) by the admin session that found the admin HSM's images in a checkpoint
   * holding a database change the last session never saved at its end (`LoadedImages.unsavedChange`):
   * a command cut short after changing something, which may have printed nothing of it. Every admin
   * session warns while it is set (a cron job's `publish` too, which would otherwise have used up a
   * warning meant for the administrator); `sekey admin audit`, which shows what was done, clears it.
   * Absent when none.
   */
  readonly adminCutShortAt?: number;
}

/** The heartbeat interval and freshness window of an installation, defaults filled in. */
export function freshnessOf(config: Pick<InstallationConfig, 'heartbeatIntervalMs' | 'freshnessWindowMs'>): {
  readonly heartbeatIntervalMs: number;
  readonly freshnessWindowMs: number;
} {
  const heartbeatIntervalMs = config.heartbeatIntervalMs ?? DEFAULT_HEARTBEAT_INTERVAL_MS;
  return {
    heartbeatIntervalMs,
    freshnessWindowMs: config.freshnessWindowMs ?? defaultFreshnessWindow(heartbeatIntervalMs),
  };
}

/** `BadInstallation` for an unreadable `installation.json`, `why` in words, and its way out. */
function invalid(
  why: string,
  remedy = `Restore ${INSTALLATION_FILE} from a backup, or point \`--home\` at the installation's folder.`,
): never {
  throw new InstallationError('BadInstallation', `${INSTALLATION_FILE}: ${why}`, remedy);
}

/** Checks a parsed `installation.json`. */
export function parseInstallationConfig(text: string): InstallationConfig {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return invalid('not JSON');
  }
  if (typeof value !== 'object' || value === null) return invalid('not an object');
  const v = value as Record<string, unknown>;
  if (v['format'] !== INSTALLATION_FORMAT) {
    const { why, newer } = formatProblem(v['format'], INSTALLATION_FORMAT);
    return invalid(
      why,
      newer ? `Upgrade SEkey if a newer one wrote it; if not, restore ${INSTALLATION_FILE} from a backup.` : undefined,
    );
  }
  const str = (k: string): string =>
    typeof v[k] === 'string' && v[k] !== '' ? (v[k] as string) : invalid(`'${k}' must be a non-empty string`);
  const int = (k: string): number =>
    Number.isSafeInteger(v[k]) && (v[k] as number) >= 0 ? (v[k] as number) : invalid(`'${k}' must be an integer ≥ 0`);
  const clock = v['clock'];
  if (clock !== 'system' && clock !== 'manual') return invalid("'clock' must be 'system' or 'manual'");
  const optional = (k: string): Record<string, number> => (v[k] === undefined ? {} : { [k]: int(k) });
  const timings = { ...optional('heartbeatIntervalMs'), ...optional('freshnessWindowMs') };
  try {
    const f = freshnessOf(timings);
    checkFreshnessOptions(f.heartbeatIntervalMs, f.freshnessWindowMs);
  } catch (error) {
    return invalid(messageOf(error));
  }
  const userHsms = v['userHsms'] === undefined ? {} : { userHsms: parseUserHsms(v['userHsms'], 'userHsms') };
  const unpairedHsms =
    v['unpairedHsms'] === undefined ? {} : { unpairedHsms: parseUserHsms(v['unpairedHsms'], 'unpairedHsms') };
  return {
    format: INSTALLATION_FORMAT,
    adminSerial: str('adminSerial'),
    share: str('share'),
    clock,
    lastTime: int('lastTime'),
    staleAfterMs: int('staleAfterMs'),
    ...timings,
    createdAt: int('createdAt'),
    ...userHsms,
    ...unpairedHsms,
    ...optional('adminCutShortAt'),
  };
}

/** `userHsms` or `unpairedHsms` (`field`): user IDs to serials. */
function parseUserHsms(value: unknown, field: string): Record<string, string> {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    return invalid(`'${field}' must be an object of user IDs to serials`);
  const out: Record<string, string> = {};
  for (const [userId, serial] of Object.entries(value)) {
    const bad = checkId('user', userId);
    if (bad !== null) return invalid(`'${field}' names ${JSON.stringify(userId)}: ${bad.message}`);
    if (typeof serial !== 'string' || serial === '') return invalid(`'${field}.${userId}' must be a non-empty string`);
    out[userId] = serial;
  }
  return out;
}

/** Reads the configuration of the installation in `home`. */
export function readInstallationConfig(home: string): InstallationConfig {
  let text: string;
  try {
    text = readFileSync(join(home, INSTALLATION_FILE), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      // An admin HSM without its configuration is an installation that lost the file, not none:
      // `admin init` refuses it (it would make a new admin HSM over the old one).
      if (existsSync(join(home, INIT_PENDING_FILE))) {
        throw new InstallationError(
          'NotInitialized',
          `the SEkey installation in ${home} was cut short while \`sekey admin init\` made it: run it again`,
        );
      }
      if (existsSync(join(home, ADMIN_DIR, 'flash.img'))) {
        throw new InstallationError(
          'NotInitialized',
          `${home} holds an admin HSM (${ADMIN_DIR}/) but no ${INSTALLATION_FILE}: restore ${INSTALLATION_FILE} ` +
            'from a backup (or pass --home / set SEKEY_HOME to the installation you meant)',
        );
      }
      throw new InstallationError(
        'NotInitialized',
        `no SEkey installation in ${home}: run \`sekey admin init\` (or pass --home / set SEKEY_HOME)`,
      );
    }
    throw error;
  }
  return parseInstallationConfig(text);
}

/** Writes the configuration atomically. */
export function writeInstallationConfig(home: string, config: InstallationConfig): void {
  // Its owner's to change whatever the umask (a group-writable one under umask 002 let others move the
  // share or set the time back), readable by all: it holds no secret.
  writeFileAtomic(join(home, INSTALLATION_FILE), `${JSON.stringify(config, null, 2)}\n`, 0o644);
}
