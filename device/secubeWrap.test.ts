import { aeskw } from '@noble/ciphers/aes.js';
import { describe, expect, it } from 'vitest';
import { testOnlyHooks } from './secube.ts';
import { ADMIN_PIN, expectCode, makeDevice } from './secube.testkit.ts';

describe('key import under an unwrap key (RFC 3394)', () => {
  it(
    'refuses a blob that unwraps (RFC 3394 §2.2.3 check passes) to a key that is not 16, 24 or 32 bytes, and ' +
      'stores nothing',
    () => {
      const { device } = makeDevice('wrap-length');
      device.login('admin', ADMIN_PIN);
      const kek = Uint8Array.from({ length: 32 }, (_, i) => i);
      testOnlyHooks(device).importPlainKey(5, kek, 'unwrap');
      const blob = aeskw(kek).encrypt(new Uint8Array(40).fill(7));
      expectCode('UnwrapFailed', () => device.importWrapped(6, blob, 5));
      expect(device.listKeyIds()).toEqual([5]);
      // The same KEK and a 32-byte key: accepted, as a data key.
      expect(device.importWrapped(6, aeskw(kek).encrypt(new Uint8Array(32).fill(7)), 5)).toEqual({
        id: 6,
        purpose: 'data',
        bits: 256,
      });
    },
  );

  it('the plaintext test import refuses keys that are not AES key sizes', () => {
    const { device } = makeDevice('hook-length');
    device.login('admin', ADMIN_PIN);
    expectCode('BadArgument', () => testOnlyHooks(device).importPlainKey(7, new Uint8Array(20), 'data'));
    expect(device.listKeyIds()).toEqual([]);
  });
});
