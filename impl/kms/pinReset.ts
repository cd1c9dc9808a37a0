/**
 * Resetting a user's PIN through the admin HSM, as the original's admin intended to manage user
 * PINs — but without the original's means, every user device's PINs in clear in the admin database
 * (W8): the admin HSM issues a PIN reset order (`device/pinResetOrder.ts`) that carries the new user
 * PIN sealed to that one user HSM, which takes it while logged out, even with its user level locked.
 * So a locked or forgotten user PIN costs neither a new HSM nor the user device's own admin PIN.
 * @module
 */
import type { UserId } from '../../model/kms.ts';
import { SekeyError } from '../protocol/sekeyError.ts';
import type { Admin } from './admin.ts';
import { userDeviceOf } from './distribution.ts';
import { requireUser } from './rules/require.ts';

/** A sealed PIN reset order and where it goes: the user's HSM opens it under `channelKeyId`. */
export interface PinResetDelivery {
  readonly userId: UserId;
  /** The serial of the user's HSM, which the order names. */
  readonly serial: string;
  /** The admin→user channel key ID of that HSM's pair (`open` on the user's HSM). */
  readonly channelKeyId: number;
  /** nonce ‖ ciphertext ‖ tag: nothing in it is readable but by that HSM. */
  readonly order: Uint8Array;
}

/**
 * Has the admin HSM issue an order giving `userId`'s HSM the user PIN `newPin`, in an audited
 * transaction (the audit names the user and the device, never the PIN).
 * @throws SekeyError `NotProvisioned` (no device, or a retired one: a deleted user's), KmsError
 *   `UnknownUser`; DeviceError `BadArgument` for a PIN out of range.
 */
export function issuePinReset(admin: Admin, userId: UserId, newPin: string): PinResetDelivery {
  return admin.transaction('resetUserPin', { userId }, (db) => {
    requireUser(db, userId);
    const { serial, keyIds, inService } = userDeviceOf(db, userId);
    if (!inService) throw new SekeyError('NotProvisioned', `user ${userId}'s device is retired`);
    const channelKeyId = keyIds.adminToUserKeyId;
    const order = admin.device.issuePinResetOrder(channelKeyId, serial, newPin);
    return { userId, serial, channelKeyId, order };
  });
}
