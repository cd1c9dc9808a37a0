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
 *
 * Checkpoints (`durablePoints.ts`): in the middle of a session, the pair must sometimes reach disk at
 * once (a spent PIN try, before the PIN is compared), and often: so a checkpoint is cheaper than a
 * save — one file holding both images and a SHA-256 over them, written into one of two slots
 * (`checkpoint.0`, `checkpoint.1`) in turn and flushed once. A torn checkpoint fails its digest and
 * the other slot, older, still holds. Loading takes the valid checkpoint with the highest sequence
 * number over `flash.img`/`sd.img`: checkpoints only ever exist for a state later than those, because
 * a save removes them under its `COMMIT` marker (after the renames, before the marker goes), so no
 * later save can be undone by an older checkpoint, and no checkpoint can bring back an older counter.
 * @module
 */
import { createHash } from 'node:crypto';
import { closeSync, existsSync, fdatasyncSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fsyncDirectory, namingPath, openOwnFile, writeFileAtomic, writeFileDurable } from './atomicFile.ts';
import { makeFolders } from './makeFolders.ts';

/** The two images of one device. */
export interface DeviceImages {
  readonly flash: Uint8Array;
  readonly sd: Uint8Array;
}

const FILES = { flash: 'flash.img', sd: 'sd.img' } as const;
const MARKER = 'COMMIT';
const CHECKPOINTS = ['checkpoint.0', 'checkpoint.1'] as const;
const CHECKPOINT_MAGIC = 'SKCKPT01';
const CHECKPOINT_HEADER = 8 + 4 + 4 + 4;
const DIGEST = 32;
/** Modes of what holds a device (see {@link saveDeviceImages}). */
const OWNER_ONLY_DIR = 0o700;
const OWNER_ONLY_FILE = 0o600;

/** Per directory: the slot holding the newest valid checkpoint and its sequence (this process's view). */
const newest = new Map<string, { readonly slot: 0 | 1; readonly seq: number } | null>();

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
    // The saved pair supersedes every checkpoint: they go before the marker does.
    for (const name of CHECKPOINTS) rmSync(join(dir, name), { force: true });
    newest.set(resolve(dir), null);
    fsyncDirectory(dir);
    rmSync(join(dir, MARKER), { force: true });
  }
}

function digest(bytes: Uint8Array): Uint8Array {
  return createHash('sha256').update(bytes).digest();
}

/** The checkpoint in `path`, or null when absent, torn or not one. */
function readCheckpoint(path: string): { seq: number; images: DeviceImages } | null {
  if (!existsSync(path)) return null;
  const bytes = new Uint8Array(readFileSync(path));
  if (
    bytes.length < CHECKPOINT_HEADER + DIGEST ||
    Buffer.from(bytes.subarray(0, 8)).toString('latin1') !== CHECKPOINT_MAGIC
  )
    return null;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const seq = view.getUint32(8, true);
  const flashLength = view.getUint32(12, true);
  const sdLength = view.getUint32(16, true);
  const body = CHECKPOINT_HEADER + flashLength + sdLength;
  if (bytes.length !== body + DIGEST) return null;
  const want = digest(bytes.subarray(0, body));
  if (!want.every((b, i) => b === bytes[body + i])) return null;
  const flash = bytes.slice(CHECKPOINT_HEADER, CHECKPOINT_HEADER + flashLength);
  return { seq, images: { flash, sd: bytes.slice(CHECKPOINT_HEADER + flashLength, body) } };
}

/** The newest valid checkpoint of `dir` and its slot, or null. */
function readNewestCheckpoint(dir: string): { slot: 0 | 1; seq: number; images: DeviceImages } | null {
  let best: { slot: 0 | 1; seq: number; images: DeviceImages } | null = null;
  for (const slot of [0, 1] as const) {
    const found = readCheckpoint(join(dir, CHECKPOINTS[slot]));
    if (found !== null && (best === null || found.seq > best.seq)) best = { slot, ...found };
  }
  return best;
}

/** The newest valid checkpoint of `dir`, remembering where it is for the next one. */
function newestCheckpoint(dir: string): DeviceImages | null {
  const best = readNewestCheckpoint(dir);
  newest.set(resolve(dir), best === null ? null : { slot: best.slot, seq: best.seq });
  return best?.images ?? null;
}

/** Whether `dir` holds a device (after recovering an interrupted save). */
export function hasDeviceImages(dir: string): boolean {
  if (!existsSync(dir)) return false;
  recover(dir);
  return existsSync(join(dir, FILES.flash)) && existsSync(join(dir, FILES.sd));
}

/**
 * Whether `dir` holds any image of a device (after recovering an interrupted save): one image
 * without the other is a device whose folder lost a file, to be refused as such when loaded, not a
 * user without an HSM.
 */
export function hasAnyDeviceImage(dir: string): boolean {
  if (!existsSync(dir)) return false;
  recover(dir);
  return existsSync(join(dir, FILES.flash)) || existsSync(join(dir, FILES.sd));
}

/**
 * Whether `dir` shows an image of a device, looked at without recovering anything (unlike
 * {@link hasAnyDeviceImage}): for a folder of another installation, which is not ours to change.
 */
export function showsDeviceImage(dir: string): boolean {
  return Object.values(FILES).some((name) => existsSync(join(dir, name)));
}

/** A device's images as {@link loadDeviceImages} finds them. */
export interface LoadedImages extends DeviceImages {
  /**
   * Whether they come from a checkpoint whose card differs from the saved card: a session that
   * committed to the device's database (only a commit syncs the card, and a checkpoint holds the
   * card's synced content) ended before its save (killed, a power cut, or the save failed). A
   * checkpoint of counters only (a PIN try spent, then the session killed) leaves the card as saved.
   */
  readonly unsavedChange: boolean;
}

/** Reads a device's images, finishing an interrupted save first; a checkpoint wins over the pair it followed. */
export function loadDeviceImages(dir: string): LoadedImages {
  recover(dir);
  const base = {
    flash: new Uint8Array(readFileSync(join(dir, FILES.flash))),
    sd: new Uint8Array(readFileSync(join(dir, FILES.sd))),
  };
  const checkpoint = newestCheckpoint(dir);
  if (checkpoint === null) return { ...base, unsavedChange: false };
  return { ...checkpoint, unsavedChange: Buffer.compare(checkpoint.sd, base.sd) !== 0 };
}

/**
 * The images {@link loadDeviceImages} would give, read without finishing or discarding anything;
 * null when `dir` holds no device. For a look from outside the home's lock (the CLI's count of PIN
 * tries left, before a prompt and after a refusal): there another process may be in the middle of a
 * save, and the recovery a load runs would delete that save's new images before its commit marker
 * (its change lost although it reports success), or one of them (a new card beside an old flash:
 * the installation refused as tampered from then on). Racing a save, what it reads may be a moment
 * old, or fail to read or parse: its callers use it for advice only.
 */
export function peekDeviceImages(dir: string): DeviceImages | null {
  const read = (name: string): Uint8Array | null => {
    const path = join(dir, name);
    return existsSync(path) ? new Uint8Array(readFileSync(path)) : null;
  };
  if (existsSync(join(dir, MARKER))) {
    // A committed save whose renames are not finished: its new images are the pair, and it
    // supersedes every checkpoint (recover() removes them).
    const flash = read(`${FILES.flash}.new`) ?? read(FILES.flash);
    const sd = read(`${FILES.sd}.new`) ?? read(FILES.sd);
    return flash === null || sd === null ? null : { flash, sd };
  }
  const flash = read(FILES.flash);
  const sd = read(FILES.sd);
  if (flash === null || sd === null) return null;
  return readNewestCheckpoint(dir)?.images ?? { flash, sd };
}

/**
 * Makes `images` durable at once as a checkpoint of the pair last saved or loaded in `dir` (see the
 * module comment): after it returns, a crash leaves these images or later ones.
 */
export function saveDeviceCheckpoint(dir: string, images: DeviceImages): void {
  const key = resolve(dir);
  if (!newest.has(key)) {
    recover(dir);
    newestCheckpoint(dir);
  }
  const last = newest.get(key) ?? null;
  const slot: 0 | 1 = last === null || last.slot === 1 ? 0 : 1;
  const seq = (last?.seq ?? 0) + 1;
  const body = new Uint8Array(CHECKPOINT_HEADER + images.flash.length + images.sd.length);
  const view = new DataView(body.buffer);
  for (let i = 0; i < 8; i++) body[i] = CHECKPOINT_MAGIC.charCodeAt(i);
  view.setUint32(8, seq, true);
  view.setUint32(12, images.flash.length, true);
  view.setUint32(16, images.sd.length, true);
  body.set(images.flash, CHECKPOINT_HEADER);
  body.set(images.sd, CHECKPOINT_HEADER + images.flash.length);
  const path = join(dir, CHECKPOINTS[slot]);
  // Written in place (one flush, no rename), but only into a file of this user's own (`openOwnFile`),
  // made anew when what was there was not (then, as for a first checkpoint, the folder is flushed).
  const { fd, created } = openOwnFile(path, OWNER_ONLY_FILE);
  try {
    for (const part of [body, digest(body)]) {
      for (let at = 0; at < part.length; ) at += writeSync(fd, part, at);
    }
    fdatasyncSync(fd);
  } catch (error) {
    throw namingPath(error, path);
  } finally {
    closeSync(fd);
  }
  if (created) fsyncDirectory(dir);
  newest.set(key, { slot, seq });
}

/**
 * Saves both images of a device as one atomic change (see the module comment). Owner-only (folder
 * 0700, files 0600), as the factory's key is: the flash image is the HSM's key store, so whoever
 * can read it holds a copy of the HSM.
 */
export function saveDeviceImages(dir: string, images: DeviceImages): void {
  makeFolders(dir, OWNER_ONLY_DIR);
  recover(dir);
  // A failure names the image (`flash.img`), not the name it is staged under (`flash.img.new`).
  writeFileDurable(join(dir, `${FILES.flash}.new`), images.flash, OWNER_ONLY_FILE, join(dir, FILES.flash));
  writeFileDurable(join(dir, `${FILES.sd}.new`), images.sd, OWNER_ONLY_FILE, join(dir, FILES.sd));
  writeFileAtomic(join(dir, MARKER), 'flash.img.new sd.img.new\n');
  recover(dir);
}
