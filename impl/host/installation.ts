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
 * Each command run is one session: take the home's lock, check its folders (`homeFolders.ts`), load
 * the device it needs from its images (`loadedDevice.ts`), log in with the PIN, do the work, and save
 * the images again — always, even when the work failed (`sessionEnd.ts`). Only then are the
 * session's writes to the share carried out (`DeferredTransport`: the share never gets ahead of the
 * saved devices) and the time recorded. In between, each time the device commits a counter to its
 * flash (a spent PIN try before the comparison, the database generation, the update sequence) both
 * images are saved at once (`durablePoints.ts`), so killing the process never gives a try back or
 * lets a counter fall behind what the device relied on.
 *
 * Time (`sessionClock.ts`): a session never runs at a time before the last recorded one.
 * @module
 */
import { existsSync, lstatSync, readdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pinBytes } from '../../device/pinHash.ts';
import { Flash } from '../../device/flash.ts';
import { SdCard } from '../../device/sdcard.ts';
import { SecubeDevice } from '../../device/secube.ts';
import { checkId } from '../../model/kms.ts';
import { DEFAULT_STALE_AFTER_MS } from '../../model/publication.ts';
import type { UserId } from '../../model/kms.ts';
import { Admin } from '../kms/admin.ts';
import { throwIf } from '../kms/rules/require.ts';
import type { Clock } from '../kms/clock.ts';
import { systemClock } from '../kms/clock.ts';
import { removeLeftTemporaries, writeFileAtomic } from './atomicFile.ts';
import { DeferredTransport } from './deferredTransport.ts';
import { hasAnyDeviceImage, hasDeviceImages, peekDeviceImages } from './deviceImages.ts';
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
import { makeFolders } from './makeFolders.ts';
import { requireHomeOffShares, requireShareOffOtherHomes } from './otherInstallations.ts';
import {
  HOME_MODE,
  USERS_DIR,
  initialShare,
  requireFolder,
  requirePrivate,
  requireShareOffHome,
  requireWayTo,
} from './homeFolders.ts';
import { changedCard, freshDevice, loadDevice, logIn, saveDevice } from './loadedDevice.ts';
import type { DeviceReport, LoadedDevice } from './loadedDevice.ts';
import {
  commitShare,
  isShareFailure,
  refuseAfterFailedCheckpoint,
  saveSession,
  shareNotWritten,
} from './sessionEnd.ts';
import { requireTimeAfter, resolveTime, sessionClock, startSessionClock } from './sessionClock.ts';
import type { SessionClock, TimeSpec } from './sessionClock.ts';

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
    // Nor over another installation's home, nor this home in another's share: its readers would reach
    // the HSM images of that installation, or of this one.
    requireShareOffOtherHomes(shareDir, root);
    requireHomeOffShares(root);
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
      requireShareOffOtherHomes(shareDir, root);
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
      const clock = startSessionClock(config, this.#options.at, this.#options.hostClock ?? systemClock);
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
}
