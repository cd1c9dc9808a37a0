/**
 * DEVICE-INTERNAL. Acknowledgements sealed by the HSM on its own terms. A user device tells the
 * admin "I applied update N" by sealing an acknowledgement header (`acknowledgement.ts`) under its
 * `ack` key, the user→admin channel key (`keyPurpose.ts`). The device reads the header itself and
 * seals it only when it names this device and a sequence the device's applied-update counter
 * ({@link UPDATE_SEQUENCE_COUNTER}, in flash) has reached, so the user's host cannot have its HSM
 * vouch for an update (an erase order, say) that it never recorded as applied. The generic `seal`
 * refuses the `ack` key, so this is the only thing the key can seal.
 *
 * What an acknowledgement of update N proves: **the HSM authenticated update N and the host
 * recorded it as applied**. The counter moves only through `recordUpdateApplied`
 * (`secubeUpdates.ts`), and only to the sequence of an update file the HSM itself authenticated
 * (`openUpdate`: sealed by the admin's HSM under the admin→user channel key, header as AAD, naming
 * this device) since it was powered on or logged in; the generic `counterAdvance` refuses this
 * counter (`ReservedCounter`). So the host can no longer have the HSM acknowledge an update it never
 * showed it.
 *
 * The limit: the records of an update, erase orders included, are carried out by the user's host
 * software (`impl/kms/userSync.ts`), not by the HSM, so a compromised user host can still record an
 * update as applied and skip an erase order it was sent. It holds that key in its own HSM, and the
 * removed member's old keys are no secret from that member anyway: the lie harms only the
 * guarantees of its own user (forward secrecy rests on the rekey, not on the erase).
 * @module
 */
import { mapCodecError } from './binaryCodec.ts';
import { UPDATE_SEQUENCE_COUNTER, decodeAckHeader } from './acknowledgement.ts';
import { DeviceError } from './deviceError.ts';
import type { DeviceCore } from './secubeCore.ts';
import { sealUnder } from './secubeCrypto.ts';
import { ACKERS, usableKey } from './secubeKeyAccess.ts';

/**
 * Seals acknowledgement `header` under `ack` key `keyId`: returns nonce ‖ GCM tag over an empty
 * plaintext with the header as AAD (NIST SP 800-38D §7.1, TRNG nonce per §8.2.2), which is what the
 * admin device opens under the same key with its `open` purpose.
 * @throws DeviceError `WrongKeyPurpose` for any key but an `ack` key, `BadArgument` for a header
 *   that does not parse, has bytes after the file hash, names another device or sequence 0,
 *   `NotApplied` for a sequence above the applied-update counter.
 */
export function acknowledge(core: DeviceCore, keyId: number, header: Uint8Array): Uint8Array {
  const { state, store } = core.requireSession();
  const purpose = usableKey(store, keyId, ACKERS, 'seal an acknowledgement');
  if (!(header instanceof Uint8Array)) throw new DeviceError('BadArgument', 'an acknowledgement header is bytes');
  // One copy is parsed and sealed: what the device checked is what it vouches for.
  const aad = header.slice();
  const ack = mapCodecError(
    () => decodeAckHeader(aad),
    (error) => new DeviceError('BadArgument', `not an acknowledgement header: ${error.message}`),
  );
  if (ack === undefined) throw new DeviceError('BadArgument', 'not an acknowledgement header: bad magic or version');
  if (ack.serial !== state.serial)
    throw new DeviceError('BadArgument', `the acknowledgement names device ${ack.serial}, not this one`);
  if (ack.sequence < 1) throw new DeviceError('BadArgument', 'update sequences start at 1');
  const applied = state.counters.get(UPDATE_SEQUENCE_COUNTER) ?? 0;
  if (ack.sequence > applied)
    throw new DeviceError(
      'NotApplied',
      `update ${ack.sequence} is not applied: the HSM recorded update ${applied} as the last`,
    );
  return sealUnder(core, store, keyId, purpose, new Uint8Array(0), aad);
}
