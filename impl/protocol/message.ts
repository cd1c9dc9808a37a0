/**
 * The SEkey message format: what `User.encrypt` produces and `User.decrypt` reads.
 *
 * | bytes | field |
 * |---|---|
 * | 4 | magic `SKM1` (format version 1), or `SKM2` for a message rescued from a compromised key |
 * | 4 | key number, big-endian (`K2001` → 2001) |
 * | 4 | `SKM2` only: the number of the compromised key it was re-protected from |
 * | 12 | AES-GCM nonce, drawn by the HSM |
 * | n + 16 | ciphertext and tag |
 *
 * The magic and key numbers are the AES-GCM additional data (NIST SP 800-38D §5.2.1.1), so a message
 * cannot be relabelled to another key or version without failing authentication.
 *
 * **Why `SKM2`.** A compromised key authenticates nothing: whoever learnt it can write a message
 * under it (NIST SP 800-57 Pt 1 §5.5.1). Re-protecting such a message (`User.reprotect`, the rescue
 * of data under a compromised key) puts it under a fresh key that outsiders do not have, which would
 * make whatever they wrote look like any member's message. So the result says where it came from:
 * the compromised key, authenticated under the fresh one, so that no one without that key can
 * remove the mark, and `sekey user decrypt` warns of it. The mark stays through later re-protections,
 * except from a key compromised in turn: that key's is the mark then (whoever learnt it could have
 * written the input's mark too).
 * @module
 */
import { Reader, Writer, bytesEqual, mapCodecError } from '../../device/binaryCodec.ts';
import type { KeyId } from '../../model/kms.ts';
import { deviceKeyNumber } from './deviceKeyIds.ts';
import { SekeyError } from './sekeyError.ts';

const MAGIC = Uint8Array.of(0x53, 0x4b, 0x4d, 0x31); // "SKM1"
const MAGIC_RESCUED = Uint8Array.of(0x53, 0x4b, 0x4d, 0x32); // "SKM2"
/** AES-GCM nonce length (NIST SP 800-38D §8.2: 96 bits). */
const NONCE = 12;
/** AES-GCM tag length (NIST SP 800-38D §5.2.1.2: 128 bits). */
const TAG = 16;

/**
 * The additional authenticated data of a message under `keyId`: its header. `rescuedFrom`: the
 * compromised key the message was re-protected from (an `SKM2` message), or null.
 */
export function messageAad(keyId: KeyId, rescuedFrom: KeyId | null = null): Uint8Array {
  const w = new Writer().bytes(rescuedFrom === null ? MAGIC : MAGIC_RESCUED).u32be(deviceKeyNumber(keyId));
  return (rescuedFrom === null ? w : w.u32be(deviceKeyNumber(rescuedFrom))).finish();
}

/** Assembles a message; `rescuedFrom` as in {@link messageAad}. */
export function encodeMessage(
  keyId: KeyId,
  nonce: Uint8Array,
  ciphertext: Uint8Array,
  rescuedFrom: KeyId | null = null,
): Uint8Array {
  if (nonce.length !== NONCE) throw new RangeError(`a message nonce is ${NONCE} bytes`);
  if (ciphertext.length < TAG) throw new RangeError(`a message ciphertext ends with a ${TAG}-byte tag`);
  return new Writer().bytes(messageAad(keyId, rescuedFrom)).bytes(nonce).bytes(ciphertext).finish();
}

/** A message's parts: its key, the compromised key it was rescued from (or null), nonce, ciphertext. */
export interface DecodedMessage {
  readonly keyId: KeyId;
  readonly rescuedFrom: KeyId | null;
  readonly nonce: Uint8Array;
  readonly ciphertext: Uint8Array;
}

/**
 * Splits a message; throws `MalformedMessage` if it cannot be one. Nothing in it is authentic until
 * the HSM has decrypted it under {@link messageAad} of these parts.
 */
export function decodeMessage(message: Uint8Array): DecodedMessage {
  const magic = message.subarray(0, MAGIC.length);
  const rescued = bytesEqual(magic, MAGIC_RESCUED);
  // A file that starts as a message but is shorter than the least one is a message cut short (a copy
  // or a transfer that stopped): said so, rather than "not a message", which sends the reader astray.
  const least = MAGIC.length + (rescued ? 8 : 4) + NONCE + TAG;
  const cut = message.length < least && (rescued || bytesEqual(magic, MAGIC));
  const malformedError = (): SekeyError =>
    new SekeyError(
      'MalformedMessage',
      cut ? `an SEkey message cut short: ${message.length} bytes, at least ${least}` : 'not an SEkey message',
    );
  const malformed = (): never => {
    throw malformedError();
  };
  return mapCodecError(() => {
    const r = new Reader(message);
    const version = r.bytes(MAGIC.length);
    if (!rescued && !bytesEqual(version, MAGIC)) malformed();
    const number = r.u32be();
    const from = rescued ? r.u32be() : null;
    const nonce = r.bytes(NONCE);
    if (r.remaining < TAG) malformed();
    return { keyId: `K${number}`, rescuedFrom: from === null ? null : `K${from}`, nonce, ciphertext: r.rest() };
  }, malformedError);
}
