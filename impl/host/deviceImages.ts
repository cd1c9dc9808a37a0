/**
 * A device's persistent memory between command runs: its flash image and its SD card image, in one
 * directory (`flash.img`, `sd.img`).
 *
 * The two must change together. The database on the card is bound to a generation counter in the
 * device's flash (anti-rollback), so a new flash with an old card reads as a rollback and a new card
 * with an old flash as a half-finished commit. Each file is replaced atomically, but two renames are
 * not one; so a save is a tiny redo log: both new images are written and flushed as `*.img.new`,
 * then a `COMMIT` marker is created (the commit point), then both are renamed into place and the
 * marker removed. Loading first finishes a save that has its marker (roll forward) and discards new
 * images without one (roll back). A crash anywhere leaves the pair before or after, never mixed.
 * @module
 */
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fsyncDirectory, writeFileAtomic, writeFileDurable } from './atomicFile.ts';

/** The two images of one device. */
export interface DeviceImages {
  readonly flash: Uint8Array;
  readonly sd: Uint8Array;
}

const FILES = { flash: 'flash.img', sd: 'sd.img' } as const;
const MARKER = 'COMMIT';

/** Finishes or discards an interrupted save in `dir` (see the module comment). */
function recover(dir: string): void {
  const committed = existsSync(join(dir, MARKER));
  for (const name of Object.values(FILES)) {
    const pending = join(dir, `${name}.new`);
    if (!existsSync(pending)) continue;
    if (committed) renameSync(pending, join(dir, name));
    else rmSync(pending, { force: true });
  }
  if (committed) {
    fsyncDirectory(dir);
    rmSync(join(dir, MARKER), { force: true });
  }
}

/** Whether `dir` holds a device (after recovering an interrupted save). */
export function hasDeviceImages(dir: string): boolean {
  if (!existsSync(dir)) return false;
  recover(dir);
  return existsSync(join(dir, FILES.flash)) && existsSync(join(dir, FILES.sd));
}

/** Reads a device's images, finishing an interrupted save first. */
export function loadDeviceImages(dir: string): DeviceImages {
  recover(dir);
  return { flash: new Uint8Array(readFileSync(join(dir, FILES.flash))), sd: new Uint8Array(readFileSync(join(dir, FILES.sd))) };
}

/** Saves both images of a device as one atomic change (see the module comment). */
export function saveDeviceImages(dir: string, images: DeviceImages): void {
  mkdirSync(dir, { recursive: true });
  recover(dir);
  writeFileDurable(join(dir, `${FILES.flash}.new`), images.flash);
  writeFileDurable(join(dir, `${FILES.sd}.new`), images.sd);
  writeFileAtomic(join(dir, MARKER), 'flash.img.new sd.img.new\n');
  recover(dir);
}
