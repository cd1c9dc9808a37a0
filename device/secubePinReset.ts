/**
 * DEVICE-INTERNAL. PIN reset orders on the device (`pinResetOrder.ts` holds the format and the
 * design): the admin's HSM issues one for a user device it is paired with; the user's HSM accepts
 * it while nobody is logged in — the user level may be locked, that is the point — and then holds
 * the new user PIN, all user tries, and the order's sequence as its last accepted one.
 *
 * Both steps cost what their parts cost on the device, charged by the metered primitives as every
 * other operation is (`costModel.ts`): issuing is one flash commit of the order counter, TRNG words
 * for the nonce and an AES-256-GCM seal of the order; accepting is an AES-256-GCM open, the PBKDF2
 * of the new PIN's verifier (`newPinVerifier`) and one flash commit of the state record.
 * @module
 */
import { DeviceError } from './deviceError.ts';
import { pinBytes } from './pinHash.ts';
import type { Pin } from './pinHash.ts';
import {
  PIN_RESET_ACCEPTED_COUNTER,
  PIN_RESET_ISSUED_COUNTER,
  decodePinResetOrder,
  encodePinResetOrder,
  pinResetOrderAad,
} from './pinResetOrder.ts';
import type { DeviceCore } from './secubeCore.ts';
import { openSealed, sealUnder } from './secubeCrypto.ts';
import { usableKey, wipe } from './secubeKeyAccess.ts';
import { feedPin, newPinVerifier } from './secubePin.ts';

/**
 * Admin session: advances this HSM's order counter ({@link PIN_RESET_ISSUED_COUNTER}) in flash,
 * then seals an order telling device `serial` to take `newPin` as its user PIN, under `seal` key
 * `channelKeyId` (the admin→user channel key of that device's pair). The counter reaches flash
 * before the order exists, so a power cut can lose an order but never issue two with one sequence.
 * @returns nonce ‖ ciphertext ‖ tag (NIST SP 800-38D §7.1, TRNG nonce §8.2.2).
 * @throws DeviceError `AccessDenied` outside an admin session, `WrongKeyPurpose` for any key but a
 *   `seal` key, `BadArgument` for a PIN out of range, `BadOrder` for a bad serial.
 */
export function issuePinResetOrder(core: DeviceCore, channelKeyId: number, serial: string, newPin: Pin): Uint8Array {
  const { state, store } = core.requireSession(['admin']);
  const purpose = usableKey(store, channelKeyId, ['seal'], 'seal a PIN reset order');
  // A copy to wipe after (not `slice()`: on a Node Buffer that is a view of the caller's bytes).
  const pin = new Uint8Array(pinBytes(newPin));
  try {
    const sequence = (state.counters.get(PIN_RESET_ISSUED_COUNTER) ?? 0) + 1;
    const plaintext = encodePinResetOrder({ serial, sequence, newPin: pin }); // checked before the counter moves
    try {
      const counters = new Map(state.counters);
      counters.set(PIN_RESET_ISSUED_COUNTER, sequence);
      core.save({ ...state, counters });
      return sealUnder(core, store, channelKeyId, purpose, plaintext, pinResetOrderAad());
    } finally {
      wipe(plaintext);
    }
  } finally {
    wipe(pin);
  }
}

/**
 * Nobody logged in: opens `order` under `open` key `channelKeyId`, checks that it names this device
 * and is fresher than the last order accepted, then saves — in one record, so a power cut leaves
 * the old state or the new one — the new user PIN's verifier, the user level's tries restored
 * (the PIN machine's `RESET_ORDER_ACCEPTED`) and the order's sequence as
 * {@link PIN_RESET_ACCEPTED_COUNTER}. A locked user level is what it is for; a locked device
 * (admin tries exhausted) stays locked.
 * @returns the order's sequence.
 * @throws DeviceError `DeviceLocked`, `SessionActive` (a session is open), `WrongKeyPurpose` /
 *   `UnknownKey`, `AuthFailed` (forged, altered, or sealed for another pair), `BadOrder`,
 *   `NotForThisDevice`, `StaleOrder` (replayed or older); nothing changes then.
 */
export function acceptPinResetOrder(core: DeviceCore, channelKeyId: number, order: Uint8Array): number {
  const { state, store, pin } = core.requireInit();
  if (pin.value === 'locked')
    throw new DeviceError('DeviceLocked', 'admin PIN tries exhausted: only a factory reset helps');
  if (!pin.can({ type: 'RESET_ORDER_ACCEPTED' }))
    throw new DeviceError('SessionActive', 'a PIN reset order is accepted only while nobody is logged in');
  if (!(order instanceof Uint8Array)) throw new DeviceError('BadArgument', 'a PIN reset order is bytes');
  const purpose = usableKey(store, channelKeyId, ['open'], 'authenticate a PIN reset order');
  const plaintext = openSealed(core, store, channelKeyId, purpose, order, pinResetOrderAad());
  let decoded: ReturnType<typeof decodePinResetOrder> | undefined;
  try {
    decoded = decodePinResetOrder(plaintext);
    if (decoded.serial !== state.serial)
      throw new DeviceError('NotForThisDevice', `the PIN reset order names device ${decoded.serial}, not this one`);
    const last = state.counters.get(PIN_RESET_ACCEPTED_COUNTER) ?? 0;
    if (decoded.sequence <= last)
      throw new DeviceError(
        'StaleOrder',
        `PIN reset order ${decoded.sequence} is not newer than order ${last}, the last this HSM accepted`,
      );
    const { next } = feedPin(core, { type: 'RESET_ORDER_ACCEPTED' });
    const counters = new Map(state.counters);
    counters.set(PIN_RESET_ACCEPTED_COUNTER, decoded.sequence);
    core.save({
      ...state,
      pins: { ...state.pins, user: newPinVerifier(core, decoded.newPin) },
      retriesLeft: { ...next.context.retriesLeft },
      counters,
    });
    core.pin = next;
    return decoded.sequence;
  } finally {
    wipe(plaintext);
    if (decoded !== undefined) wipe(decoded.newPin);
  }
}
