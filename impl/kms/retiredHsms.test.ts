/**
 * Forgetting a retired HSM (`Admin.forgetHsm`, `retiredHsms.ts`): one that never acknowledges its
 * last file no longer keeps its user stale, the publisher owes it nothing, every table lets go of
 * it; a lost one's keys are compromised through the key life cycle, exactly those it may hold.
 */
import { describe, expect, test } from 'vitest';
import { PowerLossError } from '../../device/powerLossError.ts';
import { ADMIN_PIN, TEST_MANUFACTURER, USER_PIN, makeDevice } from '../../device/secube.testkit.ts';
import type { SecubeDevice } from '../../device/secube.ts';
import type { KeyId, UserId } from '../../model/kms.ts';
import { userKeyIds } from '../protocol/deviceKeyIds.ts';
import { SekeyError } from '../protocol/sekeyError.ts';
import { updateStream } from '../protocol/streams.ts';
import { Admin } from './admin.ts';
import { provisionUser } from './distribution.ts';
import type { HsmFate } from './retiredHsms.ts';
import { TEAM_POLICY, newTeam } from './world.testkit.ts';
import type { World } from './world.testkit.ts';

const DAY = 86_400_000;

/** Rows of `sql` in the admin database. */
const rows = (admin: Admin, sql: string, params: string[] = []): unknown[][] =>
  admin.readDatabase((db) => db.exec(sql, params)[0]?.values ?? []);

/** A publication round that every user but `silent` syncs. */
async function syncAllBut(w: World, silent: UserId): Promise<void> {
  await w.publisher.publish();
  for (const [userId, user] of w.users) if (userId !== silent) await user.sync(w.transport);
  await w.publisher.collectAcknowledgements();
}

/** The rows every table that tracks devices holds for `userId`, by table. */
function trackedRows(admin: Admin, userId: UserId): Record<string, number> {
  const tables = ['user_devices', 'publication', 'outbox', 'device_keys', 'device_groups'];
  const count = (table: string) =>
    Number(rows(admin, `SELECT count(*) FROM ${table} WHERE user_id = ?`, [userId])[0]?.[0]);
  return Object.fromEntries(tables.map((t) => [t, count(t)]));
}

/** The code of the SekeyError `fn` throws. */
function refusal(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    if (error instanceof SekeyError) return `${error.code}: ${error.message}`;
    throw error;
  }
  return 'ok';
}

/** A new HSM, in an admin session (for `provisionUser`). */
/**
 * A team with an active key K2000 that everyone holds; carol is then deleted, and the others (not
 * she) sync and acknowledge: her HSM still holds the key and owes its last file.
 */
async function carolDeletedUnsynced(): Promise<{ w: World; k: KeyId; hsm: SecubeDevice }> {
  const w = await newTeam();
  const k = w.admin.addKey('G1', 'k');
  w.admin.activateKey(k);
  await w.syncByFiles();
  const hsm = w.users.get('U3')!.device;
  w.admin.deleteUser('U3');
  await syncAllBut(w, 'U3');
  return { w, k, hsm };
}

function newHsm(name: string): SecubeDevice {
  const { device } = makeDevice(name);
  device.login('admin', ADMIN_PIN);
  return device;
}

describe('forgetting a retired HSM', () => {
  test("a deleted user's HSM that never syncs again: stale until forgotten, then owed nothing", async () => {
    const w = await newTeam();
    w.admin.activateKey(w.admin.addKey('G1', 'k'));
    await w.syncByFiles();
    const carol = w.users.get('U3')!;
    const serial = carol.device.serial;
    const keyBase = Number(rows(w.admin, "SELECT key_base FROM user_devices WHERE user_id = 'U3'")[0]?.[0]);
    w.admin.deleteUser('U3');
    // Her HSM is destroyed before it fetches its last file: it never acknowledges.
    await syncAllBut(w, 'U3');
    w.clock.advance(8 * DAY);
    await syncAllBut(w, 'U3');
    expect(w.publisher.staleUsers()).toEqual(['U3']);
    const sequence = Number(rows(w.admin, "SELECT sequence FROM streams WHERE user_id = 'U3'")[0]?.[0]);

    const generation = w.admin.generation;
    const forgotten = w.admin.forgetHsm(serial, 'destroyed');
    expect(w.admin.generation).toBe(generation + 1);
    expect(forgotten).toMatchObject({ serial, users: ['U3'], fate: 'destroyed', compromised: [], skipped: [] });
    expect([forgotten.changes.transitions, forgotten.changes.created]).toEqual([[], []]);
    expect(w.publisher.staleUsers()).toEqual([]);
    expect(w.publisher.publicationStates().map((p) => p.userId)).toEqual(['U1', 'U2']);
    // Every table that tracked it lets go; the admin HSM erased its channel keys.
    expect(trackedRows(w.admin, 'U3')).toEqual({
      user_devices: 0,
      publication: 0,
      outbox: 0,
      device_keys: 0,
      device_groups: 0,
    });
    for (const id of Object.values(userKeyIds(keyBase))) expect(w.adminDevice.listKeyIds()).not.toContain(id);
    expect(rows(w.admin, 'SELECT serial, user_id, fate FROM forgotten_devices')).toEqual([[serial, 'U3', 'destroyed']]);
    expect(w.admin.auditLog().at(-1)).toMatchObject({ action: 'forgetHsm' });
    // The publisher sends it nothing, heartbeats included, however long.
    w.clock.advance(3 * DAY);
    const { published } = await w.publisher.publish();
    expect(published.map((p) => p.userId)).toEqual(['U1', 'U2']);
    expect(refusal(() => w.publisher.requestResync('U3'))).toMatch(/^NotProvisioned/);
    // Carol's stream stays the ID's: a new HSM for a new carol continues it with a resync, which
    // clears the old files from the share.
    expect(rows(w.admin, "SELECT sequence, resync, device_view FROM streams WHERE user_id = 'U3'")).toEqual([
      [sequence, 1, 'none'],
    ]);
    w.admin.addUser('U3', 'carol again');
    w.admin.addMember('G1', 'U3');
    const newCarol = await w.addDevice('U3');
    const next = await w.publisher.publish();
    expect(next.published.find((p) => p.userId === 'U3')).toMatchObject({ sequence: sequence + 1, kind: 'resync' });
    expect(await w.transport.list(updateStream('U3'))).toHaveLength(1);
    await newCarol.sync(w.transport);
    expect(newCarol.keys().map((k) => k.state)).toContain('active');
  });

  test('its publication state goes: a new HSM for the same ID is not stale for the old one', async () => {
    const w = await newTeam();
    await w.syncByFiles();
    w.admin.deleteUser('U3');
    await syncAllBut(w, 'U3');
    w.clock.advance(8 * DAY);
    expect(w.publisher.staleUsers()).toEqual(['U3']);
    expect(rows(w.admin, "SELECT state FROM publication WHERE user_id = 'U3'")).toHaveLength(1);
    w.admin.forgetHsm('U3', 'lost');
    expect(rows(w.admin, "SELECT state FROM publication WHERE user_id = 'U3'")).toEqual([]);
    // Carol again, on a new HSM: its first file was published just now, it is pending, not stale.
    w.admin.addUser('U3', 'carol again');
    await w.addDevice('U3');
    await w.publisher.publish();
    expect(w.publisher.staleUsers()).toEqual([]);
    expect(w.publisher.publicationStates().find((p) => p.userId === 'U3')?.state).toBe('pending');
  });

  test('a lost HSM: exactly the keys it may hold are compromised, as compromise-key would', async () => {
    const w = await newTeam();
    w.admin.changePolicy('G1', { ...TEAM_POLICY, maxKeys: 6 });
    w.admin.addGroup('G2', 'pair', TEAM_POLICY);
    w.admin.addGroup('G3', 'side', TEAM_POLICY);
    for (const [g, u] of [
      ['G2', 'U1'],
      ['G2', 'U2'],
      ['G3', 'U1'],
      ['G3', 'U3'],
    ] as const)
      w.admin.addMember(g, u);
    const never = w.admin.addKey('G2', 'never hers');
    const erased = w.admin.addKey('G3', 'erased');
    const [a, b, c, d] = ['a', 'b', 'c', 'd'].map((n) => w.admin.addKey('G1', n)) as [KeyId, KeyId, KeyId, KeyId];
    for (const k of [never, erased, a, b, c]) w.admin.activateKey(k);
    await w.syncByFiles();
    // Carol leaves G3 and acknowledges erasing its key: her HSM no longer holds it.
    w.admin.removeMember('G3', 'U3');
    await w.syncByFiles();
    // From here her HSM syncs no more, and is lost.
    w.admin.deactivateKey(b);
    const replacement = w.admin.compromiseKey(c).created[0]!.key.id;
    w.admin.destroyKey(d);
    await syncAllBut(w, 'U3');
    w.admin.deleteUser('U3');
    await syncAllBut(w, 'U3');
    const before = w.admin.listKeys();
    const copy = await w.fork();
    try {
      const generation = w.admin.generation;
      const forgotten = w.admin.forgetHsm('U3', 'lost');
      expect(w.admin.generation).toBe(generation + 1);
      // d was destroyed, but her HSM never applied the erase order: it may hold d, which becomes
      // destroyedCompromised (what d protected is exposed), as compromise-key would take it.
      expect(forgotten.compromised).toEqual([a, b, d, replacement]);
      expect(forgotten.skipped).toEqual([{ keyId: c, state: 'compromised' }]);
      expect(forgotten.keysUnknown).toBe(false);
      expect(forgotten.changes.transitions.map((t) => [t.keyId, t.from, t.to, t.cause])).toEqual([
        [a, 'deactivated', 'compromised', 'event'],
        [b, 'deactivated', 'compromised', 'event'],
        [d, 'destroyed', 'destroyedCompromised', 'event'],
        [replacement, 'deactivated', 'compromised', 'event'],
      ]);
      // The keys she never held, or acknowledged erasing, are left alone.
      const after = new Map(w.admin.listKeys().map((k) => [k.id, k]));
      for (const k of before) if (![a, b, d, replacement].includes(k.id)) expect(after.get(k.id), k.id).toEqual(k);
      // The same as the administrator compromising each key: the model's operation, audited as such.
      for (const k of [a, b, d, replacement]) copy.admin.compromiseKey(k);
      expect(w.admin.listKeys()).toEqual(copy.admin.listKeys());
      const audit = w.admin.auditLog().slice(-5);
      expect(audit.map((e) => e.action)).toEqual(['forgetHsm', ...Array(4).fill('key:COMPROMISE')]);
      expect(new Set(audit.map((e) => e.seq)).size).toBe(5);
      expect(JSON.parse(audit[1]!.details)).toMatchObject({ keyId: a });
      // The others learn it: the compromised keys no longer decrypt on their HSMs, only re-protect.
      await syncAllBut(w, 'U3');
      expect(
        w.users
          .get('U1')!
          .keys()
          .filter((k) => [a, b].includes(k.id))
          .map((k) => k.state),
      ).toEqual(['compromised', 'compromised']);
    } finally {
      copy.close();
    }
  });

  test('a lost replaced HSM: the keys it kept are compromised, an active one replaced', async () => {
    const w = await newTeam();
    const k = w.admin.addKey('G1', 'k');
    w.admin.activateKey(k);
    await w.syncByFiles();
    const old = w.users.get('U1')!.device.serial;
    // Alice's HSM is replaced: the old one keeps k (nothing is published to it any more).
    const hsm = newHsm('forget-replaced-U1');
    provisionUser(w.admin, 'U1', hsm);
    expect(rows(w.admin, 'SELECT serial, key_id FROM retired_device_keys')).toEqual([[old, k]]);
    expect(w.publisher.staleUsers()).toEqual([]);
    const forgotten = w.admin.forgetHsm(old, 'lost');
    expect(forgotten).toMatchObject({ serial: old, users: ['U1'], compromised: [k], skipped: [] });
    const created = forgotten.changes.created;
    expect(created.map((c) => [c.cause, c.replaces, c.key.state, c.key.holders])).toEqual([
      ['replacement', k, 'active', ['U1', 'U2', 'U3']],
    ]);
    // The compromise is audited as compromise-key audits it, replacement included; not twice.
    const [forget, compromise] = w.admin.auditLog().slice(-2);
    expect(forget?.action).toBe('forgetHsm');
    expect(JSON.parse(forget!.details)).not.toHaveProperty('created');
    expect(JSON.parse(forget!.details)).not.toHaveProperty('transitions');
    expect(compromise?.action).toBe('key:COMPROMISE');
    expect(JSON.parse(compromise!.details)).toEqual({
      keyId: k,
      hsm: old,
      created: [{ key: created[0]?.key.id, group: 'G1', state: 'active', cause: 'replacement', replaces: k }],
      transitions: [{ key: k, from: 'active', to: 'compromised', cause: 'event' }],
    });
    expect(w.admin.verifyAuditLog()).toBe(compromise?.hash);
    expect(rows(w.admin, 'SELECT count(*) FROM retired_devices')).toEqual([[0]]);
    expect(rows(w.admin, 'SELECT count(*) FROM retired_device_keys')).toEqual([[0]]);
    // Alice's HSM in service is untouched.
    expect(rows(w.admin, "SELECT serial FROM user_devices WHERE user_id = 'U1'")).toEqual([[hsm.serial]]);
  });

  test('a replaced HSM that never acknowledged erasing a key: the key is recorded, and compromised', async () => {
    const w = await newTeam();
    w.admin.addGroup('G3', 'side', TEAM_POLICY);
    w.admin.addMember('G3', 'U1');
    w.admin.addMember('G3', 'U3');
    const side = w.admin.addKey('G3', 'side');
    w.admin.activateKey(side);
    await w.syncByFiles();
    // Carol leaves G3: the erase order is published, her HSM never applies it, and is replaced.
    w.admin.removeMember('G3', 'U3');
    await syncAllBut(w, 'U3');
    const old = w.users.get('U3')!.device;
    expect(old.listKeyIds()).toContain(Number(side.slice(1)));
    provisionUser(w.admin, 'U3', newHsm('forget-unacknowledged-U3'));
    expect(rows(w.admin, 'SELECT key_id FROM retired_device_keys WHERE serial = ?', [old.serial]).flat()).toContain(
      side,
    );
    const forgotten = w.admin.forgetHsm(old.serial, 'lost');
    expect(forgotten.compromised).toContain(side);
    expect(w.admin.keyInfo(side).state).toBe('compromised');
  });

  test('a replaced HSM whose keys were not recorded (replaced before version 7) is forgotten, saying so', async () => {
    const w = await newTeam();
    w.admin.activateKey(w.admin.addKey('G1', 'k'));
    await w.syncByFiles();
    const old = w.users.get('U2')!.device.serial;
    provisionUser(w.admin, 'U2', newHsm('forget-unrecorded-U2'));
    // As a database migrated from version 6 holds it.
    w.admin.transaction('test', {}, (db) => {
      db.run('DELETE FROM retired_device_keys');
      db.run('UPDATE retired_devices SET keys_recorded = 0');
    });
    const forgotten = w.admin.forgetHsm(old, 'lost');
    expect(forgotten).toMatchObject({ compromised: [], skipped: [], keysUnknown: true });
    // Forgotten as destroyed first, then found lost: still not known.
    const older = w.users.get('U1')!.device.serial;
    provisionUser(w.admin, 'U1', newHsm('forget-unrecorded-U1'));
    w.admin.transaction('test', {}, (db) => {
      db.run('DELETE FROM retired_device_keys');
      db.run('UPDATE retired_devices SET keys_recorded = 0');
    });
    expect(w.admin.forgetHsm(older, 'destroyed').keysUnknown).toBe(false);
    expect(w.admin.forgetHsm(older, 'lost')).toMatchObject({
      previously: 'destroyed',
      compromised: [],
      keysUnknown: true,
    });
    // The audit says so too.
    expect(JSON.parse(w.admin.auditLog().at(-1)!.details)).toMatchObject({ hsm: older, keysUnknown: true });
  });

  test('forgotten as destroyed, then found lost: the keys recorded with it are compromised then', async () => {
    const { w, k, hsm } = await carolDeletedUnsynced();
    expect(hsm.listKeyIds()).toContain(Number(k.slice(1)));
    const destroyed = w.admin.forgetHsm(hsm.serial, 'destroyed');
    expect(destroyed).toMatchObject({ previously: null, compromised: [], keysUnknown: false });
    expect(w.admin.keyInfo(k).state).toBe('deactivated');
    // Its record is gone but for the forgetting, which keeps the keys it may hold.
    expect(trackedRows(w.admin, 'U3')).toMatchObject({ user_devices: 0, device_keys: 0 });
    expect(rows(w.admin, 'SELECT serial, key_id FROM forgotten_device_keys')).toEqual([[hsm.serial, k]]);
    expect(refusal(() => w.admin.forgetHsm(hsm.serial, 'destroyed'))).toMatch(
      /^AlreadyForgotten: HSM \w+ was forgotten already, as destroyed, at .* \(if it turns out lost, forget it again/,
    );
    // It turns up for sale: forgotten again, as lost, by the user ID it served.
    const copy = await w.fork();
    try {
      const generation = w.admin.generation;
      const lost = w.admin.forgetHsm('U3', 'lost');
      expect(w.admin.generation).toBe(generation + 1);
      expect(lost).toMatchObject({
        serial: hsm.serial,
        users: ['U3'],
        fate: 'lost',
        previously: 'destroyed',
        compromised: [k],
        skipped: [],
        keysUnknown: false,
      });
      copy.admin.compromiseKey(k);
      expect(w.admin.listKeys()).toEqual(copy.admin.listKeys());
    } finally {
      copy.close();
    }
    expect(rows(w.admin, 'SELECT serial, user_id, fate FROM forgotten_devices')).toEqual([[hsm.serial, 'U3', 'lost']]);
    expect(rows(w.admin, 'SELECT count(*) FROM forgotten_device_keys')).toEqual([[0]]);
    const audit = w.admin.auditLog().slice(-2);
    expect(audit.map((e) => e.action)).toEqual(['forgetHsm', 'key:COMPROMISE']);
    expect(JSON.parse(audit[0]!.details)).toMatchObject({ fate: 'lost', previously: 'destroyed', keysUnknown: false });
    // Lost is final: neither fate is taken again.
    for (const fate of ['destroyed', 'lost'] as const)
      expect(refusal(() => w.admin.forgetHsm(hsm.serial, fate))).toMatch(/^AlreadyForgotten: .* as lost, at [^(]*$/);
  });

  test('two HSMs of one user forgotten as destroyed: a user ID is refused for --lost, a serial is not', async () => {
    const w = await newTeam();
    w.admin.activateKey(w.admin.addKey('G1', 'k'));
    await w.syncByFiles();
    const first = w.users.get('U2')!.device.serial;
    const replacement = newHsm('bob-2');
    provisionUser(w.admin, 'U2', replacement);
    await w.syncByFiles();
    const k2 = w.admin.addKey('G1', 'k2');
    w.admin.activateKey(k2);
    await w.syncByFiles();
    // k2 was published to the replacement only (never to the first HSM): the records say it may hold it.
    w.admin.deleteUser('U2');
    // Forgotten in the order that once made the user ID name the older HSM, which never held k2.
    w.admin.forgetHsm(replacement.serial, 'destroyed');
    w.clock.advance(1000);
    w.admin.forgetHsm(first, 'destroyed');
    const generation = w.admin.generation;
    expect(refusal(() => w.admin.forgetHsm('U2', 'lost'))).toMatch(
      new RegExp(
        `^AmbiguousHsm: U2 has 2 forgotten HSMs: ${first} \\(destroyed\\), ${replacement.serial} .*by its serial`,
      ),
    );
    expect(w.admin.generation).toBe(generation);
    expect(w.admin.forgetHsm(replacement.serial, 'lost').compromised).toContain(k2);
    expect(w.admin.keyInfo(k2).state).toBe('compromised');
    // One destroyed and one lost: still named by serial (a rerun must not reach the other one).
    expect(refusal(() => w.admin.forgetHsm('U2', 'lost'))).toMatch(/^AmbiguousHsm: U2 has 2 forgotten HSMs/);
  });

  test('refused, changing nothing: unknown, in service, forgotten already, ambiguous', async () => {
    const w = await newTeam();
    const alice = w.users.get('U1')!.device.serial;
    const carol = w.users.get('U3')!.device.serial;
    w.admin.deleteUser('U3');
    w.admin.forgetHsm(carol, 'destroyed');
    // Two HSMs of bob's replaced: his ID names neither.
    const second = newHsm('forget-bob-2');
    const bobs = [w.users.get('U2')!.device.serial, second.serial];
    provisionUser(w.admin, 'U2', second);
    provisionUser(w.admin, 'U2', newHsm('forget-bob-3'));
    const generation = w.admin.generation;
    const cases: Array<[string, RegExp, ...HsmFate[]]> = [
      ['NOTASERIAL', /^UnknownHsm: no HSM NOTASERIAL on record$/, 'destroyed', 'lost'],
      ['U9', /^UnknownHsm: U9 has no retired HSM on record$/, 'destroyed', 'lost'],
      [alice, new RegExp(`^HsmInService: HSM ${alice} is in service for U1`), 'destroyed', 'lost'],
      ['U1', new RegExp(`^HsmInService: U1 has no retired HSM: its HSM ${alice} is in service`), 'destroyed', 'lost'],
      // Forgotten as destroyed: it may be forgotten again as lost (tested above), not as destroyed.
      [carol, new RegExp(`^AlreadyForgotten: HSM ${carol} was forgotten already, as destroyed, at `), 'destroyed'],
      ['U3', new RegExp(`^AlreadyForgotten: U3's HSM ${carol} was forgotten already`), 'destroyed'],
      ['U2', new RegExp(`^AmbiguousHsm: U2 has 2 retired HSMs: ${[...bobs].sort().join(', ')}; name the one`), 'lost'],
    ];
    for (const [hsm, expected, ...fates] of cases)
      for (const fate of fates) expect(refusal(() => w.admin.forgetHsm(hsm, fate))).toMatch(expected);
    expect(w.admin.generation).toBe(generation);
    // Carol's ID with a new HSM in service names that one, not the one forgotten earlier.
    w.admin.addUser('U3', 'carol again');
    const newCarol = newHsm('forget-carol-2');
    provisionUser(w.admin, 'U3', newCarol);
    expect(refusal(() => w.admin.forgetHsm('U3', 'lost'))).toMatch(
      new RegExp(
        `^HsmInService: U3 has no retired HSM: its HSM ${newCarol.serial} is in service .*; its earlier HSM ` +
          `${carol}, forgotten as destroyed, is named by its serial$`,
      ),
    );
    // Named as destroyed again: the earlier one is said forgotten already (a second run does not read
    // as if it never had been).
    expect(refusal(() => w.admin.forgetHsm('U3', 'destroyed'))).toMatch(
      new RegExp(
        '^HsmInService: .*is in service \\(only a retired HSM can be forgotten\\); its earlier HSM ' +
          `${carol} \\(destroyed\\) was forgotten already$`,
      ),
    );
    // By serial, each of bob's is forgotten.
    for (const serial of bobs) expect(w.admin.forgetHsm(serial, 'destroyed').users).toEqual(['U2']);
  });

  test('a power cut leaves the HSM on record or forgotten, never between; running it again is safe', async () => {
    const w = await newTeam();
    const k = w.admin.addKey('G1', 'k');
    w.admin.activateKey(k);
    await w.syncByFiles();
    const serial = w.users.get('U3')!.device.serial;
    w.admin.deleteUser('U3');
    await syncAllBut(w, 'U3');
    const outcomes = new Set<string>();
    for (let n = 1; ; n++) {
      const copy = await w.fork();
      try {
        copy.adminCard.cutPowerAfter(n, { outcome: n % 2 === 0 ? 'written' : 'dropped' });
        let cut = false;
        try {
          copy.admin.forgetHsm('U3', 'lost');
        } catch (error) {
          if (!(error instanceof PowerLossError)) throw error;
          cut = true;
        } finally {
          copy.adminCard.cancelPowerCut();
        }
        if (!cut) break;
        copy.adminDevice.cutPower();
        copy.adminDevice.powerOn();
        copy.adminDevice.login('admin', ADMIN_PIN);
        const admin = await Admin.open({ device: copy.adminDevice, sd: copy.adminCard, clock: copy.clock });
        try {
          const forgotten = rows(admin, 'SELECT count(*) FROM forgotten_devices')[0]?.[0] === 1;
          outcomes.add(forgotten ? 'after' : 'before');
          // The key is compromised if and only if the HSM is forgotten; its record is there if and only if not.
          expect(admin.keyInfo(k).state, `cut #${n}`).toBe(forgotten ? 'compromised' : 'deactivated');
          expect(trackedRows(admin, 'U3').user_devices, `cut #${n}`).toBe(forgotten ? 0 : 1);
          const again = refusal(() => admin.forgetHsm(serial, 'lost'));
          expect(again, `cut #${n}`).toMatch(forgotten ? /^AlreadyForgotten/ : /^ok$/);
          expect(admin.keyInfo(k).state).toBe('compromised');
        } finally {
          admin.close();
        }
      } finally {
        copy.close();
      }
    }
    expect([...outcomes].sort()).toEqual(['after', 'before']);
  });

  test('a forgotten HSM found again serves no one until it is factory-reset; then it is not forgotten', async () => {
    const w = await newTeam();
    w.admin.activateKey(w.admin.addKey('G1', 'k'));
    await w.syncByFiles();
    const hsm = w.users.get('U3')!.device;
    w.admin.deleteUser('U3');
    w.admin.forgetHsm('U3', 'destroyed');
    w.admin.addUser('U4', 'dave');
    hsm.logout();
    hsm.login('admin', ADMIN_PIN);
    expect(refusal(() => provisionUser(w.admin, 'U4', hsm))).toMatch(/^DeviceInUse: .*\(the admin retired it\)/);
    hsm.factoryReset({ userPin: USER_PIN, adminPin: ADMIN_PIN, manufacturer: TEST_MANUFACTURER });
    hsm.login('admin', ADMIN_PIN);
    provisionUser(w.admin, 'U4', hsm);
    expect(rows(w.admin, 'SELECT count(*) FROM forgotten_devices')).toEqual([[0]]);
    expect(rows(w.admin, 'SELECT count(*) FROM forgotten_device_keys')).toEqual([[0]]);
    for (const fate of ['destroyed', 'lost'] as const)
      expect(refusal(() => w.admin.forgetHsm(hsm.serial, fate))).toMatch(/^HsmInService: .* for U4/);
  });

  test("a deleted user's HSM reset and provisioned for another user leaves no stale record behind", async () => {
    const { w, hsm } = await carolDeletedUnsynced();
    hsm.logout();
    hsm.login('admin', ADMIN_PIN);
    hsm.factoryReset({ userPin: USER_PIN, adminPin: ADMIN_PIN, manufacturer: TEST_MANUFACTURER });
    hsm.login('admin', ADMIN_PIN);
    w.admin.addUser('U4', 'dave');
    provisionUser(w.admin, 'U4', hsm);
    // Reset, it will never apply carol's last file: her record went with it, as if forgotten.
    expect(trackedRows(w.admin, 'U3')).toMatchObject({ user_devices: 0, publication: 0, outbox: 0 });
    w.clock.advance(8 * DAY);
    expect(w.publisher.staleUsers()).not.toContain('U3');
    expect(refusal(() => w.admin.forgetHsm('U3', 'destroyed'))).toMatch(/^UnknownHsm/);
    // Retired again (dave, in no group, is given another HSM), it is dave's retired HSM alone:
    // forgetting it as lost compromises nothing carol held (it was reset since).
    provisionUser(w.admin, 'U4', newHsm('forget-dave-2'));
    expect(refusal(() => w.admin.forgetHsm('U3', 'lost'))).toMatch(/^UnknownHsm/);
    expect(w.admin.forgetHsm(hsm.serial, 'lost')).toMatchObject({ users: ['U4'], compromised: [] });
  });
});
