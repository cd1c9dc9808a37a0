import { describe, expect, test } from 'vitest';
import { isDeviceError } from '../../device/deviceError.ts';
import { ADMIN_PIN, makeDevice } from '../../device/secube.testkit.ts';
import { DATABASE_KEY_ID, secubeDatabaseDevice } from './secubeDatabaseDevice.ts';

/** The code of the device error `run` throws, or 'none'. */
function codeOf(run: () => unknown): string {
  try {
    run();
    return 'none';
  } catch (error) {
    return isDeviceError(error) ? error.code : String(error);
  }
}

describe('the database key on the HSM', () => {
  test('is a local key: it seals and opens pages, and the host cannot use it as a data key', () => {
    const { device } = makeDevice('database key');
    device.login('admin', ADMIN_PIN);
    const db = secubeDatabaseDevice(device);
    expect(device.keyInfo(DATABASE_KEY_ID).purpose).toBe('local');
    const aad = new Uint8Array([1]);
    expect(db.open(db.seal(new Uint8Array([42]), aad), aad)).toEqual(new Uint8Array([42]));
    // NIST SP 800-57 Part 1 §5.2: one key, one purpose. A data key can be exported wrapped and used by
    // the host's encrypt and decrypt calls; the key that seals the database pages must be neither.
    expect(codeOf(() => device.encrypt(DATABASE_KEY_ID, new Uint8Array([42])))).toBe('WrongKeyPurpose');
  });
});
