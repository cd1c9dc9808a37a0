/**
 * The test kit's `World.fork`, which the property suites start their runs from: a fork and its
 * source, driven alike, stay alike (the admin's view, every replica, every HSM's keys, the share),
 * and nothing done on one reaches the other.
 */
import { describe, expect, test } from 'vitest';
import { isKmsDeviceKey } from '../protocol/deviceKeyIds.ts';
import { newTeam } from './world.testkit.ts';
import type { World } from './world.testkit.ts';

/** What a world shows: the admin's view, each replica and HSM, the share's files. */
function seen(w: World) {
  return {
    admin: { users: w.admin.listUsers(), groups: w.admin.listGroups(), keys: w.admin.listKeys() },
    adminHsm: w.adminDevice.listKeyIds().filter(isKmsDeviceKey),
    users: [...w.users].map(([id, u]) => ({
      id,
      groups: u.groups(),
      users: u.users(),
      keys: u.keys(),
      sequence: u.appliedSequence,
      hsm: u.device.listKeyIds().filter(isKmsDeviceKey),
    })),
    share: [...w.transport.streams].map(([stream, files]) => [stream, [...files.keys()].sort()]),
    now: w.clock.now(),
  };
}

/** The same steps on any world: a key made active and shared, then a member removed, a device added. */
async function drive(w: World): Promise<void> {
  const k = w.admin.addKey('G1', 'second');
  w.admin.activateKey(k);
  await w.syncByFiles();
  w.clock.set(w.clock.now() + 60_000);
  w.admin.removeMember('G1', 'U2');
  w.admin.addUser('U4', 'dave');
  await w.addDevice('U4');
  w.admin.addMember('G1', 'U4');
  await w.syncByFiles();
}

describe('World.fork', () => {
  test('a fork driven as its source is driven stays alike, replicas and HSMs included', async () => {
    const source = await newTeam();
    const first = source.admin.addKey('G1', 'first');
    source.admin.activateKey(first);
    await source.syncByFiles();
    const fork = await source.fork();
    try {
      expect(seen(fork)).toEqual(seen(source));
      await drive(source);
      await drive(fork);
      expect(seen(fork)).toEqual(seen(source));
      // Not alike by being empty: the device added after the fork received a key.
      expect(seen(fork).users.find((u) => u.id === 'U4')?.hsm.length).toBeGreaterThan(0);
      fork.admin.verifyAuditLog();
      source.admin.verifyAuditLog();
    } finally {
      fork.close();
      source.close();
    }
  });

  test('nothing done on a fork reaches its source, nor the other way', async () => {
    const source = await newTeam();
    const before = seen(source);
    const fork = await source.fork();
    try {
      await drive(fork);
      expect(seen(source)).toEqual(before);
      expect(seen(fork)).not.toEqual(before);
      // The other way: the source moves on, the fork keeps what it had.
      const forkNow = seen(fork);
      source.admin.addUser('U5', 'erin');
      await source.syncByFiles();
      expect(seen(fork)).toEqual(forkNow);
      expect(fork.admin.listUsers().map((u) => u.id)).not.toContain('U5');
    } finally {
      fork.close();
      source.close();
    }
  });
});
