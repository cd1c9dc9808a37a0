/**
 * Freshness against withheld updates (TUF's timestamp role): heartbeats in every update file,
 * heartbeat-only files when a user's latest file is old, and `NotFresh` refusals of encryption once
 * the latest applied heartbeat is older than its window.
 */
import { describe, expect, test } from 'vitest';
import { KmsError } from '../../model/kms.ts';
import { SekeyError } from '../protocol/sekeyError.ts';
import { ackStream, updateFileName, updateStream } from '../protocol/streams.ts';
import {
  NO_PREVIOUS_FILE,
  assembleUpdateFile,
  decodeRecords,
  encodeRecords,
  fileHash,
  parseUpdateFile,
} from '../protocol/updateFile.ts';
import { userDeviceOf } from './distribution.ts';
import { MemoryTransport } from '../protocol/transport.ts';
import { defaultFreshnessWindow } from '../../model/publication.ts';
import { Publisher, checkFreshnessOptions } from './publisher.ts';
import { ManualClock } from './clock.ts';
import { User } from './user.ts';
import { newTeam } from './world.testkit.ts';
import type { World } from './world.testkit.ts';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const text = (s: string) => new TextEncoder().encode(s);
const read = (b: Uint8Array) => new TextDecoder().decode(b);

const code = (fn: () => unknown): string => {
  try {
    fn();
    return 'ok';
  } catch (e) {
    if (e instanceof KmsError || e instanceof SekeyError) return e.code;
    throw e;
  }
};

const message = (fn: () => unknown): string => {
  try {
    fn();
  } catch (e) {
    return (e as Error).message;
  }
  return expect.unreachable();
};

/** Alice, bob and carol in G1 with an active key, synced by files at the start. */
async function team(): Promise<{ w: World; alice: User; bob: User; carol: User }> {
  const w = await newTeam();
  w.admin.activateKey(w.admin.addKey('G1', 'first'));
  await w.syncByFiles();
  return { w, alice: w.users.get('U1')!, bob: w.users.get('U2')!, carol: w.users.get('U3')! };
}

/** The name of the latest file in `userId`'s stream. */
async function latestFile(w: World, userId: string): Promise<string> {
  return (await w.transport.list(updateStream(userId))).at(-1)!;
}

describe('freshness against withheld updates', () => {
  test(
    'a withheld rekey stops encryption once the window passes (NotFresh), decrypt still works; restored and ' +
      'synced, encryption works again',
    async () => {
      const { w, alice, bob, carol } = await team();
      const start = w.clock.now();
      const early = alice.encrypt(['U2', 'U3'], text('before carol left'));
      const oldKey = alice.findKey(['U2']).keyId;

      w.admin.removeMember('G1', 'U3');
      await w.publisher.publish();
      // The attacker on the share deletes alice's rekey file, and deletes it again each time the
      // administrator's publish writes it back (flush): alice never sees it.
      const rekey = await latestFile(w, 'U1');
      const withhold = async () => w.transport.remove(updateStream('U1'), rekey);
      await withhold();
      const cron = async () => {
        await w.publisher.publish();
        await withhold();
        await alice.sync(w.transport);
        await bob.sync(w.transport);
        await w.publisher.collectAcknowledgements();
      };

      // Within the window alice still encrypts under the old key (the exposure is bounded, not zero).
      for (let day = 1; day <= 3; day++) {
        w.clock.advance(DAY);
        await cron();
        expect(alice.encrypt(['U2'], text(`day ${day}`)).length).toBeGreaterThan(0);
        expect(alice.findKey(['U2']).keyId).toBe(oldKey);
      }
      // Heartbeats reached alice's stream every day, but each one is a gap behind the withheld file.
      expect(alice.appliedSequence).toBe(1);
      const refused = await alice.sync(w.transport);
      expect(refused.applied).toEqual([]);
      expect(alice.blocked).toBe(false);
      expect(bob.appliedSequence).toBe(5);

      w.clock.set(start + w.publisher.freshness.freshnessWindowMs + 1);
      expect(code(() => alice.encrypt(['U2'], text('too late')))).toBe('NotFresh');
      expect(message(() => alice.encrypt(['U2'], text('too late')))).toBe(
        'the last authentic update from the administrator was issued 2026-01-01T00:00Z, 3 days ago; this ' +
          'installation ' +
          'allows encrypting for 3 days after it: ' +
          "sync (`sekey user U1 sync`) to get the administrator's latest updates; if that brings nothing, the share " +
          'may be withholding them: ask the administrator',
      );
      expect(alice.freshness().staleness).toEqual({
        reason: 'expired',
        issuedAt: start,
        since: start,
        windowMs: 3 * DAY,
        ageMs: 3 * DAY + 1,
      });
      // Decrypt stays possible; bob, who got every file, still encrypts.
      expect(read(alice.decrypt(early))).toBe('before carol left');
      expect(read(bob.decrypt(early))).toBe('before carol left');
      expect(code(() => bob.encrypt(['U1'], text('bob is fresh')))).toBe('ok');

      // The file comes back; a sync applies it and the heartbeats behind it: encryption works again,
      // under the new key, which carol does not hold.
      await w.publisher.flush();
      const back = await alice.sync(w.transport);
      expect(back.applied).toEqual([2, 3, 4, 5]);
      const after = alice.encrypt(['U2'], text('carol left'));
      expect(alice.findKey(['U2']).keyId).not.toBe(oldKey);
      expect(read(bob.decrypt(after))).toBe('carol left');
      expect(code(() => carol.decrypt(after))).toBe('KeyUnavailable');
    },
  );

  test(
    'acknowledgements held back on the share and released one by one do not keep a user whose rekey is ' +
      'withheld from being stale: the clock runs from the publication of the oldest file still waiting',
    async () => {
      const { w, bob } = await team();
      // Six ordinary days: bob syncs and acknowledges, the attacker takes each acknowledgement off the share.
      const stolen: Array<[string, Uint8Array]> = [];
      for (let day = 1; day <= 6; day++) {
        w.clock.advance(DAY);
        await w.publisher.publish();
        await bob.sync(w.transport);
        // (A sync sends an acknowledgement again when it is missing from the share: one of each is kept.)
        for (const name of await w.transport.list(ackStream('U2'))) {
          if (!stolen.some(([n]) => n === name)) stolen.push([name, (await w.transport.read(ackStream('U2'), name))!]);
          await w.transport.remove(ackStream('U2'), name);
        }
      }
      expect(stolen.map(([name]) => name)).toEqual([2, 3, 4, 5, 6, 7].map((n) => `${String(n).padStart(12, '0')}.ack`));
      // Carol leaves; bob's rekey file is withheld now and after every publish that writes it back.
      w.admin.removeMember('G1', 'U3');
      const withhold = async () => {
        for (const name of await w.transport.list(updateStream('U2')))
          await w.transport.remove(updateStream('U2'), name);
      };
      await w.publisher.publish();
      await withhold();
      const staleDays: number[] = [];
      for (let day = 1; day <= 12; day++) {
        w.clock.advance(DAY);
        await w.publisher.publish();
        await withhold();
        await bob.sync(w.transport);
        // One old acknowledgement a day: each authentic, each of a file published, each progress.
        const [name, bytes] = stolen.shift() ?? [];
        if (name !== undefined && bytes !== undefined) await w.transport.write(ackStream('U2'), name, bytes);
        const { accepted } = await w.publisher.collectAcknowledgements();
        if (name !== undefined) expect(accepted.map((a) => a.userId)).toEqual(['U2']);
        if (w.publisher.staleUsers().includes('U2')) staleDays.push(day);
      }
      // Bob applied file n + 1 on day n (1 to 6) and the rekey, file 8, on day 6 too; day k of the
      // attack is day 6 + k. The acknowledgement of file k + 1 released then leaves file k + 2, of day
      // k + 1, the oldest waiting: five days old, never seven. The held acknowledgements delay the
      // warning by as long as they were held, no longer: once they are spent (day 6), the rekey has
      // waited since day 6 and bob is stale from day 13 (attack day 7). Restarted at each collection,
      // as it was, the clock said he was never stale in these twelve days.
      expect(staleDays).toEqual([7, 8, 9, 10, 11, 12]);
    },
  );

  test('heartbeats are published only when due, only to users in service, and only with what is due', async () => {
    const { w } = await team();
    expect((await w.publisher.publish()).published).toEqual([]);
    w.clock.advance(DAY - 1);
    expect((await w.publisher.publish()).published).toEqual([]);
    w.clock.advance(1);
    const beat = await w.publisher.publish();
    expect(beat.published.map((p) => [p.userId, p.kind, p.heartbeatOnly])).toEqual([
      ['U1', 'incremental', true],
      ['U2', 'incremental', true],
      ['U3', 'incremental', true],
    ]);
    // A heartbeat-only file is small: header, seal and one record.
    expect(beat.published.every((p) => p.bytes < 160)).toBe(true);
    expect((await w.publisher.publish()).published).toEqual([]);
    // Half a day later alice and bob get a change; at the next day only carol's heartbeat is due.
    w.clock.advance(DAY / 2);
    w.admin.addGroup('G2', 'pair', { maxKeys: 1, algorithm: 'AES-256-GCM', defaultCryptoperiodMs: DAY });
    w.admin.addMember('G2', 'U1');
    w.admin.addMember('G2', 'U2');
    const change = await w.publisher.publish();
    expect(change.published.map((p) => [p.userId, p.heartbeatOnly])).toEqual([
      ['U1', false],
      ['U2', false],
    ]);
    w.clock.advance(DAY / 2);
    expect((await w.publisher.publish()).published.map((p) => [p.userId, p.heartbeatOnly])).toEqual([['U3', true]]);
    // A deleted user's device is retired: its last file, then nothing, heartbeats included.
    w.admin.deleteUser('U3');
    expect((await w.publisher.publish()).published.map((p) => [p.userId, p.kind, p.heartbeatOnly])).toEqual([
      ['U1', 'incremental', false],
      ['U2', 'incremental', false],
      ['U3', 'incremental', false],
    ]);
    w.clock.advance(5 * DAY);
    expect((await w.publisher.publish()).published.map((p) => p.userId)).toEqual(['U1', 'U2']);
    // Heartbeats are acknowledged like every file; a user who never acknowledges them turns stale.
    for (const u of ['U1', 'U2']) await w.users.get(u)!.sync(w.transport);
    await w.publisher.collectAcknowledgements();
    expect(
      w.publisher
        .publicationStates()
        .filter((p) => p.userId !== 'U3')
        .map((p) => p.state),
    ).toEqual(['acknowledged', 'acknowledged']);
  });

  test('a heartbeat-only file applies, is acknowledged, and refreshes freshness', async () => {
    const { w, alice } = await team();
    const first = alice.freshness().statement!;
    expect(first).toEqual({ issuedAt: w.clock.now(), windowMs: 3 * DAY, appliedAt: w.clock.now() });
    w.clock.advance(2 * DAY + 12 * HOUR);
    const beat = await w.publisher.publish();
    expect(beat.published.every((p) => p.heartbeatOnly)).toBe(true);
    const report = await alice.sync(w.transport);
    expect(report.applied).toEqual([2]);
    const now = w.clock.now();
    expect(alice.freshness()).toEqual({
      statement: { issuedAt: now, windowMs: 3 * DAY, appliedAt: now },
      staleness: null,
    });
    await w.publisher.collectAcknowledgements();
    expect(w.publisher.publicationStates().find((p) => p.userId === 'U1')).toMatchObject({
      state: 'acknowledged',
      acknowledged: 2,
    });
    // Four days after the last change, one and a half after the heartbeat: still fresh.
    w.clock.advance(DAY + 12 * HOUR);
    expect(code(() => alice.encrypt(['U2'], text('fresh')))).toBe('ok');
    // Bob did not sync the heartbeat: for him the last word is four days old.
    expect(code(() => w.users.get('U2')!.encrypt(['U1'], text('stale')))).toBe('NotFresh');
    expect(w.users.get('U2')!.freshness().staleness).toMatchObject({ reason: 'expired', ageMs: 4 * DAY });
  });

  // A delay attack: the share holds a file back and hands it over days later. Dated by its arrival,
  // it made the view look fresh (a seeded bug that no property suite caught).
  test('a file applied days after it was issued is dated by its issue, not by when it arrived', async () => {
    const { w, alice } = await team();
    w.admin.renameGroup('G1', 'renamed');
    await w.publisher.publish();
    const issuedAt = w.clock.now();
    w.clock.advance(4 * DAY);
    expect((await alice.sync(w.transport)).applied).toHaveLength(1);
    expect(alice.freshness()).toEqual({
      statement: { issuedAt, windowMs: 3 * DAY, appliedAt: issuedAt + 4 * DAY },
      staleness: { reason: 'expired', issuedAt, since: issuedAt, ageMs: 4 * DAY, windowMs: 3 * DAY },
    });
    expect(code(() => alice.encrypt(['U2'], text('late')))).toBe('NotFresh');
  });

  // From a security review: a heartbeat dated ahead (the admin host's clock ran fast) counted from
  // its date, so it kept its users fresh until then plus the window while the share withheld
  // every later file. A second review: counting from arrival alone answers a passive share only (an
  // adversary releases each file just before its date), hence no freshness from a date more than a
  // window ahead.
  test('a heartbeat dated ahead counts from when it came; more than a window ahead, for nothing', async () => {
    const { w, alice, bob } = await team();
    // Alice's host keeps real time; the administrator's clock runs fast from here.
    const aliceClock = new ManualClock(w.clock.now());
    const hardware = w.hardware.get('U1');
    if (hardware === undefined) throw new Error('alice has no device');
    const aliceOnTime = await User.open({ device: alice.device, sd: hardware.sd, clock: aliceClock });
    try {
      // Two days fast: within the window, the date counts from the update's arrival.
      w.clock.advance(2 * DAY);
      w.admin.renameGroup('G1', 'renamed');
      await w.publisher.publish();
      aliceClock.advance(HOUR);
      expect((await aliceOnTime.sync(w.transport)).applied).toHaveLength(1);
      const dated = w.clock.now();
      const came = aliceClock.now();
      expect(aliceOnTime.freshness().statement).toEqual({ issuedAt: dated, windowMs: 3 * DAY, appliedAt: came });
      aliceClock.advance(3 * DAY);
      expect(code(() => aliceOnTime.encrypt(['U2'], text('in time')))).toBe('ok');
      aliceClock.advance(1);
      expect(aliceOnTime.freshness().staleness).toEqual({
        reason: 'expired',
        issuedAt: dated,
        since: came,
        windowMs: 3 * DAY,
        ageMs: 3 * DAY + 1,
      });
      expect(message(() => aliceOnTime.encrypt(['U2'], text('too late')))).toBe(
        'the last authentic update from the administrator is dated 2026-01-03T00:00Z but came ' +
          "2026-01-01T01:00Z, 3 days ago (the administrator's clock was ahead); this installation allows " +
          "encrypting for 3 days after it: sync (`sekey user U1 sync`) to get the administrator's latest " +
          'updates; if that brings nothing, the share may be withholding them: ask the administrator',
      );
      // Ten days fast, more than the window: no freshness from it at all, at once.
      w.clock.advance(8 * DAY);
      w.admin.renameGroup('G1', 'again');
      await w.publisher.publish();
      expect((await aliceOnTime.sync(w.transport)).applied).toHaveLength(1);
      expect(aliceOnTime.freshness().staleness).toEqual({
        reason: 'datedAhead',
        issuedAt: w.clock.now(),
        appliedAt: aliceClock.now(),
        windowMs: 3 * DAY,
      });
      expect(message(() => aliceOnTime.encrypt(['U2'], text('dated ahead')))).toBe(
        'the last authentic update from the administrator is dated 2026-01-11T00:00Z, more than the 3 days ' +
          "freshness window ahead of this device's clock when it came (2026-01-04T01:00Z): the administrator's " +
          'clock, or this one, is wrong, and so far ahead a date could let the share withhold updates unnoticed; ' +
          'ask the administrator to check the clocks',
      );
      // Bob's host shares the administrator's clock: for him nothing changes.
      await bob.sync(w.transport);
      expect(bob.freshness()).toEqual({
        statement: { issuedAt: w.clock.now(), windowMs: 3 * DAY, appliedAt: w.clock.now() },
        staleness: null,
      });
    } finally {
      aliceOnTime.close();
    }
  });

  test('a replayed, forged or misaddressed heartbeat does not refresh freshness', async () => {
    const { w, alice } = await team();
    w.clock.advance(DAY);
    await w.publisher.publish();
    const heartbeatName = await latestFile(w, 'U1');
    const heartbeat = (await w.transport.read(updateStream('U1'), heartbeatName))!;
    await alice.sync(w.transport);
    const applied = alice.freshness().statement;
    w.clock.advance(3 * DAY + 1);
    expect(code(() => alice.encrypt(['U2'], text('x')))).toBe('NotFresh');

    // The administrator's next heartbeat to alice is withheld; the share offers instead:
    await w.publisher.publish();
    await w.transport.remove(updateStream('U1'), await latestFile(w, 'U1'));
    // replayed: the applied heartbeat again, under the next name;
    await w.transport.write(updateStream('U1'), updateFileName(alice.appliedSequence + 1, 'incremental'), heartbeat);
    // misaddressed: bob's genuine heartbeat of the same round, which alice's HSM cannot open;
    const bobsBeat = (await w.transport.read(updateStream('U2'), await latestFile(w, 'U2')))!;
    await w.transport.write(updateStream('U1'), updateFileName(alice.appliedSequence + 2, 'incremental'), bobsBeat);
    // forged: a heartbeat "issued now" with a year's window, sealed by a device the attacker controls
    // (bob's), which can seal under neither channel key, so under a data key it made itself.
    const bob = w.users.get('U2')!;
    const body = encodeRecords([{ type: 'heartbeat', issuedAt: w.clock.now(), freshnessWindowMs: 365 * DAY }]);
    const header = {
      kind: 'resync' as const,
      userId: 'U1',
      serial: alice.device.serial,
      sequence: 99,
      previousHash: NO_PREVIOUS_FILE,
    };
    const ownKey = 500_000_000;
    bob.device.generateKey(ownKey);
    const forged = assembleUpdateFile(header, (aad) => bob.device.seal(ownKey, body, aad), body.length + 28);
    await w.transport.write(updateStream('U1'), updateFileName(99, 'resync'), forged);

    const report = await alice.sync(w.transport);
    expect(report.applied).toEqual([]);
    expect(report.refused.map((r) => r.reason)).toEqual(['replayed', 'forged', 'forged']);
    expect(alice.freshness().statement).toEqual(applied);
    expect(code(() => alice.encrypt(['U2'], text('x')))).toBe('NotFresh');
  });

  test('re-protecting stays possible when the view is stale: it is the rescue path', async () => {
    const { w, alice, bob } = await team();
    const secret = alice.encrypt(['U2', 'U3'], text('rescue me'));
    const { keyId } = alice.findKey(['U2', 'U3']);
    w.admin.compromiseKey(keyId);
    await w.syncByFiles();
    // The administrator publishes nothing more (no cron): four days later alice's view is stale.
    w.clock.advance(4 * DAY + 5 * HOUR);
    expect(message(() => alice.encrypt(['U2'], text('new')))).toContain(
      'issued 2026-01-01T00:00Z, 4 days 5 h ago; this installation allows encrypting for 3 days after it',
    );
    const rescued = alice.reprotect(secret);
    expect(read(bob.decrypt(rescued))).toBe('rescue me');
    expect(code(() => bob.decrypt(secret))).toBe('UsageNotAllowed');
  });

  test('a stale view does not re-protect from a key that is not compromised: a withheld rekey stays out', async () => {
    const w = await newTeam();
    w.admin.activateKey(w.admin.addKey('G1', 'first'));
    await w.syncByFiles();
    const alice = w.users.get('U1')!;
    const bob = w.users.get('U2')!;
    w.admin.addUser('U4', 'mallory');
    const mallory = await w.addDevice('U4');
    // A message of alice's under the first key, before mallory ever joined (the team does not share history).
    const secret = alice.encrypt(['U2'], text('before mallory'));
    // Mallory joins (the first key retires, a second one goes to all four), then is removed (the
    // second retires, a third goes to the rest); mallory, who can write the share, withholds
    // alice's file of that rekey.
    w.admin.addMember('G1', 'U4');
    await w.syncByFiles();
    expect(code(() => mallory.decrypt(secret))).toBe('KeyUnavailable');
    w.admin.removeMember('G1', 'U4');
    await w.publisher.publish();
    for (const name of await w.transport.list(updateStream('U1'))) await w.transport.remove(updateStream('U1'), name);
    w.clock.advance(4 * DAY);
    // Alice's view is stale: it knows the second key as the group's best. Re-protecting the old
    // message would move it under that key, which mallory holds: refused, as encrypting is.
    expect(code(() => alice.encrypt(['U2'], text('new')))).toBe('NotFresh');
    expect(message(() => alice.reprotect(secret))).toContain('allows encrypting for 3 days after it');
    // Once synced (the next publication writes the missing file again), alice re-protects under the
    // third key, which mallory never held.
    await w.syncByFiles();
    expect(alice.freshness().staleness).toBeNull();
    const moved = alice.reprotect(secret);
    expect(read(bob.decrypt(moved))).toBe('before mallory');
    expect(code(() => mallory.decrypt(moved))).toBe('KeyUnavailable');
  });

  test(
    'a replica whose files carried no heartbeat (written before heartbeats) must sync before ' + 'encrypting',
    async () => {
      const w = await newTeam();
      w.admin.activateKey(w.admin.addKey('G1', 'first'));
      await w.publisher.publish();
      const alice = w.users.get('U1')!;
      // Alice's first file as an administrator of a version before heartbeats wrote it: the same
      // records without the heartbeat, sealed by the admin HSM, and recorded as such by the admin.
      const [name] = await w.transport.list(updateStream('U1'));
      const original = parseUpdateFile((await w.transport.read(updateStream('U1'), name!))!);
      const records = decodeRecords(
        alice.device.open(alice.keyIds.adminToUserKeyId, original.sealedBody, original.headerBytes),
      );
      expect(records.at(-1)?.type).toBe('heartbeat');
      const body = encodeRecords(records.slice(0, -1));
      const keyId = w.admin.readDatabase((db) => userDeviceOf(db, 'U1').keyIds.adminToUserKeyId);
      const old = assembleUpdateFile(original.header, (aad) => w.adminDevice.seal(keyId, body, aad), body.length + 28);
      await w.transport.write(updateStream('U1'), name!, old);
      w.admin.transaction('test: a file published before heartbeats', {}, (d) => {
        d.run("UPDATE streams SET last_hash = ? WHERE user_id = 'U1'", [fileHash(old)]);
        d.run("UPDATE outbox SET file_hash = ?, bytes = ? WHERE user_id = 'U1'", [fileHash(old), old]);
        // Nor did its publication state record the time of the file.
        const saved = JSON.parse(
          String(d.exec("SELECT snapshot FROM publication WHERE user_id = 'U1'")[0]!.values[0]![0]),
        ) as { context: Record<string, unknown> };
        delete saved.context['lastPublishedAt'];
        d.run("UPDATE publication SET snapshot = ? WHERE user_id = 'U1'", [JSON.stringify(saved)]);
      });
      expect((await alice.sync(w.transport)).applied).toEqual([1]);
      expect(alice.freshness()).toEqual({ statement: null, staleness: { reason: 'noStatement' } });
      expect(message(() => alice.encrypt(['U2'], text('x')))).toMatch(
        /^no update applied on this device says when it was issued, so its view may be old: sync/,
      );
      // The administrator, upgraded, does not know when alice's last file went out: a heartbeat is
      // due at once, and it chains onto the old file.
      expect((await w.publisher.publish()).published.map((p) => [p.userId, p.heartbeatOnly])).toEqual([['U1', true]]);
      expect((await alice.sync(w.transport)).applied).toEqual([2]);
      expect(code(() => alice.encrypt(['U2'], text('x')))).toBe('ok');
    },
  );

  test('a device that applied no file is not judged: it holds nothing to encrypt with anyway', async () => {
    const w = await newTeam();
    w.admin.activateKey(w.admin.addKey('G1', 'k'));
    w.clock.advance(30 * DAY - 1);
    const alice = w.users.get('U1')!;
    expect(alice.freshness()).toEqual({ statement: null, staleness: null });
    expect(code(() => alice.encrypt(['U2'], text('nothing yet')))).toBe('UnknownUser');
  });

  test('the heartbeat interval and freshness window are options; the window travels in the heartbeat', async () => {
    expect(defaultFreshnessWindow(DAY)).toBe(3 * DAY);
    expect(() => checkFreshnessOptions(DAY, DAY)).toThrow(/longer than the heartbeat interval/);
    expect(() => checkFreshnessOptions(0, DAY)).toThrow(/positive/);
    const { w, alice } = await team();
    expect(() => new Publisher(w.admin, w.transport, { heartbeatIntervalMs: 2 * DAY, freshnessWindowMs: DAY })).toThrow(
      RangeError,
    );
    const hourly = new Publisher(w.admin, w.transport, { heartbeatIntervalMs: HOUR, freshnessWindowMs: 5 * HOUR });
    expect(hourly.freshness).toEqual({ heartbeatIntervalMs: HOUR, freshnessWindowMs: 5 * HOUR });
    expect(
      new Publisher(w.admin, new MemoryTransport(), { heartbeatIntervalMs: HOUR }).freshness.freshnessWindowMs,
    ).toBe(3 * HOUR);
    w.clock.advance(HOUR);
    expect((await hourly.publish()).published.map((p) => p.heartbeatOnly)).toEqual([true, true, true]);
    await alice.sync(w.transport);
    expect(alice.freshness().statement).toEqual({
      issuedAt: w.clock.now(),
      windowMs: 5 * HOUR,
      appliedAt: w.clock.now(),
    });
    w.clock.advance(5 * HOUR);
    expect(code(() => alice.encrypt(['U2'], text('x')))).toBe('ok');
    w.clock.advance(1);
    expect(message(() => alice.encrypt(['U2'], text('x')))).toContain(
      ', 5 h ago; this installation allows encrypting for 5 h after it',
    );
  });
});
