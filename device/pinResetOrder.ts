/**
 * PIN reset orders: how the KMS administrator gives a user back a locked or forgotten user PIN
 * without the user device's own admin PIN and without a new device. The original stores every
 * user's PINs in clear in the admin database so that the admin can log into users' devices (W8);
 * here the admin knows no user device's PIN, and its HSM issues an order instead.
 *
 * The admin's HSM seals the order under the admin→user channel key it shares with that user's HSM
 * (a `seal` key on the admin device, an `open` key on the user's, `keyPurpose.ts`), with AES-256-GCM
 * (NIST SP 800-38D §7.1) and the fixed AAD {@link pinResetOrderAad}, which keeps an order apart
 * from update files and delete orders sealed under the same key:
 * ```ts
 * const order = admin.issuePinResetOrder(a2uKeyId, userSerial, newPin); // admin session
 * user.acceptPinResetOrder(a2uKeyId, order);                           // nobody logged in
 * ```
 *
 * Plaintext (version 1, fixed by the AAD label):
 * ```
 * u8  n          length of the serial in bytes, 1..255
 * n   serial     the recipient device's serial, UTF-8
 * u64 sequence   big-endian, 1..2^53-1: the issuing HSM's order counter after this order
 * u8  m          length of the new user PIN, PIN_MIN_BYTES..PIN_MAX_BYTES
 * m   new PIN    the new user PIN's bytes
 * ```
 *
 * - **The new PIN travels inside the seal**, so only the user's HSM reads it: the hosts and the
 *   share carry ciphertext. Why the order carries the PIN rather than only unlocking the user level
 *   for the holder to choose one: an unlock-only order is a bearer token — whoever holds the HSM and
 *   a copy of the order could set a PIN of their choosing — while an order with the PIN inside is
 *   useless without the PIN, which only the administrator and the user know (as at provisioning,
 *   where the administrator sets the first user PIN; the user then changes it, `changeUserPin`).
 *   ISO/IEC 7816-4's RESET RETRY COUNTER (INS '2C') likewise takes the new reference data with the
 *   reset code.
 * - **Anti-replay**: the issuing HSM advances its counter {@link PIN_RESET_ISSUED_COUNTER} in flash
 *   before it seals, and writes the new value in the order; the user's HSM accepts an order only if
 *   its sequence is above {@link PIN_RESET_ACCEPTED_COUNTER} and moves that counter to it in the same
 *   flash record as the new PIN verifier and the restored tries (one record: a power cut leaves the
 *   old state or the new one). A replayed or older order is refused (`StaleOrder`). One counter on
 *   the admin HSM serves every user device: each device only needs orders fresher than the last one
 *   it accepted.
 * - **Binding**: an authentic order naming another serial is refused (`NotForThisDevice`); an order
 *   sealed under another device's channel key does not even open (`AuthFailed`).
 * @module
 */
import { Writer, decodeUtf8, mapCodecError, readAll, utf8 } from './binaryCodec.ts';
import { DeviceError } from './deviceError.ts';
import { PIN_MAX_BYTES, PIN_MIN_BYTES } from './pinHash.ts';

/** The AAD label of PIN reset orders (version 1 of the plaintext layout above). */
export const PIN_RESET_ORDER_LABEL = 'SEKEY pin-reset-order v1';

/** The AAD (NIST SP 800-38D §5.2.1.1) of PIN reset orders: a fresh copy of {@link PIN_RESET_ORDER_LABEL}'s bytes. */
export function pinResetOrderAad(): Uint8Array {
  return utf8(PIN_RESET_ORDER_LABEL);
}

/**
 * The admin HSM's flash counter of PIN reset orders issued: advanced before each order is sealed,
 * so no two orders of one HSM share a sequence. Reserved: the generic `counterAdvance` refuses it.
 */
export const PIN_RESET_ISSUED_COUNTER = 'pin-reset.issued';

/**
 * A user HSM's flash counter: the sequence of the last PIN reset order it accepted. Reserved: it
 * moves only with an accepted order, in the same record as the new PIN.
 */
export const PIN_RESET_ACCEPTED_COUNTER = 'pin-reset.accepted';

/** What a PIN reset order says: device `serial` takes `newPin` as its user PIN, order number `sequence`. */
export interface PinResetOrder {
  readonly serial: string;
  readonly sequence: number;
  readonly newPin: Uint8Array;
}

const MAX_SERIAL_BYTES = 255;

function checkOrder(serialBytes: Uint8Array, sequence: number, newPin: Uint8Array): void {
  if (serialBytes.length === 0 || serialBytes.length > MAX_SERIAL_BYTES)
    throw new DeviceError('BadOrder', `a PIN reset order names a serial of 1..${MAX_SERIAL_BYTES} UTF-8 bytes`);
  if (!Number.isSafeInteger(sequence) || sequence < 1)
    throw new DeviceError('BadOrder', `a PIN reset order's sequence is a safe integer ≥ 1, got ${String(sequence)}`);
  if (newPin.length < PIN_MIN_BYTES || newPin.length > PIN_MAX_BYTES)
    throw new DeviceError('BadOrder', `a PIN reset order carries a PIN of ${PIN_MIN_BYTES}..${PIN_MAX_BYTES} bytes`);
}

/**
 * The plaintext of a PIN reset order (layout in the module comment). The device seals it with
 * {@link pinResetOrderAad}; the caller wipes it after.
 * @throws DeviceError `BadOrder` for a serial, sequence or PIN out of range.
 */
export function encodePinResetOrder(order: PinResetOrder): Uint8Array {
  const serialBytes = utf8(order.serial);
  checkOrder(serialBytes, order.sequence, order.newPin);
  return new Writer()
    .u8(serialBytes.length)
    .bytes(serialBytes)
    .u64be(order.sequence)
    .u8(order.newPin.length)
    .bytes(order.newPin)
    .finish();
}

/**
 * Parses an order plaintext strictly: exact length, well-formed UTF-8, fields in range. The device
 * runs it only on plaintexts whose GCM tag verified.
 * @throws DeviceError `BadOrder` when `plaintext` is not exactly one well-formed order.
 */
export function decodePinResetOrder(plaintext: Uint8Array): PinResetOrder {
  const { serialBytes, ...order } = mapCodecError(
    () =>
      readAll(plaintext, (r) => {
        const bytes = r.bytes(r.u8());
        const sequence = r.u64be();
        const newPin = r.bytes(r.u8());
        return { serialBytes: bytes, serial: decodeUtf8(bytes, 1), sequence, newPin };
      }),
    (error) =>
      new DeviceError(
        'BadOrder',
        error.code === 'InvalidUtf8' ? 'PIN reset order serial is not UTF-8' : 'malformed PIN reset order',
      ),
  );
  checkOrder(serialBytes, order.sequence, order.newPin);
  return order;
}
