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
import type { KeyId } from '../../model/kms.ts';
import { deviceKeyNumber } from './deviceKeyIds.ts';
import { SekeyError } from './sekeyError.ts';

const MAGIC = [0x53, 0x4b, 0x4d, 0x31]; // "SKM1"
const HEADER = 8;
const NONCE = 12;
const TAG = 16;

/** The additional authenticated data of a message under `keyId`: its header. */
export function messageAad(keyId: KeyId): Uint8Array {
  const aad = new Uint8Array(HEADER);
  aad.set(MAGIC);
  new DataView(aad.buffer).setUint32(4, deviceKeyNumber(keyId));
  return aad;
}

/** Assembles a message. */
export function encodeMessage(keyId: KeyId, nonce: Uint8Array, ciphertext: Uint8Array): Uint8Array {
  const out = new Uint8Array(HEADER + NONCE + ciphertext.length);
  out.set(messageAad(keyId));
  out.set(nonce, HEADER);
  out.set(ciphertext, HEADER + NONCE);
  return out;
}

/** Splits a message; throws `MalformedMessage` if it cannot be one. */
export function decodeMessage(message: Uint8Array): { keyId: KeyId; nonce: Uint8Array; ciphertext: Uint8Array } {
  if (message.length < HEADER + NONCE + TAG || !MAGIC.every((b, i) => message[i] === b)) {
    throw new SekeyError('MalformedMessage', 'not an SEkey v1 message');
  }
  const number = new DataView(message.buffer, message.byteOffset, message.byteLength).getUint32(4);
  return {
    keyId: `K${number}`,
    nonce: message.slice(HEADER, HEADER + NONCE),
    ciphertext: message.slice(HEADER + NONCE),
  };
}
