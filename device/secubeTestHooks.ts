/**
 * TESTS ONLY. The hooks of a device built with `testHooks: true` (reached through
 * `testOnlyHooks` in `secube.ts`): plaintext key import for published test vectors, reading key
 * bytes and the identity secret so secrecy tests can scan host-visible output for them, and a cut
 * point between spending a PIN try and comparing the PIN. No other path returns key bytes.
 * @module
 */
import { DeviceError } from './deviceError.ts';
import { readKeyMaterialForDevice } from './keyStore.ts';
import { encodeStoreId } from './keyPurpose.ts';
import type { KeyPurpose } from './keyPurpose.ts';
import type { DeviceCore } from './secubeCore.ts';
import { checkKeyId, putKey, requireKey } from './secubeKeyAccess.ts';

/** Test-only access to a device built with `testHooks: true`. */
export interface SecubeTestHooks {
  /** TEST ONLY: stores a key given in clear (published test vectors need known keys). Admin session. */
  importPlainKey(id: number, key: Uint8Array, purpose: KeyPurpose): void;
  /** TEST ONLY: the bytes of a stored key, so secrecy tests can scan host-visible output for them. */
  readKey(id: number): Uint8Array;
  /** TEST ONLY: the identity secret, for the same scans. */
  readIdentitySecret(): Uint8Array;
  /** TEST ONLY: runs after a login's spent try is persisted and before the PIN is compared. */
  onTrySpent: (() => void) | undefined;
}

/** The hooks of `core`'s device. */
export function makeTestHooks(core: DeviceCore): SecubeTestHooks {
  return {
    importPlainKey: (id, key, purpose) => {
      core.guard(() => {
        const { store, level } = core.requireSession(['admin']);
        checkKeyId(id);
        if (key.length !== 16 && key.length !== 24 && key.length !== 32)
          throw new DeviceError('BadArgument', 'key length must be 16, 24 or 32 bytes');
        putKey(store, level, id, key, purpose, false);
      });
    },
    readKey: (id) => {
      const { store } = core.requireInit();
      const purpose = requireKey(store, id);
      return readKeyMaterialForDevice(store, encodeStoreId(id, purpose));
    },
    readIdentitySecret: () => core.requireInit().state.identitySecret.slice(),
    onTrySpent: undefined,
  };
}
