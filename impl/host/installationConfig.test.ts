import { describe, expect, test } from 'vitest';
import { InstallationError } from './installationError.ts';
import { freshnessOf, parseInstallationConfig } from './installationConfig.ts';

const good = {
  format: 1,
  adminSerial: 'A'.repeat(32),
  share: 'share',
  clock: 'manual',
  lastTime: 5,
  staleAfterMs: 7,
  createdAt: 1,
};

describe('installation.json', () => {
  test('a valid file parses; anything else is BadInstallation', () => {
    expect(parseInstallationConfig(JSON.stringify(good))).toEqual(good);
    for (const bad of [
      'nope',
      '[]',
      JSON.stringify({ ...good, format: 2 }),
      JSON.stringify({ ...good, clock: 'sundial' }),
      JSON.stringify({ ...good, lastTime: -1 }),
      JSON.stringify({ ...good, share: '' }),
    ]) {
      expect(() => parseInstallationConfig(bad), bad).toThrow(InstallationError);
    }
  });

  test(
    'heartbeat interval and freshness window: optional (defaults 1d and 3 × the interval), positive, window ' +
      'longer than interval',
    () => {
      const DAY = 86_400_000;
      expect(freshnessOf(parseInstallationConfig(JSON.stringify(good)))).toEqual({
        heartbeatIntervalMs: DAY,
        freshnessWindowMs: 3 * DAY,
      });
      const timed = { ...good, heartbeatIntervalMs: 3_600_000, freshnessWindowMs: 4 * 3_600_000 };
      expect(parseInstallationConfig(JSON.stringify(timed))).toEqual(timed);
      expect(freshnessOf({ heartbeatIntervalMs: 3_600_000 })).toEqual({
        heartbeatIntervalMs: 3_600_000,
        freshnessWindowMs: 3 * 3_600_000,
      });
      for (const bad of [
        { heartbeatIntervalMs: 0 },
        { heartbeatIntervalMs: 'daily' },
        { freshnessWindowMs: DAY },
        { heartbeatIntervalMs: 2 * DAY, freshnessWindowMs: DAY },
      ]) {
        expect(() => parseInstallationConfig(JSON.stringify({ ...good, ...bad })), JSON.stringify(bad)).toThrow(
          InstallationError,
        );
      }
    },
  );

  test('userHsms: optional, user IDs to serials; anything else names what is wrong', () => {
    const recorded = { ...good, userHsms: { U1: 'S'.repeat(32), U20: 'T'.repeat(32) } };
    expect(parseInstallationConfig(JSON.stringify(recorded))).toEqual(recorded);
    for (const [userHsms, why] of [
      [[], "'userHsms' must be an object of user IDs to serials"],
      ['U1', "'userHsms' must be an object of user IDs to serials"],
      [{ G1: 'S' }, `'userHsms' names "G1": user ID 'G1' must be U followed by a number`],
      [{ U1: '' }, "'userHsms.U1' must be a non-empty string"],
      [{ U1: 7 }, "'userHsms.U1' must be a non-empty string"],
    ] as const) {
      expect(() => parseInstallationConfig(JSON.stringify({ ...good, userHsms })), JSON.stringify(userHsms)).toThrow(
        `installation.json: ${why}`,
      );
    }
  });
});
