/**
 * DEVICE-INTERNAL. Update files as the user's HSM sees them, and the one way its applied-update
 * counter ({@link UPDATE_SEQUENCE_COUNTER}) moves. The counter is the anchor of what the HSM vouches
 * for in an acknowledgement (`secubeAcknowledge.ts`), so the host cannot move it through the generic
 * `counterAdvance` (`secubeCounters.ts` refuses it: `ReservedCounter`); it moves in two steps:
 *
 * 1. {@link openUpdate}: the host hands the HSM an update file's header and sealed body. The HSM
 *    parses the header itself (`updateHeader.ts`), opens the body under the admin→user channel key
 *    (an `open` key: only the admin's HSM can seal under it) with the header as AAD, checks that the
 *    header names this device's serial, and remembers the file's sequence **in RAM**.
 * 2. {@link recordUpdateApplied}: after the host applied the records, it asks the HSM to record the
 *    sequence; the HSM moves the counter only to the sequence it authenticated last, since it was
 *    powered on or logged in, and never backwards.
 *
 * So an acknowledgement now proves: the HSM authenticated update N (the admin's, for this device)
 * and the host recorded it as applied. It does not prove that the host carried out every record of
 * the update: the records, erase orders included, are applied by the user's host software. A
 * reboot forgets the authenticated sequence: a host that crashed between applying a file and
 * recording it shows the HSM the file again (`impl/kms/userSync.ts`).
 * @module
 */
import { mapCodecError } from './binaryCodec.ts';
import { UPDATE_SEQUENCE_COUNTER } from './acknowledgement.ts';
import { DeviceError } from './deviceError.ts';
import type { KeyPurpose } from './keyPurpose.ts';
import type { DeviceCore } from './secubeCore.ts';
import { openSealed } from './secubeCrypto.ts';
import { usableKey } from './secubeKeyAccess.ts';
import { decodeUpdateHeader } from './updateHeader.ts';

/**
 * Purposes that may open an update: the `open` key alone (the admin→user channel key as the user's
 * HSM holds it). Not a `data` or `local` key, which the user's host can create and seal under itself.
 */
const UPDATE_OPENERS: readonly KeyPurpose[] = Object.freeze(['open']);

/**
 * Authenticates update file `header` ‖ `sealedBody` under `open` key `keyId` (AES-256-GCM, NIST SP
 * 800-38D §7.2, the header as AAD) and returns the body's plaintext, the records. The header must
 * be exactly one version-1 update header announcing `sealedBody.length` bytes and, once the seal
 * verified, name this device's serial; its sequence is then remembered in RAM for
 * {@link recordUpdateApplied}.
 * @throws DeviceError `WrongKeyPurpose` for any key but an `open` key, `BadArgument` for a header
 *   that does not parse or announces another body length, `AuthFailed` when the seal does not
 *   verify, `NotForThisDevice` for an authentic file naming another serial.
 */
export function openUpdate(core: DeviceCore, keyId: number, header: Uint8Array, sealedBody: Uint8Array): Uint8Array {
  const { state, store } = core.requireSession();
  const purpose = usableKey(store, keyId, UPDATE_OPENERS, 'open an update');
  if (!(header instanceof Uint8Array) || !(sealedBody instanceof Uint8Array))
    throw new DeviceError('BadArgument', 'an update header and body are bytes');
  // One copy is parsed and authenticated: what the device checked is what it records.
  const aad = header.slice();
  const read = mapCodecError(
    () => decodeUpdateHeader(aad),
    (error) => new DeviceError('BadArgument', `not an update header: ${error.message}`),
  );
  if ('refusal' in read) throw new DeviceError('BadArgument', `not an update header: ${read.refusal}`);
  if (read.bodyLength !== sealedBody.length)
    throw new DeviceError(
      'BadArgument',
      `the header announces a ${read.bodyLength}-byte body, not ${sealedBody.length}`,
    );
  const body = openSealed(core, store, keyId, purpose, sealedBody, aad);
  const { serial, sequence } = read.header;
  if (serial !== state.serial) {
    body.fill(0);
    throw new DeviceError('NotForThisDevice', `the update names device ${serial}, not this one`);
  }
  core.authenticatedUpdate = sequence;
  return body;
}

/**
 * Moves the applied-update counter ({@link UPDATE_SEQUENCE_COUNTER}) to `sequence`, persisted before
 * this returns: the host applied update `sequence`, which the HSM authenticated last
 * ({@link openUpdate}) since it was powered on or logged in. Equal to the counter is a no-op.
 * @returns the counter's value.
 * @throws DeviceError `BadArgument` (not a sequence ≥ 1), `UpdateNotAuthenticated` (not the
 *   sequence last authenticated in this session), `CounterRollback` (below the counter).
 */
export function recordUpdateApplied(core: DeviceCore, sequence: number): number {
  const { state } = core.requireSession();
  if (!Number.isSafeInteger(sequence) || sequence < 1)
    throw new DeviceError('BadArgument', 'update sequences are safe integers ≥ 1');
  const current = state.counters.get(UPDATE_SEQUENCE_COUNTER) ?? 0;
  if (sequence < current)
    throw new DeviceError('CounterRollback', `the HSM recorded update ${current}; it cannot go back to ${sequence}`);
  if (sequence === current) return current;
  if (core.authenticatedUpdate !== sequence) {
    const seen =
      core.authenticatedUpdate === undefined
        ? 'none since it was powered on or logged in'
        : `update ${core.authenticatedUpdate}`;
    throw new DeviceError(
      'UpdateNotAuthenticated',
      `update ${sequence} was not authenticated by this HSM (it authenticated ${seen})`,
    );
  }
  // The generic counterAdvance keeps a slot free for this counter, so the record has room for it.
  const counters = new Map(state.counters);
  counters.set(UPDATE_SEQUENCE_COUNTER, sequence);
  core.save({ ...state, counters });
  return sequence;
}
