import { describe, expect, it } from 'vitest';
import { encodeAckHeader } from './acknowledgement.ts';
import { Writer } from './binaryCodec.ts';
import { PowerLossError } from './powerLossError.ts';
import { UPDATE_SEQUENCE_COUNTER } from './secube.ts';
import type { SecubeDevice } from './secube.ts';
import {
  expectCode,
  makeProvisionedPair,
  PAIR_IDS,
  reboot,
  recordUpdate,
  relogin,
  sealUpdate,
  USER_PIN,
} from './secube.testkit.ts';
import { UPDATE_FORMAT_VERSION, decodeUpdateHeader, encodeUpdateHeader } from './updateHeader.ts';

const { adminToUserKeyId: A2U, userToAdminKeyId: U2A, wrappingKeyId: WRAP } = PAIR_IDS;
const text = (s: string) => new TextEncoder().encode(s);
const ackHeader = (d: SecubeDevice, sequence: number): Uint8Array =>
  encodeAckHeader({ userId: 'U1', serial: d.serial, sequence, fileHash: new Uint8Array(32) });

/** A provisioned pair, the user device in a user session. */
function pair(seed: string): {
  admin: SecubeDevice;
  user: SecubeDevice;
  userT: ReturnType<typeof makeProvisionedPair>['user'];
} {
  const p = makeProvisionedPair(seed);
  relogin(p.user.device, 'user');
  return { admin: p.admin.device, user: p.user.device, userT: p.user };
}

describe('the applied-update counter is reserved', () => {
  it(
    'the generic counterAdvance refuses it at either level, so a forged advance cannot make the HSM ' + 'acknowledge',
    () => {
      const { admin, user } = pair('reserved');
      for (const level of ['user', 'admin'] as const) {
        relogin(user, level);
        expectCode('ReservedCounter', () => user.counterAdvance(UPDATE_SEQUENCE_COUNTER, 1));
        expectCode('ReservedCounter', () => user.counterAdvance(UPDATE_SEQUENCE_COUNTER, 0));
      }
      expect(user.counterRead(UPDATE_SEQUENCE_COUNTER)).toBe(0);
      // The forged advance did nothing: the HSM still refuses to acknowledge update 1.
      expectCode('NotApplied', () => user.acknowledge(U2A, ackHeader(user, 1)));
      // Other counters still move.
      expect(user.counterAdvance('db.generation', 3)).toBe(3);
      // Once the HSM has authenticated update 1 and the host recorded it, the acknowledgement is sealed.
      recordUpdate(admin, user, 1);
      expect(admin.open(U2A, user.acknowledge(U2A, ackHeader(user, 1)), ackHeader(user, 1))).toEqual(new Uint8Array(0));
      expectCode('ReservedCounter', () => user.counterAdvance(UPDATE_SEQUENCE_COUNTER, 2));
      expectCode('NotApplied', () => user.acknowledge(U2A, ackHeader(user, 2)));
    },
  );
});

describe('openUpdate: the HSM authenticates an update file itself', () => {
  it('returns the body of an authentic update for this device, incremental or resync', () => {
    const { admin, user } = pair('open-ok');
    for (const kind of ['incremental', 'resync'] as const) {
      const u = sealUpdate(admin, user.serial, 7, { body: text(`records of a ${kind}`), kind });
      expect(new TextDecoder().decode(user.openUpdate(A2U, u.header, u.sealedBody))).toBe(`records of a ${kind}`);
    }
    // The header the HSM parsed is the one codec's (the admin host wrote it with the same encoder).
    const u = sealUpdate(admin, user.serial, 7);
    expect(decodeUpdateHeader(u.header)).toMatchObject({
      header: { serial: user.serial, sequence: 7 },
      bodyLength: 28,
    });
  });

  it('refuses what is not the admin’s word for this device, and remembers nothing then', () => {
    const { admin, user } = pair('open-refused');
    const good = sealUpdate(admin, user.serial, 3, { body: text('x') });
    const flip = (b: Uint8Array, at: number) => b.map((v, i) => (i === at ? v ^ 1 : v));
    // Altered body or header (the header is the AAD), or sealed under another key.
    expectCode('AuthFailed', () => user.openUpdate(A2U, good.header, flip(good.sealedBody, 20)));
    const otherSequence = encodeUpdateHeader(
      { kind: 'incremental', userId: 'U1', serial: user.serial, sequence: 4, previousHash: new Uint8Array(32) },
      good.sealedBody.length,
    );
    expectCode('AuthFailed', () => user.openUpdate(A2U, otherSequence, good.sealedBody));
    const other = makeProvisionedPair('open-refused-other');
    const foreign = sealUpdate(other.admin.device, user.serial, 3, { body: text('x') });
    expectCode('AuthFailed', () => user.openUpdate(A2U, foreign.header, foreign.sealedBody));
    // The host can seal only under keys it may seal with: its own data key is no channel key.
    user.generateKey(77);
    const own = user.seal(77, text('x'), good.header);
    expectCode('WrongKeyPurpose', () => user.openUpdate(77, good.header, own));
    for (const id of [U2A, WRAP])
      expectCode('WrongKeyPurpose', () => user.openUpdate(id, good.header, good.sealedBody));
    expectCode('UnknownKey', () => user.openUpdate(78, good.header, good.sealedBody));
    // An authentic update addressed to another device.
    const misaddressed = sealUpdate(admin, admin.serial, 3, { body: text('x') });
    expectCode('NotForThisDevice', () => user.openUpdate(A2U, misaddressed.header, misaddressed.sealedBody));
    // Headers that are not exactly one version-1 header announcing this body.
    const bad = (h: Uint8Array) => expectCode('BadArgument', () => user.openUpdate(A2U, h, good.sealedBody));
    bad(good.header.subarray(0, good.header.length - 1));
    bad(Uint8Array.from([...good.header, 0]));
    bad(Uint8Array.from([0, ...good.header.subarray(1)]));
    bad(Uint8Array.from([...good.header.subarray(0, 4), UPDATE_FORMAT_VERSION + 1, ...good.header.subarray(5)]));
    bad(Uint8Array.from([...good.header.subarray(0, 5), 2, ...good.header.subarray(6)]));
    bad(new Writer().bytes(good.header.subarray(0, 6)).u8(0x80).u8(0x00).finish());
    bad(new Uint8Array(0));
    bad('SKUP' as unknown as Uint8Array);
    expectCode('BadArgument', () => user.openUpdate(A2U, good.header, good.sealedBody.subarray(1)));
    expectCode('BadArgument', () => user.openUpdate(A2U, good.header, 'body' as unknown as Uint8Array));
    // None of these was authenticated: none can be recorded.
    for (const sequence of [3, 4]) expectCode('UpdateNotAuthenticated', () => user.recordUpdateApplied(sequence));
    expect(user.counterRead(UPDATE_SEQUENCE_COUNTER)).toBe(0);
  });

  it('needs a session', () => {
    const { admin, user } = pair('open-session');
    const u = sealUpdate(admin, user.serial, 1);
    user.logout();
    expectCode('NotLoggedIn', () => user.openUpdate(A2U, u.header, u.sealedBody));
    expectCode('NotLoggedIn', () => user.recordUpdateApplied(1));
  });
});

describe('recordUpdateApplied: the counter moves only to the update the HSM authenticated last', () => {
  it('records the last authenticated sequence, forward only; equal is a no-op', () => {
    const { admin, user } = pair('record');
    const open = (sequence: number) => {
      const u = sealUpdate(admin, user.serial, sequence);
      user.openUpdate(A2U, u.header, u.sealedBody);
    };
    open(3);
    open(5);
    // Only the last authenticated one: not 3, not one in between, not one above.
    for (const sequence of [3, 4, 6]) expectCode('UpdateNotAuthenticated', () => user.recordUpdateApplied(sequence));
    expect(user.recordUpdateApplied(5)).toBe(5);
    expect(user.recordUpdateApplied(5)).toBe(5);
    expect(user.counterRead(UPDATE_SEQUENCE_COUNTER)).toBe(5);
    // Never backwards, even for an update authenticated now.
    open(4);
    expectCode('CounterRollback', () => user.recordUpdateApplied(4));
    for (const sequence of [0, -1, 1.5, Number.NaN])
      expectCode('BadArgument', () => user.recordUpdateApplied(sequence));
    // A resync may skip sequences.
    const resync = sealUpdate(admin, user.serial, 9, { kind: 'resync' });
    user.openUpdate(A2U, resync.header, resync.sealedBody);
    expect(user.recordUpdateApplied(9)).toBe(9);
    expect(admin.open(U2A, user.acknowledge(U2A, ackHeader(user, 9)), ackHeader(user, 9))).toEqual(new Uint8Array(0));
  });

  it('forgets the authenticated sequence at logout, login and reboot; the counter itself stays in flash', () => {
    const { admin, user, userT } = pair('record-forget');
    const u = sealUpdate(admin, user.serial, 2);
    user.openUpdate(A2U, u.header, u.sealedBody);
    relogin(user, 'user');
    expectCode('UpdateNotAuthenticated', () => user.recordUpdateApplied(2));
    user.openUpdate(A2U, u.header, u.sealedBody);
    user.cutPower();
    user.powerOn();
    user.login('user', USER_PIN);
    expectCode('UpdateNotAuthenticated', () => user.recordUpdateApplied(2));
    // Shown the file again, the HSM records it; a reboot keeps the counter and forgets the file.
    user.openUpdate(A2U, u.header, u.sealedBody);
    expect(user.recordUpdateApplied(2)).toBe(2);
    const again = reboot(userT);
    again.login('user', USER_PIN);
    expect(again.counterRead(UPDATE_SEQUENCE_COUNTER)).toBe(2);
    expect(again.recordUpdateApplied(2)).toBe(2);
    const next = sealUpdate(admin, again.serial, 3);
    expectCode('UpdateNotAuthenticated', () => again.recordUpdateApplied(3));
    again.openUpdate(A2U, next.header, next.sealedBody);
    expect(again.recordUpdateApplied(3)).toBe(3);
  });

  it(
    'a power cut while recording leaves the old or the new value, and the device forgets what it ' + 'authenticated',
    () => {
      let cuts = 0;
      for (const cutAt of [1, 2, 3]) {
        const { admin, user, userT } = pair(`record-cut-${cutAt}`);
        recordUpdate(admin, user, 1);
        const u = sealUpdate(admin, user.serial, 2);
        user.openUpdate(A2U, u.header, u.sealedBody);
        userT.flash.cutPowerAfter(cutAt);
        let done = false;
        try {
          user.recordUpdateApplied(2);
          done = true;
        } catch (e) {
          expect(e).toBeInstanceOf(PowerLossError);
        }
        userT.flash.cancelPowerCut();
        if (done) continue;
        cuts++;
        user.powerOn();
        user.login('user', USER_PIN);
        expect([1, 2]).toContain(user.counterRead(UPDATE_SEQUENCE_COUNTER));
        if (user.counterRead(UPDATE_SEQUENCE_COUNTER) === 1)
          expectCode('UpdateNotAuthenticated', () => user.recordUpdateApplied(2));
      }
      expect(cuts).toBeGreaterThan(0);
    },
  );
});
