/**
 * A persistent SEkey installation on simulated hardware, in one home directory:
 *
 * ```
 * installation.json          format, admin serial, share, clock mode, last time, users' HSM serials
 *                            (installationConfig.ts)
 * admin/flash.img, sd.img    the admin HSM: internal flash and microSD card
 * users/<U>/flash.img, sd.img  each provisioned user's HSM
 * share/                     the DirectoryTransport root (or any folder given at init: a network
 *                            share, a synced cloud folder)
 * ```
 *
 * No manufacturer's private key lives here. The HSMs an installation creates (the admin's at init,
 * users' at provisioning) are certified by a factory folder outside the home (`manufacturerFile.ts`,
 * `sekey factory init`), handed in as a {@link Manufacturer} for that one step; the installation
 * keeps only the manufacturer's public key, burned into each HSM as its root of trust.
 *
 * The share is untrusted: its entries are read through {@link DirectoryTransport}, which skips and
 * reports (`onShareSkip`) whatever is not a plausible file, so no entry can hang or crash a command.
 *
 * Each command run is one session: take the home's lock, load the device it needs from its images
 * (`Flash.fromImage`, `SdCard.fromImage`, then `new SecubeDevice({ flash, sdcard })`, which boots from
 * flash), log in with the PIN, do the work, and save the images again — always, even when the work
 * failed. Only then are the session's writes to the share carried out (`DeferredTransport`: the
 * share never gets ahead of the saved devices) and the time recorded. In between, each time the
 * device commits a counter to its flash (a spent PIN try before the comparison, the database
 * generation, the update sequence) both images are saved at once (`durablePoints.ts`), so killing
 * the process never gives a try back or lets a counter fall behind what the device relied on.
 *
 * Time: the KMS relies on monotonic time (life-cycle transitions are stamped and compared), so a
 * session refuses to run at a time before the last recorded one (`ClockWentBack`). `--at` sets the
 * time of one session; in `manual` clock mode time stands still between sessions until moved.
 * @module
 */
import { existsSync, lstatSync, readdirSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { CycleMeter } from '../../device/costModel.ts';
import { pinBytes } from '../../device/pinHash.ts';
import { Flash } from '../../device/flash.ts';
import { SdCard } from '../../device/sdcard.ts';
import { DEFAULT_STATE_SECTORS, SecubeDevice } from '../../device/secube.ts';
import { checkId } from '../../model/kms.ts';
import { DEFAULT_STALE_AFTER_MS } from '../../model/publication.ts';
import type { UserId } from '../../model/kms.ts';
import { Admin } from '../kms/admin.ts';
import { throwIf } from '../kms/rules/require.ts';
import type { Clock } from '../kms/clock.ts';
import { systemClock } from '../kms/clock.ts';
import { removeLeftTemporaries, writeFileAtomic } from './atomicFile.ts';
import { DeferredTransport, ShareOperationsFailed } from './deferredTransport.ts';
import {
  hasAnyDeviceImage,
  hasDeviceImages,
  loadDeviceImages,
  peekDeviceImages,
  saveDeviceCheckpoint,
  saveDeviceImages,
} from './deviceImages.ts';
import { watchDurablePoints } from './durablePoints.ts';
import type { DurablePoints } from './durablePoints.ts';
import { devicesInService, provisionUser } from '../kms/distribution.ts';
import type { ProvisioningRecord } from '../kms/distribution.ts';
import { lockHome } from './homeLock.ts';
import {
  ADMIN_DIR,
  INIT_PENDING_FILE,
  INSTALLATION_FILE,
  INSTALLATION_FORMAT,
  freshnessOf,
  readInstallationConfig,
  writeInstallationConfig,
} from './installationConfig.ts';
import type { ClockMode, InstallationConfig } from './installationConfig.ts';
import { pathInside } from './pathInside.ts';
import { InstallationError } from './installationError.ts';
import { Publisher, checkFreshnessOptions } from '../kms/publisher.ts';
import {
  DirectoryTransport,
  SHARE_MARKER,
  readShareMarker,
  shareCarriesFiles,
  writeShareMarker,
} from './directoryTransport.ts';
import type { SkippedShareEntry } from './directoryTransport.ts';
import type { Manufacturer } from '../../device/attestation.ts';
import type { Transport } from '../protocol/transport.ts';
import { User } from '../kms/user.ts';
import { inTheWayOf, makeFolders } from './makeFolders.ts';
import { notPrivate } from './privateFolder.ts';
import { messageOf } from '../../model/codedError.ts';

/** The latest time an installation takes: the end of the year 9999, the last one ISO 8601 writes in four digits. */
export const LATEST_TIME_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

/**
 * `spec` resolved against `base` (the last recorded time, or the host's time at init).
 * @throws InstallationError `TimeOutOfRange` past {@link LATEST_TIME_MS} (only a relative time can be).
 */
function resolveTime(spec: TimeSpec, base: number): number {
  const t = spec.kind === 'absolute' ? spec.ms : base + spec.ms;
  if (t > LATEST_TIME_MS)
    throw new InstallationError(
      'TimeOutOfRange',
      `--at names ${new Date(base).toISOString()} + ${+(spec.ms / 86_400_000).toFixed(3)} days, after the end ` +
        'of the year 9999',
    );
  return t;
}

/** A time given on the command line: absolute, or relative to the last recorded time. */
export type TimeSpec =
  | { readonly kind: 'absolute'; readonly ms: number }
  | { readonly kind: 'relative'; readonly ms: number };

/**
 * Capacity of each new device's microSD card: 1 GiB, half for the database and half for the audit
 * log beside it (`pageStore.ts`, `auditRegion`); images are sparse, so size costs nothing. Devices
 * made with the earlier 32 MiB cards keep them, and their audit log stays in the database.
 */
export const CARD_SECTORS = 2_097_152;

/** Default time before an unacknowledged publication makes its user stale: the publication machine's. */
export { DEFAULT_STALE_AFTER_MS } from '../../model/publication.ts';

/** What one device did in one session: the figures of the cost model and of the media. */
export interface DeviceReport {
  /** `admin` or the user's ID. */
  readonly device: string;
  readonly serial: string;
  /** Modelled HSM cycles at 168 MHz (crypto, TRNG, PIN hashing, flash and SD transfers). */
  readonly cycles: number;
  /** The same as modelled busy time. */
  readonly busyMs: number;
  /** Flash sector erases in this session. */
  readonly flashErases: number;
  /** Flash sector erases over the device's life (persisted in its image). */
  readonly lifetimeFlashErases: number;
  readonly sdBytesWritten: number;
  readonly flashImageBytes: number;
  readonly sdImageBytes: number;
}

/** Options of an {@link Installation}. */
export interface InstallationOptions {
  /** The time of the session (`--at`); default: the clock mode's. */
  readonly at?: TimeSpec;
  /** The host clock (default: the system clock); tests inject one. */
  readonly hostClock?: Clock;
  /** Receives each device's figures after it is saved. */
  readonly observer?: (report: DeviceReport) => void;
  /** Told about each entry of the share that was skipped as implausible (a FIFO, a link, an odd name…). */
  readonly onShareSkip?: (entry: SkippedShareEntry) => void;
  /** How long a session waits for another process's lock before `Busy` (default 0: at once). */
  readonly waitMs?: number;
  /**
   * Called with the tries left at the level a session logs in at, under the session's lock, just
   * before the PIN is tried; it may refuse by throwing. The command line refuses there to spend a
   * last try on a PIN that was not typed for it (`LastPinTry`): checked any earlier, two runs
   * waiting for the same lock would both see two tries left and spend the last one between them.
   */
  readonly beforeLogin?: (retriesLeft: number) => void;
  /**
   * Awaited once the session (or the init) holds the home's lock, before it loads or changes
   * anything: the CLI's changes begin here (`beginChanges` of `impl/cli/interrupts.ts`), so that an
   * interruption while the command still waits for another one's lock abandons it.
   */
  readonly onLocked?: () => Promise<void>;
  /** Told once when a session starts waiting for another process's lock (`waitMs`), with who holds it. */
  readonly onLockWait?: (busy: string) => void;
  /**
   * Told by each admin session while an admin command cut short after changing something is not yet
   * looked into (`adminCutShortAt` of `installation.json`, set when a session loads the admin HSM
   * from a checkpoint holding a database change the last session never saved at its end: that
   * command was killed, lost power or failed its save, and may have printed nothing of it). The change
   * is kept; the command line warns, since running that command again would do it twice (a key added
   * twice), until `AdminSession.acknowledgeCutShort` (`sekey admin audit`).
   */
  readonly onUnsavedAdminChange?: () => void;
}

/** What `sekey admin init` needs. */
export interface InitOptions {
  readonly adminPin: string;
  /** The admin HSM's user-level PIN (factory init sets both levels). */
  readonly userPin: string;
  /** The share's path; default `share` inside the home. */
  readonly share?: string;
  /** Default: `manual` when `at` is given, else `system`. */
  readonly clock?: ClockMode;
  readonly staleAfterMs?: number;
  /**
   * The factory that certifies the admin HSM's identity (`openFactory`); the installation keeps only
   * its public key.
   */
  readonly manufacturer: Manufacturer;
  /** Heartbeat interval (default 1 day). */
  readonly heartbeatIntervalMs?: number;
  /** Freshness window (default 3 heartbeat intervals); must exceed the interval. */
  readonly freshnessWindowMs?: number;
}

/** PINs of a user HSM being provisioned. */
export interface ProvisionPins {
  readonly userPin: string;
  readonly deviceAdminPin: string;
}

/** An open admin session. */
export interface AdminSession {
  readonly admin: Admin;
  readonly publisher: Publisher;
  readonly config: InstallationConfig;
  readonly clock: Clock;
  /**
   * Factory-initialises a new HSM for `userId` with `manufacturer` certifying its identity (the same
   * manufacturer as the admin HSM's, or the admin HSM refuses it), provisions it, and stores it
   * under `users/<U>/`.
   */
  provision(userId: UserId, pins: ProvisionPins, manufacturer: Manufacturer): Promise<ProvisioningRecord>;
  /**
   * `userId`'s HSM, loaded from its images into this session (logged out: nothing but a message
   * sealed by the admin HSM, a PIN reset order, is for it) and saved with the session's devices.
   * @throws InstallationError `NoDevice` when the user has no HSM here.
   */
  userDevice(userId: UserId): SecubeDevice;
  /**
   * Clears the mark of an admin command cut short (`adminCutShortAt`), once what was done has been
   * shown (`sekey admin audit`): admin sessions stop warning of it.
   */
  acknowledgeCutShort(): void;
}

/** An open user session. */
export interface UserSession {
  readonly user: User;
  readonly transport: Transport;
  readonly config: InstallationConfig;
  readonly clock: Clock;
  /**
   * Whether the HSM is one whose provisioning began and was not seen to finish (`unpairedHsms`):
   * saved in the user's folder, and paired by the admin's images or not (a checkpoint may have saved
   * the pairing before the session's end); either way no update file is for it yet.
   */
  readonly unfinishedProvisioning: boolean;
}

/** What a session gives the work it runs ({@link Installation}'s `#session`). */
interface SessionParts {
  /** `installation.json` as the session found it. */
  readonly config: InstallationConfig;
  readonly clock: SessionClock;
  readonly transport: DeferredTransport;
  /** The devices the work loaded: every one is saved when it ends, whatever happens. */
  readonly devices: LoadedDevice[];
  /** Writes the session's time to `installation.json` if it moved (before a device commits with it). */
  readonly recordTime: () => void;
  /** Records, in `installation.json` at once (one write), each serial as the HSM of its user (`userHsms`). */
  readonly recordUserHsms: (hsms: readonly (readonly [UserId, string])[]) => void;
  /** Marks, in `installation.json` at once, `serial` as `userId`'s HSM being provisioned (`unpairedHsms`). */
  readonly markUnpaired: (userId: UserId, serial: string) => void;
  /** Sets (a time) or clears (null), in `installation.json` at once, the mark of an admin command cut short. */
  readonly markCutShort: (at: number | null) => void;
  /** Whether an admin command cut short is marked (`adminCutShortAt`), as the session has it now. */
  readonly cutShortMarked: () => boolean;
  /**
   * Removes those marks for these HSMs: at once (`now`, when the admin database pairs them), or once the
   * session's images are all saved (its own provisioning, whose pairing those images hold).
   */
  readonly unmarkPaired: (hsms: readonly (readonly [UserId, string])[], now: boolean) => void;
}

/** `config` without the marks of unfinished provisioning (`unpairedHsms`) of these HSMs. */
function withoutUnpaired(config: InstallationConfig, hsms: readonly (readonly [UserId, string])[]): InstallationConfig {
  const marks = Object.entries(config.unpairedHsms ?? {});
  const left = marks.filter(([userId, serial]) => !hsms.some(([u, s]) => u === userId && s === serial));
  if (left.length === marks.length) return config;
  const { unpairedHsms: _dropped, ...rest } = config;
  return left.length === 0 ? rest : { ...rest, unpairedHsms: Object.fromEntries(left) };
}

/** A device loaded from its images, with what is needed to save and report it. */
interface LoadedDevice {
  readonly name: string;
  readonly dir: string;
  readonly device: SecubeDevice;
  readonly flash: Flash;
  readonly sd: SdCard;
  readonly meter: CycleMeter;
  /** For a device loaded from images: its durable points (`durablePoints.ts`). */
  readonly durable?: DurablePoints;
  /**
   * Set when the durable point that failed was the PIN tries given back after a correct PIN
   * ({@link logIn}): saving that state at the end puts nothing on disk that the command was told
   * failed, and not saving it would spend a try of every correct PIN while the disk is short.
   */
  triesGivenBack?: boolean;
  /**
   * Card bytes written once the database was open: what opening wrote (a schema migration, run by the
   * first command of a new version) is no change of the command's (see {@link changedCard}).
   */
  openedBytes?: number;
  /** What the host says about the state it leaves when this device's durable points stopped. */
  stoppedNote?: string;
  /** Whether a checkpoint holding a card write of this session was saved (a change is durable). */
  readonly changeSaved?: () => boolean;
  /** Whether the images came from a checkpoint holding a change an earlier session never saved. */
  readonly unsavedChange?: boolean;
}

/** A clock that never goes back and remembers the latest time it gave. */
interface SessionClock extends Clock {
  readonly latest: number;
}

const USERS_DIR = 'users';

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
function requireShareOffHome(shareDir: string, home: string, what: string): void {
  const own = [ADMIN_DIR, USERS_DIR].find((folder) => pathInside(shareDir, join(home, folder)));
  if (!pathInside(home, shareDir) && own === undefined) return;
  const where = own === undefined ? 'is the installation home or holds it' : `lies in the home's ${own}/ folder`;
  throw new InstallationError(
    'ShareOverlapsHome',
    `${what}, ${shareDir}, ${where}: its readers would reach the HSM images; give the share a folder of its own`,
  );
}

function freshDevice(name: string, dir: string): LoadedDevice {
  requirePrivate(dir, false);
  const meter = new CycleMeter();
  const flash = new Flash({ meter });
  const sd = new SdCard({ sectorCount: CARD_SECTORS, meter });
  return { name, dir, device: new SecubeDevice({ flash, sdcard: sd }), flash, sd, meter };
}

/** Parses one image; a malformed one (garbled, cut) is `Tampered`, in one line. */
function parseImage<T>(path: string, parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    throw new InstallationError('Tampered', `${path} is not an intact device image (${messageOf(error)})`);
  }
}

/**
 * Whether the session wrote to this card. Time stamps live only on the card (the database and the
 * audit log); flash holds PIN counters, counters and keys, none stamped. A session that wrote no card
 * (a wrong PIN, a refusal before any commit) made nothing durable that its time must cover.
 */
function stamped(sd: SdCard): boolean {
  return sd.stats().bytesWritten > 0;
}

/**
 * Whether the command changed the device's card, beyond what opening its database wrote (a migration
 * carries no time and no change of the command's: a refusal after it is no "saved" change).
 */
function changedCard(d: LoadedDevice): boolean {
  return d.sd.stats().bytesWritten > (d.openedBytes ?? 0);
}

/** For a message about a share in use: what its marker names, if it can be read and names a serial. */
function markerNaming(shareDir: string): string {
  const serial = markedSerial(shareDir);
  return serial === null ? '' : ` (its ${SHARE_MARKER} names ${JSON.stringify(serial)})`;
}

/** The serial a share's marker names, or null (no marker, no serial in it, or unreadable). */
function markedSerial(shareDir: string): string | null {
  try {
    const marker = readShareMarker(shareDir);
    return marker.kind === 'serial' ? marker.serial : null;
  } catch {
    return null;
  }
}

/** The serial of the admin HSM an init cut short left in `home` (its marker still there), or null. */
function cutShortSerial(home: string, pending: string): string | null {
  const dir = join(home, ADMIN_DIR);
  if (!existsSync(pending) || !hasDeviceImages(dir)) return null;
  try {
    return loadDevice('admin', dir, () => {}).device.serial;
  } catch {
    return null; // not even a device: nothing of it to keep
  }
}

/**
 * @throws InstallationError `BadInstallation` when `folder` exists but is not a folder (`--home` or
 *   `--share` naming a file; `why` says which), rather than an errno from the lock file, a listing or
 *   a mkdir inside it.
 */
function requireFolder(
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
function requireWayTo(folder: string, what: string, remedy: string): void {
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
function requirePrivate(path: string, follow: boolean): void {
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
const HOME_MODE = 0o755;

/** Whether `error` is the share failing (missing, or a folder there that is not one). */
export function isShareFailure(error: unknown): boolean {
  return error instanceof InstallationError && (error.code === 'ShareMissing' || error.code === 'UnsafeShare');
}

/** The first few of `items`, and how many more (a share that refused a long outbox). */
function someOf(items: readonly string[], shown = 4): string {
  const more = items.length - shown;
  return `${items.slice(0, shown).join(', ')}${more > 0 ? ` and ${more} more` : ''}`;
}

/** `ShareNotWritten` for a change that is saved while the share failed with `error`. */
function shareNotWritten(error: unknown): InstallationError {
  const why = messageOf(error);
  // What was printed is committed; these did not reach the share (a `published:` line included).
  const missed = error instanceof ShareOperationsFailed ? `; not on the share: ${someOf(error.failed)}` : '';
  // The share's own way out (which folder, which file is in the way), where it has one.
  const fix = error instanceof InstallationError ? error.remedy : undefined;
  return new InstallationError(
    'ShareNotWritten',
    `the change is saved, but the share did not take all of its files (${why}${missed}): fix the share; the next ` +
      "`sekey admin publish` (or, for acknowledgements, the user's next `sync`) writes them again. A command " +
      'that created something (a key, a user) would create it twice if run again',
    fix === undefined
      ? undefined
      : `${fix} Then run \`sekey admin publish\` (for acknowledgements, the user's \`sync\`): do not run the ` +
          'command again.',
  );
}

/**
 * Saves a session's device images, then its time (`saveTime`). What the work made durable is in
 * effect whether or not this succeeds (a checkpoint holds it), so when it fails after work that
 * succeeded, the failure is `ImagesNotSaved`, no refusal: said as one (the raw errno, exit 1, no line
 * printed), a retry made a second key, and a changed PIN was reported unchanged (the old one then
 * spent the tries: a locked HSM). After work that failed (`work.error`), that failure is what the
 * command reports, not the save's: a wrong PIN stays `WrongPin` (its spent try is in a checkpoint,
 * and the next command completes the save).
 */
function saveSession(
  devices: readonly LoadedDevice[],
  work: { readonly done: boolean; readonly error: unknown; readonly filesHeld: boolean },
  saveTime: () => void,
): DeviceReport[] {
  try {
    const reports = devices.map(saveDevice);
    saveTime();
    return reports;
  } catch (error) {
    if (work.done) throw imagesNotSaved(error, work.filesHeld);
    throw work.error ?? error;
  }
}

/**
 * Logs `d` in with `login`. The device spends a PIN try (a durable point) before it compares, and
 * gives the tries back (another) after a correct PIN. When only that second one could not be saved,
 * the PIN was right: {@link refuseAfterFailedCheckpoint} then saves the images as they are (tries
 * given back, nothing else changed since the last checkpoint), so that a disk short of room for a
 * checkpoint does not spend a try of every correct PIN until the HSM locks.
 */
function logIn(d: LoadedDevice, login: () => void): void {
  const before = d.durable?.saves ?? 0;
  try {
    login();
  } catch (error) {
    const failure = d.durable?.failure;
    if (failure?.saveFailed && failure.error === error && d.durable?.saves === before + 1) d.triesGivenBack = true;
    throw error;
  }
}

/**
 * Ends a session one of whose devices' durable points stopped (a save that failed, or a step the
 * host stopped them for), before anything else is saved: saving then would put on disk what the
 * command was told failed (a commit it reported failed, a spent PIN try that was never compared,
 * an admin pairing for an HSM that was never saved). As after a power cut at that point, nothing
 * more is saved and nothing goes to the share; except the PIN tries a correct PIN gave back
 * ({@link logIn}). When a checkpoint holding a change of this session (a synced card write) was saved
 * before, the command did something, which the error says (`changed`: `CheckpointNotSaved`, exit 4).
 * @throws InstallationError `CheckpointNotSaved` when a save failed; the error that stopped the
 *   durable points otherwise (the work's own).
 */
function refuseAfterFailedCheckpoint(devices: readonly LoadedDevice[]): void {
  const stopped = devices.find((d) => d.durable?.failure);
  const failure = stopped?.durable?.failure;
  if (!stopped || !failure) return;
  const changed = devices.some((d) => d.changeSaved?.() === true);
  for (const d of devices) {
    if (!d.triesGivenBack) continue;
    try {
      saveDevice(d);
    } catch {
      // The try stays spent, as after a power cut between the comparison and its save.
    }
  }
  if (!failure.saveFailed) throw failure.error;
  const why = messageOf(failure.error);
  // A user's session (its HSM alone loaded) is checked with the user's commands, an admin's with the admin's.
  const only = devices.length === 1 ? devices[0]?.name : undefined;
  const user = only === 'admin' ? undefined : only;
  const checks =
    user === undefined ? '`sekey admin keys`, `users`, `status`' : `\`sekey user ${user} status\`, \`keys\``;
  const remedy =
    user === undefined
      ? undefined
      : 'Free space, lift the file-size limit (`ulimit -f`), or fix the file the message names; then check what ' +
        `the command did (${checks}) before repeating it. A sync is safe to run again: it goes on where it stopped.`;
  const done = changed
    ? 'the steps it completed before are done and in effect (in text, the lines it printed): do not run again a ' +
      `command that created something (a key, a user), it would create it twice; check (${checks}) what is missing`
    : 'nothing it was asked to do is done; free space or fix the file, then run it again';
  const note = stopped.stoppedNote === undefined ? '' : `. ${stopped.stoppedNote}`;
  // `changed` goes with the error: the command line exits 4 for it, as for a change not all saved.
  throw Object.assign(
    new InstallationError(
      'CheckpointNotSaved',
      `saving the HSM images (or installation.json) at a durable point failed (${why}), so the command stopped ` +
        `there, as a power cut would have stopped it: nothing after it is kept and none of its files went to the ` +
        `share (a PIN try spent before it may stay spent); ${done}${note}`,
      remedy,
    ),
    { changed },
  );
}

/**
 * `ImagesNotSaved` for a session whose work is in effect (checkpointed) while the last save failed
 * with `error`; `filesHeld` when the work had files for the share, which then were not written. Worded
 * for any command: a listing whose last save failed changed nothing, and must not read as a change.
 */
function imagesNotSaved(error: unknown, filesHeld: boolean): InstallationError {
  const why = messageOf(error);
  const files = filesHeld
    ? ', and its files were not written to the share (the next `sekey admin publish`, or for acknowledgements ' +
      'the next `sync`, writes them)'
    : '';
  return new InstallationError(
    'ImagesNotSaved',
    'what the command printed is done and in effect (a checkpoint of the HSM images holds it), but the last ' +
      `save of the images or installation.json failed (${why})${files}: free space or fix the file; the next ` +
      'command completes the save. Do not run again a command that created something (a key, a user): it would ' +
      'create it twice; a PIN it changed is the new one',
  );
}

/**
 * Carries out the session's writes to the share, once its images are saved. When the work had
 * succeeded, a failure here must not read as a refusal: the change stands, and the command run
 * again would make it twice (a second key, a duplicate user refused). So it becomes
 * `ShareNotWritten`, which the command line reports with what the command did (`announce.ts`). When
 * the work had failed, its own error is what the command reports, not this one (the files held go
 * out with the next publication, from the administrator's outbox).
 */
async function commitShare(transport: DeferredTransport, workDone: boolean): Promise<void> {
  try {
    await transport.commit();
  } catch (error) {
    if (workDone) throw shareNotWritten(error);
  }
}

/** Loads a device; `beforeCheckpoint` runs before a checkpoint that may carry time stamps. */
function loadDevice(name: string, dir: string, beforeCheckpoint: () => void): LoadedDevice {
  requirePrivate(dir, false);
  let images: ReturnType<typeof loadDeviceImages>;
  try {
    images = loadDeviceImages(dir);
  } catch (error) {
    // One image gone (or the folder): as cut short as a garbled one, and named, not a raw ENOENT.
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    const missing = (error as NodeJS.ErrnoException).path ?? dir;
    throw new InstallationError(
      'Tampered',
      `${missing} is missing: an HSM's folder holds both its images (flash.img and sd.img)`,
    );
  }
  const meter = new CycleMeter();
  const flash = parseImage(join(dir, 'flash.img'), () => Flash.fromImage(images.flash, { meter }));
  const sd = parseImage(join(dir, 'sd.img'), () => SdCard.fromImage(images.sd, { meter }));
  // Construction boots the device from its flash: PIN counters, counters and keys come back.
  const device = new SecubeDevice({ flash, sdcard: sd, stateSectors: DEFAULT_STATE_SECTORS });
  // From now on, every counter the device commits (a spent PIN try first of all) is on disk
  // before the device goes on (durablePoints.ts).
  let changeSaved = false;
  const durable = watchDurablePoints(flash, DEFAULT_STATE_SECTORS, () => {
    if (stamped(sd)) beforeCheckpoint();
    // A card synced in this session: a commit's pages and manifest are durable, so the checkpoint
    // holds a change (a card write not yet synced, such as the audit record a commit writes before
    // its intent, is not in the checkpoint, which saves the card's durable content only).
    const change = sd.stats().syncs > 0;
    saveDeviceCheckpoint(dir, { flash: flash.toImage(), sd: sd.toImage() });
    changeSaved ||= change;
  });
  const unsavedChange = images.unsavedChange;
  return { name, dir, device, flash, sd, meter, durable, changeSaved: () => changeSaved, unsavedChange };
}

function saveDevice(d: LoadedDevice): DeviceReport {
  const images = { flash: d.flash.toImage(), sd: d.sd.toImage() };
  saveDeviceImages(d.dir, images);
  const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);
  return {
    device: d.name,
    serial: d.device.serial,
    cycles: d.meter.cycles,
    busyMs: d.meter.busyMs,
    flashErases: sum(d.flash.stats().erases),
    lifetimeFlashErases: sum(d.flash.eraseCounts()),
    sdBytesWritten: d.sd.stats().bytesWritten,
    flashImageBytes: images.flash.length,
    sdImageBytes: images.sd.length,
  };
}

/** A persistent installation in a home directory (see the module comment). */
export class Installation {
  readonly home: string;
  readonly #options: InstallationOptions;

  constructor(home: string, options: InstallationOptions = {}) {
    this.home = resolve(home);
    this.#options = options;
  }

  /**
   * Creates an installation: factory-initialises the admin HSM with `adminPin`/`userPin`, creates the
   * administrator's database on its card, and records the configuration.
   * @throws InstallationError `AlreadyInitialized` when `home` holds one.
   */
  static async init(home: string, init: InitOptions, options: InstallationOptions = {}): Promise<Installation> {
    const timings = freshnessOf(init);
    // Refused before anything is created: a window no longer than the interval cannot work (a
    // RangeError), and a PIN the HSM would refuse (DeviceError BadArgument) would otherwise leave an
    // empty home behind.
    checkFreshnessOptions(timings.heartbeatIntervalMs, timings.freshnessWindowMs);
    pinBytes(init.adminPin);
    pinBytes(init.userPin);
    const installation = new Installation(home, options);
    const root = installation.home;
    requireFolder(root, undefined, 'Give `--home` (or SEKEY_HOME) a new or empty folder.');
    const homeWay = 'Give the home a folder that can be made there (`--home DIR`), or move the file away.';
    requireWayTo(root, 'the home', homeWay);
    const { recorded: share, dir: shareDir } = initialShare(root, init.share);
    requireShareOffHome(shareDir, root, 'the share');
    requireFolder(
      shareDir,
      init.share === undefined ? 'a file is where the share goes' : '--share names a file',
      init.share === undefined
        ? `Move the file ${shareDir} away, or give the share a folder of its own (\`--share DIR\`).`
        : 'Give the share a folder (`--share DIR`, new or empty).',
    );
    const shareWay = 'Give the share a folder that can be made there (`--share DIR`), or move the file away.';
    requireWayTo(shareDir, 'the share', shareWay);
    makeFolders(root, HOME_MODE);
    requirePrivate(root, true);
    const release = await lockHome(root, options.waitMs, options.onLockWait);
    try {
      await options.onLocked?.();
      if (existsSync(join(root, INSTALLATION_FILE))) {
        throw new InstallationError('AlreadyInitialized', `${root} already holds an SEkey installation`);
      }
      // Without installation.json, an admin HSM is an init cut short only if that init's marker is
      // still there; without it, the admin HSM is an installation whose installation.json was lost,
      // and a new one over it would throw away every key and record it holds. User HSMs beside it
      // are such an installation too: a new admin HSM would leave them and their keys orphaned.
      const pending = join(root, INIT_PENDING_FILE);
      if (hasDeviceImages(join(root, ADMIN_DIR)) && !existsSync(pending)) {
        throw new InstallationError(
          'BadInstallation',
          `${root} holds an admin HSM (${ADMIN_DIR}/) but no installation.json`,
          'Restore installation.json from a backup; to start a new installation, choose another home (or move ' +
            'this one away).',
        );
      }
      const users = join(root, USERS_DIR);
      if (existsSync(users) && readdirSync(users).length > 0) {
        throw new InstallationError(
          'BadInstallation',
          `${root} holds user HSMs (${USERS_DIR}/) but no installation.json`,
          'Restore installation.json from a backup; to start a new installation, choose another home (or move ' +
            'this one away).',
        );
      }
      // A share that has carried files belongs to another installation (marked or made before
      // markers): not taken over, or that installation would find its share gone. A marker alone, in
      // an unused share, is an init cut short (made again).
      if (existsSync(shareDir) && shareCarriesFiles(shareDir)) {
        throw new InstallationError(
          'BadInstallation',
          `the share ${shareDir} already carries another installation's files${markerNaming(shareDir)}`,
          'Give each installation its own share (`--share DIR`).',
        );
      }
      // Nor one marked by another admin HSM, files or none: that installation would find its share
      // taken. Only the marker of this home's own init cut short (its admin HSM's serial) is made again.
      const marked = existsSync(shareDir) ? markedSerial(shareDir) : null;
      if (marked !== null && marked !== cutShortSerial(root, pending)) {
        throw new InstallationError(
          'BadInstallation',
          `the share ${shareDir} belongs to another installation${markerNaming(shareDir)}`,
          'Give each installation its own share (`--share DIR`).',
        );
      }
      const host = options.hostClock ?? systemClock;
      const at = options.at;
      const start = at === undefined ? host.now() : resolveTime(at, host.now());
      const mode: ClockMode = init.clock ?? (at === undefined ? 'system' : 'manual');
      const clock = sessionClock(start, mode === 'system' && at === undefined ? host : null);
      // A half-finished earlier init (no installation.json) is simply overwritten; this one is
      // marked as such until its installation.json is saved.
      writeFileAtomic(pending, `${new Date(start).toISOString()}\n`);
      // The factory (outside the home) plays the manufacturer: in a real deployment the admin HSM
      // arrives already initialised and certified, and its key never reaches the admin host.
      const d = freshDevice('admin', join(root, ADMIN_DIR));
      d.device.factoryInit({ userPin: init.userPin, adminPin: init.adminPin, manufacturer: init.manufacturer });
      d.device.login('admin', init.adminPin);
      const admin = await Admin.create({ device: d.device, sd: d.sd, clock });
      admin.close();
      const report = saveDevice(d);
      makeFolders(shareDir);
      // Again now that the share exists and every link on its way resolves exactly: whatever a guess
      // about paths not made yet missed, no marker goes into the home (the init is cut short, not saved).
      requireShareOffHome(shareDir, root, 'the share');
      // What tells the share from an empty folder where it is not mounted (DirectoryTransport shareOf).
      writeShareMarker(shareDir, report.serial);
      writeInstallationConfig(root, {
        format: INSTALLATION_FORMAT,
        adminSerial: report.serial,
        share,
        clock: mode,
        lastTime: clock.latest,
        staleAfterMs: init.staleAfterMs ?? DEFAULT_STALE_AFTER_MS,
        ...timings,
        createdAt: start,
      });
      // After the save: a cut before it leaves the marker, and the init is made again. A cut between
      // the save and this leaves a stale marker beside installation.json, which the next command
      // clears (#session), before a lost installation.json could let an init take it for one cut short.
      rmSync(pending, { force: true });
      options.observer?.(report);
      return installation;
    } finally {
      release();
    }
  }

  /** The installation's configuration. */
  config(): InstallationConfig {
    return readInstallationConfig(this.home);
  }

  /**
   * The share's directory.
   * @throws InstallationError `ShareOverlapsHome` when `installation.json` names one over the home's
   *   own files (init refuses such a share; an edited file could name one).
   */
  sharePath(config: InstallationConfig = this.config()): string {
    const dir = resolve(this.home, config.share);
    requireShareOffHome(dir, this.home, `the share ${INSTALLATION_FILE} names`);
    return dir;
  }

  /** Where `userId`'s HSM images live. */
  userDir(userId: UserId): string {
    throwIf(checkId('user', userId));
    return join(this.home, USERS_DIR, userId);
  }

  /**
   * The serial of the HSM in `userId`'s folder when it is one whose provisioning began and did not
   * finish (`unpairedHsms`: the session that made it did not end), else null. Read from the files
   * without recovering anything (`peekDeviceImages`), so outside the home's lock too: advice only.
   */
  unfinishedProvisioning(userId: UserId): string | null {
    try {
      const marked = this.config().unpairedHsms?.[userId];
      const images = marked === undefined ? null : peekDeviceImages(this.userDir(userId));
      if (images === null) return null;
      const device = new SecubeDevice({ flash: Flash.fromImage(images.flash), sdcard: SdCard.fromImage(images.sd) });
      return device.serial === marked ? marked : null;
    } catch {
      return null; // unreadable: no claim either way
    }
  }

  /** Runs `fn` in an admin session on the admin HSM, logged in at admin level with `pin`. */
  async withAdmin<T>(pin: string, fn: (session: AdminSession) => Promise<T>): Promise<T> {
    return this.#session(async (parts) => {
      const { config, clock, transport, devices, recordTime, recordUserHsms, unmarkPaired, markCutShort } = parts;
      const d = loadDevice('admin', join(this.home, ADMIN_DIR), recordTime);
      if (d.device.serial !== config.adminSerial) {
        throw new InstallationError(
          'BadInstallation',
          `admin HSM serial ${d.device.serial} is not the installation's ${config.adminSerial}`,
          `Restore the admin HSM's folder (${join(this.home, ADMIN_DIR)}) from a backup, or point \`--home\` at ` +
            'the installation this admin HSM belongs to.',
        );
      }
      devices.push(d);
      // Marked at once, so that the mark outlives this session whatever it is (a cron job's publish).
      if (d.unsavedChange === true && !parts.cutShortMarked()) markCutShort(clock.now());
      if (parts.cutShortMarked()) this.#options.onUnsavedAdminChange?.();
      this.#options.beforeLogin?.(d.device.retriesLeft.admin);
      logIn(d, () => d.device.login('admin', pin));
      const admin = await Admin.open({ device: d.device, sd: d.sd, clock });
      d.openedBytes = d.sd.stats().bytesWritten;
      try {
        requireTimeAfter(admin.lastAuditedAt(), clock.now(), 'the last audited operation (in the admin database)');
        // The admin database pairs each user with the HSM in service; installation.json may name an
        // older one (restored from a backup taken before a provisioning) or none (written before it
        // recorded any). A user command checks the HSM in its folder against this record before any
        // PIN reaches it, so the record follows the admin's pairing, which never gets ahead of the
        // user HSM's saved images (#provision).
        const inService = admin.readDatabase((db) => devicesInService(db));
        recordUserHsms(inService);
        // A provisioning whose end was not seen (the admin's images saved, installation.json not): the
        // pairing in the database says it finished.
        unmarkPaired(inService, true);
        const publisher = new Publisher(admin, transport, {
          staleAfterMs: config.staleAfterMs,
          ...freshnessOf(config),
        });
        return await fn({
          admin,
          publisher,
          config,
          clock,
          provision: (userId, pins, manufacturer) =>
            this.#provision(d, admin, clock, userId, pins, manufacturer, parts),
          userDevice: (userId) => this.#sessionUserDevice(userId, devices, recordTime),
          acknowledgeCutShort: () => markCutShort(null),
        });
      } finally {
        admin.close();
      }
    });
  }

  /** Runs `fn` in a session on `userId`'s HSM, logged in at user level with `pin`. */
  async withUser<T>(userId: UserId, pin: string, fn: (session: UserSession) => Promise<T>): Promise<T> {
    const dir = this.userDir(userId);
    return this.#session(async ({ config, clock, transport, devices, recordTime, recordUserHsms }) => {
      // Before the look for images, which finishes or discards an interrupted save in the folder:
      // in one others may change, that would rename their files over the HSM's images.
      requirePrivate(dir, false);
      if (!hasAnyDeviceImage(dir)) {
        throw new InstallationError(
          'NoDevice',
          `${userId} has no HSM in ${this.home}: run \`sekey admin provision ${userId} …\` first`,
        );
      }
      const d = loadDevice(userId, dir, recordTime);
      devices.push(d);
      // Before login: a PIN typed into another HSM spends one of that HSM's tries.
      this.#requireUsersHsm(config, userId, d.device.serial);
      this.#options.beforeLogin?.(d.device.retriesLeft.user);
      logIn(d, () => d.device.login('user', pin));
      const user = await User.open({ device: d.device, sd: d.sd, clock });
      d.openedBytes = d.sd.stats().bytesWritten;
      // The folder names the user; the HSM's card says whose it is. Another user's images copied in
      // would otherwise run this user's commands on that user's keys, under that user's name.
      if (user.id !== userId) {
        user.close();
        throw new InstallationError(
          'BadInstallation',
          `${dir} holds ${user.id}'s HSM, not ${userId}'s`,
          `Put it back in ${this.userDir(user.id as UserId)}, and ${userId}'s own in ${dir} (or restore ${dir} ` +
            'from a backup).',
        );
      }
      // An installation.json from before userHsms (or restored from before U's provisioning)
      // learns U's HSM from the HSM itself, now that it has said whose it is.
      recordUserHsms([[userId, d.device.serial]]);
      // As for the admin: the replica's own record of time, not installation.json's alone. A session
      // before the last update it applied would take that update's heartbeat as dated ahead.
      const applied = user.freshness().statement?.appliedAt ?? 0;
      try {
        requireTimeAfter(applied, clock.now(), `the last update ${userId}'s HSM applied (in its database)`);
      } catch (error) {
        user.close();
        throw error;
      }
      try {
        const unfinishedProvisioning = config.unpairedHsms?.[userId] === d.device.serial;
        return await fn({ user, transport, config, clock, unfinishedProvisioning });
      } finally {
        user.close();
      }
    });
  }

  /**
   * Refuses the HSM `serial` in `userId`'s folder, before any PIN reaches it, when `installation.json`
   * records another as `userId`'s (`userHsms`, which every admin session brings in line with the admin
   * database); without a record the HSM's own database decides, after login ({@link withUser}).
   * @throws InstallationError `BadInstallation`, naming whose HSM it is where this home knows.
   */
  #requireUsersHsm(config: InstallationConfig, userId: UserId, serial: string): void {
    const expected = config.userHsms?.[userId];
    if (expected === undefined || expected === serial) return;
    // The HSM a provisioning of this user saved and marked as not paired yet, killed before it could
    // record it (`#provision`): the session goes on, and says the provisioning did not finish.
    if (config.unpairedHsms?.[userId] === serial) return;
    const dir = this.userDir(userId);
    const owner = Object.entries(config.userHsms ?? {}).find(([, s]) => s === serial)?.[0] as UserId | undefined;
    // Whose the HSM is, where this home knows, and the folder it belongs in.
    const known =
      serial === config.adminSerial
        ? { which: `the admin HSM (${serial})`, back: `the admin HSM in ${join(this.home, ADMIN_DIR)}` }
        : owner !== undefined
          ? { which: `${owner}'s HSM (${serial})`, back: `${owner}'s in ${this.userDir(owner)}` }
          : null;
    // An HSM this home records for nobody may also be U's own, and the record the stale one: the admin
    // database has the last word, and any admin command writes it here.
    const which =
      known?.which ??
      `HSM ${serial}, which is no user's here (one replaced since, another installation's, or one whose ` +
        'provisioning was cut short)';
    const after =
      known !== null
        ? `, and ${known.back} if it is not there`
        : `. If ${INSTALLATION_FILE} was restored from a backup older than ${userId}'s HSM, an admin command ` +
          `(\`sekey admin users\`) records the HSM the admin pairs with ${userId}; a provisioning cut short is run ` +
          `again (\`sekey admin provision ${userId} … --yes\`)`;
    throw new InstallationError(
      'BadInstallation',
      `${dir} holds ${which}, not ${userId}'s HSM ${expected}; no PIN was tried on it`,
      `Put ${userId}'s HSM back in ${dir} (or restore the folder from a backup)${after}.`,
    );
  }

  /** `userId`'s HSM loaded (once) into the session's `devices`, so that the session saves it. */
  #sessionUserDevice(userId: UserId, devices: LoadedDevice[], recordTime: () => void): SecubeDevice {
    const dir = this.userDir(userId);
    const loaded = devices.find((d) => d.dir === dir);
    if (loaded !== undefined) return loaded.device;
    requirePrivate(dir, false); // before the recovery hasAnyDeviceImage runs (as in withUser)
    if (!hasAnyDeviceImage(dir)) throw new InstallationError('NoDevice', `${userId} has no HSM in ${this.home}`);
    const d = loadDevice(userId, dir, recordTime);
    devices.push(d);
    return d.device;
  }

  async #provision(
    adminDevice: LoadedDevice,
    admin: Admin,
    clock: Clock,
    userId: UserId,
    pins: ProvisionPins,
    manufacturer: Manufacturer,
    { recordUserHsms, markUnpaired, unmarkPaired }: SessionParts,
  ): Promise<ProvisioningRecord> {
    // The user device is saved before the admin's images may show it (see below), so the admin's
    // durable points wait until then.
    const release = adminDevice.durable?.hold() ?? (() => undefined);
    let saved: string | null = null;
    try {
      // The factory certifies the new HSM's identity; each device checks the other's certificate
      // against the root burned into it before deriving the pair's keys.
      const d = freshDevice(userId, this.userDir(userId));
      d.device.factoryInit({ userPin: pins.userPin, adminPin: pins.deviceAdminPin, manufacturer });
      d.device.login('admin', pins.deviceAdminPin);
      const record = provisionUser(admin, userId, d.device);
      d.device.logout();
      d.device.login('user', pins.userPin);
      const user = await User.create({ provisioning: record, device: d.device, sd: d.sd, clock });
      user.close();
      // Saved now, before the admin's images: a crash in between leaves a device the admin does not
      // know, and provisioning again replaces it. The other order would leave the admin believing in
      // a device that does not exist. Marked first as not paired yet, so that the device left by such
      // a crash is told from one in service: its user's sync says its provisioning did not finish
      // (no file is for it yet), and a provisioning run again does not call it in service.
      markUnpaired(userId, d.device.serial);
      let report: DeviceReport;
      try {
        report = saveDevice(d);
      } catch (error) {
        adminDevice.durable?.stop(error, true);
        throw error;
      }
      saved = d.device.serial;
      // At once, before the admin's images: the new HSM must not be refused as a stranger in its own
      // folder. A crash before this line leaves an HSM the admin does not know either (provision again).
      recordUserHsms([[userId, saved]]);
      // The mark goes once the session's saves (the admin's images among them, pairing it) are done.
      unmarkPaired([[userId, saved]], false);
      this.#options.observer?.(report);
      return record;
    } catch (error) {
      // The new HSM not saved (its set-up or, above, its save failed): the admin's images must not
      // show it either. Its held durable points fail with this error, as a crash here would have left
      // them unsaved, and the session saves nothing more. (A save failure stopped them first.)
      adminDevice.durable?.stop(error, false);
      throw error;
    } finally {
      try {
        release();
      } catch (error) {
        // The admin's pairing could not be saved after the new HSM was (a crash there leaves the same).
        if (saved !== null)
          adminDevice.stoppedNote =
            `${userId}'s folder now holds the new HSM ${saved}, which the admin's images do not pair with ${userId}: ` +
            `run the provisioning again (\`sekey admin provision ${userId} … --yes\`)`;
        // biome-ignore lint/correctness/noUnsafeFinally: the save that failed is the session's error
        throw error;
      }
    }
  }

  /**
   * One locked session: `work` loads the devices it needs into `devices`; whatever happens, every
   * loaded device is saved, then the share is told and the time recorded.
   */
  async #session<T>(work: (session: SessionParts) => Promise<T>): Promise<T> {
    requireFolder(this.home);
    if (!existsSync(this.home)) readInstallationConfig(this.home); // throws NotInitialized
    // The HSMs' folders too, before any is opened (a user's own folder is checked when it is).
    for (const [path, follow] of [
      [this.home, true],
      [join(this.home, ADMIN_DIR), false],
      [join(this.home, USERS_DIR), false],
    ] as const)
      requirePrivate(path, follow);
    const release = await lockHome(this.home, this.#options.waitMs, this.#options.onLockWait);
    try {
      await this.#options.onLocked?.();
      const config = readInstallationConfig(this.home);
      // An init's marker beside a saved installation.json (a home restored from a copy taken while
      // an init ran) would let a later init take the installation for one cut short: it goes.
      rmSync(join(this.home, INIT_PENDING_FILE), { force: true });
      // What a killed command's atomic writes left behind (installation.json's, a save's marker).
      const users = join(this.home, USERS_DIR);
      const userDirs = (existsSync(users) ? readdirSync(users) : [])
        .map((u) => join(users, u))
        .filter((dir) => lstatSync(dir, { throwIfNoEntry: false })?.isDirectory() === true);
      // Housekeeping only: a folder it cannot read or clean (another user's HSM folder left unreadable)
      // must not stop a command that does not use it; one the session uses is refused when loaded.
      for (const dir of [this.home, join(this.home, ADMIN_DIR), ...userDirs]) {
        try {
          removeLeftTemporaries(dir);
        } catch {
          // left as it is
        }
      }
      const clock = this.#startClock(config);
      const onSkip = this.#options.onShareSkip;
      const transport = new DeferredTransport(
        new DirectoryTransport(this.sharePath(config), {
          shareOf: config.adminSerial,
          ...(onSkip === undefined ? {} : { onSkip }),
        }),
      );
      const devices: LoadedDevice[] = [];
      // The session's time reaches installation.json before anything the device makes durable
      // mid-session (a commit stamped with it): a command killed after a commit must not leave a
      // database whose stamps are later than the recorded time, or the next session could go back.
      let recorded = config.lastTime;
      // What the session has recorded so far, each change written at once (see recordTime).
      let current = config;
      const recordTime = (): void => {
        if (clock.latest <= recorded) return;
        recorded = clock.latest;
        current = { ...current, lastTime: recorded };
        writeInstallationConfig(this.home, current);
      };
      const recordUserHsms: SessionParts['recordUserHsms'] = (hsms) => {
        const changed = hsms.filter(([userId, serial]) => current.userHsms?.[userId] !== serial);
        if (changed.length === 0) return;
        current = { ...current, userHsms: { ...current.userHsms, ...Object.fromEntries(changed) } };
        writeInstallationConfig(this.home, current);
      };
      const markUnpaired: SessionParts['markUnpaired'] = (userId, serial) => {
        current = { ...current, unpairedHsms: { ...current.unpairedHsms, [userId]: serial } };
        writeInstallationConfig(this.home, current);
      };
      const markCutShort: SessionParts['markCutShort'] = (at) => {
        if ((current.adminCutShortAt ?? null) === at) return;
        const { adminCutShortAt: _cleared, ...rest } = current;
        current = at === null ? rest : { ...rest, adminCutShortAt: at };
        writeInstallationConfig(this.home, current);
      };
      const cutShortMarked = (): boolean => current.adminCutShortAt !== undefined;
      // Unmarked when the session's images are saved (`saveTime` below).
      const pairedOnSave: (readonly [UserId, string])[] = [];
      const unmarkPaired: SessionParts['unmarkPaired'] = (hsms, now) => {
        if (!now) {
          pairedOnSave.push(...hsms);
          return;
        }
        const next = withoutUnpaired(current, hsms);
        if (next === current) return;
        current = next;
        writeInstallationConfig(this.home, current);
      };
      let done = false;
      let failure: unknown = null;
      try {
        const result = await work({
          config,
          clock,
          transport,
          devices,
          recordTime,
          recordUserHsms,
          markUnpaired,
          unmarkPaired,
          markCutShort,
          cutShortMarked,
        });
        done = true;
        return result;
      } catch (error) {
        // The share failing in the middle of the work (a publication listing it, say) after the work
        // committed a change: the change stands (saved below), so this is no refusal either.
        failure = isShareFailure(error) && devices.some(changedCard) ? shareNotWritten(error) : error;
        throw failure;
      } finally {
        if (devices.length > 0) {
          for (const d of devices) d.durable?.detach();
          refuseAfterFailedCheckpoint(devices);
          const reports = saveSession(devices, { done, error: failure, filesHeld: transport.pending > 0 }, () => {
            // A command that ran moves the clock to its time (`--at` moves a manual clock). A refused
            // one (a wrong PIN under `--at +30d`) moves it only as far as what it made durable needs.
            const time = done || devices.some(changedCard) ? clock.latest : recorded;
            const saved = withoutUnpaired(current, pairedOnSave);
            writeInstallationConfig(this.home, { ...saved, lastTime: Math.max(config.lastTime, time) });
          });
          await commitShare(transport, done);
          for (const r of reports) this.#options.observer?.(r);
        }
      }
    } finally {
      release();
    }
  }

  #startClock(config: InstallationConfig): SessionClock {
    const host = this.#options.hostClock ?? systemClock;
    const at = this.#options.at;
    if (at !== undefined) {
      const t = resolveTime(at, config.lastTime);
      if (t < config.lastTime) {
        throw new InstallationError(
          'ClockWentBack',
          `--at ${new Date(t).toISOString()} is before the last recorded time ` +
            `${new Date(config.lastTime).toISOString()}: time only moves forward`,
        );
      }
      return sessionClock(t, null);
    }
    if (config.clock === 'manual') return sessionClock(config.lastTime, null);
    const now = host.now();
    if (now < config.lastTime) {
      throw new InstallationError(
        'ClockWentBack',
        `the system clock (${new Date(now).toISOString()}) is behind the last recorded time ` +
          `${new Date(config.lastTime).toISOString()}: fix the clock, or wait`,
      );
    }
    return sessionClock(now, host);
  }
}

/**
 * The session's time against the latest time a device's sealed database records (`what`): the
 * admin's last audited operation, a user's last applied update. `installation.json`'s `lastTime` is
 * a file anyone can edit or restore from an old backup, and a session before what the database
 * holds would stamp key events and audit entries back in time, or (a user) take the latest
 * heartbeat for one dated ahead of its clock.
 * @throws InstallationError `ClockWentBack`.
 */
function requireTimeAfter(recorded: number, now: number, what: string): void {
  if (now >= recorded) return;
  throw new InstallationError(
    'ClockWentBack',
    `this session's time ${new Date(now).toISOString()} is before ${what}, ` +
      `${new Date(recorded).toISOString()}: time only moves forward; if ${INSTALLATION_FILE} was restored or ` +
      'edited, its lastTime is behind: fix the clock, or on a manual clock give --at after that time',
  );
}

/** A clock starting at `start`: fixed, or following `host` without ever going back. */
function sessionClock(start: number, host: Clock | null): SessionClock {
  let latest = start;
  return {
    now: () => {
      if (host !== null) latest = Math.max(latest, host.now());
      return latest;
    },
    get latest() {
      return latest;
    },
  };
}
