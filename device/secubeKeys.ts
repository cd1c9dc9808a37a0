/**
 * DEVICE-INTERNAL. The SEcube's key vault as the host reaches it: generate (TRNG) and delete keys,
 * carry out delete orders sealed by the admin device, list IDs and describe a key — never its bytes.
 * Deleted keys are zeroised in flash before the call returns (the key store's delete; the original
 * leaves them until the next sector swap, W7).
 * @module
 */
import { UPDATE_SEQUENCE_COUNTER } from './acknowledgement.ts';
import { utf8 } from './binaryCodec.ts';
import { decodeDeleteOrder, deleteOrderAad, deleteOrderVersion } from './deleteOrder.ts';
import { DeviceError } from './deviceError.ts';
import { decodeStoreId, encodeStoreId } from './keyPurpose.ts';
import type { KeyPurpose } from './keyPurpose.ts';
import { AES256_KEY_BYTES, GCM_NONCE_BYTES, GCM_TAG_BYTES } from './meteredCrypto.ts';
import type { DeviceCore } from './secubeCore.ts';
import { openSealed } from './secubeCrypto.ts';
import { checkKeyId, locateKey, putKey, requireKey, usableKey, wipe, withKey } from './secubeKeyAccess.ts';

/** Public facts about one stored key (never its bytes). */
export interface KeyInfo {
  readonly id: number;
  readonly purpose: KeyPurpose;
  readonly bits: number;
}

/** Options of a key generation. */
export interface GenerateKeyOptions {
  /**
   * `data` (default; exportable when wrapped) or `local` (seal/open only, never leaves the device).
   * The other purposes only make sense as one half of a pair agreed with a peer, so they come from
   * provisioning; a TRNG-fresh one would have no peer.
   */
  readonly purpose?: 'data' | 'local';
  /** Key length in bytes: 16, 24 or 32 (default 32, AES-256). */
  readonly length?: 16 | 24 | 32;
  /** Admin only: atomically replace an existing key with this ID. */
  readonly replace?: boolean;
}

/**
 * A `data` or `local` key of 16, 24 or 32 bytes from the TRNG, stored under `id`. User or admin
 * session (a user session cannot replace an existing key, W5).
 * @throws DeviceError `BadArgument`, `KeyExists`, `AccessDenied`, `StoreFull`.
 */
export function generateKey(core: DeviceCore, id: number, options: GenerateKeyOptions): KeyInfo {
  const { store, level } = core.requireSession();
  checkKeyId(id);
  const length = options.length ?? AES256_KEY_BYTES;
  if (length !== 16 && length !== 24 && length !== 32)
    throw new DeviceError('BadArgument', 'key length must be 16, 24 or 32 bytes');
  const purpose: KeyPurpose = options.purpose ?? 'data';
  if (purpose !== 'data' && purpose !== 'local') {
    throw new DeviceError(
      'BadArgument',
      `only data and local keys are generated; ${String(purpose)} keys come from provisioning`,
    );
  }
  const key = core.trng.randomBytes(length);
  try {
    putKey(store, level, id, key, purpose, options.replace === true);
  } finally {
    wipe(key);
  }
  return { id, purpose, bits: length * 8 };
}

/** Admin only: deletes key `id`, zeroised in flash before this returns; false when there is none. */
export function deleteKey(core: DeviceCore, id: number): boolean {
  const { store } = core.requireSession(['admin']);
  const purpose = locateKey(store, id);
  if (purpose === undefined) return false;
  return store.delete(encodeStoreId(id, purpose));
}

/**
 * Carries out a delete order of the admin device (need-to-know after a member leaves or a key is
 * destroyed, NIST SP 800-57 Part 1 §8.3.4) in a user or admin session, without reopening W5: the
 * order is opened with `open` key `channelKeyId` under the fixed AAD of `deleteOrder.ts`'s version
 * (AES-256-GCM, NIST SP 800-38D §7.2), must name this device's serial and `keyId` and, from version 2,
 * an update file this device has not recorded as applied yet; then the key is zeroised at once.
 * Only an `open` key will do, so the host cannot forge an order.
 * @returns false when there is no such key (erased already, or never delivered).
 * @throws DeviceError `UnknownKey` / `WrongKeyPurpose`, `AuthFailed`, `BadOrder`, `SpentOrder` (an order
 *   whose update file is recorded as applied, for a key that is there); nothing is deleted then.
 */
export function deleteKeyByOrder(core: DeviceCore, keyId: number, order: Uint8Array, channelKeyId: number): boolean {
  const { state, store } = core.requireSession();
  checkKeyId(keyId);
  usableKey(store, channelKeyId, ['open'], 'authenticate a delete order');
  const version = deleteOrderVersion(order.length, utf8(state.serial).length, GCM_NONCE_BYTES + GCM_TAG_BYTES);
  const plaintext = openSealed(core, store, channelKeyId, 'open', order, deleteOrderAad(version));
  const decoded = decodeDeleteOrder(plaintext, version);
  if (decoded.serial !== state.serial) throw new DeviceError('BadOrder', 'the delete order is for another device');
  if (decoded.keyId !== keyId)
    throw new DeviceError('BadOrder', `the delete order names key ${decoded.keyId}, not key ${keyId}`);
  const purpose = locateKey(store, keyId);
  if (purpose === undefined) return false;
  // Spent once its update file is recorded as applied: a replay cannot reach a key delivered again
  // by a later file (`deleteOrder.ts`, "Replay"). A key that is gone anyway is no replay's to spare.
  const applied = state.counters.get(UPDATE_SEQUENCE_COUNTER) ?? 0;
  if (decoded.sequence !== null && decoded.sequence <= applied) {
    throw new DeviceError(
      'SpentOrder',
      `the delete order came with update ${decoded.sequence}, which this HSM recorded as applied (it is at ` +
        `update ${applied}): it was carried out then, and the key is back since`,
    );
  }
  return store.delete(encodeStoreId(keyId, purpose));
}

/** IDs of every stored key, ascending (store IDs of unassigned purpose codes are skipped). */
export function listKeyIds(core: DeviceCore): number[] {
  const { store } = core.requireSession();
  return store
    .ids()
    .flatMap((sid) => {
      const decoded = decodeStoreId(sid);
      return decoded === undefined ? [] : [decoded.id];
    })
    .sort((a, b) => a - b);
}

/** Purpose and size of key `id` (`keyPurpose.ts` says what each purpose allows). @throws DeviceError `UnknownKey`. */
export function keyInfo(core: DeviceCore, id: number): KeyInfo {
  const { store } = core.requireSession();
  const purpose = requireKey(store, id);
  const bits = withKey(store, id, purpose, (k) => k.length * 8);
  return { id, purpose, bits };
}
