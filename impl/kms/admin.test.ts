import { describe, expect, test } from 'vitest';
import { PowerLossError } from '../../device/powerLossError.ts';
import type { SdCard, SectorOutcome } from '../../device/sdcard.ts';
import { ADMIN_PIN, TEST_MANUFACTURER, USER_PIN, freshDevice, makeDevice } from '../../device/secube.testkit.ts';
import { deviceKeyNumber, isKmsDeviceKey, userKeyIds } from '../protocol/deviceKeyIds.ts';
import { KmsError, MAX_TIME } from '../../model/kms.ts';
import { Admin } from './admin.ts';
import { keysHeldByDevice, provisionUser } from './distribution.ts';
import { SekeyError } from '../protocol/sekeyError.ts';
import { updateStream } from '../protocol/streams.ts';
import { decodeMessage, encodeMessage, messageAad } from '../protocol/message.ts';
import { ManualClock } from './clock.ts';
import { User } from './user.ts';
import { Publisher } from './publisher.ts';
import { EncryptedDatabase } from '../db/encryptedDatabase.ts';
import { secubeDatabaseDevice } from '../db/secubeDatabaseDevice.ts';
import { sqliteMemoryUsed } from '../db/sqlite.ts';
import type { SecubeDevice } from '../../device/secube.ts';
import { TEAM_POLICY, TEST_CARD_SECTORS, newAdminWorld, newTeam, newWorld } from './world.testkit.ts';
import type { World } from './world.testkit.ts';

const DAY = 86_400_000;
const text = (s: string) => new TextEncoder().encode(s);
const read = (b: Uint8Array) => new TextDecoder().decode(b);

const team = newTeam;

/**
 * Runs `act` with power cut at the admin card's n-th write from now, the writes in flight resolving
 * as `outcome`; then reboots the admin HSM and reopens the admin. Null when `act` ended before that write.
 */
async function cutOnCard(w: World, n: number, outcome: SectorOutcome, act: () => unknown): Promise<Admin | null> {
  w.adminCard.cutPowerAfter(n, { outcome });
  try {
    act();
    return null;
  } catch (error) {
    if (!(error instanceof PowerLossError)) throw error;
  } finally {
    w.adminCard.cancelPowerCut();
  }
  w.adminDevice.cutPower();
  w.adminDevice.powerOn();
  w.adminDevice.login('admin', ADMIN_PIN);
  return Admin.open({ device: w.adminDevice, sd: w.adminCard, clock: w.clock });
}

const code = (fn: () => unknown): string => {
  try {
    fn();
    return 'ok';
  } catch (e) {
    if (e instanceof KmsError || e instanceof SekeyError) return e.code;
    throw e;
  }
};

describe('Admin', () => {
  test('refuses a clock beyond the times the model takes, as the model refuses them (InvalidTime)', async () => {
    const w = await team();
    w.clock.set(MAX_TIME);
    w.admin.addUser('U8', 'yan');
    const generation = w.admin.generation;
    w.clock.set(MAX_TIME + 1);
    expect(() => w.admin.addUser('U9', 'zoe')).toThrow(
      /finite number within ±8636844240000000 ms, got 8636844240000001/,
    );
    expect(() => w.admin.addUser('U9', 'zoe')).toThrow(KmsError);
    expect(w.admin.generation).toBe(generation);
    w.close();
  });

  test(
    'B1: deleting a group retires its keys (active → deactivated, pre-active → destroyed) and erases them from ' +
      'devices',
    async () => {
      const w = await team();
      const active = w.admin.addKey('G1', 'a');
      const pre = w.admin.addKey('G1', 'p');
      w.admin.activateKey(active);
      await w.syncByFiles();
      w.clock.advance(1000);
      w.admin.deleteGroup('G1');
      expect(w.admin.keyInfo(active)).toMatchObject({
        state: 'deactivated',
        deactivatedAt: w.clock.now(),
        holders: [],
      });
      expect(w.admin.keyInfo(pre).state).toBe('destroyed');
      expect(w.adminDevice.listKeyIds()).not.toContain(2001);
      await w.syncByFiles();
      for (const user of w.users.values()) expect(user.keys()).toEqual([]);
      expect(
        w.users
          .get('U1')
          ?.device.listKeyIds()
          .filter((id) => id >= 2000 && id < 0x0c00_0000),
      ).toEqual([]);
    },
  );

  test(
    'B2/B3: deactivation is stamped with the real time; expiry with each key’s own end of ' + 'cryptoperiod',
    async () => {
      const w = await team();
      const a = w.admin.addKey('G1', 'a', { cryptoperiodMs: DAY });
      const b = w.admin.addKey('G1', 'b', { cryptoperiodMs: 2 * DAY });
      w.admin.activateKey(a);
      const activatedA = w.clock.now();
      w.clock.advance(5000);
      w.admin.activateKey(b);
      const activatedB = w.clock.now();
      w.clock.advance(10 * DAY);
      expect(w.admin.sweepExpired()).toEqual([a, b]);
      expect(w.admin.keyInfo(a).deactivatedAt).toBe(activatedA + DAY);
      expect(w.admin.keyInfo(b).deactivatedAt).toBe(activatedB + 2 * DAY);
      const c = w.admin.addKey('G1', 'c', { cryptoperiodMs: DAY });
      w.admin.activateKey(c);
      w.clock.advance(60_000);
      w.admin.deactivateKey(c);
      expect(w.admin.keyInfo(c).deactivatedAt).toBe(w.clock.now());
    },
  );

  test('B4: maxKeys is enforced on add, over keys that can still protect', async () => {
    const w = await team();
    const ids = [w.admin.addKey('G1', 'a'), w.admin.addKey('G1', 'b'), w.admin.addKey('G1', 'c')];
    expect(code(() => w.admin.addKey('G1', 'd'))).toBe('MaxKeysReached');
    w.admin.destroyKey(ids[0] as string);
    expect(w.admin.addKey('G1', 'd')).toBe('K2003');
    expect(code(() => w.admin.setMaxKeys('G1', 2))).toBe('PolicyConflict');
  });

  test('a cryptoperiod longer than the group default, or under 1 ms, is refused; 1 ms is the shortest', async () => {
    const w = await team();
    expect(code(() => w.admin.addKey('G1', 'k', { cryptoperiodMs: 31 * DAY }))).toBe('CryptoperiodTooLong');
    expect(code(() => w.admin.addKey('G1', 'k', { cryptoperiodMs: 0 }))).toBe('InvalidCryptoperiod');
    expect(code(() => w.admin.addKey('G1', 'k', { cryptoperiodMs: 1 }))).toBe('ok');
  });

  test('forward secrecy: a removed member cannot read what is encrypted afterwards', async () => {
    const w = await team();
    const k = w.admin.addKey('G1', 'k');
    w.admin.activateKey(k);
    await w.syncByFiles();
    const [alice, bob, carol] = ['U1', 'U2', 'U3'].map((u) => w.users.get(u)!);
    const before = alice!.encrypt(['U2', 'U3'], text('before'));
    expect(read(carol!.decrypt(before))).toBe('before');
    w.clock.advance(1000);
    w.admin.removeMember('G1', 'U3');
    await w.syncByFiles();
    const after = alice!.encrypt(['U2'], text('after'));
    expect(read(bob!.decrypt(after))).toBe('after');
    // Carol's device no longer holds any key of G1, old or new, and cannot decrypt either message.
    expect(carol!.keys()).toEqual([]);
    expect(code(() => carol!.decrypt(after))).toBe('KeyUnavailable');
    expect(code(() => carol!.decrypt(before))).toBe('KeyUnavailable');
    // The old key still decrypts for the remaining members (deactivated keys process).
    expect(read(bob!.decrypt(before))).toBe('before');
  });

  test('a replaced device keeps the keys it was given that can still protect, until its user is deleted', async () => {
    const w = await team();
    const held = (u: string) => w.admin.readDatabase((db) => keysHeldByDevice(db, u));
    // Added in this order: a group holds at most 3 keys that can still protect (TEAM_POLICY).
    const deactivated = w.admin.addKey('G1', 'd');
    w.admin.activateKey(deactivated);
    w.admin.deactivateKey(deactivated);
    const [active, preActive, suspended] = ['a', 'p', 's'].map((n) => w.admin.addKey('G1', n));
    for (const k of [active, suspended]) w.admin.activateKey(k!);
    w.admin.suspendKey(suspended!);
    expect(held('U3')).toEqual([]); // nothing published to it yet
    await w.syncByFiles();
    expect(held('U3')).toEqual([active, preActive, suspended]);
    // A key never published is not on the device.
    w.clock.advance(1000);
    w.admin.addGroup('G2', 'pair', TEAM_POLICY);
    w.admin.addMember('G2', 'U3');
    const later = w.admin.addKey('G2', 'later');
    w.admin.activateKey(later);
    expect(held('U3')).toEqual([active, preActive, suspended]);
    w.admin.removeMember('G1', 'U3');
    await w.publisher.publish();
    const usable = new Set(
      w.admin
        .listKeys()
        .filter((k) => ['preActivation', 'active', 'suspended'].includes(k.state))
        .map((k) => k.id),
    );
    // Leaving G1 rekeys it: its old keys can no longer protect. The same file gives the device G2's key.
    expect(held('U3')).toEqual([active, preActive, suspended, later].filter((k) => usable.has(k!)));
    expect(held('U3')).toContain(later);
    // A deleted user's device is retired: it was told to erase everything and its groups rekeyed.
    w.admin.deleteUser('U3');
    expect(held('U3')).toEqual([]);
  });

  test('backward secrecy: a new member gets only the key its joining creates (the group is rekeyed)', async () => {
    const w = await team();
    w.admin.addUser('U4', 'dave');
    const dave = await w.addDevice('U4');
    const old = w.admin.addKey('G1', 'old');
    w.admin.activateKey(old);
    await w.syncByFiles();
    const secret = w.users.get('U1')!.encrypt(['U2'], text('history'));
    w.clock.advance(1000);
    w.admin.deactivateKey(old);
    const bad = w.admin.addKey('G1', 'bad');
    w.admin.compromiseKey(bad);
    const fresh = w.admin.addKey('G1', 'fresh');
    w.admin.activateKey(fresh);
    const joined = w.admin.addMember('G1', 'U4');
    const rekey = joined.created.find((c) => c.cause === 'rekey')?.key.id as string;
    expect(joined.transitions).toContainEqual(
      expect.objectContaining({ keyId: fresh, from: 'active', to: 'deactivated', cause: 'retirement' }),
    );
    await w.syncByFiles();
    expect(dave.keys().map((k) => k.id)).toEqual([rekey]);
    expect(dave.keys()[0]?.state).toBe('active');
    expect(code(() => dave.decrypt(secret))).toBe('KeyUnavailable');
    // The earlier members keep the retired key for what it protected, and encrypt under the new one.
    expect(
      w.users
        .get('U1')!
        .keys()
        .map((k) => k.id),
    ).toContain(fresh);
    expect(w.users.get('U1')!.findKey(['U4'])).toEqual({ keyId: rekey, groupId: 'G1' });
  });

  test(
    'keys never leave an HSM in clear: no key byte on any card, in update files, acknowledgements, replicas or ' +
      'listings',
    async () => {
      const w = await team();
      const k = w.admin.addKey('G1', 'k');
      w.admin.activateKey(k);
      const { testOnlyHooks } = await import('../../device/secube.ts');
      const secret = testOnlyHooks(w.adminDevice).readKey(2000);
      const hex = Buffer.from(secret).toString('hex');
      // Everything that crosses the share: update files, then acknowledgements (before the admin prunes them).
      await w.publisher.publish();
      for (const user of w.users.values()) await user.sync(w.transport);
      const shared: string[] = [];
      for (const [stream, files] of w.transport.streams)
        for (const [name, bytes] of files) shared.push(`${stream}/${name}:${Buffer.from(bytes).toString('hex')}`);
      expect(shared.some((f) => f.startsWith('acks/'))).toBe(true);
      expect(shared.length).toBeGreaterThan(3);
      const haystacks = [
        ...shared,
        ...[...w.hardware.values()].map((h) => Buffer.from(h.sd.toImage()).toString('hex')),
        Buffer.from(w.adminCard.toImage()).toString('hex'),
        // What each user's replica holds after the sync (what a snapshot carried): users, groups, keys.
        ...[...w.users.values()].map((u) => JSON.stringify({ users: u.users(), groups: u.groups(), keys: u.keys() })),
        JSON.stringify(w.admin.listKeys()),
        JSON.stringify(w.admin.auditLog()),
      ];
      for (const h of haystacks) expect(h.includes(hex.slice(0, 16))).toBe(false);
    },
  );

  test("a user's record and groups; a group's default cryptoperiod (get_info, default_cryptoperiod)", async () => {
    const w = await team();
    w.admin.addGroup('G2', 'ops', TEAM_POLICY);
    w.admin.addMember('G2', 'U2');
    expect(w.admin.userInfo('U2')).toMatchObject({ id: 'U2', name: 'bob', groups: ['G1', 'G2'] });
    expect(w.admin.userInfo('U3').groups).toEqual(['G1']);
    expect(code(() => w.admin.userInfo('U9'))).toBe('UnknownUser');
    const before = w.admin.groupInfo('G1').policy;
    w.admin.setDefaultCryptoperiod('G1', 90 * DAY);
    // Only the default changes; a key added without a cryptoperiod takes it.
    expect(w.admin.groupInfo('G1').policy).toEqual({ ...before, defaultCryptoperiodMs: 90 * DAY });
    expect(w.admin.keyInfo(w.admin.addKey('G1', 'k')).cryptoperiodMs).toBe(90 * DAY);
    expect(code(() => w.admin.setDefaultCryptoperiod('G9', DAY))).toBe('UnknownGroup');
  });

  test('every operation is audited in a verifiable hash chain', async () => {
    const w = await team();
    w.admin.renameUser('U1', 'alice; DROP TABLE users;--');
    const log = w.admin.auditLog();
    expect(log.map((e) => e.action)).toContain('renameUser');
    expect(w.admin.verifyAuditLog()).toBe(log.at(-1)?.hash);
    // An entry names what the operation made, not only what it was asked.
    const keyId = w.admin.addKey('G1', 'audited');
    expect(JSON.parse(w.admin.auditLog().at(-1)!.details)).toMatchObject({ groupId: 'G1', name: 'audited', keyId });
  });

  test('refused operations leave nothing behind, not even a generated key', async () => {
    const w = await team();
    const generation = w.admin.generation;
    const deviceKeys = w.adminDevice.listKeyIds();
    expect(code(() => w.admin.addKey('G9', 'x'))).toBe('UnknownGroup');
    expect(code(() => w.admin.activateKey('K9999'))).toBe('UnknownKey');
    expect(w.admin.generation).toBe(generation);
    expect(w.adminDevice.listKeyIds()).toEqual(deviceKeys);
  });

  test('reads commit nothing and audit nothing, even with keys due to expire; they show them expired', async () => {
    const w = await team();
    const k = w.admin.addKey('G1', 'k', { cryptoperiodMs: DAY });
    w.admin.activateKey(k);
    await w.syncByFiles();
    w.clock.advance(8 * DAY);
    const generation = w.admin.generation;
    const audit = JSON.stringify(w.admin.auditLog());
    expect(w.admin.keyInfo(k)).toMatchObject({ state: 'deactivated', deactivatedAt: w.clock.now() - 8 * DAY + DAY });
    expect(w.admin.listKeys().map((x) => x.state)).toEqual(['deactivated']);
    w.admin.listUsers();
    w.admin.userInfo('U1');
    w.admin.listGroups();
    w.admin.groupInfo('G1');
    w.admin.verifyAuditLog();
    expect(w.publisher.publicationStates().map((p) => p.state)).toEqual([
      'acknowledged',
      'acknowledged',
      'acknowledged',
    ]);
    expect(w.publisher.staleUsers(await w.publisher.waitingAcknowledgements())).toEqual([]);
    expect(w.admin.generation).toBe(generation);
    expect(JSON.stringify(w.admin.auditLog())).toBe(audit);
    w.admin.close();
    const again = await Admin.open({ device: w.adminDevice, sd: w.adminCard, clock: w.clock });
    expect(again.generation).toBe(generation);
    expect(again.sweepExpired()).toEqual([k]);
    expect(again.generation).toBe(generation + 1);
  });

  // Found by the deployment suite (campaign stop21-2026-12-02): a card write cut short during the
  // commit may still have landed its manifest, and the reopen then completes the commit. The admin
  // used to delete the keys the transaction generated on any failure, so the new key was committed
  // in the database and gone from the HSM.
  test('a power cut on the card during a rekeying commit never loses a committed key', async () => {
    const landed: number[] = [];
    for (let n = 1; ; n++) {
      const w = await team();
      w.admin.activateKey(w.admin.addKey('G1', 'k'));
      const before = w.admin.generation;
      // Every write in flight lands: the cut at the manifest write leaves a commit the reopen completes.
      const again = await cutOnCard(w, n, 'written', () => w.admin.removeMember('G1', 'U3'));
      if (again === null) break;
      const live = again
        .listKeys()
        .filter((k) => k.state !== 'destroyed' && k.state !== 'destroyedCompromised')
        .map((k) => k.id);
      const inHsm = w.adminDevice
        .listKeyIds()
        .filter(isKmsDeviceKey)
        .map((id) => `K${id}`);
      expect(inHsm, `cut at card write #${n}`).toEqual(live);
      if (again.generation > before) landed.push(n);
    }
    // The case that lost the key: the cut fell during the commit, which the reopen completed.
    expect(landed.length).toBeGreaterThan(0);
  });

  test('an HSM that is not new is refused for provisioning (DeviceInUse) until it is factory-reset', async () => {
    const w = await team();
    const k = w.admin.addKey('G1', 'k');
    w.admin.activateKey(k);
    await w.syncByFiles();
    w.admin.addUser('U4', 'dave');
    const hsm = w.users.get('U1')!.device;
    hsm.logout();
    hsm.login('admin', ADMIN_PIN);
    const refused = (pattern: RegExp) => {
      const generation = w.admin.generation;
      let error: unknown;
      try {
        provisionUser(w.admin, 'U4', hsm);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(SekeyError);
      expect(error).toMatchObject({ code: 'DeviceInUse', message: expect.stringMatching(pattern) });
      expect(w.admin.generation).toBe(generation);
    };
    // In service for alice: provisioned for dave too, alice's PIN would open dave's keys.
    refused(/in service for U1/);
    // Retired (alice has a new HSM), it still holds alice's keys (her KMS key, which dave's view would never
    // order erased, her channel keys and her database key).
    await w.addDevice('U1');
    refused(/holds 5 key\(s\) of an earlier use \(the admin retired it\)/);
    hsm.factoryReset({ userPin: USER_PIN, adminPin: ADMIN_PIN, manufacturer: TEST_MANUFACTURER });
    hsm.login('admin', ADMIN_PIN);
    expect(provisionUser(w.admin, 'U4', hsm).userId).toBe('U4');
    // In service for dave now, it is no longer the HSM the admin retired: run again (unsure whether
    // the first run landed), dave's provisioning is not refused for the channel keys it left.
    expect(provisionUser(w.admin, 'U4', hsm).userId).toBe('U4');
    // And when alice is replaced again, the HSM in service for dave is not recorded as hers, retired.
    await w.addDevice('U1');
    expect(
      w.admin.readDatabase((db) => db.exec('SELECT user_id FROM retired_devices WHERE serial = ?', [hsm.serial])),
    ).toEqual([]);
  });

  test("a deleted user's HSM reset and in service for another, is not marked retired when its ID returns", async () => {
    const w = await team();
    const x = w.users.get('U3')!.device;
    w.admin.deleteUser('U3');
    x.logout();
    x.login('admin', ADMIN_PIN);
    x.factoryReset({ userPin: USER_PIN, adminPin: ADMIN_PIN, manufacturer: TEST_MANUFACTURER });
    x.login('admin', ADMIN_PIN);
    w.admin.addUser('U4', 'dave');
    provisionUser(w.admin, 'U4', x);
    // Carol's ID comes back, on a new HSM: her old row (serial x) is replaced, x is dave's.
    w.admin.addUser('U3', 'carol again');
    await w.addDevice('U3');
    const retired = w.admin.readDatabase((db) => db.exec('SELECT 1 FROM retired_devices WHERE serial = ?', [x.serial]));
    expect(retired).toEqual([]);
    // Run again on x (unsure whether it landed), dave's provisioning is not refused as a retired HSM's.
    expect(provisionUser(w.admin, 'U4', x).userId).toBe('U4');
  });

  test('a provisioning a power cut lost runs again on its HSM after another took its index', async () => {
    const w = await newWorld(Date.UTC(2026, 0, 1), 'provision-lost-then-other');
    w.admin.addUser('U1', 'alice');
    w.admin.addUser('U2', 'bob');
    const { device: x } = makeDevice('provision-lost-x');
    x.login('admin', ADMIN_PIN);
    // The commit's first card write dropped: the keys are on both HSMs, the commit is lost.
    w.adminCard.cutPowerAfter(1, { outcome: 'dropped' });
    expect(() => provisionUser(w.admin, 'U1', x)).toThrow(PowerLossError);
    w.adminCard.cancelPowerCut();
    w.adminDevice.cutPower();
    w.adminDevice.powerOn();
    w.adminDevice.login('admin', ADMIN_PIN);
    const admin = await Admin.open({ device: w.adminDevice, sd: w.adminCard, clock: w.clock });
    expect(x.listKeyIds()).toEqual(Object.values(userKeyIds(0)));
    // Bob, on another new HSM, takes index 0 meanwhile; alice's HSM, never in service, is still new.
    const { device: y } = makeDevice('provision-lost-y');
    y.login('admin', ADMIN_PIN);
    expect(provisionUser(admin, 'U2', y).keyIds).toEqual(userKeyIds(0));
    expect(provisionUser(admin, 'U1', x).keyIds).toEqual(userKeyIds(1));
    // The admin's own HSM passed as a user's is refused for what it is, not as one to factory-reset.
    expect(() => provisionUser(admin, 'U1', w.adminDevice)).toThrow(/cannot be provisioned with itself/);
    admin.close();
  });

  // Provisioning installs the channel and wrapping keys on both HSMs before its commit. A commit lost
  // to a power cut left them under an index no device row names, and every later provisioning took
  // that index again and was refused (KeyExists) for good.
  test('a power cut on the card while provisioning: the device can be provisioned again', async () => {
    for (const outcome of ['dropped', 'written'] as const) {
      let landed = 0;
      let lost = 0;
      for (let n = 1; ; n++) {
        const w = await newWorld(Date.UTC(2026, 0, 1), `provision-cut-${outcome}`);
        w.admin.addUser('U1', 'alice');
        const { device } = makeDevice(`provision-cut-${outcome}-${n}`);
        device.login('admin', ADMIN_PIN);
        const again = await cutOnCard(w, n, outcome, () => provisionUser(w.admin, 'U1', device));
        if (again === null) break;
        const provisioned =
          again.readDatabase((db) => db.exec('SELECT count(*) FROM user_devices')[0]?.values[0]?.[0]) === 1;
        if (provisioned) landed += 1;
        else lost += 1;
        // The admin HSM holds the device's keys exactly when its database records the device.
        const channel = Object.values(userKeyIds(0));
        const held = w.adminDevice.listKeyIds().filter((id) => channel.includes(id));
        expect(held, `cut at card write #${n}`).toEqual(provisioned ? channel : []);
        // Provisioning again works either way, and the user's HSM then opens what the admin sends.
        const { keyIds } = provisionUser(again, 'U1', device);
        // A landed commit made this a re-provisioning, which takes a fresh index and erases the old one.
        expect(keyIds).toEqual(userKeyIds(provisioned ? 1 : 0));
        expect(w.adminDevice.listKeyIds().filter((id) => channel.includes(id))).toEqual(provisioned ? [] : channel);
        device.logout();
        device.login('user', USER_PIN);
        const sealed = w.adminDevice.seal(keyIds.adminToUserKeyId, new Uint8Array([1, 2, 3]), new Uint8Array(0));
        expect(device.open(keyIds.adminToUserKeyId, sealed, new Uint8Array(0))).toEqual(new Uint8Array([1, 2, 3]));
      }
      // Both cases are exercised: a lost commit (each write dropped) and one the reopen completed.
      expect(outcome === 'dropped' ? lost : landed, outcome).toBeGreaterThan(0);
    }
  });

  // Re-provisioning reused the user's index and overwrote its keys in the admin HSM before the
  // commit: a lost commit left the device in service unable to open any new file (refused as forged)
  // and its acknowledgements unverifiable, until a re-provisioning succeeded.
  test('a power cut while replacing a device: a lost replacement leaves the device in service working', async () => {
    let lost = 0;
    for (let n = 1; ; n++) {
      const w = await team();
      await w.syncByFiles();
      const { device: replacement } = makeDevice(`replacement-${n}`);
      replacement.login('admin', ADMIN_PIN);
      const again = await cutOnCard(w, n, 'dropped', () => provisionUser(w.admin, 'U1', replacement));
      if (again === null) break;
      lost += 1;
      again.renameUser('U1', `alice ${n}`);
      const publisher = new Publisher(again, w.transport);
      await publisher.publish();
      const alice = w.users.get('U1')!;
      const report = await alice.sync(w.transport);
      expect(report.refused, `cut at card write #${n}`).toEqual([]);
      expect(report.applied).toHaveLength(1);
      expect(alice.me().name).toBe(`alice ${n}`);
      expect((await publisher.collectAcknowledgements()).accepted).toEqual([
        { userId: 'U1', sequence: alice.appliedSequence },
      ]);
    }
    expect(lost).toBeGreaterThan(0);
  });

  // Setting up took two commits (the schema, then the identity): power lost in the second left a
  // database without its identity, which `create` refused (the card holds one) and the admin opened
  // half-made (no key counter: every addKey failed), the user's `open` refused (NotProvisioned).
  describe('a power cut during setup: after the reboot the card opens complete, or setup runs again', () => {
    /**
     * For each card write of `setup` in turn, and each way the writes in flight resolve: fresh
     * hardware from `make`, the cut, a reboot, then `recover`. Returns how the attempts recovered.
     */
    async function cutEachWrite<T extends { device: SecubeDevice; sd: SdCard }>(
      make: () => Promise<T>,
      setup: (hw: T) => Promise<unknown>,
      recover: (hw: T) => Promise<string>,
    ): Promise<Set<string>> {
      const seen = new Set<string>();
      for (let n = 1; ; n++) {
        for (const outcome of ['dropped', 'written'] as const) {
          const hw = await make();
          const session = hw.device.session;
          hw.sd.cutPowerAfter(n, { outcome });
          try {
            await setup(hw);
            return seen;
          } catch (error) {
            if (!(error instanceof PowerLossError)) throw error;
          } finally {
            hw.sd.cancelPowerCut();
          }
          hw.device.cutPower();
          hw.device.powerOn();
          hw.device.login(session === 'admin' ? 'admin' : 'user', session === 'admin' ? ADMIN_PIN : USER_PIN);
          seen.add(await recover(hw));
        }
      }
    }

    test('the administrator', async () => {
      const clock = new ManualClock(Date.UTC(2026, 0, 1));
      const seen = await cutEachWrite(
        async () => freshDevice('setup-cut-admin', { cardSectors: TEST_CARD_SECTORS, adminSession: true }),
        ({ device, sd }) => Admin.create({ device, sd, clock }),
        async ({ device, sd }) => {
          let admin: Admin;
          let how = 'opened';
          try {
            admin = await Admin.open({ device, sd, clock });
          } catch (error) {
            expect(error).toMatchObject({ code: 'NotFound' });
            admin = await Admin.create({ device, sd, clock });
            how = 'set up again';
          }
          admin.addGroup('G1', 'team', TEAM_POLICY);
          expect(admin.addKey('G1', 'k')).toBe('K2000');
          expect(admin.auditLog().map((e) => e.action)).toEqual(['initAdmin', 'addGroup', 'addKey']);
          return how;
        },
      );
      expect(seen).toEqual(new Set(['opened', 'set up again']));
    });

    test('a user', async () => {
      const seen = await cutEachWrite(
        async () => {
          const w = await newWorld(Date.UTC(2026, 0, 1), 'setup-cut');
          w.admin.addUser('U1', 'alice');
          w.admin.addGroup('G1', 'team', TEAM_POLICY);
          w.admin.addMember('G1', 'U1');
          const hw = freshDevice('setup-cut-user', { cardSectors: TEST_CARD_SECTORS, adminSession: true });
          const provisioning = provisionUser(w.admin, 'U1', hw.device);
          hw.device.logout();
          hw.device.login('user', USER_PIN);
          return { ...hw, w, provisioning };
        },
        ({ device, sd, w, provisioning }) => User.create({ provisioning, device, sd, clock: w.clock }),
        async ({ device, sd, w, provisioning }) => {
          let user: User;
          let how = 'opened';
          try {
            user = await User.open({ device, sd, clock: w.clock });
          } catch (error) {
            expect(error).toMatchObject({ code: 'NotFound' });
            user = await User.create({ provisioning, device, sd, clock: w.clock });
            how = 'set up again';
          }
          await w.publisher.publish();
          await user.sync(w.transport);
          expect(user.me().name).toBe('alice');
          expect(user.groups().map((g) => g.id)).toEqual(['G1']);
          return how;
        },
      );
      expect(seen).toEqual(new Set(['opened', 'set up again']));
    });

    test('an admin card without its identity (an old setup cut short) is refused, not opened half-made', async () => {
      const clock = new ManualClock(Date.UTC(2026, 0, 1));
      const { device, sd } = freshDevice('setup-cut-legacy', { cardSectors: TEST_CARD_SECTORS, adminSession: true });
      (await EncryptedDatabase.create(secubeDatabaseDevice(device), sd)).close();
      await expect(Admin.open({ device, sd, clock })).rejects.toMatchObject({
        code: 'NotProvisioned',
        message: expect.stringMatching(/no administrator identity/),
      });
    });
  });

  test('reopening finds the same state and erases orphan keys', async () => {
    const w = await team();
    const k = w.admin.addKey('G1', 'k');
    w.adminDevice.generateKey(4242);
    w.admin.close();
    const again = await Admin.open({ device: w.adminDevice, sd: w.adminCard, clock: w.clock });
    expect(again.keyInfo(k).state).toBe('preActivation');
    expect(w.adminDevice.listKeyIds()).not.toContain(4242);
    expect(w.adminDevice.listKeyIds()).toContain(2000);
  });
});

describe('audit entries name the keys each operation generated and every step it made them take', () => {
  /** The admin alone: alice, bob and carol in G1 "team" (which rekeys on join); dave (U4) in no group. */
  const adminTeam = (): Promise<World> => newAdminWorld(4, [['G1', 'team', ['U1', 'U2', 'U3']]]);
  /** The last `n` entries: action and parsed details. */
  const lastEntries = (w: World, n = 1) =>
    w.admin
      .auditLog()
      .slice(-n)
      .map((e) => [e.action, JSON.parse(e.details)]);
  const retired = (key: string, from: string, to: string) => ({ key, from, to, cause: 'retirement' });

  test('add-member that rekeys: the active key deactivated, the fresh one created, in compact JSON', async () => {
    const w = await adminTeam();
    const k = w.admin.addKey('G1', 'k');
    expect(lastEntries(w)).toEqual([
      [
        'addKey',
        {
          groupId: 'G1',
          name: 'k',
          keyId: k,
          created: [{ key: k, group: 'G1', state: 'preActivation', cause: 'added' }],
        },
      ],
    ]);
    w.admin.activateKey(k);
    expect(lastEntries(w)[0]?.[1]).toEqual({
      keyId: k,
      transitions: [{ key: k, from: 'preActivation', to: 'active', cause: 'event' }],
    });
    const rekey = w.admin.addMember('G1', 'U4').created[0]?.key.id;
    expect(rekey).toBe('K2001');
    expect(w.admin.auditLog().at(-1)?.details).toBe(
      '{"groupId":"G1","userId":"U4",' +
        '"created":[{"key":"K2001","group":"G1","state":"active","cause":"rekey"}],' +
        '"transitions":[{"key":"K2000","from":"active","to":"deactivated","cause":"retirement"}]}',
    );
    expect(w.admin.verifyAuditLog()).toBe(w.admin.auditLog().at(-1)?.hash);
  });

  test('remove-member and delete-user: every key retired, and the rekey, group by group', async () => {
    const w = await adminTeam();
    const active = w.admin.addKey('G1', 'a');
    const pre = w.admin.addKey('G1', 'p');
    w.admin.activateKey(active);
    w.admin.removeMember('G1', 'U3');
    expect(lastEntries(w)).toEqual([
      [
        'removeMember',
        {
          groupId: 'G1',
          userId: 'U3',
          created: [{ key: 'K2002', group: 'G1', state: 'active', cause: 'rekey' }],
          transitions: [retired(active, 'active', 'deactivated'), retired(pre, 'preActivation', 'destroyed')],
        },
      ],
    ]);
    w.admin.deleteUser('U2');
    expect(lastEntries(w)).toEqual([
      [
        'deleteUser',
        {
          userId: 'U2',
          created: [{ key: 'K2003', group: 'G1', state: 'active', cause: 'rekey' }],
          transitions: [retired('K2002', 'active', 'deactivated')],
        },
      ],
    ]);
    // A user in no group: nothing happens to keys, and the entry says only what it was asked.
    w.admin.deleteUser('U4');
    expect(lastEntries(w)).toEqual([['deleteUser', { userId: 'U4' }]]);
  });

  test('compromise-key: the compromise and the replacement naming the key it replaces', async () => {
    const w = await adminTeam();
    const k = w.admin.addKey('G1', 'k');
    w.admin.activateKey(k);
    w.admin.compromiseKey(k);
    expect(lastEntries(w)).toEqual([
      [
        'key:COMPROMISE',
        {
          keyId: k,
          created: [{ key: 'K2001', group: 'G1', state: 'active', cause: 'replacement', replaces: k }],
          transitions: [{ key: k, from: 'active', to: 'compromised', cause: 'event' }],
        },
      ],
    ]);
  });

  test('the expiry sweep: its own entry names each step, stamped with the end of the cryptoperiod', async () => {
    const w = await adminTeam();
    const first = w.admin.addKey('G1', 'first', { cryptoperiodMs: DAY });
    w.admin.activateKey(first);
    const firstEnds = w.clock.now() + DAY;
    w.clock.advance(2 * DAY);
    // Before another operation: an `expireKeys` entry, then the operation's, which does not repeat it.
    w.admin.renameUser('U1', 'alicia');
    const expiry = (key: string, at: number) => ({ key, from: 'active', to: 'deactivated', cause: 'expiry', at });
    expect(lastEntries(w, 2)).toEqual([
      ['expireKeys', { keys: [first], transitions: [expiry(first, firstEnds)] }],
      ['renameUser', { userId: 'U1', name: 'alicia' }],
    ]);
    // Asked for (`sekey admin expire`): the keys it expired, not those due when it was asked.
    const second = w.admin.addKey('G1', 'second', { cryptoperiodMs: DAY });
    w.admin.activateKey(second);
    const secondEnds = w.clock.now() + DAY;
    w.clock.advance(3 * DAY);
    w.admin.sweep();
    expect(lastEntries(w)).toEqual([['expireKeys', { keys: [second], transitions: [expiry(second, secondEnds)] }]]);
    expect(w.admin.verifyAuditLog()).toBe(w.admin.auditLog().at(-1)?.hash);
  });
});

describe('User', () => {
  test('is read-only: its views, findKey, and no way to change the KMS', async () => {
    const w = await team();
    const k = w.admin.addKey('G1', 'k');
    w.admin.activateKey(k);
    await w.syncByFiles();
    const alice = w.users.get('U1')!;
    expect(alice.groups().map((g) => g.id)).toEqual(['G1']);
    expect(alice.users().map((u) => u.id)).toEqual(['U1', 'U2', 'U3']);
    expect(alice.findKey(['U2'])).toEqual({ keyId: k, groupId: 'G1' });
    expect(alice.findKeyInGroup('G1')).toEqual({ keyId: k, groupId: 'G1' });
    expect(code(() => alice.findKey(['U9']))).toBe('UnknownUser');
    expect(code(() => alice.findKeyInGroup('G9'))).toBe('UnknownGroup');
    // W5: a user-level session cannot delete or overwrite keys on its own device.
    expect(() => alice.device.deleteKey(2000)).toThrow(/admin/i);
    expect(() => alice.device.generateKey(2000, { replace: true })).toThrow();
  });

  test('reads commit nothing, even with a key due to expire: they show it expired, as the admin will', async () => {
    const w = await team();
    const k = w.admin.addKey('G1', 'k', { cryptoperiodMs: DAY });
    w.admin.activateKey(k);
    await w.syncByFiles();
    const alice = w.users.get('U1')!;
    const bob = w.users.get('U2')!;
    const message = alice.encrypt(['U2'], text('before the end'));
    w.clock.advance(2 * DAY);
    const generation = alice.device.counterRead('db.generation');
    const card = w.hardware.get('U1')!.sd.toImage();
    const shown = alice.keyInfo(k);
    expect(shown).toMatchObject({ state: 'deactivated', deactivatedAt: w.clock.now() - 2 * DAY + DAY });
    expect(alice.keys()).toEqual([shown]);
    expect(code(() => alice.findKey(['U2']))).toBe('NoUsableKey');
    expect(read(bob.decrypt(message))).toBe('before the end');
    alice.groups();
    alice.users();
    alice.me();
    expect(alice.device.counterRead('db.generation')).toBe(generation);
    expect(w.hardware.get('U1')!.sd.toImage()).toEqual(card);
    // The admin's next update carries the same expiry, stamped the same.
    w.admin.sweep();
    await w.syncByFiles();
    expect(alice.keyInfo(k)).toEqual(shown);
    expect(w.admin.keyInfo(k)).toMatchObject(shown);
  });

  test('decrypt obeys the usage table: suspended and deactivated decrypt, compromised only re-protects', async () => {
    const w = await team();
    const k = w.admin.addKey('G1', 'k');
    w.admin.activateKey(k);
    await w.syncByFiles();
    const alice = w.users.get('U1')!;
    const bob = w.users.get('U2')!;
    const msg = alice.encrypt(['U2'], text('hello'));
    w.admin.suspendKey(k);
    await w.syncByFiles();
    expect(read(bob.decrypt(msg))).toBe('hello');
    expect(code(() => alice.encrypt(['U2'], text('x')))).toBe('NoUsableKey');
    w.admin.resumeKey(k);
    w.admin.compromiseKey(k);
    await w.syncByFiles();
    expect(code(() => bob.decrypt(msg))).toBe('UsageNotAllowed');
    const rescued = bob.reprotect(msg);
    expect(read(bob.decrypt(rescued))).toBe('hello');
    expect(read(alice.decrypt(rescued))).toBe('hello');
    // Marked with the compromised key (SKM2), in its authenticated data: taken off, it fails.
    expect(decodeMessage(rescued).rescuedFrom).toBe(k);
    const { keyId, nonce, ciphertext } = decodeMessage(rescued);
    expect(() => alice.decrypt(encodeMessage(keyId, nonce, ciphertext))).toThrow();
    expect(() => alice.decrypt(encodeMessage(keyId, nonce, ciphertext, 'K9999'))).toThrow();
    w.admin.destroyKey(k);
    await w.syncByFiles();
    expect(code(() => bob.decrypt(msg))).toBe('KeyUnavailable');
  });

  test("a rescue's mark names the compromised key it came from, not one a forger wrote in the input", async () => {
    const w = await team();
    const k = w.admin.addKey('G1', 'k');
    w.admin.activateKey(k);
    w.admin.compromiseKey(k);
    await w.syncByFiles();
    const alice = w.users.get('U1')!;
    const bob = w.users.get('U2')!;
    // Whoever learnt k writes under it a message already marked, naming a key that is not compromised
    // (the one a rescue goes to): the HSM checks no usage rule, so k's material is all it takes.
    const fresh = alice.findKey(['U2']).keyId;
    expect(fresh).not.toBe(k);
    const { nonce, ciphertext } = alice.device.encrypt(deviceKeyNumber(k), text('pay mallory'), {
      aad: messageAad(k, fresh),
    });
    const rescued = bob.reprotect(encodeMessage(k, nonce, ciphertext, fresh));
    expect(read(alice.decrypt(rescued))).toBe('pay mallory');
    // The input under k vouches for nothing, its mark included: the result names k.
    expect(decodeMessage(rescued).rescuedFrom).toBe(k);
  });

  test('reprotect under the best key still authenticates the message: a flipped bit fails as in decrypt', async () => {
    const w = await team();
    const k = w.admin.addKey('G1', 'k');
    w.admin.activateKey(k);
    await w.syncByFiles();
    const alice = w.users.get('U1')!;
    const bob = w.users.get('U2')!;
    const msg = alice.encrypt(['U2'], text('hello'));
    expect(bob.reprotect(msg)).toEqual(msg);
    // The last byte lies in the AEAD tag; the message still names K and decodes.
    const corrupted = msg.slice();
    corrupted[corrupted.length - 1] = (corrupted.at(-1) ?? 0) ^ 1;
    let decryptError: unknown = null;
    try {
      bob.decrypt(corrupted);
    } catch (error) {
      decryptError = error;
    }
    expect(decryptError).toBeInstanceOf(Error);
    // It was returned unchecked, as if fine.
    expect(() => bob.reprotect(corrupted)).toThrow(decryptError as Error);
    expect(() => bob.reprotect(corrupted)).toThrow(
      expect.objectContaining({ code: (decryptError as { code?: unknown }).code }),
    );
  });

  test('an expired key no longer encrypts, even before any sweep reaches the user', async () => {
    const w = await team();
    const k = w.admin.addKey('G1', 'k', { cryptoperiodMs: DAY });
    w.admin.activateKey(k);
    await w.syncByFiles();
    const alice = w.users.get('U1')!;
    const msg = alice.encrypt(['U2'], text('x'));
    w.clock.advance(DAY);
    expect(code(() => alice.encrypt(['U2'], text('y')))).toBe('NoUsableKey');
    expect(alice.keyInfo(k).state).toBe('deactivated');
    expect(read(w.users.get('U2')!.decrypt(msg))).toBe('x');
  });

  test('an update for someone else is refused', async () => {
    const w = await team();
    await w.publisher.publish();
    const alice = w.users.get('U1')!;
    // Bob's file, moved into alice's stream: sealed under bob's channel key, alice's HSM cannot open it.
    const [bobsFile] = await w.transport.list(updateStream('U2'));
    const bytes = (await w.transport.read(updateStream('U2'), bobsFile!))!;
    for (const name of await w.transport.list(updateStream('U1'))) await w.transport.remove(updateStream('U1'), name);
    await w.transport.write(updateStream('U1'), bobsFile!, bytes);
    const report = await alice.sync(w.transport);
    expect(report.applied).toEqual([]);
    // Its header names bob: nothing says it was meant for another HSM of alice's.
    expect(report.refused).toEqual([{ name: bobsFile, reason: 'forged' }]);
    expect(alice.appliedSequence).toBe(0);
    expect(alice.groups()).toEqual([]);
    expect(alice.keys()).toEqual([]);
  });

  test("a new HSM finds its predecessor's files until the next publish: refused, naming that HSM", async () => {
    const w = await team();
    w.admin.activateKey(w.admin.addKey('G1', 'k'));
    await w.syncByFiles();
    w.admin.renameGroup('G1', 'renamed');
    await w.publisher.publish();
    const old = w.users.get('U1')!.device.serial;
    // Provisioned, not yet published (`sekey admin provision U1 --no-publish`): the share holds the
    // file sealed for the old HSM.
    const alice = await w.addDevice('U1');
    const [file] = await w.transport.list(updateStream('U1'));
    const before = await alice.sync(w.transport);
    expect([before.applied, before.refused]).toEqual([[], [{ name: file, reason: 'forged', namesHsm: old }]]);
    expect(alice.blocked).toBe(false);
    // The next publish sends the new HSM its own files (a resync), and the old file goes.
    await w.publisher.publish();
    const after = await alice.sync(w.transport);
    expect([after.applied.length, after.refused]).toEqual([1, []]);
    expect(alice.groups().map((g) => g.name)).toEqual(['renamed']);
    w.close();
  });
});

// Each open database holds an SQLite connection in sql.js's WebAssembly memory, which only close()
// frees: an open that refuses must close what it opened, and a world must close all it opened.
describe('databases are closed', () => {
  test("a refused open frees its database: Admin.open of a user's card, User.open of the admin's", async () => {
    const w = await team();
    const alice = w.users.get('U1')!;
    const aliceCard = w.hardware.get('U1')!.sd;
    const before = await sqliteMemoryUsed();
    alice.device.logout();
    alice.device.login('admin', ADMIN_PIN);
    await expect(Admin.open({ device: alice.device, sd: aliceCard })).rejects.toMatchObject({ code: 'NotProvisioned' });
    await expect(User.open({ device: w.adminDevice, sd: w.adminCard })).rejects.toMatchObject({
      code: 'NotProvisioned',
    });
    expect(await sqliteMemoryUsed()).toBe(before);
    w.close();
  });

  test('World.close closes the admin and every replica, replaced ones included', async () => {
    const before = await sqliteMemoryUsed();
    const w = await team();
    w.admin.activateKey(w.admin.addKey('G1', 'first'));
    await w.syncByFiles();
    await w.addDevice('U2'); // bob's lost HSM replaced: the old replica is not in `users` any more
    expect(await sqliteMemoryUsed()).toBeGreaterThan(before);
    w.close();
    expect(await sqliteMemoryUsed()).toBe(before);
  });
});
