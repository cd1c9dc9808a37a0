/**
 * One HSM of an installation as a session holds it: loaded from its images (`Flash.fromImage`,
 * `SdCard.fromImage`, then `new SecubeDevice`, which boots from flash) or made new, watched at its
 * durable points (`durablePoints.ts`: each counter the device commits is on disk before it goes on),
 * and saved again with the figures of what it did.
 * @module
 */
import { join } from 'node:path';
import { CycleMeter } from '../../device/costModel.ts';
import { Flash } from '../../device/flash.ts';
import { SdCard } from '../../device/sdcard.ts';
import { DEFAULT_STATE_SECTORS, SecubeDevice } from '../../device/secube.ts';
import { messageOf } from '../../model/codedError.ts';
import { loadDeviceImages, saveDeviceCheckpoint, saveDeviceImages } from './deviceImages.ts';
import { watchDurablePoints } from './durablePoints.ts';
import type { DurablePoints } from './durablePoints.ts';
import { requirePrivate } from './homeFolders.ts';
import { InstallationError } from './installationError.ts';

/**
 * Capacity of each new device's microSD card: 1 GiB, half for the database and half for the audit
 * log beside it (`pageStore.ts`, `auditRegion`); images are sparse, so size costs nothing. Devices
 * made with the earlier 32 MiB cards keep them, and their audit log stays in the database.
 */
export const CARD_SECTORS = 2_097_152;

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

/** A device loaded from its images, with what is needed to save and report it. */
export interface LoadedDevice {
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

export function freshDevice(name: string, dir: string): LoadedDevice {
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
export function changedCard(d: LoadedDevice): boolean {
  return d.sd.stats().bytesWritten > (d.openedBytes ?? 0);
}

/**
 * Logs `d` in with `login`. The device spends a PIN try (a durable point) before it compares, and
 * gives the tries back (another) after a correct PIN. When only that second one could not be saved,
 * the PIN was right: `refuseAfterFailedCheckpoint` (`sessionEnd.ts`) then saves the images as they are (tries
 * given back, nothing else changed since the last checkpoint), so that a disk short of room for a
 * checkpoint does not spend a try of every correct PIN until the HSM locks.
 */
export function logIn(d: LoadedDevice, login: () => void): void {
  const before = d.durable?.saves ?? 0;
  try {
    login();
  } catch (error) {
    const failure = d.durable?.failure;
    if (failure?.saveFailed && failure.error === error && d.durable?.saves === before + 1) d.triesGivenBack = true;
    throw error;
  }
}

/** Loads a device; `beforeCheckpoint` runs before a checkpoint that may carry time stamps. */
export function loadDevice(name: string, dir: string, beforeCheckpoint: () => void): LoadedDevice {
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

export function saveDevice(d: LoadedDevice): DeviceReport {
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
