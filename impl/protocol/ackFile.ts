/**
 * Acknowledgement files: a user's statement "I applied file `sequence` of my stream, whose hash is
 * `fileHash`". Sealed by the user's HSM under the user→admin channel key, which only that HSM can
 * seal with and only the admin HSM can open, so nobody with mere access to the shared folder can
 * fake one, and a withheld or deleted update shows as a stale user (the original had no
 * acknowledgements: W2; The Update Framework's freeze attack).
 *
 * Limit: the statement is sealed at the request of the user's host, which could ask for it without
 * applying the file. An acknowledgement therefore proves that the user's HSM was asked to vouch for
 * the file, not that the erase orders in it ran; a host that lies harms only its own user's
 * guarantees. Binding it to the device's own update counter would need the HSM to verify and apply
 * updates itself (a firmware feature the simulator does not have).
 *
 * ```
 * header (AAD): magic "SKAK" | version u8 = 1 | user ID (varint length + UTF-8)
 *               | device serial (varint length + UTF-8) | sequence u64 big-endian | file hash (32)
 * body: nonce(12) ‖ AES-256-GCM(empty) tag(16)
 * ```
 * Lengths are unsigned LEB128 varints (`device/binaryCodec.ts`): an identifier under 128 bytes has a
 * one-byte length, so such files are the same bytes as those of the first version of this module,
 * which wrote a single length byte and refused longer identifiers.
 * @module
 */
import { Reader, Writer, bytesEqual, mapCodecError } from '../../device/binaryCodec.ts';
import { UpdateFormatError } from './updateFile.ts';

const MAGIC = Uint8Array.of(0x53, 0x4b, 0x41, 0x4b); // "SKAK"
/** The acknowledgement format version this code writes and reads. */
export const ACK_FORMAT_VERSION = 1;
/** Length of the seal after the header: nonce (12) and GCM tag (16) over an empty plaintext. */
export const ACK_SEAL_BYTES = 12 + 16;

/** What an acknowledgement states. */
export interface Acknowledgement {
  readonly userId: string;
  readonly serial: string;
  readonly sequence: number;
  readonly fileHash: Uint8Array;
}

/** The header bytes of an acknowledgement (its AAD). */
export function encodeAckHeader(a: Acknowledgement): Uint8Array {
  if (a.fileHash.length !== 32) throw new RangeError('fileHash must be 32 bytes');
  return new Writer().bytes(MAGIC).u8(ACK_FORMAT_VERSION).string(a.userId).string(a.serial).u64be(a.sequence).bytes(a.fileHash).finish();
}

/** Splits an acknowledgement file into what it states and its seal; `UpdateFormatError` if malformed. */
export function parseAck(file: Uint8Array): { ack: Acknowledgement; header: Uint8Array; seal: Uint8Array } {
  const fail = (why: string, truncated = false): never => {
    throw new UpdateFormatError(`not an acknowledgement: ${why}`, truncated);
  };
  return mapCodecError(() => {
    const r = new Reader(file);
    if (!bytesEqual(r.bytes(4), MAGIC) || r.u8() !== ACK_FORMAT_VERSION) fail('bad magic or version');
    const userId = r.string();
    const serial = r.string();
    const sequence = r.u64be();
    const fileHash = r.bytes(32);
    const header = file.slice(0, r.offset);
    if (r.remaining !== ACK_SEAL_BYTES) fail(`the seal is ${r.remaining} bytes, not ${ACK_SEAL_BYTES}`, r.remaining < ACK_SEAL_BYTES);
    return { ack: { userId, serial, sequence, fileHash }, header, seal: r.rest() };
  }, (error) => new UpdateFormatError(`not an acknowledgement: ${error.message}`, error.code === 'Truncated'));
}
