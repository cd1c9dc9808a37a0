/**
 * Delete orders: how the admin tells a user device to drop a key, so need-to-know holds on the device
 * itself (a member removed from a group, a key destroyed: NIST SP 800-57 Part 1 §8.3.4, key
 * destruction) although a user-level session may never delete keys (W5 of the original, where
 * DELETEKEY had no admin check at all).
 *
 * The admin device seals the order under the admin→user channel key — a `seal` key on the admin
 * device, an `open` key on the user device (see `keyPurpose.ts`):
 * ```ts
 * const order = admin.seal(a2uKeyId, encodeDeleteOrder(userSerial, keyId), DELETE_ORDER_AAD);
 * user.deleteKeyByOrder(keyId, order, a2uKeyId); // works in a user session
 * ```
 * AES-256-GCM (NIST SP 800-38D §7.1) authenticates the order; the fixed AAD keeps an order apart from
 * every other message sealed under the same channel key (update files carry their own AAD), and the
 * user's host cannot produce one because its device refuses to `seal` under an `open` key.
 *
 * Plaintext (version 1, fixed by the AAD label):
 * ```
 * u8  n            length of the serial in bytes, 1..255
 * n   serial       the recipient device's serial, UTF-8
 * u32 keyId        big-endian, 1..MAX_KEY_ID
 * ```
 *
 * Replay: an order carries no sequence number, so it stays valid for as long as its channel key.
 * Replayed after its key is gone, it does nothing (the device answers `false`). But a key can come
 * back under the same ID: a member removed from a group that shares its history and added again
 * gets its keys delivered again. Replaying the first removal's order then erases the re-delivered
 * key. Only the recipient's own host can do that: the order travels inside the sealed update body,
 * which only that device opens, and its host needs the user PIN to pass it on. What it gains is
 * the loss of its own user's key, which the administrator still records as held, so no file delivers it
 * again until a resync (`sekey admin resync`). A host that controls its HSM can withhold
 * orders anyway (skip an erase); a replay is the same kind of harm to itself, not a way into keys.
 *
 * Channel keys: the provisioning derivation (`provisioningKdf.ts`) binds the channel keys to the
 * two devices' serials and identity keys, not to the key IDs they are stored under. Provisioning the
 * same HSM again without a factory reset (which gives it a new identity) derives the same channel
 * key, whatever IDs it uses, and the orders of its earlier service are valid on it again: a replay
 * is then the case above, harm to its own user only. The administrator allows that only for an HSM
 * that holds no KMS key (channel keys alone are accepted: a provisioning run again after a power
 * cut; a retired HSM must hold none at all), `DeviceInUse` otherwise (`impl/kms/distribution.ts`).
 * @module
 */
import { Writer, decodeUtf8, mapCodecError, readAll, utf8 } from './binaryCodec.ts';
import { DeviceError } from './deviceError.ts';
import { MAX_KEY_ID } from './keyPurpose.ts';

/** The AAD label of delete orders (version 1 of the plaintext layout above). */
export const DELETE_ORDER_LABEL = 'SEKEY delete-order v1';

/**
 * The AAD (NIST SP 800-38D §5.2.1.1, additional authenticated data) under which delete orders are
 * sealed and opened: the UTF-8 bytes of {@link DELETE_ORDER_LABEL}. Do not mutate it; the device keeps
 * its own copy ({@link deleteOrderAad}), so mutating this one only breaks the caller's orders.
 */
export const DELETE_ORDER_AAD: Uint8Array = deleteOrderAad();

/** A fresh copy of {@link DELETE_ORDER_AAD}. */
export function deleteOrderAad(): Uint8Array {
  return utf8(DELETE_ORDER_LABEL);
}

/** What a delete order says: delete key `keyId` on the device with serial `serial`. */
export interface DeleteOrder {
  readonly serial: string;
  readonly keyId: number;
}

const MAX_SERIAL_BYTES = 255;

function checkOrder(serial: string, serialBytes: Uint8Array, keyId: number): void {
  if (serial.length === 0 || serialBytes.length > MAX_SERIAL_BYTES)
    throw new DeviceError('BadOrder', `a delete order names a serial of 1..${MAX_SERIAL_BYTES} UTF-8 bytes`);
  if (!Number.isSafeInteger(keyId) || keyId < 1 || keyId > MAX_KEY_ID)
    throw new DeviceError('BadOrder', `a delete order names a key ID in 1..${MAX_KEY_ID}, got ${String(keyId)}`);
}

/**
 * The plaintext of an order to delete key `keyId` on the device with serial `serial` (layout in the
 * module comment). Seal it with the admin→user channel key and {@link DELETE_ORDER_AAD}.
 * @throws DeviceError `BadOrder` for an empty or over-long serial or a key ID out of range.
 */
export function encodeDeleteOrder(serial: string, keyId: number): Uint8Array {
  const serialBytes = utf8(serial);
  checkOrder(serial, serialBytes, keyId);
  return new Writer().u8(serialBytes.length).bytes(serialBytes).u32be(keyId).finish();
}

/**
 * Parses an order plaintext strictly: exact length, well-formed UTF-8, key ID in range. The device
 * runs it only on plaintexts whose GCM tag verified.
 * @throws DeviceError `BadOrder` when `plaintext` is not exactly one well-formed order.
 */
export function decodeDeleteOrder(plaintext: Uint8Array): DeleteOrder {
  const { serial, serialBytes, keyId } = mapCodecError(
    () =>
      readAll(plaintext, (r) => {
        const bytes = r.bytes(r.u8());
        return { serialBytes: bytes, keyId: r.u32be(), serial: decodeUtf8(bytes, 1) };
      }),
    (error) =>
      new DeviceError(
        'BadOrder',
        error.code === 'InvalidUtf8' ? 'delete order serial is not UTF-8' : 'malformed delete order',
      ),
  );
  checkOrder(serial, serialBytes, keyId);
  return { serial, keyId };
}
