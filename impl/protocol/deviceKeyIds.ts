/**
 * How SEkey's identifiers map to HSM key IDs (32-bit numbers, as the SEcube firmware's). The plan
 * follows the original's (`se3c1def.h`): 1001 the database key, KMS keys from 2000 up (`K2000` is
 * device key 2000), and a separate range for the per-user provisioning keys. Our HSM keeps the top
 * bits of its key-store IDs for the key's purpose, so the ranges end below 2^28.
 * @module
 */
import type { KeyId } from '../../model/kms.ts';
import { FIRST_KEY_NUMBER } from '../../model/kms.ts';

/** First device ID of the per-user provisioning keys; KMS keys stay below it. */
export const USER_KEYS_BASE = 0x0c00_0000;
/** Per-user provisioning keys take three IDs each. */
const USER_KEYS_STRIDE = 3;

/** The device key ID of KMS key `K<n>`. */
export function deviceKeyNumber(keyId: KeyId): number {
  const n = Number(keyId.slice(1));
  if (!/^K[1-9][0-9]*$/.test(keyId) || !isKmsDeviceKey(n)) throw new RangeError(`'${keyId}' is not a KMS key ID`);
  return n;
}

/** Whether a device key ID belongs to the KMS key range. */
export function isKmsDeviceKey(id: number): boolean {
  return Number.isSafeInteger(id) && id >= FIRST_KEY_NUMBER && id < USER_KEYS_BASE;
}

/** The device key IDs of the channel and wrapping keys of the user device provisioned `index`-th. */
export function userKeyIds(index: number): {
  adminToUserKeyId: number;
  userToAdminKeyId: number;
  wrappingKeyId: number;
} {
  const base = USER_KEYS_BASE + USER_KEYS_STRIDE * index;
  return { adminToUserKeyId: base, userToAdminKeyId: base + 1, wrappingKeyId: base + 2 };
}

/** Key IDs end below 2^28: the HSM keeps the top bits of its key-store IDs for the key's purpose. */
const DEVICE_KEY_ID_END = 0x1000_0000;

/**
 * The provisioning index (as {@link userKeyIds} takes it) of device key `id`, or null for a key
 * outside the provisioning range.
 */
export function userKeyIndex(id: number): number | null {
  if (!Number.isSafeInteger(id) || id < USER_KEYS_BASE || id >= DEVICE_KEY_ID_END) return null;
  return Math.floor((id - USER_KEYS_BASE) / USER_KEYS_STRIDE);
}
