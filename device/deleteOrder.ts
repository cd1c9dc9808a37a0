/**
 * Delete orders: how the admin tells a user device to drop a key, so need-to-know holds on the device
 * itself (a member removed from a group, a key destroyed: NIST SP 800-57 Part 1 §8.3.4, key
 * destruction) although a user-level session may never delete keys (W5 of the original, where
 * DELETEKEY had no admin check at all).
 *
 * The admin device seals the order under the admin→user channel key — a `seal` key on the admin
 * device, an `open` key on the user device (see `keyPurpose.ts`):
 * ```ts
 * const order = admin.seal(a2uKeyId, encodeDeleteOrder(userSerial, keyId, fileSequence), DELETE_ORDER_AAD);
 * user.deleteKeyByOrder(keyId, order, a2uKeyId); // works in a user session
 * ```
 * AES-256-GCM (NIST SP 800-38D §7.1) authenticates the order; the fixed AAD keeps an order apart from
 * every other message sealed under the same channel key (update files carry their own AAD), and the
 * user's host cannot produce one because its device refuses to `seal` under an `open` key.
 *
 * Plaintext (version 2, fixed by the AAD label `SEKEY delete-order v2`):
 * ```
 * u8  n            length of the serial in bytes, 1..255
 * n   serial       the recipient device's serial, UTF-8
 * u32 keyId        big-endian, 1..MAX_KEY_ID
 * u64 sequence     big-endian, 1..2^53 - 1: the update file that carries the order
 * ```
 *
 * Replay: an order stays authentic for as long as its channel key, and only the recipient's own
 * host can hand one to the device (it travels inside the sealed update body, which only that device
 * opens, and its host needs the user PIN). A key can come back under the same ID: a member removed
 * from a group that shares its history and added again gets its keys delivered again. Version 1
 * orders named the key alone, so the host could replay the first removal's order and erase the
 * re-delivered key. Version 2 names the update file it travels in, and the device takes an order
 * only while that file is beyond the update the device recorded as applied (`recordUpdateApplied`,
 * its counter `updates.sequence` in flash): the user's host carries out a file's erase
 * orders before the device records the file, and it records nothing while any owed work is left
 * (`impl/kms/userSync.ts`), so every genuine order is carried out in time, and once its file is recorded
 * the order is spent. A key delivered again comes in a later file, so no order sent before reaches it.
 * What is left: until its file is recorded, the order may be carried out again (a host that holds
 * back the record could apply a later file delivering the key again and then replay the order: its
 * own user's loss, as before); and the host may carry out an order of a file the share holds before
 * applying that file, which erases only what the administrator ordered erased. A spent order is
 * refused `SpentOrder`, and only for a key that is there (one that is gone is `false`, as ever).
 *
 * Version 1 (`SEKEY delete-order v1`: the same layout without the sequence) is still taken, as
 * administrators before version 2 issued it: files already on the share must keep working. Such an
 * order can still be replayed, as before; the administrator issues none any more. The device tells
 * the versions apart by the sealed order's length, which its own serial fixes for each.
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

/** The versions of the delete-order layout the device takes (the module comment says how they differ). */
export type DeleteOrderVersion = 1 | 2;

/** The AAD label of delete orders (version 2 of the plaintext layout above), which admins issue. */
export const DELETE_ORDER_LABEL = 'SEKEY delete-order v2';
/** The AAD label of version 1 (no update sequence), which devices still take. */
export const DELETE_ORDER_V1_LABEL = 'SEKEY delete-order v1';

/**
 * The AAD (NIST SP 800-38D §5.2.1.1, additional authenticated data) under which delete orders are
 * sealed and opened: the UTF-8 bytes of {@link DELETE_ORDER_LABEL}. Do not mutate it; the device keeps
 * its own copy ({@link deleteOrderAad}), so mutating this one only breaks the caller's orders.
 */
export const DELETE_ORDER_AAD: Uint8Array = deleteOrderAad();

/** A fresh copy of the AAD of delete orders of `version` (default: the current one). */
export function deleteOrderAad(version: DeleteOrderVersion = 2): Uint8Array {
  return utf8(version === 2 ? DELETE_ORDER_LABEL : DELETE_ORDER_V1_LABEL);
}

/** What a delete order says: delete key `keyId` on the device with serial `serial`. */
export interface DeleteOrder {
  readonly serial: string;
  readonly keyId: number;
  /** The update file that carries it (version 2); null for a version 1 order, which names none. */
  readonly sequence: number | null;
}

const MAX_SERIAL_BYTES = 255;
/** The bytes of a version 1 plaintext besides the serial: its length byte and the key ID. */
const V1_FIXED_BYTES = 1 + 4;

function checkOrder(serial: string, serialBytes: Uint8Array, keyId: number, sequence: number | null): void {
  if (serial.length === 0 || serialBytes.length > MAX_SERIAL_BYTES)
    throw new DeviceError('BadOrder', `a delete order names a serial of 1..${MAX_SERIAL_BYTES} UTF-8 bytes`);
  if (!Number.isSafeInteger(keyId) || keyId < 1 || keyId > MAX_KEY_ID)
    throw new DeviceError('BadOrder', `a delete order names a key ID in 1..${MAX_KEY_ID}, got ${String(keyId)}`);
  if (sequence !== null && (!Number.isSafeInteger(sequence) || sequence < 1))
    throw new DeviceError('BadOrder', `a delete order names an update sequence ≥ 1, got ${String(sequence)}`);
}

/**
 * The plaintext of an order to delete key `keyId` on the device with serial `serial`, carried by
 * its update file `sequence` (version 2, layout in the module comment). Seal it with the
 * admin→user channel key and {@link DELETE_ORDER_AAD}.
 * @throws DeviceError `BadOrder` for an empty or over-long serial, a key ID out of range, or a
 *   sequence that is not a safe integer ≥ 1.
 */
export function encodeDeleteOrder(serial: string, keyId: number, sequence: number): Uint8Array {
  const serialBytes = utf8(serial);
  checkOrder(serial, serialBytes, keyId, sequence);
  return new Writer().u8(serialBytes.length).bytes(serialBytes).u32be(keyId).u64be(sequence).finish();
}

/**
 * The plaintext of a version 1 order (no sequence), sealed under {@link deleteOrderAad}(1): what
 * administrators before version 2 sent, which devices still take. No administrator issues one now;
 * it is here so that the device's handling of such orders can be shown.
 * @throws DeviceError `BadOrder` as {@link encodeDeleteOrder}.
 */
export function encodeDeleteOrderV1(serial: string, keyId: number): Uint8Array {
  const serialBytes = utf8(serial);
  checkOrder(serial, serialBytes, keyId, null);
  return new Writer().u8(serialBytes.length).bytes(serialBytes).u32be(keyId).finish();
}

/**
 * The version of a sealed order addressed to a device whose serial is `serialBytes` long, by its
 * length: `sealOverhead` (nonce and tag) more than a version's plaintext. An order of neither length
 * is taken for version 2, whose opening or parsing then refuses it.
 */
export function deleteOrderVersion(
  sealedLength: number,
  serialBytes: number,
  sealOverhead: number,
): DeleteOrderVersion {
  return sealedLength === sealOverhead + V1_FIXED_BYTES + serialBytes ? 1 : 2;
}

/**
 * Parses an order plaintext of `version` strictly: exact length, well-formed UTF-8, key ID and
 * sequence in range. The device runs it only on plaintexts whose GCM tag verified under that
 * version's AAD.
 * @throws DeviceError `BadOrder` when `plaintext` is not exactly one well-formed order.
 */
export function decodeDeleteOrder(plaintext: Uint8Array, version: DeleteOrderVersion = 2): DeleteOrder {
  const { serial, serialBytes, keyId, sequence } = mapCodecError(
    () =>
      readAll(plaintext, (r) => {
        const bytes = r.bytes(r.u8());
        const id = r.u32be();
        return {
          serialBytes: bytes,
          keyId: id,
          sequence: version === 2 ? r.u64be() : null,
          serial: decodeUtf8(bytes, 1),
        };
      }),
    (error) =>
      new DeviceError(
        'BadOrder',
        error.code === 'InvalidUtf8' ? 'delete order serial is not UTF-8' : 'malformed delete order',
      ),
  );
  checkOrder(serial, serialBytes, keyId, sequence);
  return { serial, keyId, sequence };
}
