/**
 * The encrypted database on a real (simulated) SEcube: pages and manifests sealed by the HSM under
 * the device's database key, the committed generation kept as an HSM flash counter. The key is
 * generated inside the device on first use and never leaves it; the original SEkey used a
 * per-device key with the reserved ID 1001 (RESERVED_ID_SEKEY_SECUREDB), and so do we.
 * @module
 */
import type { SecubeDevice } from '../../device/secube.ts';
import type { DatabaseDevice } from './databaseDevice.ts';

/** The device key that seals the metadata database (the original's RESERVED_ID_SEKEY_SECUREDB). */
export const DATABASE_KEY_ID = 1001;
/** The device flash counter holding the committed database generation. */
export const DATABASE_GENERATION_COUNTER = 'db.generation';
/** The device flash counter holding the database's commit intent (`commitIntent.ts`). */
export const DATABASE_INTENT_COUNTER = 'db.intent';

/**
 * The {@link DatabaseDevice} of `device`, creating its database key if the device has none yet
 * (needs a PIN session, as every key operation does).
 */
export function secubeDatabaseDevice(device: SecubeDevice, keyId: number = DATABASE_KEY_ID): DatabaseDevice {
  // A `local` key: it seals and opens, and can never be exported, not even wrapped at admin level.
  if (!device.listKeyIds().includes(keyId)) device.generateKey(keyId, { purpose: 'local' });
  return {
    seal: (plaintext, aad) => device.seal(keyId, plaintext, aad),
    open: (sealed, aad) => device.open(keyId, sealed, aad),
    committedGeneration: () => device.counterRead(DATABASE_GENERATION_COUNTER),
    commitGeneration: (generation) => {
      device.counterAdvance(DATABASE_GENERATION_COUNTER, generation);
    },
    commitIntent: () => device.counterRead(DATABASE_INTENT_COUNTER),
    recordCommitIntent: (value) => {
      device.counterAdvance(DATABASE_INTENT_COUNTER, value);
    },
  };
}
