import { aeskw } from '@noble/ciphers/aes.js';
import { describe, expect, it } from 'vitest';
import { Writer } from './binaryCodec.ts';
import { MAX_WRAP_SEQUENCE } from './secubeWrap.ts';
import { testOnlyHooks } from './secube.ts';
import type { SecubeDevice } from './secube.ts';
import {
  ADMIN_PIN,
  PAIR_IDS,
  expectCode,
  makeDevice,
  makeProvisionedPair,
  recordUpdate,
  relogin,
} from './secube.testkit.ts';

/** What the device's wrap holds (`secubeWrap.ts`): the key, then its key ID and its file's sequence. */
const bound = (key: Uint8Array, keyId: number, sequence: number): Uint8Array =>
  new Writer().bytes(key).u32be(keyId).u32be(sequence).finish();

/** A device in an admin session holding `kek` as unwrap key 5. */
function withUnwrapKey(seed: string, kek: Uint8Array): SecubeDevice {
  const { device } = makeDevice(seed);
  device.login('admin', ADMIN_PIN);
  testOnlyHooks(device).importPlainKey(5, kek, 'unwrap');
  return device;
}

describe('key import under an unwrap key (RFC 3394)', () => {
  it(
    'refuses a blob that unwraps (RFC 3394 §2.2.3 check passes) to anything but a 16, 24 or 32-byte key bound to ' +
      'the key ID it is imported under, and stores nothing',
    () => {
      const kek = Uint8Array.from({ length: 32 }, (_, i) => i);
      const device = withUnwrapKey('wrap-length', kek);
      const key = new Uint8Array(32).fill(7);
      const refused: Array<[string, Uint8Array]> = [
        ['a 40-byte key and its binding', bound(new Uint8Array(40).fill(7), 6, 1)],
        ['a 32-byte key alone, as blobs before the binding wrapped it', key],
        ['a key bound to another key ID', bound(key, 7, 1)],
        ['a 16-byte key alone (8 bytes, then no room for a key)', key.subarray(0, 16)],
      ];
      for (const [what, inside] of refused) {
        expect(() => device.importWrapped(6, aeskw(kek).encrypt(inside), 5), what).toThrow();
        expectCode('UnwrapFailed', () => device.importWrapped(6, aeskw(kek).encrypt(inside), 5));
      }
      expect(() => device.importWrapped(6, aeskw(kek).encrypt(bound(key, 7, 1)), 5)).toThrow(
        'the wrapped key is not bound to key 6',
      );
      expect(device.listKeyIds()).toEqual([5]);
      // The same KEK, a 32-byte key bound to key 6 and a file beyond the device's counter: a data key.
      expect(device.importWrapped(6, aeskw(kek).encrypt(bound(key, 6, 1)), 5)).toEqual({
        id: 6,
        purpose: 'data',
        bits: 256,
      });
      // 16 and 24-byte keys too (the sizes `generateKey` makes).
      expect(device.importWrapped(8, aeskw(kek).encrypt(bound(key.subarray(0, 16), 8, 1)), 5).bits).toBe(128);
      expect(device.importWrapped(9, aeskw(kek).encrypt(bound(key.subarray(0, 24), 9, 1)), 5).bits).toBe(192);
    },
  );

  it(
    'says nothing of what a blob unwrapped to: the binding of a blob from before it is bytes of the key, which ' +
      'the refusal does not name',
    () => {
      const kek = Uint8Array.from({ length: 32 }, (_, i) => 0x40 + i);
      const device = withUnwrapKey('wrap-no-oracle', kek);
      // A 32-byte key wrapped alone reads as a 24-byte key bound to the key ID of its bytes 24..27;
      // a 24-byte key alone as a 16-byte key bound to its bytes 16..19.
      for (const size of [32, 24]) {
        const key = Uint8Array.from({ length: size }, (_, i) => (i * 37 + 11) & 0xff);
        const posing = new DataView(key.buffer).getUint32(size - 8);
        let message = '';
        try {
          device.importWrapped(6, aeskw(kek).encrypt(key), 5);
        } catch (error) {
          message = (error as Error).message;
        }
        expect(message, `${size}-byte key`).toMatch(/^UnwrapFailed/);
        expect(message, `${size}-byte key`).not.toContain(String(posing));
      }
      expect(device.listKeyIds()).toEqual([5]);
    },
  );

  it(
    'takes a blob only while its update file is beyond the last the HSM recorded as applied: a key erased by ' +
      'order does not come back from the blob its host kept',
    () => {
      const { admin, user } = makeProvisionedPair('wrap-spent');
      const KEY = 5000;
      admin.device.generateKey(KEY);
      relogin(user.device, 'user');
      const first = admin.device.exportWrapped(KEY, PAIR_IDS.wrappingKeyId, 1).blob;
      user.device.importWrapped(KEY, first, PAIR_IDS.wrappingKeyId);
      recordUpdate(admin.device, user.device, 1);
      // Update 2 erases the key (as an order would; an admin session can delete outright).
      const second = admin.device.exportWrapped(KEY, PAIR_IDS.wrappingKeyId, 2).blob;
      relogin(user.device, 'admin');
      user.device.deleteKey(KEY);
      relogin(user.device, 'user');
      recordUpdate(admin.device, user.device, 2);
      // The host kept both blobs: each names a file the HSM recorded, so both are spent.
      expect(() => user.device.importWrapped(KEY, first, PAIR_IDS.wrappingKeyId)).toThrow(
        'the wrapped key came with an update this HSM recorded as applied (it is at update 2)',
      );
      expectCode('SpentKeyMaterial', () => user.device.importWrapped(KEY, second, PAIR_IDS.wrappingKeyId));
      expect(user.device.listKeyIds()).not.toContain(KEY);
      // Delivered again in a later file, wrapped anew for it: taken.
      const third = admin.device.exportWrapped(KEY, PAIR_IDS.wrappingKeyId, 3).blob;
      expect(third).not.toEqual(first);
      expect(user.device.importWrapped(KEY, third, PAIR_IDS.wrappingKeyId).id).toBe(KEY);
    },
  );

  it('wraps for a sequence of 1..2^32 - 1 only', () => {
    const { admin } = makeProvisionedPair('wrap-sequence');
    admin.device.generateKey(5000);
    for (const sequence of [0, -1, 1.5, MAX_WRAP_SEQUENCE + 1, Number.NaN])
      expectCode('BadArgument', () => admin.device.exportWrapped(5000, PAIR_IDS.wrappingKeyId, sequence));
    expect(admin.device.exportWrapped(5000, PAIR_IDS.wrappingKeyId, MAX_WRAP_SEQUENCE).blob.length).toBe(48);
  });

  it('the plaintext test import refuses keys that are not AES key sizes', () => {
    const { device } = makeDevice('hook-length');
    device.login('admin', ADMIN_PIN);
    expectCode('BadArgument', () => testOnlyHooks(device).importPlainKey(7, new Uint8Array(20), 'data'));
    expect(device.listKeyIds()).toEqual([]);
  });
});
