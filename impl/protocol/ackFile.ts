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
 *               | device serial (varint length + UTF-8) | sequence u64 | file hash (32)
 * body: nonce(12) ‖ AES-256-GCM(empty) tag(16)
 * ```
 * @module
 */
import { UpdateFormatError } from './updateFile.ts';

const MAGIC = [0x53, 0x4b, 0x41, 0x4b]; // "SKAK"

/** What an acknowledgement states. */
export interface Acknowledgement {
  readonly userId: string;
  readonly serial: string;
  readonly sequence: number;
  readonly fileHash: Uint8Array;
}

function str(s: string): number[] {
  const b = [...new TextEncoder().encode(s)];
  if (b.length > 127) throw new RangeError('identifier too long');
  return [b.length, ...b];
}

/** The header bytes of an acknowledgement (its AAD). */
export function encodeAckHeader(a: Acknowledgement): Uint8Array {
  const seq = new Uint8Array(8);
  new DataView(seq.buffer).setBigUint64(0, BigInt(a.sequence));
  return Uint8Array.from([...MAGIC, 1, ...str(a.userId), ...str(a.serial), ...seq, ...a.fileHash]);
}

/** Splits an acknowledgement file into what it states and its seal; `UpdateFormatError` if malformed. */
export function parseAck(file: Uint8Array): { ack: Acknowledgement; header: Uint8Array; seal: Uint8Array } {
  const fail = (why: string): never => {
    throw new UpdateFormatError(`not an acknowledgement: ${why}`, false);
  };
  if (file.length < 6 || !MAGIC.every((b, i) => file[i] === b) || file[4] !== 1) fail('bad magic or version');
  let at = 5;
  const text = (): string => {
    const n = file[at] ?? fail('truncated');
    const s = new TextDecoder().decode(file.slice(at + 1, at + 1 + n));
    at += 1 + n;
    return s;
  };
  const userId = text();
  const serial = text();
  if (file.length !== at + 8 + 32 + 28) fail('wrong length');
  const sequence = Number(new DataView(file.buffer, file.byteOffset + at, 8).getBigUint64(0));
  const fileHash = file.slice(at + 8, at + 40);
  return { ack: { userId, serial, sequence, fileHash }, header: file.slice(0, at + 40), seal: file.slice(at + 40) };
}
