/**
 * The audit log: an append-only table whose entries are hash-chained. Each entry's hash is
 * SHA-256 over the previous entry's hash and the entry's own fields, so removing, reordering or
 * editing any entry breaks every hash after it (the idea of a hash chain as in RFC 6962's Merkle
 * audit paths, here in its simplest linear form). NIST SP 800-57 Pt 1 §7 asks that every key state
 * transition be recorded; SP 800-152 covers logging them. The original SEkey writes a plain text log.
 *
 * A chain alone protects against edits by someone who cannot recompute it. Its persisted copy is also
 * inside pages the device authenticates, so a copy on the card cannot be edited offline at all; the
 * chain is what shows, in the log itself, that no entry was dropped or rewritten before a commit.
 * @module
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js';
import { DatabaseError } from './databaseError.ts';
import type { Database } from './sqlite.ts';

/** One audit entry. */
export interface AuditEntry {
  readonly seq: number;
  readonly at: number;
  readonly actor: string;
  readonly action: string;
  /** JSON text of the operation's parameters (never key material). */
  readonly details: string;
  readonly prevHash: string;
  readonly hash: string;
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

/** Appends an entry inside the caller's transaction; returns it. */
export function appendAudit(db: Database, at: number, actor: string, action: string, details: unknown): AuditEntry {
  const last = db.exec('SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1')[0]?.values[0];
  const seq = last ? Number(last[0]) + 1 : 1;
  const prevHash = last ? String(last[1]) : GENESIS_HASH;
  const text = JSON.stringify(details);
  const hash = auditHash(prevHash, seq, at, actor, action, text);
  db.run('INSERT INTO audit_log (seq, at, actor, action, details, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?)', [
    seq,
    at,
    actor,
    action,
    text,
    prevHash,
    hash,
  ]);
  return { seq, at, actor, action, details: text, prevHash, hash };
}

/** Every entry, oldest first. */
export function readAudit(db: Database): AuditEntry[] {
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

/** Verifies the whole chain; throws `AuditChainBroken` naming the first bad entry. Returns the head hash. */
export function verifyAudit(db: Database): string {
  let prev = GENESIS_HASH;
  let expectedSeq = 1;
  for (const e of readAudit(db)) {
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
