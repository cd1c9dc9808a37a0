/**
 * A model of what one commit costs the original SEkey's database: SQLite through the SEcureDB VFS of
 * SEfile, on the SEcube's microSD card, with `journal_mode=DELETE` and `synchronous=FULL` (as its
 * `sekey_start` sets them: SEkey host library, SEkey.cpp, SEcube-Project), the file encrypted under the
 * device's key 1001 (SEcureDB.h, SEfile.cpp).
 *
 * SEcureDB stores a file as a header sector and data sectors of 4,096 bytes, each carrying 2,048
 * bytes of the file (the rest: padding, length, HMAC-SHA256, filler). Each data sector is encrypted
 * (AES-256-CTR) and authenticated (HMAC-SHA256) by the device. A commit in rollback-journal mode
 * (SQLite, "Atomic Commit In SQLite" §3.5–§3.11; "Database File Format" §4.1, the rollback journal)
 * creates the journal file, writes into it a header and, for every page the commit changes that
 * existed before it, a record (4-byte page number, the page's original content, 4-byte checksum),
 * flushes it, writes the record count into the journal header and flushes again (FULL), then writes
 * the changed pages into the database file, flushes it, and deletes the journal.
 *
 * The model is a lower bound of that cost, so that it never flatters a design against it:
 * - the pages changed are those whose bytes differ, the fewest SQLite can write;
 * - the journal's bytes are laid end to end, each 2,048-byte payload sector written once, and its
 *   header takes 512 bytes, the least SQLite pads it to (the modified VFS's sector size is not known);
 * - each sector written costs AES-256 and HMAC-SHA256 over its 2,048 payload bytes, the 4,096 bytes
 *   written to the card, and one card command per contiguous run;
 * - not counted: reading back and decrypting the sectors a write only partly covers, the file
 *   system's updates for creating and deleting the journal, and the flushes themselves.
 * The original keeps no anti-rollback counter, so a commit writes no HSM flash.
 * @module
 */
import { Buffer } from 'node:buffer';
import { hmacSha256Compressions } from '../device/costModel.ts';
import type { CycleMeter } from '../device/costModel.ts';
import { SD_SECTOR_SIZE, SdCard } from '../device/sdcard.ts';

/** SEcureDB sector on the card. */
export const SECUREDB_SECTOR = 4096;
/** Bytes of the file each SEcureDB sector carries. */
export const SECUREDB_PAYLOAD = 2048;
/** The least SQLite pads a rollback journal's header to: its smallest sector size. */
export const JOURNAL_HEADER = 512;
/** Bytes of one journal record beside the page: 4-byte page number, 4-byte checksum. */
export const JOURNAL_RECORD_OVERHEAD = 8;
/** An SEfile's nonces, drawn from the TRNG when the journal file is created: 32 + 16 bytes. */
const SEFILE_NONCE_BYTES = 48;

/** What one commit costs, counted as the bench counts ours. */
export interface OriginalCommitCost {
  readonly pagesChanged: number;
  readonly pagesJournaled: number;
  readonly sectorsWritten: number;
  readonly bytesEncrypted: number;
  readonly bytesWritten: number;
  readonly cycles: number;
}

/** The pages (0-based) of `after` that differ from `before` or are new in it. */
export function changedPages(before: Uint8Array, after: Uint8Array, pageSize: number): number[] {
  const pages: number[] = [];
  for (let p = 0; p * pageSize < after.length; p++) {
    const a = after.subarray(p * pageSize, (p + 1) * pageSize);
    const b = before.subarray(p * pageSize, (p + 1) * pageSize);
    if (b.length !== a.length || !Buffer.from(a).equals(b)) pages.push(p);
  }
  return pages;
}

/** The runs of consecutive numbers in a sorted list. */
function runs(sorted: readonly number[]): number[][] {
  const out: number[][] = [];
  for (const n of sorted) {
    const last = out.at(-1);
    if (last !== undefined && last.at(-1) === n - 1) last.push(n);
    else out.push([n]);
  }
  return out;
}

/**
 * The original's database file and its journal on a card charged to `meter`: {@link commit} writes
 * what one commit writes, from the images before and after it.
 */
export class OriginalDatabaseModel {
  readonly #meter: CycleMeter;
  readonly #card: SdCard;
  readonly #pageSize: number;
  readonly #journalStart: number;

  /** A card for a database of up to `maxBytes` bytes in pages of `pageSize`. */
  constructor(meter: CycleMeter, maxBytes: number, pageSize: number) {
    this.#meter = meter;
    this.#pageSize = pageSize;
    const perSector = SECUREDB_SECTOR / SD_SECTOR_SIZE;
    const fileSectors = 1 + Math.ceil(maxBytes / SECUREDB_PAYLOAD);
    this.#journalStart = fileSectors * perSector;
    this.#card = new SdCard({ sectorCount: 2 * fileSectors * perSector + 64 * perSector, meter });
  }

  /** Writes `count` SEcureDB sectors from SEcureDB sector `first` of the region at `start`, as one command. */
  #write(start: number, first: number, count: number, sealed: boolean): void {
    const perSector = SECUREDB_SECTOR / SD_SECTOR_SIZE;
    if (sealed) {
      this.#meter.charge('aes256.byte', count * SECUREDB_PAYLOAD);
      this.#meter.charge('hmacSha256.block', count * hmacSha256Compressions(SECUREDB_PAYLOAD));
    }
    this.#card.write(start + first * perSector, new Uint8Array(count * SECUREDB_SECTOR));
  }

  /** One commit that turns `before` into `after`. */
  commit(before: Uint8Array, after: Uint8Array): OriginalCommitCost {
    const c0 = this.#meter.cycles;
    const w0 = this.#card.stats().bytesWritten;
    const pages = changedPages(before, after, this.#pageSize);
    const oldPages = before.length / this.#pageSize;
    const journaled = pages.filter((p) => p < oldPages).length;
    let sectors = 0;
    let encrypted = 0;
    if (journaled > 0) {
      // The journal file: its SEfile header sector (new nonces), its records, then its header again.
      this.#meter.charge('trng.word', SEFILE_NONCE_BYTES / 4);
      this.#write(this.#journalStart, 0, 1, false);
      const journalSectors = Math.ceil(
        (JOURNAL_HEADER + journaled * (this.#pageSize + JOURNAL_RECORD_OVERHEAD)) / SECUREDB_PAYLOAD,
      );
      this.#write(this.#journalStart, 1, journalSectors, true);
      this.#card.sync();
      this.#write(this.#journalStart, 1, 1, true);
      this.#card.sync();
      sectors += 2 + journalSectors;
      encrypted += (journalSectors + 1) * SECUREDB_PAYLOAD;
    }
    const perPage = this.#pageSize / SECUREDB_PAYLOAD;
    for (const run of runs(pages)) {
      // Data sector 1 + p·perPage holds page p's first bytes: sector 0 is the file's header.
      this.#write(0, 1 + (run[0] ?? 0) * perPage, run.length * perPage, true);
      sectors += run.length * perPage;
      encrypted += run.length * perPage * SECUREDB_PAYLOAD;
    }
    this.#card.sync();
    return {
      pagesChanged: pages.length,
      pagesJournaled: journaled,
      sectorsWritten: sectors,
      bytesEncrypted: encrypted,
      bytesWritten: this.#card.stats().bytesWritten - w0,
      cycles: Math.round(this.#meter.cycles - c0),
    };
  }
}
