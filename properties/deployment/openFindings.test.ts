/**
 * What the deployment suite found and is not fixed yet, pinned so that it stays in sight: each test
 * asserts the counterexample still fails exactly as found. When a fix lands, its test fails: turn
 * it into a regression test in `findings.test.ts` (the scenario must then pass).
 */
import { describe, expect, test } from 'vitest';
import type { CommandSpec } from './commands.testkit.ts';
import { replayScenario } from './runner.testkit.ts';

describe('bugs found by the deployment suite, open', () => {
  // Campaign stop21-2026-12-02, batch 25 (SEKEY_SEED=-1275315342 SEKEY_PATH="38:0:3:3:4:3:7"); it also
  // fails on 46dec2d, before this stop's throughput work. After a power cut that interrupted a
  // rename, a second cut during the rekeying removal of alice from G1 leaves the admin's database
  // with the new key K2002 committed but the admin HSM without it: a committed key lost.
  test('two power cuts in a row: a removal commits its new key, the admin HSM loses it', async () => {
    const steps: CommandSpec[] = [
      {
        t: 'cut',
        where: 'sd',
        n: 2,
        inner: { t: 'admin', op: { type: 'renameGroup', groupId: 'G1', name: 'alpha', now: 0 } },
      },
      {
        t: 'cut',
        where: 'sd',
        n: 9,
        inner: { t: 'admin', op: { type: 'removeMember', groupId: 'G1', userId: 'U1', now: 0 } },
      },
    ];
    await expect(replayScenario(steps, { deploymentSeed: 0 })).rejects.toThrow(
      /^invariant durability: step 23 .*keys in the admin HSM after the cut \(no committed key lost\)/,
    );
  }, 900_000);
});
