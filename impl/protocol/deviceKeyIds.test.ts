import { describe, expect, test } from 'vitest';
import { FIRST_KEY_NUMBER } from '../../model/kms.ts';
import { USER_KEYS_BASE, deviceKeyNumber, isKmsDeviceKey, userKeyIds, userKeyIndex } from './deviceKeyIds.ts';

describe('device key IDs', () => {
  test('KMS keys lie from K2000 up to the provisioning range, which they never reach', () => {
    expect(deviceKeyNumber('K2000')).toBe(FIRST_KEY_NUMBER);
    expect(isKmsDeviceKey(FIRST_KEY_NUMBER - 1)).toBe(false);
    expect(isKmsDeviceKey(USER_KEYS_BASE - 1)).toBe(true);
    expect(isKmsDeviceKey(USER_KEYS_BASE)).toBe(false);
    for (const bad of ['K0', 'K01', 'k2000', `K${USER_KEYS_BASE}`, 'K1999'])
      expect(() => deviceKeyNumber(bad)).toThrow();
  });

  test("a provisioning key's index is the one userKeyIds gave it; other IDs have none", () => {
    for (const index of [0, 1, 7, 1000]) {
      for (const id of Object.values(userKeyIds(index))) expect(userKeyIndex(id)).toBe(index);
    }
    for (const id of [1001, FIRST_KEY_NUMBER, USER_KEYS_BASE - 1, 0x1000_0000, -1, 1.5])
      expect(userKeyIndex(id)).toBeNull();
  });
});
