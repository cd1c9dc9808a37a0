/**
 * DEVICE-INTERNAL. Key export and import by key ID, with AES Key Wrap (RFC 3394). Only data keys
 * leave, only at admin level, only wrapped under a `wrap` key; imports unwrap under an `unwrap` key
 * inside the device. The original wraps under any key, even one imported in clear (W4), and its
 * wrapping has no integrity check and binds the blob to nothing (W9); AES-KW's §2.2.3 check refuses
 * an altered blob, and what it wraps binds the key to its ID and to the update file that carries it.
 *
 * What is wrapped (all under the one integrity check):
 * ```
 * key          16, 24 or 32 bytes
 * u32 keyId    big-endian: the ID the key is to be stored under, 1..MAX_KEY_ID
 * u32 sequence big-endian: the update file that carries the blob, 1..2^32 - 1
 * ```
 *
 * Replay: the blob stays valid for as long as the pair's wrapping key, and the user's host sees it
 * (inside the update body its HSM opens, and anyone who reads the share may keep the file). A blob
 * bound to nothing could be imported again at any time after the key was erased by order (a member
 * removed from a group, a key destroyed) or on a deleted user's retired HSM: the key came back, and
 * with it what the group protected under it (found by a security review; NIST SP 800-57 Part 1
 * §8.3.4 asks that a destroyed key cannot be recovered). As delete orders do (`deleteOrder.ts`,
 * "Replay"), the device takes a blob only while its file is beyond the update it recorded as applied
 * (`updates.sequence`): the user's host carries out a file's imports before the device records it,
 * and records nothing while owed work is left (`impl/kms/userSync.ts`), so every genuine import is done
 * in time; once the file is recorded, its blobs are spent (`SpentKeyMaterial`). A key delivered again
 * (a member rejoining a group that shares its history) comes in a later file, wrapped anew.
 *
 * Blobs of files published before this layout wrap the key alone. The device refuses them: a 32-byte
 * key unwraps to the size of a 24-byte key and its binding (a 24-byte key to a 16-byte key's), whose
 * key ID then matches only by a chance of 2^-32 (`UnwrapFailed`); the administrator's resync sends
 * them bound. Taking the old blobs too, as delete orders take version 1, would keep the hole open.
 * There, the "binding" is 8 bytes of the key: a refusal never names the key ID or the sequence it
 * read, or the host that offers an old blob under any ID would read those bytes in the message.
 * @module
 */
import { Reader, Writer } from './binaryCodec.ts';
import { UPDATE_SEQUENCE_COUNTER } from './acknowledgement.ts';
import { DeviceError } from './deviceError.ts';
import { aesKeyUnwrap, aesKeyWrap } from './meteredCrypto.ts';
import type { DeviceCore } from './secubeCore.ts';
import { DATA_ONLY, checkKeyId, checkPut, putKey, usableKey, wipe, withKey } from './secubeKeyAccess.ts';
import type { KeyInfo } from './secubeKeys.ts';

/** Bytes the binding adds to the key inside the wrap: its key ID and its file's sequence. */
const BINDING_BYTES = 4 + 4;
/** The highest sequence a blob can name (a u32). */
export const MAX_WRAP_SEQUENCE = 0xffff_ffff;

/**
 * Admin only: data key `keyId` bound to its ID and to update file `sequence`, wrapped with AES-KW
 * (RFC 3394 §2.2.1) under `wrap` key `wrappingKeyId` (layout in the module comment): the blob only,
 * 16 bytes longer than the key.
 * @throws DeviceError `AccessDenied` outside an admin session; `WrongKeyPurpose` when
 *   `wrappingKeyId` is not a `wrap` key or `keyId` not a `data` key; `BadArgument` for a sequence
 *   outside 1..{@link MAX_WRAP_SEQUENCE}.
 */
export function exportWrapped(
  core: DeviceCore,
  keyId: number,
  wrappingKeyId: number,
  sequence: number,
): { blob: Uint8Array } {
  const { store } = core.requireSession(['admin']);
  if (!Number.isSafeInteger(sequence) || sequence < 1 || sequence > MAX_WRAP_SEQUENCE)
    throw new DeviceError('BadArgument', `a wrapped key names an update sequence in 1..${MAX_WRAP_SEQUENCE}`);
  usableKey(store, wrappingKeyId, ['wrap'], 'wrap keys for export');
  usableKey(store, keyId, DATA_ONLY, 'be exported');
  const blob = withKey(store, wrappingKeyId, 'wrap', (kek) =>
    withKey(store, keyId, 'data', (k) => {
      const bound = new Writer().bytes(k).u32be(keyId).u32be(sequence).finish();
      try {
        return aesKeyWrap(kek, bound, core.meter);
      } finally {
        wipe(bound);
      }
    }),
  );
  return { blob };
}

/**
 * Unwraps `blob` (RFC 3394 §2.2.2, integrity-checked per §2.2.3) under `unwrap` key
 * `unwrappingKeyId` and stores the key inside as data key `keyId`; the key is never returned. The
 * blob must name `keyId` and an update file beyond the one this device recorded as applied (module
 * comment, "Replay"). Only an admin may replace an existing key (W5).
 * @throws DeviceError `UnwrapFailed` (wrong key, altered blob, not a 16/24/32-byte key and its
 *   binding inside, bound to another key ID), `SpentKeyMaterial` (its file recorded as applied),
 *   `WrongKeyPurpose` when `unwrappingKeyId` is not an `unwrap` key.
 */
export function importWrapped(
  core: DeviceCore,
  keyId: number,
  blob: Uint8Array,
  unwrappingKeyId: number,
  replace: boolean,
): KeyInfo {
  const { state, store, level } = core.requireSession();
  checkKeyId(keyId);
  usableKey(store, unwrappingKeyId, ['unwrap'], 'import wrapped keys');
  checkPut(store, level, keyId, 'data', replace);
  const unwrapped = withKey(store, unwrappingKeyId, 'unwrap', (kek) => aesKeyUnwrap(kek, blob, core.meter));
  try {
    const keyLength = unwrapped.length - BINDING_BYTES;
    if (keyLength !== 16 && keyLength !== 24 && keyLength !== 32)
      throw new DeviceError('UnwrapFailed', 'the unwrapped key is not 16, 24 or 32 bytes and its binding');
    const key = unwrapped.subarray(0, keyLength);
    const binding = new Reader(unwrapped.subarray(keyLength));
    const boundKeyId = binding.u32be();
    const sequence = binding.u32be();
    // Neither refusal names what the binding holds: in a blob from before it, those are bytes of the key.
    if (boundKeyId !== keyId) throw new DeviceError('UnwrapFailed', `the wrapped key is not bound to key ${keyId}`);
    const applied = state.counters.get(UPDATE_SEQUENCE_COUNTER) ?? 0;
    if (sequence <= applied)
      throw new DeviceError(
        'SpentKeyMaterial',
        `the wrapped key came with an update this HSM recorded as applied (it is at update ${applied}): it was ` +
          'imported then, and cannot be imported again',
      );
    putKey(store, level, keyId, key, 'data', replace);
    return { id: keyId, purpose: 'data', bits: keyLength * 8 };
  } finally {
    wipe(unwrapped);
  }
}
