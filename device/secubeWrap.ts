/**
 * DEVICE-INTERNAL. Key export and import by key ID, with AES Key Wrap (RFC 3394). Only data keys
 * leave, only at admin level, only wrapped under a `wrap` key; imports unwrap under an `unwrap` key
 * inside the device. The original wraps under any key, even one imported in clear (W4), and its
 * wrapping has no integrity check (W9); AES-KW's §2.2.3 check refuses an altered blob.
 * @module
 */
import { DeviceError } from './deviceError.ts';
import { aesKeyUnwrap, aesKeyWrap } from './meteredCrypto.ts';
import type { DeviceCore } from './secubeCore.ts';
import { DATA_ONLY, checkKeyId, checkPut, putKey, usableKey, wipe, withKey } from './secubeKeyAccess.ts';
import type { KeyInfo } from './secubeKeys.ts';

/**
 * Admin only: data key `keyId` wrapped with AES-KW (RFC 3394 §2.2.1) under `wrap` key
 * `wrappingKeyId`: the blob only, 8 bytes longer than the key.
 * @throws DeviceError `AccessDenied` outside an admin session; `WrongKeyPurpose` when
 *   `wrappingKeyId` is not a `wrap` key or `keyId` not a `data` key.
 */
export function exportWrapped(core: DeviceCore, keyId: number, wrappingKeyId: number): { blob: Uint8Array } {
  const { store } = core.requireSession(['admin']);
  usableKey(store, wrappingKeyId, ['wrap'], 'wrap keys for export');
  usableKey(store, keyId, DATA_ONLY, 'be exported');
  const blob = withKey(store, wrappingKeyId, 'wrap', (kek) =>
    withKey(store, keyId, 'data', (k) => aesKeyWrap(kek, k, core.meter)),
  );
  return { blob };
}

/**
 * Unwraps `blob` (RFC 3394 §2.2.2, integrity-checked per §2.2.3) under `unwrap` key
 * `unwrappingKeyId` and stores the result as data key `keyId`; the key is never returned. Only an
 * admin may replace an existing key (W5). AES-KW has no associated data, so the blob is not bound to
 * `keyId` (W9): the sealed update file that carries it authenticates the pair.
 * @throws DeviceError `UnwrapFailed` (wrong key, altered blob, not 16/24/32 bytes inside),
 *   `WrongKeyPurpose` when `unwrappingKeyId` is not an `unwrap` key.
 */
export function importWrapped(
  core: DeviceCore,
  keyId: number,
  blob: Uint8Array,
  unwrappingKeyId: number,
  replace: boolean,
): KeyInfo {
  const { store, level } = core.requireSession();
  checkKeyId(keyId);
  usableKey(store, unwrappingKeyId, ['unwrap'], 'import wrapped keys');
  checkPut(store, level, keyId, 'data', replace);
  const key = withKey(store, unwrappingKeyId, 'unwrap', (kek) => aesKeyUnwrap(kek, blob, core.meter));
  try {
    if (key.length !== 16 && key.length !== 24 && key.length !== 32)
      throw new DeviceError('UnwrapFailed', 'unwrapped key is not 16, 24 or 32 bytes');
    putKey(store, level, keyId, key, 'data', replace);
    return { id: keyId, purpose: 'data', bits: key.length * 8 };
  } finally {
    wipe(key);
  }
}
