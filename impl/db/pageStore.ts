/**
 * Encrypted, authenticated, rollback-proof storage of a SQLite image on an SD card, page by page.
 *
 * Why not encrypt `export()` whole: a single-row change would rewrite (and re-encrypt) the entire
 * database, megabytes per commit. SQLCipher encrypts per page but authenticates each page alone, so a
 * page from an older copy, or a whole older copy, is accepted (it has no rollback protection). Here:
 *
 * - **Pages.** Each 4096-byte SQLite page is sealed by the device (AES-256-GCM, database key inside
 *   the HSM) with AAD = page number ‖ the generation the page was written in. Only pages whose bytes
 *   changed since the last commit are sealed and written.
 * - **Shadow slots.** Every page has two slots on the card; a commit writes changed pages into the
 *   slot the current manifest does *not* use, so the committed database is never overwritten.
 * - **Manifest.** A small record, sealed by the device, binds the generation, the page count, which
 *   slot each page uses, and a SHA-256 digest over every page's (number, generation, tag). A page
 *   swapped, mixed in from another copy, or left over from an older commit changes the digest.
 *   Two manifest slots alternate by generation (double-buffered): the new manifest never overwrites
 *   the committed one.
 * - **Anti-rollback.** The generation is also a monotonic counter in device flash, advanced after
 *   the manifest is durable. Opening a copy whose newest authentic manifest is older than the counter
 *   is a rollback and is refused.
 * - **Commit intent.** A manifest one generation ahead of the counter means power failed between the
 *   manifest and the counter, and the commit is completed — but only if it is *the* commit the
 *   device started. Before writing a manifest, the store records in device flash (a second counter,
 *   `commitIntent.ts`) the generation and an attempt number, which the manifest carries under its
 *   authentication. Without it, a card imaged in that window (manifest written, counter not yet
 *   advanced) and put back after the device had committed another transaction for that generation
 *   was read as the committed database: one transaction forgotten while the audit chain, a chain
 *   of that older copy, still verified. Now open accepts only the manifest the intent names for the
 *   pending generation, or the committed manifest (its attempt is kept in the intent too) for the
 *   committed one; any other authentic manifest is a replaced card (`RolledBack`). The price is one
 *   more flash write per commit. Cards of format 1 (before intents) still open: a device without an
 *   intent accepts them as before, and its first commit records one.
 *
 * Why shadow slots rather than a rollback journal: the journal writes every changed page twice
 * (journal copy, then in place) and needs a third state to recover; shadow slots write each changed
 * page once, the commit point is the single manifest write, and recovery is "read the newest
 * authentic manifest". The price is twice the card space, which SD cards have.
 *
 * Card layout, in 512-byte sectors: manifest slot A, manifest slot B (each `manifestSectors` long),
 * then for page `p` the slots `2p` and `2p + 1`, each {@link PAGE_SECTORS} long; on a card larger than
 * 32 MiB all of this fits in the first half, and the second half holds the audit log ({@link auditRegion}).
 * @module
 */
import { Buffer } from 'node:buffer';
import { hash } from 'node:crypto';
import { concatBytes } from '@noble/hashes/utils.js';
import { Reader, Writer, bytesEqual, mapCodecError, utf8 } from '../../device/binaryCodec.ts';
import type { SdCard } from '../../device/sdcard.ts';
import { SD_SECTOR_SIZE } from '../../device/sdcard.ts';
import { PowerLossError } from '../../device/powerLossError.ts';
import { decodeCommitIntent, encodeCommitIntent, nextCommitIntent } from './commitIntent.ts';
import { compressPage, decompressPage, maxCompressedLength } from './compressedPage.ts';
import type { CommitIntent } from './commitIntent.ts';
import { DatabaseError } from './databaseError.ts';
import type { DatabaseDevice } from './databaseDevice.ts';
import { SEAL_OVERHEAD } from './databaseDevice.ts';

/** SQLite's default page size, and sql.js's. */
export const PAGE_SIZE = 4096;
const MAX_COMPRESSED_PAGE = maxCompressedLength(PAGE_SIZE);
const MAGIC = utf8('SKDB');
/** Manifest format: 2 carries the commit attempt (u16) before a 48-bit generation; 1 had a u64 generation. */
const FORMAT_VERSION = 2;
const LEGACY_FORMAT_VERSION = 1;
/**
 * A page record of format 1: u64be generation, then the sealed page (always 4096 + 28 bytes). Its
 * first byte is 0, since generations stay below 2^48.
 */
const LEGACY_PAGE_HEADER = 8;
const LEGACY_PAGE_RECORD = LEGACY_PAGE_HEADER + PAGE_SIZE + SEAL_OVERHEAD;
/** First byte of a page record of format 2: the page is compressed (`compressedPage.ts`) before it is sealed. */
const COMPRESSED_PAGE = 1;
/** Format 2: u8 1 ‖ u8 0 ‖ 48-bit generation, big-endian ‖ u32be sealed length, then the sealed bytes. */
const PAGE_HEADER = 12;
/** Sectors per page slot: room for a legacy record and for any compressed page with its header. */
export const PAGE_SECTORS = Math.ceil(
  Math.max(LEGACY_PAGE_RECORD, PAGE_HEADER + MAX_COMPRESSED_PAGE + SEAL_OVERHEAD) / SD_SECTOR_SIZE,
);

/** What one commit cost. */
export interface CommitStats {
  readonly generation: number;
  readonly pagesWritten: number;
  /** Plaintext bytes the device encrypted (pages and manifest). */
  readonly bytesEncrypted: number;
  /** Bytes written to the card. */
  readonly bytesWritten: number;
}

interface PageEntry {
  readonly slot: 0 | 1;
  readonly generation: number;
  readonly tag: Uint8Array;
}

interface Manifest {
  readonly generation: number;
  /** The commit attempt that wrote it (`commitIntent.ts`); 0 for format 1. */
  readonly attempt: number;
  readonly pageCount: number;
  readonly slots: Uint8Array; // bitmap, bit p = slot of page p
  readonly digest: Uint8Array;
}

// Encoded once: every page sealed or opened builds its AAD on them.
const PAGE_AAD_COMPRESSED = utf8('SKDB page z');
const PAGE_AAD_LEGACY = utf8('SKDB page');
/**
 * AAD of page `page` written in `generation`: "SKDB page" ‖ u32be page ‖ u64be generation; a
 * compressed page (format 2) says so in its AAD ("SKDB page z"), so that no record can be read as
 * the other format.
 */
function pageAad(page: number, generation: number, compressed: boolean): Uint8Array {
  return new Writer()
    .bytes(compressed ? PAGE_AAD_COMPRESSED : PAGE_AAD_LEGACY)
    .u32be(page)
    .u64be(generation)
    .finish();
}
const MANIFEST_AAD: Readonly<Record<number, Uint8Array>> = {
  [LEGACY_FORMAT_VERSION]: utf8('SKDB manifest v1'),
  [FORMAT_VERSION]: utf8('SKDB manifest v2'),
};

/**
 * SHA-256 over every page's u32be number, u64be generation and tag, in page order. Through
 * node:crypto into one buffer (the same digest): every commit hashes every page's entry. The
 * one-shot `crypto.hash` (Node 20.12+) skips the Hash object createHash builds; every byte of the
 * buffer is written, so it need not be zeroed first.
 */
function pagesDigest(entries: readonly PageEntry[]): Uint8Array {
  const entry = 4 + 8 + 16;
  const all = Buffer.allocUnsafe(entries.length * entry);
  entries.forEach((e, page) => {
    const at = page * entry;
    all.writeUInt32BE(page, at);
    all.writeUInt32BE(Math.floor(e.generation / 2 ** 32), at + 4);
    all.writeUInt32BE(e.generation % 2 ** 32, at + 8);
    all.set(e.tag, at + 12);
  });
  return new Uint8Array(hash('sha256', all, 'buffer'));
}

/** What a page record's header says: its format, the generation it was written in, its sealed length. */
interface RecordHeader {
  readonly compressed: boolean;
  readonly generation: number;
  readonly headerBytes: number;
  readonly sealedLength: number;
}

/** Parses the header at the start of a page record (its first sector). */
function recordHeader(first: Uint8Array, page: number): RecordHeader {
  const impossible = () => new DatabaseError('Tampered', `page ${page} has an impossible record header`);
  return mapCodecError(
    () => {
      const r = new Reader(first);
      if (first[0] !== COMPRESSED_PAGE) {
        return {
          compressed: false,
          generation: r.u64be(),
          headerBytes: LEGACY_PAGE_HEADER,
          sealedLength: PAGE_SIZE + SEAL_OVERHEAD,
        };
      }
      r.u8();
      const reserved = r.u8();
      const generation = r.u16be() * 2 ** 32 + r.u32be();
      const sealedLength = r.u32be();
      if (reserved !== 0 || sealedLength < SEAL_OVERHEAD || sealedLength > MAX_COMPRESSED_PAGE + SEAL_OVERHEAD)
        throw impossible();
      return { compressed: true, generation, headerBytes: PAGE_HEADER, sealedLength };
    },
    () => impossible(),
  );
}

function manifestSectorsFor(maxPages: number): number {
  const plain = 4 + 1 + 4 + 8 + 4 + 32 + Math.ceil(maxPages / 8);
  return Math.ceil((plain + SEAL_OVERHEAD) / SD_SECTOR_SIZE);
}

/**
 * Cards up to this size (32 MiB, the size of every card before the audit log moved out of the
 * database) give the database all their sectors; a larger card is split in halves: the database,
 * then the audit log (`auditLog.ts`). Half of a 1 GiB card is room for a 240 MiB database, and a
 * bounded database region also bounds the manifest that every commit writes.
 */
const WHOLE_CARD_DATABASE_SECTORS = 65_536;

/** Sectors the database may use: the whole of a small card, the first half of a larger one. */
function databaseSectors(sectorCount: number): number {
  return sectorCount <= WHOLE_CARD_DATABASE_SECTORS ? sectorCount : Math.floor(sectorCount / 2);
}

/**
 * The sectors of the card's audit region, after the database's; null on a card of 32 MiB or less,
 * whose audit log stays in the database.
 */
export function auditRegion(sectorCount: number): { readonly start: number; readonly end: number } | null {
  const start = databaseSectors(sectorCount);
  return start === sectorCount ? null : { start, end: sectorCount };
}

/** How many pages a card of `sectorCount` sectors holds, and where things are. */
export function cardLayout(sectorCount: number): { maxPages: number; manifestSectors: number; pagesStart: number } {
  const usable = databaseSectors(sectorCount);
  let maxPages = Math.floor(usable / (2 * PAGE_SECTORS));
  while (maxPages > 0 && 2 * manifestSectorsFor(maxPages) + maxPages * 2 * PAGE_SECTORS > usable) maxPages -= 1;
  const manifestSectors = manifestSectorsFor(maxPages);
  return { maxPages, manifestSectors, pagesStart: 2 * manifestSectors };
}

/** The encrypted page store of one database on one card. */
export class PageStore {
  readonly #device: DatabaseDevice;
  readonly #sd: SdCard;
  readonly #layout: ReturnType<typeof cardLayout>;
  #generation = 0;
  /** The attempt of the committed manifest. */
  #attempt = 0;
  #entries: PageEntry[] = [];
  #image: Uint8Array = new Uint8Array(0);

  private constructor(device: DatabaseDevice, sd: SdCard) {
    this.#device = device;
    this.#sd = sd;
    this.#layout = cardLayout(sd.sectorCount);
  }

  /** The committed generation. */
  get generation(): number {
    return this.#generation;
  }

  /** The committed plaintext image (what SQLite opens). */
  get image(): Uint8Array {
    return this.#image;
  }

  /** Pages this card can hold. */
  get maxPages(): number {
    return this.#layout.maxPages;
  }

  /** A store for a card that has no database yet (the device counter must be 0). */
  static create(device: DatabaseDevice, sd: SdCard): PageStore {
    const store = new PageStore(device, sd);
    if (device.committedGeneration() !== 0 || store.#readManifests().length > 0) {
      throw new DatabaseError('Corrupt', 'this device or card already holds a database; open it instead');
    }
    return store;
  }

  /**
   * Opens the newest authentic database on the card that is not older than the device's committed
   * generation. Throws `NotFound`, `RolledBack`, `Tampered` or `Corrupt`; never returns a mix.
   */
  static open(device: DatabaseDevice, sd: SdCard): PageStore {
    const store = new PageStore(device, sd);
    const committed = device.committedGeneration();
    const intent = decodeCommitIntent(device.commitIntent());
    const vouched = vouchedManifests(intent, committed);
    const manifests = store.#readManifests().sort((a, b) => b.generation - a.generation || b.attempt - a.attempt);
    if (manifests.length === 0) {
      if (committed === 0) throw new DatabaseError('NotFound', 'no database on this card');
      throw new DatabaseError(
        'Tampered',
        `the device committed generation ${committed}, but the card holds no authentic database`,
      );
    }
    let lastError: DatabaseError | null = null;
    for (const manifest of manifests) {
      if (manifest.generation < committed) {
        throw (
          lastError ??
          new DatabaseError(
            'RolledBack',
            `the card holds generation ${manifest.generation}, but the device committed ${committed}: an older ` +
              'copy of the card was put back; put the newest one back (a user can instead be given a new HSM)',
          )
        );
      }
      if (manifest.generation > committed + 1) {
        lastError = new DatabaseError(
          'Tampered',
          `manifest generation ${manifest.generation} is ahead of the device's ${committed}`,
        );
        continue;
      }
      if (
        vouched === null
          ? manifest.attempt !== 0
          : !vouched.some((v) => v.generation === manifest.generation && v.attempt === manifest.attempt)
      ) {
        // An older attempt of a generation the device started is a card put back; anything else
        // it never started.
        lastError =
          intent !== null && manifest.generation <= intent.generation
            ? new DatabaseError(
                'RolledBack',
                `manifest generation ${manifest.generation} (attempt ${manifest.attempt}) is not the commit the ` +
                  `device recorded: a card saved during an interrupted commit and put back`,
              )
            : new DatabaseError(
                'Tampered',
                `manifest generation ${manifest.generation} (attempt ${manifest.attempt}) is not a commit this ` +
                  `device started`,
              );
        continue;
      }
      try {
        store.#load(manifest);
      } catch (error) {
        if (!(error instanceof DatabaseError)) throw error;
        lastError = error;
        continue;
      }
      // Power failed between the manifest and the counter: the commit is durable, finish it.
      if (manifest.generation === committed + 1) device.commitGeneration(manifest.generation);
      return store;
    }
    throw lastError as DatabaseError;
  }

  #readManifests(): Manifest[] {
    const found: Manifest[] = [];
    for (const slot of [0, 1]) {
      const bytes = this.#readSectors(slot * this.#layout.manifestSectors, this.#layout.manifestSectors);
      if (bytes === null) continue;
      const manifest = this.#parseManifest(bytes);
      if (manifest !== null) found.push(manifest);
    }
    return found;
  }

  #readSectors(sector: number, count: number): Uint8Array | null {
    if (sector + count > this.#sd.sectorCount) return null;
    return this.#sd.read(sector, count);
  }

  #parseManifest(bytes: Uint8Array): Manifest | null {
    // A slot is at least one sector, so the 9-byte prefix is always there to read.
    const r = new Reader(bytes);
    if (!bytesEqual(r.bytes(MAGIC.length), MAGIC)) return null;
    const version = r.u8();
    const aad = MANIFEST_AAD[version];
    if (aad === undefined) return null;
    const length = r.u32be();
    if (length < SEAL_OVERHEAD || length > r.remaining) return null;
    let plain: Uint8Array;
    try {
      plain = this.#device.open(r.bytes(length), aad);
    } catch {
      return null; // torn or forged: as if absent; the other slot decides
    }
    // Authentic, so written by commit() below. Format 2: u16be attempt | 48-bit generation, big-endian
    // | u32be page count | digest | slots; format 1: u64be generation | u32be page count | digest | slots.
    const m = new Reader(plain);
    const legacy = version === LEGACY_FORMAT_VERSION;
    const attempt = legacy ? 0 : m.u16be();
    const generation = legacy ? m.u64be() : m.u16be() * 2 ** 32 + m.u32be();
    return { generation, attempt, pageCount: m.u32be(), digest: m.bytes(32), slots: m.rest() };
  }

  #load(manifest: Manifest): void {
    const { pageCount } = manifest;
    if (pageCount > this.#layout.maxPages || manifest.slots.length < Math.ceil(pageCount / 8)) {
      throw new DatabaseError('Corrupt', `manifest names ${pageCount} pages, more than the card holds`);
    }
    const image = new Uint8Array(pageCount * PAGE_SIZE);
    const entries: PageEntry[] = [];
    for (let page = 0; page < pageCount; page++) {
      const slot = (((manifest.slots[page >> 3] as number) >> (page & 7)) & 1) as 0 | 1;
      const at = this.#slotSector(page, slot);
      // The first sector says how long the record is; only the sectors it fills are read.
      const first = this.#readSectors(at, 1);
      if (first === null)
        throw new DatabaseError('Corrupt', `page ${page} lies beyond the end of the card (truncated?)`);
      const header = recordHeader(first, page);
      const { generation, compressed } = header;
      const length = header.headerBytes + header.sealedLength;
      const sectors = Math.ceil(length / SD_SECTOR_SIZE);
      const record = sectors === 1 ? first : this.#readSectors(at + 1, sectors - 1);
      if (record === null)
        throw new DatabaseError('Corrupt', `page ${page} lies beyond the end of the card (truncated?)`);
      const whole = sectors === 1 ? first : concatBytes(first, record);
      const sealed = whole.subarray(header.headerBytes, length);
      let plain: Uint8Array;
      try {
        plain = this.#device.open(sealed, pageAad(page, generation, compressed));
      } catch {
        throw new DatabaseError('Tampered', `page ${page} fails authentication`);
      }
      // Authentic, so written by commit(): a page that does not inflate to 4096 bytes cannot occur.
      image.set(compressed ? decompressPage(plain, PAGE_SIZE) : plain, page * PAGE_SIZE);
      entries.push({ slot, generation, tag: sealed.slice(sealed.length - 16) });
    }
    const digest = pagesDigest(entries);
    if (!digest.every((b, i) => b === manifest.digest[i])) {
      throw new DatabaseError(
        'Tampered',
        `pages do not match manifest ${manifest.generation}: swapped, mixed or old pages`,
      );
    }
    this.#generation = manifest.generation;
    this.#attempt = manifest.attempt;
    this.#entries = entries;
    this.#image = image;
  }

  #slotSector(page: number, slot: 0 | 1): number {
    return this.#layout.pagesStart + (2 * page + slot) * PAGE_SECTORS;
  }

  /**
   * Persists `image` as the next generation, writing only the pages that differ from the committed
   * image. Atomic: after a power cut anywhere in here, {@link PageStore.open} finds this generation
   * or the previous one, never a mix. An image equal to the committed one is durable already: it is
   * kept, nothing is written, and the generation stays (`pagesWritten` 0).
   *
   * The store keeps `image` itself as its committed image once the commit succeeds (no copy: a commit
   * used to copy the whole database, every time); the caller hands it over and must not change it.
   */
  commit(image: Uint8Array): CommitStats {
    if (image.length % PAGE_SIZE !== 0)
      throw new DatabaseError('Corrupt', `image of ${image.length} bytes is not whole pages`);
    const pageCount = image.length / PAGE_SIZE;
    if (pageCount > this.#layout.maxPages) {
      throw new DatabaseError(
        'NoSpace',
        `the database needs ${pageCount} pages; the card holds ${this.#layout.maxPages}`,
      );
    }
    const next = asBuffer(image);
    const committed = asBuffer(this.#image);
    // Native and allocation-free: every commit compares every page.
    const unchanged = (page: number): boolean =>
      this.#entries[page] !== undefined &&
      next.compare(committed, page * PAGE_SIZE, (page + 1) * PAGE_SIZE, page * PAGE_SIZE, (page + 1) * PAGE_SIZE) === 0;
    // What is committed already is durable: a transaction that changed nothing (a publication with
    // nothing to say, a refused change) spends no commit intent in device flash, no card write, and no
    // generation of the rollback counter.
    let changed = pageCount !== this.#entries.length;
    for (let page = 0; !changed && page < pageCount; page++) changed = !unchanged(page);
    if (!changed) {
      this.#image = image;
      return { generation: this.#generation, pagesWritten: 0, bytesEncrypted: 0, bytesWritten: 0 };
    }
    const generation = this.#generation + 1;
    // A card that is out (unpowered) fails at its first write anyway: fail before the intent, which
    // would spend one of the generation's attempts (and a device flash write) for nothing. Retries
    // with the card out cannot then exhaust the attempts and leave the database unable to commit.
    if (!this.#sd.powered) throw new PowerLossError('sd', false, 'commit while the card is unpowered');
    // The intent first (durable in device flash): only the manifest it names can complete this commit.
    const intent = nextCommitIntent(decodeCommitIntent(this.#device.commitIntent()), this.#generation, this.#attempt);
    this.#device.recordCommitIntent(encodeCommitIntent(intent));
    const bytesBefore = this.#sd.stats().bytesWritten;
    let bytesEncrypted = 0;
    let pagesWritten = 0;
    const entries: PageEntry[] = [];
    for (let page = 0; page < pageCount; page++) {
      const old = this.#entries[page];
      if (old !== undefined && unchanged(page)) {
        entries.push(old);
        continue;
      }
      const bytes = image.subarray(page * PAGE_SIZE, (page + 1) * PAGE_SIZE);
      const slot: 0 | 1 = old === undefined ? 0 : old.slot === 0 ? 1 : 0;
      // Compressed on the host (which holds the plaintext page anyway), so the HSM seals, and every
      // open decrypts, only the compressed bytes.
      const compressed = compressPage(bytes);
      const sealed = this.#device.seal(compressed, pageAad(page, generation, true));
      const header = new Writer()
        .u8(COMPRESSED_PAGE)
        .u8(0)
        .u16be(Math.floor(generation / 2 ** 32))
        .u32be(generation % 2 ** 32)
        .u32be(sealed.length)
        .finish();
      const record = new Uint8Array(Math.ceil((PAGE_HEADER + sealed.length) / SD_SECTOR_SIZE) * SD_SECTOR_SIZE);
      record.set(header, 0);
      record.set(sealed, PAGE_HEADER);
      this.#sd.write(this.#slotSector(page, slot), record);
      entries.push({ slot, generation, tag: sealed.slice(sealed.length - 16) });
      bytesEncrypted += compressed.length;
      pagesWritten += 1;
    }
    this.#sd.sync();
    const slots = new Uint8Array(Math.ceil(pageCount / 8));
    entries.forEach((e, page) => {
      if (e.slot === 1) slots[page >> 3] = (slots[page >> 3] as number) | (1 << (page & 7));
    });
    const plain = new Writer()
      .u16be(intent.attempt)
      .u16be(Math.floor(generation / 2 ** 32))
      .u32be(generation % 2 ** 32)
      .u32be(pageCount)
      .bytes(pagesDigest(entries))
      .bytes(slots)
      .finish();
    const sealed = this.#device.seal(plain, MANIFEST_AAD[FORMAT_VERSION] as Uint8Array);
    // Only the sectors this manifest fills: the slot is sized for the largest database the card holds,
    // and what lies after the sealed length is never read.
    const bytes = new Writer().bytes(MAGIC).u8(FORMAT_VERSION).u32be(sealed.length).bytes(sealed).finish();
    const manifest = new Uint8Array(Math.ceil(bytes.length / SD_SECTOR_SIZE) * SD_SECTOR_SIZE);
    manifest.set(bytes);
    this.#sd.write((generation % 2) * this.#layout.manifestSectors, manifest);
    this.#sd.sync();
    bytesEncrypted += plain.length;
    this.#device.commitGeneration(generation);
    this.#generation = generation;
    this.#attempt = intent.attempt;
    this.#entries = entries;
    this.#image = image;
    return { generation, pagesWritten, bytesEncrypted, bytesWritten: this.#sd.stats().bytesWritten - bytesBefore };
  }
}

/** `bytes` as a Buffer over the same memory (no copy), for its native range comparison. */
function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
}

/**
 * The (generation, attempt) pairs the device vouches for, pending commit first; null for a device
 * that never recorded an intent (format-1 cards only).
 */
function vouchedManifests(
  intent: CommitIntent | null,
  committed: number,
): { generation: number; attempt: number }[] | null {
  if (intent === null) return null;
  if (intent.generation === committed) return [{ generation: committed, attempt: intent.attempt }];
  if (intent.generation === committed + 1) {
    return [
      { generation: committed + 1, attempt: intent.attempt },
      { generation: committed, attempt: intent.previousAttempt },
    ];
  }
  throw new DatabaseError(
    'Tampered',
    `the device's commit intent names generation ${intent.generation}, but generation ${committed} is committed`,
  );
}
