import { describe, expect, test } from 'vitest';
import { COST_TABLE } from '../device/costModel.ts';
import { DEFAULT_PIN_ITERATIONS } from '../device/pinHash.ts';
import { FULL_SCALE, QUICK_SCALE, measureRealistic, realisticScale, scaledInstallation } from './dbRealistic.ts';

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

describe('realistic installation bench: the command it measures', () => {
  test("logs in as the CLI does: the admin HSM's PIN verifier at the device's default PBKDF2 iterations", async () => {
    const tiny = { ...FULL_SCALE, users: 40, groups: 2, keys: 4, days: 7, replacementsPerWeek: 1 };
    const figures = await measureRealistic(tiny, { quick: true, progress: () => undefined });
    // RFC 8018 §5.2 as charged by the device (meteredCrypto.ts chargePbkdf2): 2 + 2c compressions.
    const pbkdf2 = (2 + 2 * DEFAULT_PIN_ITERATIONS) * COST_TABLE['hmacSha256.block'].cycles;
    expect(figures.commandParts['login']).toBeGreaterThanOrEqual(pbkdf2);
    // Measured again at the year's largest database, which every open decrypts whole: dearer to open
    // than the acknowledged end of the year whenever it is larger.
    // The images kept at the peak boot into the database of that size, and the end's into the end's.
    expect(figures.atPeak.bytes).toBe(figures.peakBytes);
    expect(figures.openedBytes).toBe(figures.bytes);
    expect(figures.peakBytes).toBeGreaterThan(figures.bytes);
    expect(figures.atPeak.openCycles).toBeGreaterThan(figures.openCycles);
    expect(figures.atPeak.commandParts['login']).toBe(figures.commandParts['login']);
    expect(figures.atPeak.day).toBeGreaterThanOrEqual(0);
    expect(figures.atPeak.day).toBeLessThanOrEqual(tiny.days);
  }, 120_000);
});
