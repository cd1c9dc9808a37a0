import { describe, expect, test } from 'vitest';
import { FULL_SCALE, QUICK_SCALE, realisticScale, scaledInstallation } from './dbRealistic.ts';

describe('realistic installation bench: its scale', () => {
  test('full by default, a twentieth when quick, the factor given otherwise; groups stay of 20', () => {
    expect(realisticScale(false, {})).toEqual(FULL_SCALE);
    expect(FULL_SCALE).toMatchObject({ users: 1000, groups: 500, groupSize: 20, keys: 10_000, days: 365 });
    expect(realisticScale(true, { SEKEY_REALISTIC_SCALE: '0.5' })).toEqual(QUICK_SCALE);
    expect(realisticScale(false, { SEKEY_REALISTIC_SCALE: '0.1' })).toMatchObject({
      users: 100,
      groups: 50,
      groupSize: 20,
      keys: 1000,
      replacementsPerWeek: 1,
    });
    expect(() => scaledInstallation(0)).toThrow(RangeError);
    expect(() => realisticScale(false, { SEKEY_REALISTIC_SCALE: 'lots' })).toThrow(RangeError);
  });
});
