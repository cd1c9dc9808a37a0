/**
 * Acknowledgement files: a user's statement "I applied file `sequence` of my stream, whose hash is
 * `fileHash`". Sealed by the user's HSM under the user→admin channel key, which only that HSM can
 * seal with and only the admin HSM can open, so nobody with mere access to the shared folder can
 * fake one, and a withheld or deleted update shows as a stale user (the original had no
 * acknowledgements: W2; The Update Framework's freeze attack).
 *
 * The user's HSM seals it itself (`SecubeDevice.acknowledge`): the key is an `ack` key, which the
 * generic `seal` refuses, and the device parses the header and seals only a sequence at or below its
 * applied-update counter in flash. That counter moves only through `recordUpdateApplied`, to the
 * update file the HSM itself authenticated last (`openUpdate`: the admin HSM's seal, the header as
 * AAD, this device's serial); the generic `counterAdvance` refuses it. So an acknowledgement of
 * update N proves: **the HSM authenticated update N and the host recorded it as applied**. Limit:
 * the records, erase orders included, are carried out by the user's host software, so a
 * compromised user host can still skip an erase order it was sent (the key is in its own HSM, and a
 * removed member's old keys are no secret from it anyway); such a lie weakens only its own user's
 * guarantees.
 *
 * ```
 * header (AAD): magic "SKAK" | version u8 = 1 | user ID (varint length + UTF-8)
 *               | device serial (varint length + UTF-8) | sequence u64 big-endian | file hash (32)
 * body: nonce(12) ‖ AES-256-GCM(empty) tag(16)
 * ```
 * The header has one encoder and decoder, at device level because the HSM reads it
 * (`device/acknowledgement.ts`). Lengths are unsigned LEB128 varints (`device/binaryCodec.ts`): an
 * identifier under 128 bytes has a one-byte length, so such files are the same bytes as those of the
 * first version of this module, which wrote a single length byte and refused longer identifiers.
 * @module
 */
import { readAckHeader } from '../../device/acknowledgement.ts';
import { Reader, mapCodecError } from '../../device/binaryCodec.ts';
import type { Acknowledgement } from '../../device/acknowledgement.ts';
import { UpdateFormatError } from './updateFile.ts';

export { ACK_FORMAT_VERSION, encodeAckHeader } from '../../device/acknowledgement.ts';
export type { Acknowledgement } from '../../device/acknowledgement.ts';

/** Length of the seal after the header: nonce (12) and GCM tag (16) over an empty plaintext. */
export const ACK_SEAL_BYTES = 12 + 16;

/** Splits an acknowledgement file into what it states and its seal; `UpdateFormatError` if malformed. */
export function parseAck(file: Uint8Array): { ack: Acknowledgement; header: Uint8Array; seal: Uint8Array } {
  const fail = (why: string, truncated = false): never => {
    throw new UpdateFormatError(`not an acknowledgement: ${why}`, truncated);
  };
  return mapCodecError(
    () => {
      const r = new Reader(file);
      const ack = readAckHeader(r) ?? fail('bad magic or version');
      const header = file.slice(0, r.offset);
      if (r.remaining !== ACK_SEAL_BYTES)
        fail(`the seal is ${r.remaining} bytes, not ${ACK_SEAL_BYTES}`, r.remaining < ACK_SEAL_BYTES);
      return { ack, header, seal: r.rest() };
    },
    (error) => new UpdateFormatError(`not an acknowledgement: ${error.message}`, error.code === 'Truncated'),
  );
}
