/**
 * The audit log: an append-only list of entries whose hashes are chained. Each entry's hash is
 * SHA-256 over the previous entry's hash and the entry's own fields, so removing, reordering or
 * editing any entry breaks every hash after it (the idea of a hash chain as in RFC 6962's Merkle
 * audit paths, here in its simplest linear form). NIST SP 800-57 Pt 1 §7 asks that every key state
 * transition be recorded; SP 800-152 covers logging them. The original SEkey writes a plain text log.
 *
 * **Where it lives.** The log only grows, and every command opens (decrypts on the HSM) the whole
 * database, so a log inside the database would make every command pay for the whole history. On a
 * card with an audit region ({@link auditRegion}: every card larger than 32 MiB) the entries are
 * therefore appended *beside* the database, as records sealed by the device (AES-256-GCM under the
 * database key, AAD = the record's first sequence number and count), one record per transaction,
 * each starting on a fresh sector so that an append never rewrites a sector holding committed
 * entries. The database keeps only the head: the next sequence number, the last hash and where the
 * next record goes (`audit_head`), updated in the same transaction. So:
 * - the log is exactly as durable and as rollback-proof as the database: a record written by a
 *   transaction that never committed lies beyond the committed head, is ignored, and is overwritten
 *   by the next append (a power cut leaves the state before or after, never between);
 * - an entry cannot be edited, dropped or replaced (not even by an authentic record of an aborted
 *   attempt): the seal fails, the sequence numbers do not follow, or the chain does not end at the
 *   head the authenticated database names.
 *
 * On a card without an audit region (32 MiB or less, as installations made before this change)
 * entries stay in the `audit_log` table, as they always did; a card with a region reads the table's
 * entries, if any, first, and its chain continues from them.
 * @module
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, concatBytes, utf8ToBytes } from '@noble/hashes/utils.js';
import { Reader, Writer, bytesEqual, utf8 } from '../../device/binaryCodec.ts';
import { execute, query } from './statementCache.ts';
import type { SdCard } from '../../device/sdcard.ts';
import { SD_SECTOR_SIZE } from '../../device/sdcard.ts';
import { DatabaseError } from './databaseError.ts';
import type { DatabaseDevice } from './databaseDevice.ts';
import { auditRegion } from './pageStore.ts';
import type { Database } from './sqlite.ts';

/** One audit entry. */
export interface AuditEntry {
  readonly seq: number;
  readonly at: number;
  readonly actor: string;
  readonly action: string;
  /**
   * JSON text of the operation's parameters (never key material); an admin operation's end with what
   * it did to keys (`created`, `transitions`: `Admin`, `ChangeRecorder.audited`). Free-form: the
   * chain covers the text as written, so entries written before that addition verify as they are.
   */
  readonly details: string;
  readonly prevHash: string;
  readonly hash: string;
}

/** What an entry says, before it is numbered and chained. */
export interface AuditItem {
  readonly at: number;
  readonly actor: string;
  readonly action: string;
  /** The operation's parameters (never key material), stored as JSON text. */
  readonly details: unknown;
}

/** The hash before the first entry. */
export const GENESIS_HASH = '0'.repeat(64);

/** The hash of an entry, given its predecessor's hash. Length-prefixed fields: no ambiguity. */
export function auditHash(
  prevHash: string,
  seq: number,
  at: number,
  actor: string,
  action: string,
  details: string,
): string {
  const fields = [prevHash, String(seq), String(at), actor, action, details];
  const text = fields.map((f) => `${utf8ToBytes(f).length}:${f}`).join('|');
  return bytesToHex(sha256(utf8ToBytes(text)));
}

/** The sealed records of a card's audit region: the device that seals them and the card. */
export interface AuditCard {
  readonly device: DatabaseDevice;
  readonly sd: SdCard;
}

const RECORD_MAGIC = utf8('SKAL');
const RECORD_VERSION = 1;
/** magic ‖ u8 version ‖ u32be first seq ‖ u16be count ‖ u32be sealed length. */
const RECORD_HEADER = RECORD_MAGIC.length + 1 + 4 + 2 + 4;

function recordAad(firstSeq: number, count: number): Uint8Array {
  return new Writer().bytes(utf8('SKDB audit')).u32be(firstSeq).u16be(count).finish();
}

/** Where the chain stands: the last entry's sequence number and hash, and the next record's sector. */
interface Head {
  readonly seq: number;
  readonly hash: string;
  readonly nextSector: number;
}

/** The last entry of the `audit_log` table (entries made on cards without a region). */
function tableHead(db: Database): { seq: number; hash: string } {
  const last = db.exec('SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1')[0]?.values[0];
  return last ? { seq: Number(last[0]), hash: String(last[1]) } : { seq: 0, hash: GENESIS_HASH };
}

function cardHead(db: Database, start: number): Head {
  // Every operation reads and moves the head: kept statements (`statementCache.ts`), not parsed each time.
  const row = query(db, 'SELECT seq, hash, next_sector FROM audit_head WHERE id = 1')[0];
  return row
    ? { seq: Number(row[0]), hash: String(row[1]), nextSector: Number(row[2]) }
    : { ...tableHead(db), nextSector: start };
}

/** An item whose details are already JSON text. */
type TextItem = Omit<AuditItem, 'details'> & { readonly details: string };

function chain(items: readonly TextItem[], head: { seq: number; hash: string }): AuditEntry[] {
  let prevHash = head.hash;
  return items.map((item, i) => {
    const seq = head.seq + 1 + i;
    const { at, actor, action, details } = item;
    const hash = auditHash(prevHash, seq, at, actor, action, details);
    const entry = { seq, at, actor, action, details, prevHash, hash };
    prevHash = hash;
    return entry;
  });
}

/**
 * Appends `items` inside the caller's transaction and returns them as chained entries. With `card`
 * (and a card that has an audit region) the entries go to one sealed record beside the database and
 * the head in `audit_head` moves; the caller's commit is what makes them part of the log.
 * @throws DatabaseError `NoSpace` when the audit region is full (nothing is written).
 */
export function appendAudit(db: Database, card: AuditCard | null, items: readonly AuditItem[]): AuditEntry[] {
  if (items.length === 0) return [];
  const texts = items.map((item) => ({ ...item, details: JSON.stringify(item.details) }));
  const region = card === null ? null : auditRegion(card.sd.sectorCount);
  if (card === null || region === null) {
    const entries = chain(texts, tableHead(db));
    for (const e of entries) {
      db.run('INSERT INTO audit_log (seq, at, actor, action, details, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?)', [
        e.seq,
        e.at,
        e.actor,
        e.action,
        e.details,
        e.prevHash,
        e.hash,
      ]);
    }
    return entries;
  }
  const head = cardHead(db, region.start);
  const entries = chain(texts, head);
  const first = head.seq + 1;
  // Only the fields: hashes follow from them, and the chain is recomputed on every read.
  const payload = utf8(JSON.stringify(entries.map((e) => [e.at, e.actor, e.action, e.details])));
  const sealed = card.device.seal(payload, recordAad(first, entries.length));
  const record = new Writer()
    .bytes(RECORD_MAGIC)
    .u8(RECORD_VERSION)
    .u32be(first)
    .u16be(entries.length)
    .u32be(sealed.length)
    .bytes(sealed)
    .finish();
  const sectors = Math.ceil(record.length / SD_SECTOR_SIZE);
  if (head.nextSector + sectors > region.end) {
    throw new DatabaseError(
      'NoSpace',
      `the audit log fills its ${region.end - region.start} sectors: archive it and move to a larger card`,
    );
  }
  const padded = new Uint8Array(sectors * SD_SECTOR_SIZE);
  padded.set(record);
  // Not synced here: the page store syncs before it writes the manifest that commits the head.
  card.sd.write(head.nextSector, padded);
  const last = entries.at(-1) as AuditEntry;
  execute(
    db,
    `INSERT INTO audit_head (id, seq, hash, next_sector, at) VALUES (1, ?, ?, ?, ?)
     ON CONFLICT(id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash, next_sector = excluded.next_sector,
       at = max(at, excluded.at)`,
    [last.seq, last.hash, head.nextSector + sectors, Math.max(...entries.map((e) => e.at))],
  );
  return entries;
}

function tableEntries(db: Database): AuditEntry[] {
  const rows =
    db.exec('SELECT seq, at, actor, action, details, prev_hash, hash FROM audit_log ORDER BY seq')[0]?.values ?? [];
  return rows.map(([seq, at, actor, action, details, prevHash, hash]) => ({
    seq: Number(seq),
    at: Number(at),
    actor: String(actor),
    action: String(action),
    details: String(details),
    prevHash: String(prevHash),
    hash: String(hash),
  }));
}

/** Reads and opens the records between the region's start and the committed head. */
function cardEntries(db: Database, card: AuditCard, start: number, tail: { seq: number; hash: string }): AuditEntry[] {
  const head = cardHead(db, start);
  const entries: AuditEntry[] = [];
  let at = start;
  let prev = tail;
  while (at < head.nextSector) {
    const broken = (why: string) => new DatabaseError('AuditChainBroken', `audit record at sector ${at} ${why}`);
    const first = card.sd.read(at, 1);
    const r = new Reader(first);
    if (!bytesEqual(r.bytes(RECORD_MAGIC.length), RECORD_MAGIC) || r.u8() !== RECORD_VERSION)
      throw broken('is missing');
    const firstSeq = r.u32be();
    const count = r.u16be();
    const length = r.u32be();
    const sectors = Math.ceil((RECORD_HEADER + length) / SD_SECTOR_SIZE);
    if (firstSeq !== prev.seq + 1 || count === 0 || at + sectors > head.nextSector)
      throw broken(`does not follow entry ${prev.seq}`);
    // The sector read already, and only the rest in one more command (the card charges per command).
    const whole = sectors === 1 ? first : concatBytes(first, card.sd.read(at + 1, sectors - 1));
    const bytes = whole.subarray(RECORD_HEADER, RECORD_HEADER + length);
    let items: TextItem[];
    try {
      const fields = JSON.parse(new TextDecoder().decode(card.device.open(bytes, recordAad(firstSeq, count))));
      items = (fields as Array<[number, string, string, string]>).map(([t, actor, action, details]) => ({
        at: t,
        actor,
        action,
        details,
      }));
    } catch {
      throw broken('fails authentication');
    }
    if (items.length !== count) throw broken('holds a different number of entries than it says');
    const chained = chain(items, prev);
    entries.push(...chained);
    prev = chained.at(-1) as AuditEntry;
    at += sectors;
  }
  if (prev.seq !== head.seq || prev.hash !== head.hash) {
    throw new DatabaseError('AuditChainBroken', `the audit log ends at entry ${prev.seq}, not at the committed head`);
  }
  return entries;
}

/**
 * The time of the latest audited operation (the latest `at` the head was written with): what a
 * session may not run before. 0 before the first entry, and for a head written before schema
 * version 8 until its next entry.
 */
export function lastAuditedAt(db: Database): number {
  return Number(query(db, 'SELECT at FROM audit_head WHERE id = 1')[0]?.[0] ?? 0);
}

/** Every entry, oldest first: the table's, then the card's records up to the committed head. */
export function readAudit(db: Database, card: AuditCard | null = null): AuditEntry[] {
  const table = tableEntries(db);
  const region = card === null ? null : auditRegion(card.sd.sectorCount);
  if (card === null || region === null) return table;
  const last = table.at(-1);
  return [...table, ...cardEntries(db, card, region.start, last ?? { seq: 0, hash: GENESIS_HASH })];
}

/** Verifies the whole chain; throws `AuditChainBroken` naming the first bad entry. Returns the head hash. */
export function verifyAudit(db: Database, card: AuditCard | null = null): string {
  let prev = GENESIS_HASH;
  let expectedSeq = 1;
  for (const e of readAudit(db, card)) {
    if (e.seq !== expectedSeq)
      throw new DatabaseError('AuditChainBroken', `audit entry ${expectedSeq} is missing (found ${e.seq})`);
    if (e.prevHash !== prev || auditHash(prev, e.seq, e.at, e.actor, e.action, e.details) !== e.hash) {
      throw new DatabaseError('AuditChainBroken', `audit entry ${e.seq} does not match the chain`);
    }
    prev = e.hash;
    expectedSeq += 1;
  }
  return prev;
}
