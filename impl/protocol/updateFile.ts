/**
 * Update file format v1: what the administrator publishes to one user's stream. Documented in
 * `docs/update-format.md`; this module is the only encoder and decoder of files and records. The
 * header has its one codec at device level, because the user's HSM reads it before it records an
 * update as applied (`device/updateHeader.ts`, `SecubeDevice.openUpdate`); it is re-exported here.
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
 * uint16 length silently truncated large updates, B6). Every file the administrator publishes
 * carries one `heartbeat` record: when it was issued and the installation's freshness window (TUF's
 * timestamp role, against freeze attacks; see `model/updateProcessing.ts`, "Freshness").
 * @module
 */
import { sha256 } from '@noble/hashes/sha2.js';
import type { GroupPolicy } from '../../model/kms.ts';
import { ALGORITHMS } from '../../model/kms.ts';
import type { Algorithm } from '../../model/kms.ts';
import { Reader, Writer, mapCodecError } from '../../device/binaryCodec.ts';
import { encodeUpdateHeader, readUpdateHeader } from '../../device/updateHeader.ts';
import type { UpdateHeader } from '../../device/updateHeader.ts';

export type { UpdateHeader, UpdateKind } from '../../device/updateHeader.ts';

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
  | {
      readonly type: 'keyUpsert';
      readonly id: string;
      readonly name: string;
      readonly owner: string;
      readonly algorithm: Algorithm;
      readonly lifecycle: string;
    }
  | { readonly type: 'keyDelete'; readonly id: string }
  /** A key for the recipient's HSM: AES-KW (RFC 3394) under the provisioned wrapping key. */
  | { readonly type: 'keyMaterial'; readonly keyNumber: number; readonly blob: Uint8Array }
  /** An order, sealed by the admin HSM, for the recipient's HSM to erase a key. */
  | { readonly type: 'eraseOrder'; readonly keyNumber: number; readonly order: Uint8Array }
  /**
   * When the administrator issued this file (its clock, ms since the epoch) and how long after that
   * the recipient may still encrypt (ms, > 0): the file's heartbeat. Sealed with the rest of the body.
   */
  | { readonly type: 'heartbeat'; readonly issuedAt: number; readonly freshnessWindowMs: number };

const RECORD_TYPES = [
  'reset',
  'userUpsert',
  'userDelete',
  'groupUpsert',
  'groupDelete',
  'keyUpsert',
  'keyDelete',
  'keyMaterial',
  'eraseOrder',
  'heartbeat',
] as const;

/** Why bytes are not a v1 update file. */
export class UpdateFormatError extends Error {
  readonly truncated: boolean;

  constructor(message: string, truncated: boolean) {
    super(message);
    this.name = 'UpdateFormatError';
    this.truncated = truncated;
  }
}

/** Runs a decoder, turning a codec refusal into an {@link UpdateFormatError} (truncated or corrupt). */
function asUpdateFormatError<T>(decode: () => T): T {
  return mapCodecError(decode, (error) => new UpdateFormatError(error.message, error.code === 'Truncated'));
}

/** A parsed file: header, header bytes (the body's AAD) and the sealed body. */
export interface ParsedUpdateFile {
  readonly header: UpdateHeader;
  readonly headerBytes: Uint8Array;
  readonly sealedBody: Uint8Array;
}

/** Splits a file into header and sealed body; `UpdateFormatError` if truncated or malformed. */
export function parseUpdateFile(file: Uint8Array): ParsedUpdateFile {
  return asUpdateFormatError(() => {
    const r = new Reader(file);
    const read = readUpdateHeader(r);
    if ('refusal' in read) throw new UpdateFormatError(read.refusal, false);
    const { header, bodyLength } = read;
    const headerLength = r.offset;
    if (r.remaining < bodyLength) throw new UpdateFormatError(`body is ${r.remaining} of ${bodyLength} bytes`, true);
    if (r.remaining > bodyLength) throw new UpdateFormatError('bytes after the body', false);
    if (bodyLength < 28) throw new UpdateFormatError('body too short to be sealed', false);
    return {
      header,
      headerBytes: file.slice(0, headerLength),
      sealedBody: r.rest(),
    };
  });
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
        f.string(rec.id).string(rec.name);
        break;
      case 'userDelete':
      case 'groupDelete':
      case 'keyDelete':
        f.string(rec.id);
        break;
      case 'groupUpsert':
        f.string(rec.id)
          .string(rec.name)
          .varint(rec.policy.maxKeys)
          .string(rec.policy.algorithm)
          .varint(rec.policy.defaultCryptoperiodMs);
        f.u8(rec.shareHistory ? 1 : 0).varint(rec.members.length);
        for (const m of rec.members) f.string(m);
        break;
      case 'keyUpsert':
        f.string(rec.id).string(rec.name).string(rec.owner).string(rec.algorithm).string(rec.lifecycle);
        break;
      case 'keyMaterial':
        f.u32be(rec.keyNumber).bytes(rec.blob);
        break;
      case 'eraseOrder':
        f.u32be(rec.keyNumber).bytes(rec.order);
        break;
      case 'heartbeat':
        if (!(rec.freshnessWindowMs > 0))
          throw new RangeError(`freshnessWindowMs must be positive, got ${rec.freshnessWindowMs}`);
        f.varint(rec.issuedAt).varint(rec.freshnessWindowMs);
        break;
    }
    w.varint(RECORD_TYPES.indexOf(rec.type)).lenBytes(f.finish());
  }
  return w.finish();
}

function algorithm(s: string): Algorithm {
  if (!(ALGORITHMS as readonly string[]).includes(s)) throw new UpdateFormatError(`unknown algorithm ${s}`, false);
  return s as Algorithm;
}

/** Decodes a body plaintext; `UpdateFormatError` on anything malformed. */
export function decodeRecords(body: Uint8Array): UpdateRecord[] {
  return asUpdateFormatError(() => {
    const r = new Reader(body);
    const out: UpdateRecord[] = [];
    while (r.remaining > 0) {
      const type = RECORD_TYPES[r.varint()];
      const f = new Reader(r.lenBytes());
      let rec: UpdateRecord;
      switch (type) {
        case 'reset':
          rec = { type };
          break;
        case 'userUpsert':
          rec = { type, id: f.string(), name: f.string() };
          break;
        case 'userDelete':
        case 'groupDelete':
        case 'keyDelete':
          rec = { type, id: f.string() };
          break;
        case 'groupUpsert': {
          const id = f.string();
          const name = f.string();
          const policy = { maxKeys: f.varint(), algorithm: algorithm(f.string()), defaultCryptoperiodMs: f.varint() };
          const shareFlag = f.u8();
          if (shareFlag > 1) throw new UpdateFormatError(`shareHistory flag ${shareFlag} is not 0 or 1`, false);
          const count = f.varint();
          // Each member takes at least one byte: a larger count cannot be met (and must not allocate).
          if (count > f.remaining)
            throw new UpdateFormatError(`${count} members announced, ${f.remaining} bytes left`, true);
          const members = Array.from({ length: count }, () => f.string());
          const shareHistory = shareFlag === 1;
          rec = { type, id, name, policy, shareHistory, members };
          break;
        }
        case 'keyUpsert':
          rec = {
            type,
            id: f.string(),
            name: f.string(),
            owner: f.string(),
            algorithm: algorithm(f.string()),
            lifecycle: f.string(),
          };
          break;
        case 'keyMaterial':
          rec = { type, keyNumber: f.u32be(), blob: f.rest() };
          break;
        case 'eraseOrder':
          rec = { type, keyNumber: f.u32be(), order: f.rest() };
          break;
        case 'heartbeat': {
          const issuedAt = f.varint();
          const freshnessWindowMs = f.varint();
          if (freshnessWindowMs === 0) throw new UpdateFormatError('heartbeat with a zero freshness window', false);
          rec = { type, issuedAt, freshnessWindowMs };
          break;
        }
        default:
          throw new UpdateFormatError('unknown record type', false);
      }
      if (f.remaining !== 0) throw new UpdateFormatError(`${rec.type} record has trailing bytes`, false);
      out.push(rec);
    }
    return out;
  });
}

/** Assembles a file from its header and sealed body. */
export function assembleUpdateFile(
  header: UpdateHeader,
  seal: (headerBytes: Uint8Array) => Uint8Array,
  bodyLength: number,
): Uint8Array {
  const headerBytes = encodeUpdateHeader(header, bodyLength);
  const sealed = seal(headerBytes);
  if (sealed.length !== bodyLength)
    throw new RangeError(`sealed body is ${sealed.length} bytes, header says ${bodyLength}`);
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
