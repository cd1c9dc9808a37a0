/**
 * The acknowledgement header, at device level because the HSM itself reads it: a user's statement
 * "I applied file `sequence` of my update stream, whose hash is `fileHash`", which only the user's
 * HSM can seal (`SecubeDevice.acknowledge`, under its `ack` key) and only after its own
 * applied-update counter ({@link UPDATE_SEQUENCE_COUNTER}) has reached `sequence`, that is, after
 * the HSM authenticated update `sequence` and the host recorded it as applied. This module is the
 * one encoder and decoder of the header; the acknowledgement *file* (header ‖ seal) is
 * `impl/protocol/ackFile.ts`, and the byte layout is in `docs/update-format.md` and
 * `docs/formats.md`:
 *
 * ```
 * magic "SKAK" | version u8 = 1 | user ID (varint length + UTF-8)
 *   | device serial (varint length + UTF-8) | sequence u64 big-endian | file hash (32)
 * ```
 * Lengths are unsigned LEB128 varints (`binaryCodec.ts`).
 * @module
 */
import { Reader, Writer, bytesEqual } from './binaryCodec.ts';

/**
 * The HSM flash counter of the last update sequence the user's host applied: the anti-rollback
 * anchor of update processing (the original has none, W2). Reserved: the generic `counterAdvance`
 * refuses it; it moves only through `recordUpdateApplied` (`secubeUpdates.ts`), to an update the
 * HSM authenticated, which the KMS calls after each applied update (`impl/kms/userSync.ts`). The device
 * seals an acknowledgement only for a sequence at or below it.
 */
export const UPDATE_SEQUENCE_COUNTER = 'updates.sequence';

/** "SKAK": SEkey acknowledgement. */
const ACK_MAGIC = Uint8Array.of(0x53, 0x4b, 0x41, 0x4b);
/** The acknowledgement format version this code writes and reads. */
export const ACK_FORMAT_VERSION = 1;
/** Length of the file hash (SHA-256, FIPS 180-4). */
const ACK_FILE_HASH_BYTES = 32;

/** What an acknowledgement states. */
export interface Acknowledgement {
  readonly userId: string;
  readonly serial: string;
  readonly sequence: number;
  readonly fileHash: Uint8Array;
}

/** The header bytes of an acknowledgement (the AAD of its seal). @throws RangeError unless `fileHash` is 32 bytes. */
export function encodeAckHeader(a: Acknowledgement): Uint8Array {
  if (a.fileHash.length !== ACK_FILE_HASH_BYTES) throw new RangeError(`fileHash must be ${ACK_FILE_HASH_BYTES} bytes`);
  return new Writer()
    .bytes(ACK_MAGIC)
    .u8(ACK_FORMAT_VERSION)
    .string(a.userId)
    .string(a.serial)
    .u64be(a.sequence)
    .bytes(a.fileHash)
    .finish();
}

/**
 * Reads one acknowledgement header from `r`, leaving it after the file hash.
 * @returns undefined when the bytes do not start with the magic and version.
 * @throws BinaryCodecError when a field is truncated or malformed.
 */
export function readAckHeader(r: Reader): Acknowledgement | undefined {
  if (!bytesEqual(r.bytes(ACK_MAGIC.length), ACK_MAGIC) || r.u8() !== ACK_FORMAT_VERSION) return undefined;
  const userId = r.string();
  const serial = r.string();
  const sequence = r.u64be();
  const fileHash = r.bytes(ACK_FILE_HASH_BYTES);
  return { userId, serial, sequence, fileHash };
}

/**
 * The acknowledgement that `header` states, which must be exactly one header (no byte after the
 * file hash).
 * @returns undefined for a wrong magic or version.
 * @throws BinaryCodecError when a field is truncated or malformed, or bytes follow the header.
 */
export function decodeAckHeader(header: Uint8Array): Acknowledgement | undefined {
  const r = new Reader(header);
  const ack = readAckHeader(r);
  if (ack !== undefined) r.end();
  return ack;
}
