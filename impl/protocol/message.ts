/**
 * The SEkey message format: what `User.encrypt` produces and `User.decrypt` reads.
 *
 * | bytes | field |
 * |---|---|
 * | 4 | magic `SKM1` (format version 1) |
 * | 4 | key number, big-endian (`K2001` → 2001) |
 * | 12 | AES-GCM nonce, drawn by the HSM |
 * | n + 16 | ciphertext and tag |
 *
 * The magic and key number are the AES-GCM additional data (NIST SP 800-38D §5.2.1.1), so a message
 * cannot be relabelled to another key or version without failing authentication.
 * @module
 */
import { Reader, Writer, bytesEqual, mapCodecError } from '../../device/binaryCodec.ts';
import type { KeyId } from '../../model/kms.ts';
import { deviceKeyNumber } from './deviceKeyIds.ts';
import { SekeyError } from './sekeyError.ts';

const MAGIC = Uint8Array.of(0x53, 0x4b, 0x4d, 0x31); // "SKM1"
/** AES-GCM nonce length (NIST SP 800-38D §8.2: 96 bits). */
const NONCE = 12;
/** AES-GCM tag length (NIST SP 800-38D §5.2.1.2: 128 bits). */
const TAG = 16;

/** The additional authenticated data of a message under `keyId`: its header. */
export function messageAad(keyId: KeyId): Uint8Array {
  return new Writer().bytes(MAGIC).u32be(deviceKeyNumber(keyId)).finish();
}

/** Assembles a message. */
export function encodeMessage(keyId: KeyId, nonce: Uint8Array, ciphertext: Uint8Array): Uint8Array {
  if (nonce.length !== NONCE) throw new RangeError(`a message nonce is ${NONCE} bytes`);
  if (ciphertext.length < TAG) throw new RangeError(`a message ciphertext ends with a ${TAG}-byte tag`);
  return new Writer().bytes(messageAad(keyId)).bytes(nonce).bytes(ciphertext).finish();
}

/** Splits a message; throws `MalformedMessage` if it cannot be one. */
export function decodeMessage(message: Uint8Array): { keyId: KeyId; nonce: Uint8Array; ciphertext: Uint8Array } {
  // A file that starts as a message but is shorter than the least one is a message cut short (a copy
  // or a transfer that stopped): said so, rather than "not a message", which sends the reader astray.
  const least = MAGIC.length + 4 + NONCE + TAG;
  const cut = message.length < least && bytesEqual(message.subarray(0, MAGIC.length), MAGIC);
  const malformedError = (): SekeyError =>
    new SekeyError(
      'MalformedMessage',
      cut ? `an SEkey v1 message cut short: ${message.length} bytes, at least ${least}` : 'not an SEkey v1 message',
    );
  const malformed = (): never => {
    throw malformedError();
  };
  return mapCodecError(() => {
    const r = new Reader(message);
    if (!bytesEqual(r.bytes(MAGIC.length), MAGIC)) malformed();
    const number = r.u32be();
    const nonce = r.bytes(NONCE);
    if (r.remaining < TAG) malformed();
    return { keyId: `K${number}`, nonce, ciphertext: r.rest() };
  }, malformedError);
}
