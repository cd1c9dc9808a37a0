/**
 * Update file format v1: what the administrator publishes to one user's stream. Documented in
 * `docs/update-format.md`; this module is its only encoder and decoder.
 *
 * ```
 * header (plaintext, and the AES-GCM additional data of the body):
 *   magic "SKUP" | version u8 = 1 | kind u8 (0 incremental, 1 resync)
 *   recipient user ID (varint length + UTF-8) | recipient device serial (varint length + UTF-8)
 *   sequence u64 | SHA-256 of the previous file of this user (32 bytes; zeros before the first)
 *   body length u32
 * body: nonce(12) ‖ AES-256-GCM(records) ‖ tag(16), sealed by the admin HSM under the
 *       admin→user channel key
 * ```
 * Records are typed, never SQL text (the original replayed SQL split on ';', B7): a varint type, a
 * varint length, then fields. Lengths are varints, so there is no 64 KiB limit (the original's
 * uint16 length silently truncated large updates, B6).
 * @module
 */
import { sha256 } from '@noble/hashes/sha2.js';
import type { GroupPolicy } from '../../model/kms.ts';
import { ALGORITHMS } from '../../model/kms.ts';
import type { Algorithm } from '../../model/kms.ts';

const MAGIC = [0x53, 0x4b, 0x55, 0x50]; // "SKUP"
/** The format version this code writes and reads. */
export const UPDATE_FORMAT_VERSION = 1;

/** Whether a file extends the chain (incremental) or replaces the replica (resync). */
export type UpdateKind = 'incremental' | 'resync';

/** The authenticated, plaintext header of an update file. */
export interface UpdateHeader {
  readonly kind: UpdateKind;
  readonly userId: string;
  readonly serial: string;
  readonly sequence: number;
  /** SHA-256 of the previous file of this user; 32 zero bytes before the first. */
  readonly previousHash: Uint8Array;
}

/** One typed record of an update body. */
export type UpdateRecord =
  | { readonly type: 'reset' }
  | { readonly type: 'userUpsert'; readonly id: string; readonly name: string }
  | { readonly type: 'userDelete'; readonly id: string }
  | {
      readonly type: 'groupUpsert';
      readonly id: string;
      readonly name: string;
      readonly policy: GroupPolicy;
      readonly shareHistory: boolean;
      readonly members: readonly string[];
    }
  | { readonly type: 'groupDelete'; readonly id: string }
  | { readonly type: 'keyUpsert'; readonly id: string; readonly name: string; readonly owner: string; readonly algorithm: Algorithm; readonly lifecycle: string }
  | { readonly type: 'keyDelete'; readonly id: string }
  /** A key for the recipient's HSM: AES-KW (RFC 3394) under the provisioned wrapping key. */
  | { readonly type: 'keyMaterial'; readonly keyNumber: number; readonly blob: Uint8Array }
  /** An order, sealed by the admin HSM, for the recipient's HSM to erase a key. */
  | { readonly type: 'eraseOrder'; readonly keyNumber: number; readonly order: Uint8Array };

const RECORD_TYPES = ['reset', 'userUpsert', 'userDelete', 'groupUpsert', 'groupDelete', 'keyUpsert', 'keyDelete', 'keyMaterial', 'eraseOrder'] as const;

/** Why bytes are not a v1 update file. */
export class UpdateFormatError extends Error {
  readonly truncated: boolean;

  constructor(message: string, truncated: boolean) {
    super(message);
    this.name = 'UpdateFormatError';
    this.truncated = truncated;
  }
}

class Writer {
  #parts: number[] = [];

  byte(b: number): this {
    this.#parts.push(b & 0xff);
    return this;
  }
  varint(n: number): this {
    if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`varint needs a non-negative safe integer, got ${n}`);
    let v = n;
    while (v >= 0x80) {
      this.#parts.push((v % 0x80) | 0x80);
      v = Math.floor(v / 0x80);
    }
    this.#parts.push(v);
    return this;
  }
  u32(n: number): this {
    for (let s = 24; s >= 0; s -= 8) this.#parts.push((n >>> s) & 0xff);
    return this;
  }
  u64(n: number): this {
    const big = BigInt(n);
    for (let s = 56n; s >= 0n; s -= 8n) this.#parts.push(Number((big >> s) & 0xffn));
    return this;
  }
  bytes(b: Uint8Array): this {
    for (const x of b) this.#parts.push(x);
    return this;
  }
  blob(b: Uint8Array): this {
    return this.varint(b.length).bytes(b);
  }
  str(s: string): this {
    return this.blob(new TextEncoder().encode(s));
  }
  done(): Uint8Array {
    return Uint8Array.from(this.#parts);
  }
}

class Reader {
  readonly #b: Uint8Array;
  #at = 0;

  constructor(bytes: Uint8Array) {
    this.#b = bytes;
  }
  get remaining(): number {
    return this.#b.length - this.#at;
  }
  #need(n: number): void {
    if (this.remaining < n) throw new UpdateFormatError(`needs ${n} more bytes, ${this.remaining} left`, true);
  }
  byte(): number {
    this.#need(1);
    return this.#b[this.#at++] as number;
  }
  varint(): number {
    let n = 0;
    let scale = 1;
    for (let i = 0; i < 8; i++) {
      const b = this.byte();
      n += (b & 0x7f) * scale;
      if (b < 0x80) return n;
      scale *= 0x80;
    }
    throw new UpdateFormatError('varint too long', false);
  }
  u32(): number {
    this.#need(4);
    const v = new DataView(this.#b.buffer, this.#b.byteOffset + this.#at, 4).getUint32(0);
    this.#at += 4;
    return v;
  }
  u64(): number {
    this.#need(8);
    const v = new DataView(this.#b.buffer, this.#b.byteOffset + this.#at, 8).getBigUint64(0);
    this.#at += 8;
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new UpdateFormatError('u64 out of range', false);
    return Number(v);
  }
  bytes(n: number): Uint8Array {
    this.#need(n);
    const v = this.#b.slice(this.#at, this.#at + n);
    this.#at += n;
    return v;
  }
  blob(): Uint8Array {
    return this.bytes(this.varint());
  }
  str(): string {
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(this.blob());
    } catch (error) {
      if (error instanceof UpdateFormatError) throw error;
      throw new UpdateFormatError('invalid UTF-8', false);
    }
  }
}

/** The header bytes (also the AAD of the body). */
export function encodeHeader(h: UpdateHeader, bodyLength: number): Uint8Array {
  if (h.previousHash.length !== 32) throw new RangeError('previousHash must be 32 bytes');
  return new Writer()
    .bytes(Uint8Array.from(MAGIC))
    .byte(UPDATE_FORMAT_VERSION)
    .byte(h.kind === 'resync' ? 1 : 0)
    .str(h.userId)
    .str(h.serial)
    .u64(h.sequence)
    .bytes(h.previousHash)
    .u32(bodyLength)
    .done();
}

/** A parsed file: header, header bytes (the body's AAD) and the sealed body. */
export interface ParsedUpdateFile {
  readonly header: UpdateHeader;
  readonly headerBytes: Uint8Array;
  readonly sealedBody: Uint8Array;
}

/** Splits a file into header and sealed body; `UpdateFormatError` if truncated or malformed. */
export function parseUpdateFile(file: Uint8Array): ParsedUpdateFile {
  const r = new Reader(file);
  const magic = r.bytes(4);
  if (!MAGIC.every((b, i) => magic[i] === b)) throw new UpdateFormatError('not an SEkey update file', false);
  const version = r.byte();
  if (version !== UPDATE_FORMAT_VERSION) throw new UpdateFormatError(`format version ${version} is not supported`, false);
  const kindByte = r.byte();
  if (kindByte > 1) throw new UpdateFormatError(`unknown kind ${kindByte}`, false);
  const userId = r.str();
  const serial = r.str();
  const sequence = r.u64();
  const previousHash = r.bytes(32);
  const bodyLength = r.u32();
  const headerLength = file.length - r.remaining;
  if (r.remaining < bodyLength) throw new UpdateFormatError(`body is ${r.remaining} of ${bodyLength} bytes`, true);
  if (r.remaining > bodyLength) throw new UpdateFormatError('bytes after the body', false);
  if (bodyLength < 28) throw new UpdateFormatError('body too short to be sealed', false);
  return {
    header: { kind: kindByte === 1 ? 'resync' : 'incremental', userId, serial, sequence, previousHash },
    headerBytes: file.slice(0, headerLength),
    sealedBody: file.slice(headerLength),
  };
}

/** Encodes records into a body plaintext. */
export function encodeRecords(records: readonly UpdateRecord[]): Uint8Array {
  const w = new Writer();
  for (const rec of records) {
    const f = new Writer();
    switch (rec.type) {
      case 'reset':
        break;
      case 'userUpsert':
        f.str(rec.id).str(rec.name);
        break;
      case 'userDelete':
      case 'groupDelete':
      case 'keyDelete':
        f.str(rec.id);
        break;
      case 'groupUpsert':
        f.str(rec.id).str(rec.name).varint(rec.policy.maxKeys).str(rec.policy.algorithm).varint(rec.policy.defaultCryptoperiodMs);
        f.byte(rec.shareHistory ? 1 : 0).varint(rec.members.length);
        for (const m of rec.members) f.str(m);
        break;
      case 'keyUpsert':
        f.str(rec.id).str(rec.name).str(rec.owner).str(rec.algorithm).str(rec.lifecycle);
        break;
      case 'keyMaterial':
        f.u32(rec.keyNumber).bytes(rec.blob);
        break;
      case 'eraseOrder':
        f.u32(rec.keyNumber).bytes(rec.order);
        break;
    }
    w.varint(RECORD_TYPES.indexOf(rec.type)).blob(f.done());
  }
  return w.done();
}

function algorithm(s: string): Algorithm {
  if (!(ALGORITHMS as readonly string[]).includes(s)) throw new UpdateFormatError(`unknown algorithm ${s}`, false);
  return s as Algorithm;
}

/** Decodes a body plaintext; `UpdateFormatError` on anything malformed. */
export function decodeRecords(body: Uint8Array): UpdateRecord[] {
  const r = new Reader(body);
  const out: UpdateRecord[] = [];
  while (r.remaining > 0) {
    const type = RECORD_TYPES[r.varint()];
    const f = new Reader(r.blob());
    let rec: UpdateRecord;
    switch (type) {
      case 'reset':
        rec = { type };
        break;
      case 'userUpsert':
        rec = { type, id: f.str(), name: f.str() };
        break;
      case 'userDelete':
      case 'groupDelete':
      case 'keyDelete':
        rec = { type, id: f.str() };
        break;
      case 'groupUpsert': {
        const id = f.str();
        const name = f.str();
        const policy = { maxKeys: f.varint(), algorithm: algorithm(f.str()), defaultCryptoperiodMs: f.varint() };
        const shareHistory = f.byte() === 1;
        const members = Array.from({ length: f.varint() }, () => f.str());
        rec = { type, id, name, policy, shareHistory, members };
        break;
      }
      case 'keyUpsert':
        rec = { type, id: f.str(), name: f.str(), owner: f.str(), algorithm: algorithm(f.str()), lifecycle: f.str() };
        break;
      case 'keyMaterial':
        rec = { type, keyNumber: f.u32(), blob: f.bytes(f.remaining) };
        break;
      case 'eraseOrder':
        rec = { type, keyNumber: f.u32(), order: f.bytes(f.remaining) };
        break;
      default:
        throw new UpdateFormatError('unknown record type', false);
    }
    if (f.remaining !== 0) throw new UpdateFormatError(`${rec.type} record has trailing bytes`, false);
    out.push(rec);
  }
  return out;
}

/** Assembles a file from its header and sealed body. */
export function assembleUpdateFile(header: UpdateHeader, seal: (headerBytes: Uint8Array) => Uint8Array, bodyLength: number): Uint8Array {
  const headerBytes = encodeHeader(header, bodyLength);
  const sealed = seal(headerBytes);
  if (sealed.length !== bodyLength) throw new RangeError(`sealed body is ${sealed.length} bytes, header says ${bodyLength}`);
  const file = new Uint8Array(headerBytes.length + sealed.length);
  file.set(headerBytes);
  file.set(sealed, headerBytes.length);
  return file;
}

/** The SHA-256 of a whole file: what the next file's header names as its predecessor. */
export function fileHash(file: Uint8Array): Uint8Array {
  return sha256(file);
}

/** 32 zero bytes: the predecessor of a user's first file. */
export const NO_PREVIOUS_FILE = new Uint8Array(32);
