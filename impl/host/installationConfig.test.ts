import { describe, expect, test } from 'vitest';
import { InstallationError } from './installationError.ts';
import { parseInstallationConfig } from './installationConfig.ts';

const good = { format: 1, adminSerial: 'A'.repeat(32), share: 'share', clock: 'manual', lastTime: 5, staleAfterMs: 7, createdAt: 1 };

describe('installation.json', () => {
  test('a valid file parses; anything else is BadInstallation', () => {
    expect(parseInstallationConfig(JSON.stringify(good))).toEqual(good);
    for (const bad of ['nope', '[]', JSON.stringify({ ...good, format: 2 }), JSON.stringify({ ...good, clock: 'sundial' }), JSON.stringify({ ...good, lastTime: -1 }), JSON.stringify({ ...good, share: '' })]) {
      expect(() => parseInstallationConfig(bad), bad).toThrow(InstallationError);
    }
  });
});
