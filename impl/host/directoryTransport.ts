/**
 * The directory transport: update streams as folders of a network share or a synced cloud folder.
 *
 * The share is untrusted input: anyone who can write to it can put anything there — a FIFO named like
 * the next update file (an open for reading would wait for a writer for ever), a directory, a
 * symbolic link to `/dev/zero` or to a huge file, names with spaces or odd characters, files of any
 * size. No such entry may hang, crash or blind a command. So this transport
 *
 * - lists only entries with a safe name ({@link checkSegment}) that `lstat` shows to be regular files
 *   of at most {@link MAX_SHARE_FILE_BYTES}; every other entry is skipped and reported to the
 *   `onSkip` callback (and kept in {@link DirectoryTransport.skipped}), never thrown;
 * - reads with `O_NOFOLLOW | O_NONBLOCK` (a symbolic link is refused, a FIFO does not block the
 *   open), checks with `fstat` on the open descriptor that it holds a regular file of at most
 *   {@link MAX_SHARE_FILE_BYTES} (the entry may have been swapped since it was listed), and reads at
 *   most one byte more than `fstat` said; anything else is reported and read as "gone" (`null`),
 *   which every caller already handles;
 * - refuses stream folders that are not real directories (a symbolic link, a file, a FIFO): read
 *   as empty and reported; a write into one fails with `UnsafeShare`;
 * - writes and removes inside the stream's folder entered one folder at a time (`pinnedFolder.ts`),
 *   so that a folder swapped for a link after its check cannot divert them into another folder;
 *   and clears junk under a needed name without ever walking it (`clearJunk`);
 * - handles errors per entry: one unreadable file never stops the others from being read.
 *
 * Skipping is safe: every file that matters is authenticated by an HSM, so an entry that is not read
 * is at worst an update or acknowledgement that did not arrive, which the administrator sees as a
 * stale user (`sekey admin stale`) and repairs with a resync.
 * @module
 */
import {
  closeSync,
  constants,
  fstatSync,
  fsyncSync,
  lstatSync,
  openSync,
  readSync,
  readdirSync,
  renameSync,
  rmSync,
  rmdirSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import type { Stats } from 'node:fs';
import { dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { checkSegment } from '../protocol/transport.ts';
import type { Transport } from '../protocol/transport.ts';
import { fsyncDirectory, writeFileAtomic } from './atomicFile.ts';
import { InstallationError } from './installationError.ts';
import { inPinnedFolder, kindOf } from './pinnedFolder.ts';
import type { FolderRefusal } from './pinnedFolder.ts';

/**
 * The largest file the transport reads: 16 MiB. A legitimate update file is far smaller — a full
 * resync carries about 54 bytes of key material per key plus the metadata of the user's groups, so
 * a user of a 1,000-member group gets about 21 KB, and thousands of keys stay under a megabyte; an
 * acknowledgement is under 400 bytes. The cap only bounds what a junk file can make a command read.
 */
export const MAX_SHARE_FILE_BYTES = 16 * 1024 * 1024;

/** Why an entry of the share was not used. */
export type SkipReason = 'unsafeName' | 'notRegularFile' | 'tooLarge' | 'unreadable';

/** An entry of the share that was skipped, and why. */
export interface SkippedShareEntry {
  /** The stream, e.g. `updates/U1`. */
  readonly stream: string;
  /** The entry's name in the stream; `''` when the stream folder itself was skipped. */
  readonly name: string;
  readonly reason: SkipReason;
  /** For people: what the entry is, or the error met. */
  readonly detail: string;
}

/** Options of a {@link DirectoryTransport}. */
export interface DirectoryTransportOptions {
  /** Told about each skipped entry, once per transport and entry. */
  readonly onSkip?: (entry: SkippedShareEntry) => void;
  /** The largest file read (default {@link MAX_SHARE_FILE_BYTES}). */
  readonly maxFileBytes?: number;
  /**
   * The share of one installation: its root must be there, as a directory holding
   * {@link SHARE_MARKER} with this content (the admin HSM's serial, written by `admin init`).
   * Otherwise every operation fails with InstallationError `ShareMissing`, instead of a missing
   * share reading as one with nothing new (a user's sync) or being created empty (the administrator
   * then publishing into a local folder that no user sees). The marker is what tells an unmounted
   * mount point (an empty folder that exists) from the share, and one installation's share from
   * another's. A share made before markers (it holds `updates/` or `acks/` but no marker) is given
   * one.
   */
  readonly shareOf?: string;
  /**
   * Whether a write is flushed to stable storage (the file, then its folder's entry) before it is
   * said written. Default true: an update file announced as published, or an acknowledgement as
   * sent, must not vanish with the host's power. SIMULATION ONLY false: the share of a simulated
   * deployment (`impl/simulation/deployment.ts`) lies in a scratch folder, no host power loss is
   * modelled, and the two flushes per file cost a disk's latency each (about an eighth of the
   * deployment suite's time on this machine's disk), for nothing any check can observe.
   */
  readonly durable?: boolean;
}

/** The file at the root of an installation's share naming its admin HSM (see `shareOf`). */
export const SHARE_MARKER = '.sekey-share';

/** Writes the marker of the share at `root` for the installation of admin HSM `serial` (see `shareOf`). */
export function writeShareMarker(root: string, serial: string): void {
  const path = join(root, SHARE_MARKER);
  // Junk planted under the marker's name (a folder, a FIFO) would make the rename fail: cleared
  // first, as a write clears what is not a regular file under its target's name.
  clearJunk(path);
  writeFileAtomic(path, `${serial}\n`);
}

/**
 * Clears the name `path` of whatever is there but a regular file, so that a write can take it: a
 * link, FIFO, socket or device is unlinked (a link itself, never what it points to); an empty
 * folder is removed; a folder with entries is moved aside under a temporary name, which readers
 * skip, and left to whoever planted it. Never a recursive removal: walking, by path, a tree that
 * others can change while it is walked (a folder inside swapped for a link to one of the
 * administrator's) deletes outside it, as Node's `rmSync(…, { recursive: true })` would.
 */
function clearJunk(path: string): void {
  let stats: Stats;
  try {
    stats = lstatSync(path);
  } catch (error) {
    if (errno(error) === 'ENOENT') return;
    throw error;
  }
  if (stats.isFile()) return;
  if (!stats.isDirectory()) {
    unlinkSync(path);
    return;
  }
  try {
    rmdirSync(path);
  } catch (error) {
    if (errno(error) !== 'ENOTEMPTY' && errno(error) !== 'EEXIST') throw error;
    renameSync(path, join(dirname(path), `.tmp-junk-${randomBytes(6).toString('hex')}`));
  }
}

/**
 * Whether the share at `root` has carried files (`updates/` or `acks/`): a share in use, by the
 * installation of its marker or, before markers, by one that never wrote it.
 */
export function shareCarriesFiles(root: string): boolean {
  return readdirSync(root).some((name) => name === 'updates' || name === 'acks');
}

/** A marker is a serial and a newline: anything longer is not one. */
const MAX_MARKER_BYTES = 256;

/** What {@link readShareMarker} found under the marker's name. */
export type ShareMarker =
  | { readonly kind: 'absent' }
  | { readonly kind: 'serial'; readonly serial: string }
  /** Something that is no marker: a link, a FIFO, a folder, a socket, an empty or a huge file. */
  | { readonly kind: 'notMarker'; readonly what: string };

/**
 * The share marker at `root`. Read as hostile as every share file (a link, a FIFO, a folder or a
 * huge file planted there): O_NOFOLLOW and O_NONBLOCK, a regular file of 1 to
 * {@link MAX_MARKER_BYTES} bytes; anything else is `notMarker`.
 * @throws the file system's error when the marker cannot be read at all (EIO, ESTALE, EACCES…): a
 *   share that cannot be read is not judged by it.
 */
export function readShareMarker(root: string): ShareMarker {
  let fd: number;
  try {
    fd = openSync(join(root, SHARE_MARKER), constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (error) {
    const code = errno(error);
    if (code === 'ENOENT') return { kind: 'absent' };
    // O_NOFOLLOW refuses a link with ELOOP (EMLINK on FreeBSD); a socket (or a device without its
    // driver) opens with ENXIO.
    if (code === 'ELOOP' || code === 'EMLINK') return { kind: 'notMarker', what: 'a symbolic link' };
    if (code === 'ENXIO') return { kind: 'notMarker', what: 'a socket or a device' };
    throw error;
  }
  try {
    const stats = fstatSync(fd);
    if (!stats.isFile()) return { kind: 'notMarker', what: kindOf(stats) };
    if (stats.size > MAX_MARKER_BYTES) return { kind: 'notMarker', what: `a file of ${stats.size} bytes` };
    const bytes = Buffer.alloc(MAX_MARKER_BYTES + 1);
    const length = readSync(fd, bytes, 0, bytes.length, 0);
    const serial = bytes.subarray(0, Math.min(length, MAX_MARKER_BYTES)).toString('utf8').trim();
    return serial === '' ? { kind: 'notMarker', what: 'an empty file' } : { kind: 'serial', serial };
  } finally {
    closeSync(fd);
  }
}

/** Our own temporary files (`write`): skipped without a report. */
const TEMPORARY = /^\.tmp-/;

function errno(error: unknown): string {
  return (error as NodeJS.ErrnoException).code ?? String(error);
}

/**
 * The default transport: a directory, for a network share or a synced cloud folder. A write goes to
 * a temporary file in the same directory, is flushed, then renamed over the target (rename is atomic
 * on POSIX file systems and on SMB/NFS within one directory); readers skip temporary files. Reads
 * treat every entry as hostile (see the module comment).
 */
export class DirectoryTransport implements Transport {
  readonly root: string;
  readonly #onSkip: ((entry: SkippedShareEntry) => void) | undefined;
  readonly #maxFileBytes: number;
  readonly #shareOf: string | undefined;
  readonly #durable: boolean;
  #rootChecked = false;
  readonly #skipped = new Map<string, SkippedShareEntry>();

  constructor(root: string, options: DirectoryTransportOptions = {}) {
    this.root = root;
    this.#onSkip = options.onSkip;
    this.#maxFileBytes = options.maxFileBytes ?? MAX_SHARE_FILE_BYTES;
    this.#shareOf = options.shareOf;
    this.#durable = options.durable ?? true;
  }

  /**
   * @throws InstallationError `ShareMissing` when the root is not this installation's share (see
   *   `shareOf`), also when it cannot be read at all (a dead network mount: EIO, ESTALE, ENOTCONN…).
   */
  #checkRoot(): void {
    const expected = this.#shareOf;
    if (expected === undefined || this.#rootChecked) return;
    // What is wrong in the message; the way out that fits it in the remedy. Only an empty folder may be
    // the share, new: a file, a folder of another installation or junk under the marker's name is not.
    const marker = join(this.root, SHARE_MARKER);
    const elsewhere = 'or fix `share` in installation.json if the share is elsewhere';
    const missing = (why: string, remedy: string): InstallationError =>
      new InstallationError('ShareMissing', `the share ${this.root} ${why}`, remedy);
    try {
      if (!statSync(this.root).isDirectory())
        throw missing(
          'is not a folder',
          `Move the file ${this.root} away and mount the share there (or restore its folder), ${elsewhere}.`,
        );
      const found = readShareMarker(this.root);
      if (found.kind === 'notMarker') {
        throw missing(
          `holds a ${SHARE_MARKER} that is no marker (${found.what})`,
          `If it is this installation's share, replace ${marker} with a file holding the line ${expected}; ` +
            `else mount the share there, ${elsewhere}.`,
        );
      }
      if (found.kind === 'serial' && found.serial !== expected) {
        throw missing(
          `belongs to another installation (its ${SHARE_MARKER} names ${JSON.stringify(found.serial)})`,
          `Mount this installation's share at ${this.root}, ${elsewhere}.`,
        );
      }
      if (found.kind === 'absent') {
        if (!shareCarriesFiles(this.root))
          throw missing(
            `holds no ${SHARE_MARKER} (an empty folder: not mounted?)`,
            `Mount the share there, ${elsewhere}; if this empty folder is the share, new, create ${marker} ` +
              `holding the line ${expected}.`,
          );
        // A share made before markers: given its marker (a share that cannot take it cannot take acks either).
        writeShareMarker(this.root, expected);
      }
    } catch (error) {
      if (error instanceof InstallationError) throw error;
      const code = errno(error);
      throw code === 'ENOENT' || code === 'ENOTDIR'
        ? missing(
            'is not there (not mounted, moved, or not synced yet)',
            `Mount the share at ${this.root} (or restore its folder), ${elsewhere}.`,
          )
        : missing(
            `cannot be read or written (${code})`,
            `Mount the share at ${this.root} again, or give this user the right to read and write it; ` +
              `${elsewhere}.`,
          );
    }
    this.#rootChecked = true;
  }

  /** @throws InstallationError `ShareMissing` when the share is not this installation's (`shareOf`). */
  async check(): Promise<void> {
    this.#checkRoot();
  }

  /** Every entry skipped so far, in the order met (each once). */
  get skipped(): readonly SkippedShareEntry[] {
    return [...this.#skipped.values()];
  }

  #skip(stream: string, name: string, reason: SkipReason, detail: string): void {
    const key = `${stream}\0${name}`;
    if (this.#skipped.has(key)) return;
    const entry = { stream, name, reason, detail };
    this.#skipped.set(key, entry);
    this.#onSkip?.(entry);
  }

  /**
   * The stream's folder, or null (reported) when some folder on the way is there but not a real
   * directory. `missing` says whether a folder on the way does not exist yet.
   */
  #dir(stream: string): { path: string | null; missing: boolean } {
    checkSegment('stream', stream);
    this.#checkRoot();
    let path = this.root;
    for (const segment of stream.split('/')) {
      path = join(path, segment);
      let stats: Stats;
      try {
        stats = lstatSync(path);
      } catch (error) {
        if (errno(error) === 'ENOENT') return { path: join(this.root, ...stream.split('/')), missing: true };
        this.#skip(stream, '', 'unreadable', errno(error));
        return { path: null, missing: false };
      }
      if (!stats.isDirectory()) {
        this.#skip(stream, '', 'notRegularFile', `${path} is ${kindOf(stats)}, not a directory`);
        return { path: null, missing: false };
      }
    }
    return { path, missing: false };
  }

  async list(stream: string): Promise<string[]> {
    const { path, missing } = this.#dir(stream);
    if (path === null || missing) return [];
    let names: string[];
    try {
      names = readdirSync(path);
    } catch (error) {
      this.#skip(stream, '', 'unreadable', errno(error));
      return [];
    }
    const listed: string[] = [];
    for (const name of names) {
      if (TEMPORARY.test(name)) continue;
      try {
        checkSegment('file', name);
      } catch {
        this.#skip(stream, name, 'unsafeName', 'not a name this transport writes');
        continue;
      }
      let stats: Stats;
      try {
        stats = lstatSync(join(path, name));
      } catch (error) {
        if (errno(error) !== 'ENOENT') this.#skip(stream, name, 'unreadable', errno(error));
        continue;
      }
      if (!stats.isFile()) this.#skip(stream, name, 'notRegularFile', kindOf(stats));
      else if (stats.size > this.#maxFileBytes)
        this.#skip(stream, name, 'tooLarge', `${stats.size} bytes, more than ${this.#maxFileBytes}`);
      else listed.push(name);
    }
    return listed.sort();
  }

  async read(stream: string, name: string): Promise<Uint8Array | null> {
    checkSegment('file', name);
    const { path: dir, missing } = this.#dir(stream);
    if (dir === null || missing) return null;
    let fd: number;
    try {
      // O_NONBLOCK: opening a FIFO does not wait for a writer; O_NOFOLLOW: a symbolic link fails.
      fd = openSync(join(dir, name), constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    } catch (error) {
      const code = errno(error);
      if (code === 'ENOENT') return null;
      this.#skip(
        stream,
        name,
        code === 'ELOOP' ? 'notRegularFile' : 'unreadable',
        code === 'ELOOP' ? 'a symbolic link' : code,
      );
      return null;
    }
    try {
      const stats = fstatSync(fd);
      if (!stats.isFile()) {
        this.#skip(stream, name, 'notRegularFile', kindOf(stats));
        return null;
      }
      if (stats.size > this.#maxFileBytes) {
        this.#skip(stream, name, 'tooLarge', `${stats.size} bytes, more than ${this.#maxFileBytes}`);
        return null;
      }
      // One byte more than fstat said tells a file that grew while read (our writes replace a file
      // by rename, never in place, so only someone else's file changes under an open descriptor).
      const buffer = Buffer.allocUnsafe(stats.size + 1);
      let length = 0;
      while (length < buffer.length) {
        const n = readSync(fd, buffer, length, buffer.length - length, null);
        if (n === 0) break;
        length += n;
      }
      if (length > stats.size) {
        this.#skip(stream, name, 'unreadable', 'it grew while it was read');
        return null;
      }
      return new Uint8Array(buffer.subarray(0, length));
    } catch (error) {
      this.#skip(stream, name, 'unreadable', errno(error));
      return null;
    } finally {
      closeSync(fd);
    }
  }

  /**
   * Writes a file atomically, in its stream's folder entered as `pinnedFolder.ts` does (a folder
   * swapped for a link between its check and the write cannot divert the write). An entry of the same
   * name that is not a regular file (a directory or FIFO someone put there) is cleared first
   * ({@link clearJunk}), so that junk cannot stop the administrator publishing.
   * @throws InstallationError `UnsafeShare` when a folder on the way is not a real directory, or was
   *   swapped while entered.
   */
  async write(stream: string, name: string, bytes: Uint8Array): Promise<void> {
    checkSegment('file', name);
    checkSegment('stream', stream);
    this.#checkRoot();
    const done = inPinnedFolder(this.root, stream.split('/'), true, () => {
      clearJunk(name);
      const tmp = `.tmp-${randomBytes(6).toString('hex')}`;
      try {
        // Written and flushed through the one descriptor that created it: reopened by name, it could
        // be someone else's entry by then (a FIFO renamed over it would block the open for ever).
        const fd = openSync(tmp, 'wx');
        try {
          writeFileSync(fd, bytes);
          if (this.#durable) fsyncSync(fd);
        } finally {
          closeSync(fd);
        }
        renameSync(tmp, name);
        // The rename itself durable too: said written (an update file announced as published, an
        // acknowledgement as sent), it must not vanish with the host's power. (Either would come back
        // anyway: the outbox writes a missing file again, the next sync acknowledges again; late.)
        if (this.#durable) fsyncDirectory('.');
      } catch (error) {
        // A full share, say: no half-written temporary file is left there (readers skip them, but
        // they would pile up at every retry).
        rmSync(tmp, { force: true });
        throw error;
      }
    });
    if (!done.ok) {
      this.#refused(stream, done.refusal);
      // The way out, for the situation (the message says what is wrong).
      const remedy =
        done.refusal.kind === 'swapped'
          ? 'Someone with write access to the share is tampering with it: find who, then run the command again.'
          : `Remove ${stream} from the share ${this.root} (a real folder is made in its place), then run the ` +
            'command again.';
      throw new InstallationError(
        'UnsafeShare',
        `cannot write to ${stream} in ${this.root}: ${refusalDetail(done.refusal)}`,
        remedy,
      );
    }
  }

  /** Reports a stream folder that could not be entered (a missing one is no fault). */
  #refused(stream: string, refusal: FolderRefusal): void {
    if (refusal.kind !== 'missing') this.#skip(stream, '', 'notRegularFile', refusalDetail(refusal));
  }

  /** Removes a regular file; no error if it is gone. Anything else of that name is left (and reported). */
  async remove(stream: string, name: string): Promise<void> {
    checkSegment('file', name);
    checkSegment('stream', stream);
    this.#checkRoot();
    let done: ReturnType<typeof inPinnedFolder>;
    try {
      done = inPinnedFolder(this.root, stream.split('/'), false, () => {
        try {
          const stats = lstatSync(name);
          if (!stats.isFile()) {
            this.#skip(stream, name, 'notRegularFile', kindOf(stats));
            return;
          }
          rmSync(name, { force: true });
        } catch (error) {
          if (errno(error) !== 'ENOENT') this.#skip(stream, name, 'unreadable', errno(error));
        }
      });
    } catch (error) {
      // No share there (nothing to remove, as for a missing stream folder); a folder on the way that
      // cannot be entered (EACCES): reported, as a read reports it.
      if (errno(error) !== 'ENOENT') this.#skip(stream, '', 'unreadable', errno(error));
      return;
    }
    if (!done.ok) this.#refused(stream, done.refusal);
  }
}

/** Why a folder of the share was not entered, naming it: for the skip report and the error alike. */
function refusalDetail(refusal: FolderRefusal): string {
  if (refusal.kind === 'swapped') return `${refusal.path} was swapped for another entry while it was entered`;
  return refusal.kind === 'missing'
    ? `${refusal.path} is missing`
    : `${refusal.path} is ${refusal.what}, not a directory`;
}
