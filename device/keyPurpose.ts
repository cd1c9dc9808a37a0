/**
 * Key purposes of the SEcube simulator and how a purpose is recorded in the key store's u32 ID.
 *
 * NIST SP 800-57 Part 1 Rev. 5 §5.2 ("Key usage"): a key is used for one purpose only. The original
 * SEkey stores every key alike, so any key wraps, unwraps, encrypts or decrypts (W4, W9), and the one
 * channel key k1 lets the user's host forge "admin" update files to its own device (W1). Here each
 * stored key carries one purpose and every device method checks it:
 *
 * | purpose  | may be used by                        | exportable |
 * |----------|---------------------------------------|------------|
 * | `data`   | encrypt, decrypt, seal, open          | yes (wrapped, admin level) |
 * | `wrap`   | exportWrapped (as the KEK)            | no         |
 * | `unwrap` | importWrapped (as the KEK)            | no         |
 * | `seal`   | seal, issuePinResetOrder (messages this device sends) | no |
 * | `open`   | open, openUpdate, deleteKeyByOrder, acceptPinResetOrder (messages from the peer) | no |
 * | `local`  | seal, open (the device's own storage: the database key) | no |
 * | `ack`    | acknowledge only (acknowledgements this user device sends) | no |
 *
 * Direction separation: a provisioned pair holds the admin→user key as `seal` on the admin device and
 * as `open` on the user device (and the user→admin key as `ack` on the user device and `open` on the
 * admin's), so neither host can produce a message in the other direction, and the user device can
 * import wrapped keys but never wrap one.
 *
 * Why `ack` is a purpose of its own: the user→admin key says "this user's HSM applied update N" to
 * the admin. As a `seal` key, the user's host could have the HSM seal any header under it, so the
 * admin would count an update as applied (an erase order, say) that never was. An `ack` key is used
 * by `acknowledge` alone, which parses the header itself and seals only a sequence at or below the
 * device's applied-update counter (`acknowledgement.ts`); the generic `seal` refuses it.
 *
 * Encoding (one key-store record per key, so a key and its purpose are committed by the same flash
 * program and a power cut can never separate them): store ID = code << 29 | key ID, with the 3-bit
 * code below in the top bits of the u32. Key IDs therefore range over 1..2^29−1 ({@link MAX_KEY_ID}).
 * `data` is code 0 and `wrap` code 4 (top bit set), so records written by the earlier one-bit encoding
 * (data: ID, wrap: ID + 2^31) read back unchanged. Code 7 is unassigned and never written.
 * @module
 */

/** Every key purpose (NIST SP 800-57 Part 1 §5.2: one key, one use). */
export const KEY_PURPOSES = ['data', 'wrap', 'unwrap', 'seal', 'open', 'local', 'ack'] as const;

/** What a stored key may be used for; see the module table. */
export type KeyPurpose = (typeof KEY_PURPOSES)[number];

/** Bits of the key-store ID below the purpose code. */
const ID_BITS = 29;

/**
 * Largest key ID a caller may use: 2^29 − 1 (536,870,911). The top 3 bits of the key store's u32 ID
 * record the purpose.
 */
export const MAX_KEY_ID = 2 ** ID_BITS - 1;

/** 3-bit purpose codes; `data` = 0 and `wrap` = 4 keep the earlier one-bit encoding readable. */
const CODE_OF: Readonly<Record<KeyPurpose, number>> = Object.freeze({
  data: 0,
  seal: 1,
  open: 2,
  unwrap: 3,
  wrap: 4,
  local: 5,
  ack: 6,
});
const PURPOSE_OF_CODE: ReadonlyMap<number, KeyPurpose> = new Map(KEY_PURPOSES.map((p) => [CODE_OF[p], p]));

/**
 * The key store's u32 ID of key `id` with `purpose`. The caller has range-checked `id`
 * (1..{@link MAX_KEY_ID}); multiplication keeps it out of signed 32-bit arithmetic.
 */
export function encodeStoreId(id: number, purpose: KeyPurpose): number {
  return CODE_OF[purpose] * 2 ** ID_BITS + id;
}

/** Key ID and purpose of a key-store ID, or undefined for an unassigned purpose code. */
export function decodeStoreId(storeId: number): { readonly id: number; readonly purpose: KeyPurpose } | undefined {
  const purpose = PURPOSE_OF_CODE.get(Math.floor(storeId / 2 ** ID_BITS));
  return purpose === undefined ? undefined : { id: storeId % 2 ** ID_BITS, purpose };
}

/**
 * Purposes of the three provisioned keys on each side of an admin/user pair (see `provisioning.ts`):
 * the admin→user channel key seals on the admin device and opens on the user device; the user→admin
 * one seals acknowledgements only (`ack`) on the user device and opens on the admin device; the
 * AES-KW key (RFC 3394) wraps on the admin device and unwraps on the user's.
 */
export const PROVISIONED_PURPOSES: Readonly<
  Record<'admin' | 'user', Readonly<Record<'adminToUser' | 'userToAdmin' | 'wrapping', KeyPurpose>>>
> = Object.freeze({
  admin: Object.freeze({ adminToUser: 'seal', userToAdmin: 'open', wrapping: 'wrap' }),
  user: Object.freeze({ adminToUser: 'open', userToAdmin: 'ack', wrapping: 'unwrap' }),
});
