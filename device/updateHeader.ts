/**
 * The update-file header, at device level because the user's HSM reads it (`secubeUpdates.ts`): the
 * plaintext start of every file the administrator publishes to one user's stream, and the AES-GCM
 * additional data (NIST SP 800-38D §5.2.1.1) of the sealed body that follows it. This module is the
 * one encoder and decoder of the header; the update *file* (header ‖ sealed body, and the records
 * inside the body) is `impl/protocol/updateFile.ts`, and the byte layout is in
 * `docs/update-format.md` and `docs/formats.md`:
 *
 * ```
 * magic "SKUP" | version u8 = 1 | kind u8 (0 incremental, 1 resync)
 *   | recipient user ID (varint length + UTF-8) | recipient device serial (varint length + UTF-8)
 *   | sequence u64 big-endian | SHA-256 of the previous file of this user (32; zeros before the first)
 *   | body length u32 big-endian
 * ```
 * Lengths are unsigned LEB128 varints (`binaryCodec.ts`).
 * @module
 */
import { Reader, Writer, bytesEqual } from './binaryCodec.ts';

/** "SKUP": SEkey update. */
const UPDATE_MAGIC = Uint8Array.of(0x53, 0x4b, 0x55, 0x50);
/** The update format version this code writes and reads. */
export const UPDATE_FORMAT_VERSION = 1;
/** Length of the previous-file hash (SHA-256, FIPS 180-4). */
export const PREVIOUS_HASH_BYTES = 32;

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

/** A header read from bytes, with the length of the sealed body it announces. */
export interface ReadUpdateHeader {
  readonly header: UpdateHeader;
  readonly bodyLength: number;
}

/**
 * The header bytes (also the AAD of the body) of a file whose sealed body is `bodyLength` bytes.
 * @throws RangeError unless `previousHash` is 32 bytes.
 */
export function encodeUpdateHeader(h: UpdateHeader, bodyLength: number): Uint8Array {
  if (h.previousHash.length !== PREVIOUS_HASH_BYTES)
    throw new RangeError(`previousHash must be ${PREVIOUS_HASH_BYTES} bytes`);
  return new Writer()
    .bytes(UPDATE_MAGIC)
    .u8(UPDATE_FORMAT_VERSION)
    .u8(h.kind === 'resync' ? 1 : 0)
    .string(h.userId)
    .string(h.serial)
    .u64be(h.sequence)
    .bytes(h.previousHash)
    .u32be(bodyLength)
    .finish();
}

/**
 * Reads one update header from `r`, leaving it at the first byte of the body.
 * @returns the header and announced body length, or `{ refusal }` saying why the bytes are not a
 *   version-1 header (not an update file, another version, an unknown kind).
 * @throws BinaryCodecError when a field is truncated or malformed.
 */
export function readUpdateHeader(r: Reader): ReadUpdateHeader | { readonly refusal: string } {
  if (!bytesEqual(r.bytes(UPDATE_MAGIC.length), UPDATE_MAGIC)) return { refusal: 'not an SEkey update file' };
  const version = r.u8();
  if (version !== UPDATE_FORMAT_VERSION) return { refusal: `format version ${version} is not supported` };
  const kindByte = r.u8();
  if (kindByte > 1) return { refusal: `unknown kind ${kindByte}` };
  const userId = r.string();
  const serial = r.string();
  const sequence = r.u64be();
  const previousHash = r.bytes(PREVIOUS_HASH_BYTES);
  const bodyLength = r.u32be();
  return {
    header: { kind: kindByte === 1 ? 'resync' : 'incremental', userId, serial, sequence, previousHash },
    bodyLength,
  };
}

/**
 * The header that `bytes` holds, which must be exactly one header (no byte after the body length).
 * @returns as {@link readUpdateHeader}.
 * @throws BinaryCodecError when a field is truncated or malformed, or bytes follow the header.
 */
export function decodeUpdateHeader(bytes: Uint8Array): ReadUpdateHeader | { readonly refusal: string } {
  const r = new Reader(bytes);
  const read = readUpdateHeader(r);
  if ('header' in read) r.end();
  return read;
}
