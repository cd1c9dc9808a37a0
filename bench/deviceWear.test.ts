/**
 * The device-wear bench's replay repeats what the real HSMs wrote per rotation: step 1 measures the
 * program calls a rotation makes into the state and key-store sectors, and the replay of step 2 stops
 * when its own differ, so a replay that drifted from the system it stands for cannot yield a lifetime.
 */
import { expect, test } from 'vitest';
import { ADMIN_COMMANDS } from '../impl/cli/runAdmin.ts';
import { ADMIN_LOGINS_PER_ROTATION, CLI_ROTATION, replayOurs } from './deviceWear.ts';
import type { Traffic } from './deviceWear.ts';

const quiet = { quick: true, progress: () => {} };
// Six commits (two counter advances each) and a key generated and one deleted, a rotation.
const traffic: Traffic = {
  label: 'test',
  commitsPerRotation: 6,
  updatesPerRotation: 0,
  loginsPerRotation: 6,
  liveKeys: 8,
  programsPerRotation: { stateArea: 12, keyStore: 4 },
};

test('a replay that writes what the real HSM wrote passes, logins aside', () => {
  expect(replayOurs(traffic, 1, 1, quiet).programsPerRotation).toEqual({ stateArea: 12, keyStore: 4 });
  expect(replayOurs({ ...traffic, loginsPerRotation: 0 }, 1, 1, quiet).programsPerRotation).toEqual({
    stateArea: 12,
    keyStore: 4,
  });
});

test('a replay that does not stops the bench', () => {
  expect(() => replayOurs({ ...traffic, commitsPerRotation: 5 }, 1, 1, quiet)).toThrow(/does not repeat/);
  expect(() => replayOurs({ ...traffic, programsPerRotation: { stateArea: 12, keyStore: 3 } }, 1, 1, quiet)).toThrow(
    /does not repeat/,
  );
});

test('the rotation counts one login for each admin command the CLI runs', () => {
  // Every admin command but init opens one admin session, which logs in to the HSM once.
  for (const name of CLI_ROTATION) expect(ADMIN_COMMANDS.find((c) => c.name === name)?.name, name).toBe(name);
  // The four key commands change the KMS, so `--no-publish` applies to them and publish runs apart.
  for (const name of CLI_ROTATION.slice(0, 4)) expect(ADMIN_COMMANDS.find((c) => c.name === name)?.mutates).toBe(true);
  expect(ADMIN_LOGINS_PER_ROTATION).toBe(6);
});
