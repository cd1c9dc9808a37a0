import { gcm } from '@noble/ciphers/aes.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { propertyParams } from '../testing/runConfig.ts';
import { CycleMeter } from './costModel.ts';
import { isDeviceError } from './deviceError.ts';
import { Flash } from './flash.ts';
import { FlashNotErasedError } from './flashErrors.ts';
import { DEFAULT_KEY_STORE_SECTORS } from './keyStore.ts';
import { SLOT_BYTES, storeLayout } from './keyStoreLayout.ts';
import { SdCard } from './sdcard.ts';
import { Manufacturer } from './attestation.ts';
import { findSecretResidue, rawImage } from './keyStore.testkit.ts';
import { PowerLossError } from './powerLossError.ts';
import { encodeAckHeader } from './acknowledgement.ts';
import {
  DEFAULT_STATE_SECTORS,
  KEY_PURPOSES,
  MAX_KEY_ID,
  SecubeDevice,
  UPDATE_SEQUENCE_COUNTER,
  testOnlyHooks,
} from './secube.ts';
import type { EncryptOptions, KeyPurpose } from './secube.ts';
import {
  ADMIN_PIN,
  expectCode,
  makeDevice,
  reboot,
  relogin,
  sealUpdate,
  TEST_MANUFACTURER,
  USER_PIN,
} from './secube.testkit.ts';

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'hex'));
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
/** A fixed 256-bit test key (test hooks only: real non-data keys come from provisioning). */
const testKey = (fill: number): Uint8Array => new Uint8Array(32).fill(fill);

describe('factory init and identity', () => {
  it('a blank device refuses everything but factory init, which runs once', () => {
    const flash = new Flash();
    const device = new SecubeDevice({ flash, seed: 'blank', pinIterations: 10 });
    expect(device.initialized).toBe(false);
    expectCode('NotInitialized', () => device.serial);
    expectCode('NotInitialized', () => device.login('user', USER_PIN));
    const { serial, identityPublicKey } = device.factoryInit({
      userPin: USER_PIN,
      adminPin: ADMIN_PIN,
      manufacturer: TEST_MANUFACTURER,
    });
    expect(serial).toMatch(/^[0-9A-Z]{32}$/);
    expect(identityPublicKey.length).toBe(32);
    expect(device.identityPublicKey).toEqual(identityPublicKey);
    expectCode('AlreadyInitialized', () =>
      device.factoryInit({ userPin: USER_PIN, adminPin: ADMIN_PIN, manufacturer: TEST_MANUFACTURER }),
    );
    expectCode('BadArgument', () =>
      new SecubeDevice({ flash: new Flash(), seed: 'x' }).factoryInit({
        userPin: '1',
        adminPin: ADMIN_PIN,
        manufacturer: TEST_MANUFACTURER,
      }),
    );
  });

  it('draws the serial from the TRNG: reproducible when seeded, unrelated across seeds, no clock prefix (W10)', () => {
    const a = makeDevice('serial-a').device.serial;
    expect(makeDevice('serial-a').device.serial).toBe(a);
    const b = makeDevice('serial-b').device.serial;
    expect(b).not.toBe(a);
    let common = 0;
    while (common < 32 && a[common] === b[common]) common++;
    expect(common).toBeLessThan(4);
    const epochPrefix = String(Math.floor(Date.now() / 1000)).slice(0, 6);
    expect(a.startsWith(epochPrefix) && b.startsWith(epochPrefix)).toBe(false);
    expect(
      new SecubeDevice({ flash: new Flash() }).factoryInit({
        userPin: USER_PIN,
        adminPin: ADMIN_PIN,
        manufacturer: TEST_MANUFACTURER,
      }).serial,
    ).not.toBe(a);
  });

  it('keeps serial, identity, keys and counters across a reboot', () => {
    const t = makeDevice('reboot');
    t.device.login('admin', ADMIN_PIN);
    t.device.generateKey(7);
    t.device.counterAdvance('seq', 4);
    const again = reboot(t);
    expect(again.serial).toBe(t.device.serial);
    expect(again.identityPublicKey).toEqual(t.device.identityPublicKey);
    expect(again.session).toBe('loggedOut');
    again.login('user', USER_PIN);
    expect(again.listKeyIds()).toEqual([7]);
    expect(again.counterRead('seq')).toBe(4);
  });

  it('refuses overlapping state and key-store sectors', () => {
    expect(() => new SecubeDevice({ flash: new Flash(), stateSectors: [17, 12] })).toThrow(/overlap/);
  });
});

describe('PIN sessions (driven by the pinSession machine)', () => {
  it('a login whose outcome cannot be written (worn flash) leaves the device logged out, not stuck', () => {
    const flash = new Flash({ seed: 1, endurance: 2 });
    const device = new SecubeDevice({ flash, seed: 's', pinIterations: 10 });
    device.factoryInit({ userPin: USER_PIN, adminPin: ADMIN_PIN, manufacturer: TEST_MANUFACTURER });
    device.login('user', USER_PIN);
    for (let i = 0; i < 7; i++) device.changeUserPin(USER_PIN); // wears the state sectors
    device.logout();
    // The try is spent, the PIN compared, then the write giving the try back fails (not a power cut).
    expect(() => device.login('user', USER_PIN)).toThrow(/worn out/);
    // Before, the PIN machine stayed in `checking`: every later login said SessionActive, every
    // logout NotLoggedIn, until a power cycle.
    expect(device.session).toBe('loggedOut');
    let outcome: unknown = null;
    try {
      device.login('admin', ADMIN_PIN);
    } catch (error) {
      outcome = error;
    }
    expect(isDeviceError(outcome, 'SessionActive')).toBe(false);
  });

  it('logs in at either level, and out', () => {
    const { device } = makeDevice('pins');
    expect(device.session).toBe('loggedOut');
    device.login('user', USER_PIN);
    expect(device.session).toBe('user');
    expectCode('SessionActive', () => device.login('admin', ADMIN_PIN));
    device.logout();
    device.login('admin', ADMIN_PIN);
    expect(device.session).toBe('admin');
    device.logout();
    expectCode('NotLoggedIn', () => device.logout());
  });

  it('a wrong PIN spends a try, a right one restores the level, and the counter survives a reboot', () => {
    const t = makeDevice('tries');
    expectCode('WrongPin', () => t.device.login('user', 'not-the-pin'));
    expect(t.device.retriesLeft).toEqual({ user: 2, admin: 3 });
    expect(reboot(t).retriesLeft).toEqual({ user: 2, admin: 3 });
    t.device.login('user', USER_PIN);
    expect(t.device.retriesLeft).toEqual({ user: 3, admin: 3 });
    expect(reboot(t).retriesLeft).toEqual({ user: 3, admin: 3 });
  });

  it('locks the user level after 3 wrong PINs; an admin resets it with a new PIN', () => {
    const { device } = makeDevice('user-lock');
    // The message counts down in words a person reads, and the last one says the level is now locked.
    // With each, what to do in words that name no command (the device knows nothing of the command line).
    const remedies: unknown[] = [];
    const messages = [1, 2, 3].map(() => {
      try {
        device.login('user', 'wrong-pin');
      } catch (e) {
        remedies.push((e as { remedy?: unknown }).remedy);
        return isDeviceError(e) && e.code === 'WrongPin' ? e.message : `unexpected: ${String(e)}`;
      }
      return 'accepted';
    });
    expect(messages.map((m) => m.replace(/^WrongPin: /, ''))).toEqual([
      'wrong user PIN, 2 tries left',
      'wrong user PIN, 1 try left',
      'wrong user PIN, no tries left: the user level is locked until an admin resets its PIN',
    ]);
    expect(remedies).toEqual([
      'Check the user PIN and try again; a forgotten one is set anew by the administrator.',
      'Check the user PIN: one try is left, and a wrong one locks the user level; a forgotten one is set anew by ' +
        'the administrator.',
      'Ask the administrator to set a new user PIN (a PIN reset order; no new HSM needed).',
    ]);
    expectCode('PinLocked', () => device.login('user', USER_PIN));
    device.login('admin', ADMIN_PIN);
    device.resetUserPin('new-user-pin');
    device.logout();
    expectCode('WrongPin', () => device.login('user', USER_PIN));
    device.login('user', 'new-user-pin');
    expect(device.retriesLeft.user).toBe(3);
    expectCode('AccessDenied', () => device.resetUserPin('x-x-x-x'));
    expectCode('AccessDenied', () => device.changeAdminPin('x-x-x-x'));
  });

  it('locks the whole device after 3 wrong admin PINs, until a factory reset that erases every key', () => {
    const { device } = makeDevice('admin-lock');
    device.login('admin', ADMIN_PIN);
    device.generateKey(1);
    testOnlyHooks(device).importPlainKey(2, testKey(2), 'wrap');
    testOnlyHooks(device).importPlainKey(3, testKey(3), 'open');
    device.counterAdvance('c', 9);
    const serial = device.serial;
    const identity = device.identityPublicKey;
    device.logout();
    expectCode('WrongPin', () => device.login('admin', 'wrong-pin'));
    expectCode('WrongPin', () => device.login('admin', 'wrong-pin'));
    expectCode('DeviceLocked', () => device.login('admin', 'wrong-pin'));
    expect(device.session).toBe('locked');
    expectCode('DeviceLocked', () => device.login('user', USER_PIN));
    expectCode('DeviceLocked', () => device.listKeyIds());
    device.factoryReset({ userPin: 'fresh-user', adminPin: 'fresh-admin', manufacturer: TEST_MANUFACTURER });
    expect(device.session).toBe('loggedOut');
    device.login('admin', 'fresh-admin');
    expect(device.listKeyIds()).toEqual([]);
    expect(device.counterRead('c')).toBe(0);
    expect(device.serial).toBe(serial);
    expect(device.identityPublicKey).not.toEqual(identity);
  });

  it('a user session cannot factory-reset; a logged-out one can (the machine allows it)', () => {
    const { device } = makeDevice('reset-rights');
    device.login('user', USER_PIN);
    expectCode('AccessDenied', () =>
      device.factoryReset({ userPin: 'abcd', adminPin: 'efgh', manufacturer: TEST_MANUFACTURER }),
    );
    device.logout();
    device.factoryReset({ userPin: 'abcd', adminPin: 'efgh', manufacturer: TEST_MANUFACTURER });
    device.login('user', 'abcd');
  });

  it('a malformed PIN is refused before any try is spent; maxRetries is configurable at factory init', () => {
    const { device } = makeDevice('malformed');
    expectCode('BadArgument', () => device.login('user', 'abc'));
    expect(device.retriesLeft.user).toBe(3);
    const five = new SecubeDevice({ flash: new Flash(), seed: 'five', pinIterations: 10 });
    for (const bad of [0, 101, 2.5])
      expectCode('BadArgument', () =>
        five.factoryInit({ userPin: USER_PIN, adminPin: ADMIN_PIN, manufacturer: TEST_MANUFACTURER, maxRetries: bad }),
      );
    five.factoryInit({ userPin: USER_PIN, adminPin: ADMIN_PIN, manufacturer: TEST_MANUFACTURER, maxRetries: 5 });
    expect(five.retriesLeft).toEqual({ user: 5, admin: 5 });
  });

  it('admin can change its own PIN', () => {
    const { device } = makeDevice('change-admin');
    device.login('admin', ADMIN_PIN);
    device.changeAdminPin('another-admin');
    device.logout();
    expectCode('WrongPin', () => device.login('admin', ADMIN_PIN));
    device.login('admin', 'another-admin');
  });

  it('a user can change its own PIN from a user session, never from an admin one', () => {
    const { device } = makeDevice('change-user');
    device.login('admin', ADMIN_PIN);
    expectCode('AccessDenied', () => device.changeUserPin('another-user'));
    device.logout();
    device.login('user', USER_PIN);
    device.changeUserPin('another-user');
    device.logout();
    expectCode('WrongPin', () => device.login('user', USER_PIN));
    device.login('user', 'another-user');
    expect(device.retriesLeft.user).toBe(3);
  });

  it('a power cut between spending a try and comparing gives no free try: the spent tries stay spent', () => {
    const t = makeDevice('cut-between');
    const hooks = testOnlyHooks(t.device);
    hooks.onTrySpent = () => t.device.cutPower();
    for (let attempt = 1; attempt <= 3; attempt++) {
      expect(() => t.device.login('user', USER_PIN)).toThrow(PowerLossError);
      expect(t.device.powered).toBe(false);
      expect(() => t.device.listKeyIds()).toThrow(PowerLossError);
      t.device.powerOn();
      expect(t.device.retriesLeft.user, `user tries left after cut login ${attempt}`).toBe(3 - attempt);
      expect(reboot(t).retriesLeft.user, `user tries left after cut login ${attempt} and a reboot`).toBe(3 - attempt);
    }
    hooks.onTrySpent = undefined;
    // Three cut attempts used up the level although no PIN was ever compared.
    expectCode('PinLocked', () => t.device.login('user', USER_PIN));
  });

  it('under a power cut at any flash operation of a login, a try whose PIN was compared is never refunded', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 4 }),
        fc.boolean(),
        fc.integer({ min: 1, max: 2 ** 31 - 1 }),
        (cutAt, rightPin, flashSeed) => {
          const t = makeDevice('cut-any', { flashSeed });
          let compared = false;
          testOnlyHooks(t.device).onTrySpent = () => {
            compared = true;
          };
          t.flash.cutPowerAfter(cutAt);
          let outcome: 'ok' | 'wrong' | 'cut' = 'cut';
          try {
            t.device.login('user', rightPin ? USER_PIN : 'wrong-pin');
            outcome = 'ok';
          } catch (e) {
            if (isDeviceError(e, 'WrongPin')) outcome = 'wrong';
            else expect(e).toBeInstanceOf(PowerLossError);
          }
          t.flash.cancelPowerCut();
          if (outcome === 'cut') t.device.powerOn();
          const left = reboot(t).retriesLeft.user;
          // The counterexample is three bare values: say what they were, and what the outcome was.
          const what =
            `user tries left after a reboot (3 before): power cut at flash operation ${cutAt} of a login ` +
            `with the ${rightPin ? 'right' : 'wrong'} PIN, ${outcome === 'cut' ? 'cut' : `ended ${outcome}`}` +
            `${compared ? ', after the try was spent' : ''}`;
          if (outcome === 'ok') expect(left, what).toBe(3);
          if (outcome === 'wrong') expect(left, what).toBe(2);
          if (outcome === 'cut') {
            // Cut during the spend write: no comparison ran, and the write landed or not.
            // Cut after the comparison: the spend was durable first; only a right PIN's restore may land.
            if (compared && !rightPin) expect(left, what).toBe(2);
            else expect([2, 3], what).toContain(left);
          }
        },
      ),
      propertyParams(40),
    );
  });
});

describe('keys by ID', () => {
  it('generates, lists, describes and deletes keys; IDs are validated', () => {
    const { device } = makeDevice('keys');
    expectCode('NotLoggedIn', () => device.generateKey(1));
    device.login('admin', ADMIN_PIN);
    expect(device.generateKey(5)).toEqual({ id: 5, purpose: 'data', bits: 256 });
    expect(device.generateKey(3, { purpose: 'data' })).toEqual({ id: 3, purpose: 'data', bits: 256 });
    expect(device.generateKey(9, { length: 16 })).toEqual({ id: 9, purpose: 'data', bits: 128 });
    expect(device.generateKey(MAX_KEY_ID, { length: 24 })).toEqual({ id: MAX_KEY_ID, purpose: 'data', bits: 192 });
    expect(device.listKeyIds()).toEqual([3, 5, 9, MAX_KEY_ID]);
    expect(device.keyInfo(3)).toEqual({ id: 3, purpose: 'data', bits: 256 });
    expectCode('UnknownKey', () => device.keyInfo(4));
    for (const bad of [0, -1, 1.5, MAX_KEY_ID + 1, 2 ** 31, Number.NaN])
      expectCode('BadArgument', () => device.generateKey(bad));
    expectCode('BadArgument', () => device.generateKey(10, { length: 20 as 16 }));
    expect(device.deleteKey(5)).toBe(true);
    expect(device.deleteKey(5)).toBe(false);
    expect(device.listKeyIds()).toEqual([3, 9, MAX_KEY_ID]);
  });

  it(
    "keeps each key's purpose in its one record, for every purpose and up to MAX_KEY_ID = 2^29 − 1, across a " +
      'reboot',
    () => {
      const t = makeDevice('purposes');
      t.device.login('admin', ADMIN_PIN);
      const hooks = testOnlyHooks(t.device);
      expect(MAX_KEY_ID).toBe(2 ** 29 - 1);
      KEY_PURPOSES.forEach((purpose, i) => {
        hooks.importPlainKey(10 + i, testKey(10 + i), purpose);
        hooks.importPlainKey(MAX_KEY_ID - i, testKey(20 + i), purpose);
      });
      expectCode('BadArgument', () => hooks.importPlainKey(MAX_KEY_ID + 1, testKey(1), 'data'));
      // Only data and local keys are generated: a fresh key of another purpose would have no peer.
      for (const purpose of KEY_PURPOSES.filter((p) => p !== 'data' && p !== 'local'))
        expectCode('BadArgument', () => t.device.generateKey(100, { purpose: purpose as 'data' }));
      const again = reboot(t);
      again.login('user', USER_PIN);
      const low = KEY_PURPOSES.map((_, i) => 10 + i);
      const high = KEY_PURPOSES.map((_, i) => MAX_KEY_ID - i).reverse();
      expect(again.listKeyIds()).toEqual([...low, ...high]);
      KEY_PURPOSES.forEach((purpose, i) => {
        expect(again.keyInfo(10 + i)).toEqual({ id: 10 + i, purpose, bits: 256 });
        expect(again.keyInfo(MAX_KEY_ID - i).purpose).toBe(purpose);
        expect(testOnlyHooks(again).readKey(MAX_KEY_ID - i)).toEqual(testKey(20 + i));
      });
      // The admin deletes keys of any purpose.
      relogin(again, 'admin');
      for (const id of [...low, ...high]) expect(again.deleteKey(id)).toBe(true);
      expect(again.listKeyIds()).toEqual([]);
    },
  );

  it('one ID names one key whatever its purpose: no second key under it, and a replace keeps the purpose', () => {
    const { device } = makeDevice('one-id');
    device.login('admin', ADMIN_PIN);
    testOnlyHooks(device).importPlainKey(1, testKey(1), 'seal');
    expectCode('KeyExists', () => device.generateKey(1));
    expectCode('KeyExists', () => testOnlyHooks(device).importPlainKey(1, testKey(2), 'open'));
    expectCode('BadArgument', () => device.generateKey(1, { replace: true }));
    expect(device.keyInfo(1).purpose).toBe('seal');
    expect(testOnlyHooks(device).readKey(1)).toEqual(testKey(1));
    device.generateKey(2);
    const before = testOnlyHooks(device).readKey(2);
    device.generateKey(2, { replace: true });
    expect(testOnlyHooks(device).readKey(2)).not.toEqual(before);
    expect(device.listKeyIds()).toEqual([1, 2]);
  });

  it('a user session can create keys but never delete or overwrite one (W5)', () => {
    const { device } = makeDevice('w5');
    device.login('admin', ADMIN_PIN);
    device.generateKey(1);
    device.logout();
    device.login('user', USER_PIN);
    device.generateKey(2);
    expectCode('AccessDenied', () => device.deleteKey(1));
    expectCode('AccessDenied', () => device.generateKey(1, { replace: true }));
    expectCode('AccessDenied', () => device.generateKey(2, { replace: true }));
    expect(device.listKeyIds()).toEqual([1, 2]);
  });

  it('a deleted key is gone from flash at once (zeroised, not just unlinked: W7)', () => {
    const t = makeDevice('zeroise');
    t.device.login('admin', ADMIN_PIN);
    t.device.generateKey(11);
    const key = testOnlyHooks(t.device).readKey(11);
    const image = (): Buffer => Buffer.from(t.flash.toImage());
    expect(image().includes(Buffer.from(key))).toBe(true);
    t.device.deleteKey(11);
    expect(image().includes(Buffer.from(key.subarray(0, 8)))).toBe(false);
  });

  it('reports a full store as StoreFull', () => {
    const meter = new CycleMeter();
    const flash = new Flash({ meter, geometry: Array.from({ length: 6 }, () => 1024) });
    const device = new SecubeDevice({
      flash,
      seed: 'full',
      pinIterations: 10,
      keyStore: { sectors: [2, 3, 4], maxFill: 0.05 },
      stateSectors: [0, 1],
    });
    device.factoryInit({ userPin: USER_PIN, adminPin: ADMIN_PIN, manufacturer: TEST_MANUFACTURER });
    device.login('admin', ADMIN_PIN);
    let id = 1;
    try {
      for (; id < 100; id++) device.generateKey(id);
      expect.unreachable('the store must fill up');
    } catch (e) {
      expect(isDeviceError(e, 'StoreFull')).toBe(true);
    }
    expect(device.listKeyIds().length).toBe(id - 1);
  });
});

// The Galois/Counter Mode spec (McGrew & Viega), test cases 13-16: AES-256, 96-bit IV; the same
// vectors as NIST's GCM validation examples. Run through decrypt-by-ID (the IV is the spec's) and
// encrypt-by-ID (the IV is the device's own, NIST SP 800-38D §8.2.2).
const GCM_K15 = 'feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308';
const GCM_P15 =
  'd9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72' +
  '1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255';
const GCM_C15 =
  '522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa' +
  '8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662898015ad';
const GCM_CASES = [
  {
    name: 'Test Case 13',
    key: '00'.repeat(32),
    iv: '00'.repeat(12),
    pt: '',
    aad: '',
    ct: '',
    tag: '530f8afbc74536b9a963b4f1c4cb738b',
  },
  {
    name: 'Test Case 14',
    key: '00'.repeat(32),
    iv: '00'.repeat(12),
    pt: '00'.repeat(16),
    aad: '',
    ct: 'cea7403d4d606b6e074ec5d3baf39d18',
    tag: 'd0d1c8a799996bf0265b98b5d48ab919',
  },
  {
    name: 'Test Case 15',
    key: GCM_K15,
    iv: 'cafebabefacedbaddecaf888',
    pt: GCM_P15,
    aad: '',
    ct: GCM_C15,
    tag: 'b094dac5d93471bdec1a502270e3cc6c',
  },
  {
    name: 'Test Case 16',
    key: GCM_K15,
    iv: 'cafebabefacedbaddecaf888',
    pt: GCM_P15.slice(0, 120),
    aad: 'feedfacedeadbeeffeedfacedeadbeefabaddad2',
    ct: GCM_C15.slice(0, 120),
    tag: '76fc6ece0f4e1768cddf8853bb2d551b',
  },
] as const;

describe('AES-256-GCM by key ID (NIST SP 800-38D)', () => {
  for (const [i, v] of GCM_CASES.entries()) {
    it(`matches GCM spec ${v.name} (256-bit key) through decrypt and encrypt by ID`, () => {
      const { device } = makeDevice(`gcm-${i}`);
      device.login('admin', ADMIN_PIN);
      testOnlyHooks(device).importPlainKey(100 + i, hex(v.key), 'data');
      device.logout();
      device.login('user', USER_PIN);
      // The spec's ciphertext and tag under the spec's IV (SP 800-38D §7.2).
      expect(toHex(device.decrypt(100 + i, hex(v.iv), hex(v.ct + v.tag), hex(v.aad)))).toBe(v.pt);
      expectCode('AuthFailed', () => device.decrypt(100 + i, hex(v.iv), hex(v.ct + v.tag), Uint8Array.of(0)));
      // Encryption under the IV the device drew is the same function (§7.1), checked against an independent GCM.
      const { nonce, ciphertext } = device.encrypt(100 + i, hex(v.pt), { aad: hex(v.aad) });
      expect(nonce.length).toBe(12);
      expect(toHex(nonce)).not.toBe(v.iv);
      expect(toHex(ciphertext)).toBe(toHex(gcm(hex(v.key), nonce, hex(v.aad)).encrypt(hex(v.pt))));
      expect(toHex(device.decrypt(100 + i, nonce, ciphertext, hex(v.aad)))).toBe(v.pt);
    });
  }

  it(
    'draws every nonce itself: a nonce passed by the host is refused, never silently replaced (NIST SP 800-38D ' +
      '§8.2.2)',
    () => {
      const { device, meter } = makeDevice('gcm-no-host-nonce');
      device.login('admin', ADMIN_PIN);
      device.generateKey(1);
      const pt = new TextEncoder().encode('attack at dawn');
      // Callers written against the old API, or hostile ones, reach the device with a nonce field.
      const smuggle = (nonce: unknown): EncryptOptions => ({ aad: Uint8Array.of(1), nonce }) as EncryptOptions;
      const gcmBytes = (): number => meter.snapshot().byOp['ghash.byte']?.units ?? 0;
      const before = gcmBytes();
      for (const nonce of [new Uint8Array(12), new Uint8Array(8), undefined])
        expectCode('BadArgument', () => device.encrypt(1, pt, smuggle(nonce)));
      expect(gcmBytes()).toBe(before); // refused before any encryption
      // The nonces the device draws differ each time, even for the same plaintext and AAD...
      const nonces = new Set(
        Array.from({ length: 20 }, () => toHex(device.encrypt(1, pt, { aad: Uint8Array.of(1) }).nonce)),
      );
      expect(nonces.size).toBe(20);
      // ...and a seeded TRNG makes them reproducible, for tests that need fixed bytes.
      const twin = (): string => {
        const { device: d } = makeDevice('gcm-seeded');
        d.login('admin', ADMIN_PIN);
        testOnlyHooks(d).importPlainKey(1, testKey(1), 'data');
        const r = d.encrypt(1, pt);
        return toHex(r.nonce) + toHex(r.ciphertext);
      };
      expect(twin()).toBe(twin());
    },
  );

  it(
    'enforces 12-byte nonces on decryption, authenticates ciphertext and AAD, and keeps wrapping keys off ' + 'data',
    () => {
      const { device } = makeDevice('gcm-rules');
      device.login('admin', ADMIN_PIN);
      device.generateKey(1);
      testOnlyHooks(device).importPlainKey(2, testKey(2), 'wrap');
      const pt = new TextEncoder().encode('attack at dawn');
      const a = device.encrypt(1, pt, { aad: Uint8Array.of(1) });
      const b = device.encrypt(1, pt, { aad: Uint8Array.of(1) });
      expect(a.nonce.length).toBe(12);
      expect(a.nonce).not.toEqual(b.nonce);
      expect(device.decrypt(1, a.nonce, a.ciphertext, Uint8Array.of(1))).toEqual(pt);
      expectCode('AuthFailed', () => device.decrypt(1, a.nonce, a.ciphertext, Uint8Array.of(2)));
      const tampered = a.ciphertext.slice();
      tampered[0] = (tampered[0] ?? 0) ^ 1;
      expectCode('AuthFailed', () => device.decrypt(1, a.nonce, tampered, Uint8Array.of(1)));
      expectCode('AuthFailed', () => device.decrypt(1, a.nonce, new Uint8Array(5)));
      expectCode('BadNonce', () => device.decrypt(1, new Uint8Array(8), a.ciphertext));
      expectCode('WrongKeyPurpose', () => device.encrypt(2, pt));
      expectCode('UnknownKey', () => device.encrypt(3, pt));
    },
  );

  it('a local key (the database key) seals and opens but can never be exported', () => {
    const { device } = makeDevice('local-key');
    device.login('admin', ADMIN_PIN);
    device.generateKey(1001, { purpose: 'local' });
    const hooks = testOnlyHooks(device);
    hooks.importPlainKey(50, testKey(50), 'wrap');
    const sealed = device.seal(1001, Uint8Array.of(1, 2), Uint8Array.of(3));
    expect(device.open(1001, sealed, Uint8Array.of(3))).toEqual(Uint8Array.of(1, 2));
    expectCode('WrongKeyPurpose', () => device.exportWrapped(1001, 50, 1));
    expectCode('WrongKeyPurpose', () => device.encrypt(1001, Uint8Array.of(1)));
  });

  it('every operation accepts only the purposes it is for (NIST SP 800-57 Part 1 §5.2)', () => {
    const { device } = makeDevice('purpose-matrix');
    device.login('admin', ADMIN_PIN);
    const hooks = testOnlyHooks(device);
    // One key of each purpose; 'seal' and 'open' share bytes, as do 'wrap' and 'unwrap', as after provisioning.
    const idOf: Record<KeyPurpose, number> = { data: 1, wrap: 2, unwrap: 3, seal: 4, open: 5, local: 6, ack: 7 };
    const bytesOf: Record<KeyPurpose, Uint8Array> = {
      data: testKey(1),
      wrap: testKey(2),
      unwrap: testKey(2),
      seal: testKey(4),
      open: testKey(4),
      local: testKey(6),
      ack: testKey(7),
    };
    for (const p of KEY_PURPOSES) hooks.importPlainKey(idOf[p], bytesOf[p], p);
    device.generateKey(9); // a data key to export and a target ID
    const aad = Uint8Array.of(7);
    // A message each key could open if its purpose allowed it (the purpose is checked first).
    const sealedFor = (p: KeyPurpose): Uint8Array =>
      device.seal(p === 'open' ? idOf.seal : p === 'local' ? idOf.local : idOf.data, Uint8Array.of(1), aad);
    const encrypted = device.encrypt(idOf.data, Uint8Array.of(1));
    // Bound to key 9 and to update 2, beyond the update 1 recorded below.
    const blob = device.exportWrapped(9, idOf.wrap, 2).blob;
    // The 'open' key shares its bytes with the 'seal' key: an update sealed under one opens under the other.
    const update = sealUpdate(device, device.serial, 1, { keyId: idOf.seal });
    device.openUpdate(idOf.open, update.header, update.sealedBody);
    device.recordUpdateApplied(1);
    const ackHeader = encodeAckHeader({
      userId: 'U1',
      serial: device.serial,
      sequence: 1,
      fileHash: new Uint8Array(32),
    });
    const operations: Record<
      string,
      { readonly allowed: readonly KeyPurpose[]; readonly run: (id: number, p: KeyPurpose) => unknown }
    > = {
      encrypt: { allowed: ['data'], run: (id) => device.encrypt(id, Uint8Array.of(1)) },
      decrypt: { allowed: ['data'], run: (id) => device.decrypt(id, encrypted.nonce, encrypted.ciphertext) },
      seal: { allowed: ['data', 'seal', 'local'], run: (id) => device.seal(id, Uint8Array.of(1), aad) },
      open: { allowed: ['data', 'open', 'local'], run: (id, p) => device.open(id, sealedFor(p), aad) },
      'exportWrapped (as KEK)': { allowed: ['wrap'], run: (id) => device.exportWrapped(9, id, 1) },
      'exportWrapped (as key)': { allowed: ['data'], run: (id) => device.exportWrapped(id, idOf.wrap, 1) },
      'importWrapped (as KEK)': {
        allowed: ['unwrap'],
        run: (id) => device.importWrapped(9, blob, id, { replace: true }),
      },
      acknowledge: { allowed: ['ack'], run: (id) => device.acknowledge(id, ackHeader) },
      openUpdate: { allowed: ['open'], run: (id) => device.openUpdate(id, update.header, update.sealedBody) },
    };
    for (const [name, op] of Object.entries(operations)) {
      for (const p of KEY_PURPOSES) {
        const outcome = ((): string => {
          try {
            op.run(idOf[p], p);
            return 'ok';
          } catch (e) {
            if (isDeviceError(e, 'WrongKeyPurpose') || isDeviceError(e, 'AuthFailed')) return e.code;
            throw e;
          }
        })();
        expect(`${name} with ${p}: ${outcome}`).toBe(
          `${name} with ${p}: ${op.allowed.includes(p) ? 'ok' : 'WrongKeyPurpose'}`,
        );
      }
    }
  });

  it('seal/open: nonce ‖ ciphertext ‖ tag under a key ID, bound to the AAD', () => {
    const { device } = makeDevice('seal');
    device.login('admin', ADMIN_PIN);
    device.generateKey(1);
    device.generateKey(2);
    const aad = new TextEncoder().encode('user 7, seq 3');
    const sealed = device.seal(1, Uint8Array.of(9, 9, 9), aad);
    expect(sealed.length).toBe(12 + 3 + 16);
    expect(device.open(1, sealed, aad)).toEqual(Uint8Array.of(9, 9, 9));
    expectCode('AuthFailed', () => device.open(1, sealed, new TextEncoder().encode('user 7, seq 4')));
    expectCode('AuthFailed', () => device.open(2, sealed, aad));
    expectCode('AuthFailed', () => device.open(1, sealed.subarray(0, 5), aad));
  });
});

describe('key wrapping (RFC 3394)', () => {
  it('matches RFC 3394 §4.5 (256-bit KEK, 192-bit key data) through the device wrap path', () => {
    const { device } = makeDevice('kw');
    device.login('admin', ADMIN_PIN);
    const hooks = testOnlyHooks(device);
    // The KEK twice, as the two halves of a provisioned pair would hold it: wrap here, unwrap there.
    const kek = hex('000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F');
    hooks.importPlainKey(50, kek, 'wrap');
    hooks.importPlainKey(53, kek, 'unwrap');
    // What the device wraps is the key, its ID and its file's sequence (secubeWrap.ts): a 128-bit key
    // 00112233…FF stored as key 0x00010203 and sent in update 0x04050607 is §4.5's key data exactly.
    const keyId = 0x0001_0203;
    hooks.importPlainKey(keyId, hex('00112233445566778899AABBCCDDEEFF'), 'data');
    const { blob } = device.exportWrapped(keyId, 50, 0x0405_0607);
    expect(toHex(blob).toUpperCase()).toBe('A8F9BC1612C68B3FF6E6F4FBE30E71E4769C8B80A32CB8958CD5D17D6B254DA1');
    // And back in under the unwrap half, once the key is gone: the same key, as the encryption shows.
    const { nonce, ciphertext } = device.encrypt(keyId, Uint8Array.of(1, 2, 3));
    device.deleteKey(keyId);
    expectCode('WrongKeyPurpose', () => device.importWrapped(keyId, blob, 50));
    expect(device.importWrapped(keyId, blob, 53)).toEqual({ id: keyId, purpose: 'data', bits: 128 });
    expect(device.decrypt(keyId, nonce, ciphertext)).toEqual(Uint8Array.of(1, 2, 3));
  });

  it('exports only at admin level, only data keys, only under a wrap key (W4)', () => {
    const { device } = makeDevice('kw-rules');
    device.login('admin', ADMIN_PIN);
    const hooks = testOnlyHooks(device);
    device.generateKey(1);
    device.generateKey(2);
    hooks.importPlainKey(3, testKey(3), 'wrap');
    hooks.importPlainKey(4, testKey(4), 'wrap');
    hooks.importPlainKey(5, testKey(3), 'unwrap');
    expectCode('WrongKeyPurpose', () => device.exportWrapped(1, 2, 1));
    expectCode('WrongKeyPurpose', () => device.exportWrapped(1, 5, 1));
    expectCode('WrongKeyPurpose', () => device.exportWrapped(4, 3, 1));
    expectCode('WrongKeyPurpose', () => device.exportWrapped(3, 3, 1));
    expectCode('WrongKeyPurpose', () => device.exportWrapped(5, 3, 1));
    expectCode('UnknownKey', () => device.exportWrapped(9, 3, 1));
    expectCode('UnknownKey', () => device.exportWrapped(1, 9, 1));
    // The key, its ID and its file's sequence (secubeWrap.ts), and AES-KW's 8 bytes.
    expect(device.exportWrapped(1, 3, 1).blob.length).toBe(32 + 8 + 8);
    device.logout();
    device.login('user', USER_PIN);
    expectCode('AccessDenied', () => device.exportWrapped(1, 3, 1));
  });

  it('refuses altered or foreign blobs and stores nothing then', () => {
    const { device } = makeDevice('kw-bad');
    device.login('admin', ADMIN_PIN);
    const hooks = testOnlyHooks(device);
    device.generateKey(1);
    device.generateKey(2);
    hooks.importPlainKey(3, testKey(3), 'wrap');
    hooks.importPlainKey(4, testKey(3), 'unwrap');
    hooks.importPlainKey(5, testKey(5), 'unwrap');
    const { blob } = device.exportWrapped(1, 3, 1);
    device.deleteKey(1);
    const altered = blob.slice();
    altered[10] = (altered[10] ?? 0) ^ 0x80;
    expectCode('UnwrapFailed', () => device.importWrapped(1, altered, 4));
    expectCode('UnwrapFailed', () => device.importWrapped(1, blob, 5));
    expectCode('UnwrapFailed', () => device.importWrapped(1, blob.subarray(0, 16), 4));
    // Bound to key 1: not taken under another ID (W9).
    expectCode('UnwrapFailed', () => device.importWrapped(7, blob, 4));
    expectCode('WrongKeyPurpose', () => device.importWrapped(1, blob, 2));
    expectCode('WrongKeyPurpose', () => device.importWrapped(1, blob, 3));
    expect(device.listKeyIds()).toEqual([2, 3, 4, 5]);
    // Unwrap-import at user level creates, but cannot overwrite.
    device.logout();
    device.login('user', USER_PIN);
    expect(device.importWrapped(1, blob, 4)).toEqual({ id: 1, purpose: 'data', bits: 256 });
    expectCode('AccessDenied', () => device.importWrapped(1, blob, 4, { replace: true }));
    expectCode('AccessDenied', () => device.importWrapped(4, blob, 4));
    device.logout();
    device.login('admin', ADMIN_PIN);
    expectCode('KeyExists', () => device.importWrapped(1, blob, 4));
    // An unwrapped key is always a data key: it cannot replace a key of another purpose.
    expectCode('BadArgument', () => device.importWrapped(5, blob, 4, { replace: true }));
    device.importWrapped(1, blob, 4, { replace: true });
    expect(device.keyInfo(5).purpose).toBe('unwrap');
  });
});

describe('monotonic counters', () => {
  it('only move forward, persist, and work at user level', () => {
    const t = makeDevice('counters');
    t.device.login('user', USER_PIN);
    expect(t.device.counterRead('updates/u1')).toBe(0);
    expect(t.device.counterAdvance('updates/u1', 5)).toBe(5);
    expect(t.device.counterAdvance('updates/u1', 5)).toBe(5);
    expectCode('CounterRollback', () => t.device.counterAdvance('updates/u1', 4));
    expectCode('BadArgument', () => t.device.counterAdvance('updates/u1', -1));
    expectCode('BadArgument', () => t.device.counterAdvance('', 1));
    expectCode('BadArgument', () => t.device.counterRead('x'.repeat(65)));
    t.device.counterAdvance('db-generation', 2 ** 40);
    const again = reboot(t);
    again.login('user', USER_PIN);
    expect(again.counterRead('updates/u1')).toBe(5);
    expect(again.counterRead('db-generation')).toBe(2 ** 40);
    t.device.logout();
    expectCode('NotLoggedIn', () => t.device.counterRead('updates/u1'));
  });

  it('holds at most 64 counters, one slot kept for each reserved counter', () => {
    const { device } = makeDevice('many-counters');
    device.login('user', USER_PIN);
    for (let i = 0; i < 61; i++) device.counterAdvance(`c${i}`, 1);
    expectCode('StoreFull', () => device.counterAdvance('one-more', 1));
    expect(device.counterAdvance('c0', 2)).toBe(2);
    // The last three slots are the reserved counters': the applied-update counter's, which only
    // recordUpdateApplied fills, and the two PIN reset counters'.
    relogin(device, 'admin');
    testOnlyHooks(device).importPlainKey(5, new Uint8Array(32).fill(5), 'seal');
    testOnlyHooks(device).importPlainKey(6, new Uint8Array(32).fill(5), 'open');
    const update = sealUpdate(device, device.serial, 1, { keyId: 5 });
    device.openUpdate(6, update.header, update.sealedBody);
    expect(device.recordUpdateApplied(1)).toBe(1);
    expect(device.counterRead(UPDATE_SEQUENCE_COUNTER)).toBe(1);
    expectCode('StoreFull', () => device.counterAdvance('one-more', 1));
    expect(device.counterAdvance('c60', 3)).toBe(3);
  });

  it('after a power cut during an advance, the counter holds the old or the new value, never less', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 2 ** 31 - 1 }), (cutAt, flashSeed) => {
        const t = makeDevice('counter-cut', { flashSeed });
        t.device.login('user', USER_PIN);
        t.device.counterAdvance('n', 10);
        t.flash.cutPowerAfter(cutAt);
        let done = false;
        try {
          t.device.counterAdvance('n', 11);
          done = true;
        } catch (e) {
          expect(e).toBeInstanceOf(PowerLossError);
        }
        t.flash.cancelPowerCut();
        if (!done) t.device.powerOn();
        const again = reboot(t);
        again.login('user', USER_PIN);
        const value = again.counterRead('n');
        expect(done ? [11] : [10, 11]).toContain(value);
      }),
      propertyParams(30),
    );
  });
});

describe('power', () => {
  it('an unpowered device refuses every call until powerOn, which reboots it', () => {
    const { device } = makeDevice('power');
    device.login('admin', ADMIN_PIN);
    device.generateKey(1);
    device.cutPower();
    expect(device.powered).toBe(false);
    for (const call of [
      () => device.listKeyIds(),
      () => device.login('user', USER_PIN),
      () => device.serial,
      () => device.encrypt(1, new Uint8Array(1)),
    ]) {
      expect(call).toThrow(PowerLossError);
    }
    device.powerOn();
    expect(device.session).toBe('loggedOut');
    device.login('user', USER_PIN);
    expect(device.listKeyIds()).toEqual([1]);
  });

  it(
    'a cut during a factory reset leaves the old device (keys possibly erased) or the new one, and the reset can ' +
      'be rerun',
    () => {
      fc.assert(
        fc.property(fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 2 ** 31 - 1 }), (cutAt, flashSeed) => {
          const t = makeDevice('reset-cut', { flashSeed });
          t.device.login('admin', ADMIN_PIN);
          t.device.generateKey(1);
          t.flash.cutPowerAfter(cutAt);
          try {
            t.device.factoryReset({
              userPin: 'new-user-pin',
              adminPin: 'new-admin-pin',
              manufacturer: TEST_MANUFACTURER,
            });
          } catch (e) {
            expect(e).toBeInstanceOf(PowerLossError);
            t.device.powerOn();
          }
          t.flash.cancelPowerCut();
          const again = reboot(t);
          let oldPins = true;
          try {
            again.login('admin', ADMIN_PIN);
          } catch (e) {
            expect(isDeviceError(e, 'WrongPin')).toBe(true);
            oldPins = false;
            again.login('admin', 'new-admin-pin');
          }
          const ids = again.listKeyIds();
          if (oldPins) {
            expect([[], [1]]).toContainEqual(ids);
            again.factoryReset({ userPin: 'new-user-pin', adminPin: 'new-admin-pin', manufacturer: TEST_MANUFACTURER });
            again.login('admin', 'new-admin-pin');
            expect(again.listKeyIds()).toEqual([]);
          } else {
            expect(ids).toEqual([]);
          }
        }),
        propertyParams(20),
      );
    },
  );

  it('a cut during key generation leaves the key fully there or not at all', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 2 ** 31 - 1 }), (cutAt, flashSeed) => {
        const t = makeDevice('gen-cut', { flashSeed });
        t.device.login('admin', ADMIN_PIN);
        t.device.generateKey(1);
        t.flash.cutPowerAfter(cutAt);
        try {
          t.device.generateKey(2);
        } catch (e) {
          expect(e).toBeInstanceOf(PowerLossError);
          t.device.powerOn();
        }
        t.flash.cancelPowerCut();
        const again = reboot(t);
        again.login('user', USER_PIN);
        const ids = again.listKeyIds();
        expect([[1], [1, 2]]).toContainEqual(ids);
        for (const id of ids) {
          const { nonce, ciphertext } = again.encrypt(id, Uint8Array.of(7));
          expect(again.decrypt(id, nonce, ciphertext)).toEqual(Uint8Array.of(7));
        }
      }),
      propertyParams(20),
    );
  });
});

describe('one command at a time (a host callback inside a command cannot start another)', () => {
  /** Runs `call` from the flash's write listener at each write, `depth` times at most; what each said. */
  function reenter(flash: Flash, depth: number, call: (depth: number) => void): string[] {
    const said: string[] = [];
    let entered = 0;
    flash.setWriteListener(() => {
      if (entered >= depth) return;
      entered++;
      try {
        call(entered);
        said.push('ok');
      } catch (e) {
        said.push(isDeviceError(e) ? e.code : String(e));
      }
    });
    return said;
  }

  it('a login inside a login is refused (Busy): no PIN compared past the tries, no session from a spent try', () => {
    const t = makeDevice('reentry');
    const { device, flash } = t;
    const said = reenter(flash, 10, (d) => device.login('admin', d === 5 ? ADMIN_PIN : `guess-${d}`));
    expectCode('WrongPin', () => device.login('admin', 'guess-0'));
    flash.setWriteListener(undefined);
    // Let in, eleven guesses were compared against a limit of three, and the fifth (the right PIN,
    // every try spent) opened an admin session; the flash then held more spent tries than there are.
    expect(said.length).toBeGreaterThan(0);
    expect(new Set(said)).toEqual(new Set(['Busy']));
    expect(device.session).toBe('loggedOut');
    expect(device.retriesLeft.admin).toBe(2);
    const rebooted = reboot(t);
    expect(rebooted.retriesLeft.admin).toBe(2);
    rebooted.login('admin', ADMIN_PIN);
    expect(rebooted.session).toBe('admin');
  });

  it('a key written inside another key write is refused; both keys the device reported stored survive a reboot', () => {
    const { device, flash } = makeDevice('reentry-keys');
    device.login('user', USER_PIN);
    const said = reenter(flash, 1, () => device.generateKey(2));
    device.generateKey(1);
    flash.setWriteListener(undefined);
    expect(said).toEqual(['Busy']);
    device.generateKey(2);
    expect(device.listKeyIds()).toEqual([1, 2]);
    relogin(device, 'user');
    expect(device.listKeyIds()).toEqual([1, 2]);
  });

  it('a Busy a callback lets out of a key write fails that write alone: the next call remounts the store', () => {
    const { device, flash } = makeDevice('busy-escape');
    device.login('user', USER_PIN);
    let once = true;
    flash.setWriteListener(() => {
      if (!once) return;
      once = false;
      device.listKeyIds(); // refused (Busy), and not caught here
    });
    expectCode('Busy', () => device.generateKey(1));
    flash.setWriteListener(undefined);
    // Before, the device took the device error for a refusal that changed nothing: the next call met
    // the key store's own "remount required".
    expect(device.listKeyIds().filter((id) => id !== 1)).toEqual([]);
    device.generateKey(2);
    expect(device.listKeyIds()).toContain(2);
  });

  it('power pulled inside a command stops it at its next flash access; power is not restored inside one', () => {
    const { device, flash } = makeDevice('reentry-power');
    device.login('user', USER_PIN);
    const said = reenter(flash, 2, (d) => (d === 1 ? device.cutPower() : device.powerOn()));
    expect(() => device.generateKey(1)).toThrow(PowerLossError);
    flash.setWriteListener(undefined);
    // The second write never happened: the listener ran once, and the flash went off with the device.
    expect(said).toEqual(['ok']);
    expect(device.powered).toBe(false);
    expect(flash.powered).toBe(false);
    device.powerOn();
    device.login('user', USER_PIN);
    expect(device.listKeyIds().filter((id) => id !== 1)).toEqual([]);
    const again = reenter(flash, 1, () => device.powerOn());
    device.generateKey(2);
    flash.setWriteListener(undefined);
    expect(again).toEqual(['Busy']);
    expect(device.listKeyIds()).toContain(2);
  });
});

describe('failures below the device', () => {
  it(
    'a boot that fails on a readable flash (a repair that cannot write) leaves the device not blank: ' +
      'StateCorrupt, factory init refused, the state and keys there when the next boot succeeds',
    () => {
      const { device, flash } = makeDevice('boot-fail', { flashSeed: 3 });
      const identity = testOnlyHooks(device).readIdentitySecret();
      const root = device.manufacturerPublicKey;
      device.login('user', USER_PIN);
      device.generateKey(1);
      flash.cutPowerAfter(2); // key 2's entry byte: a torn slot for the next mount to scrub
      expect(() => device.generateKey(2)).toThrow(PowerLossError);
      flash.setWriteListener(() => {
        throw new Error('write failed');
      });
      expect(() => device.powerOn()).toThrow('write failed');
      flash.setWriteListener(undefined);
      // Powered, its state in flash unread: before, it said it was blank and factory init ran over
      // it, with another manufacturer's root of trust, leaving the old identity secret in flash.
      expect(device.powered).toBe(true);
      expectCode('StateCorrupt', () => device.initialized);
      expectCode('StateCorrupt', () => device.login('user', USER_PIN));
      expect(() => device.login('user', USER_PIN)).toThrow(
        /could not read its state at the last power-on: write failed/,
      );
      const other = Manufacturer.generate('other');
      expectCode('StateCorrupt', () =>
        device.factoryInit({ userPin: USER_PIN, adminPin: ADMIN_PIN, manufacturer: other }),
      );
      // A copy of it (`simulatorClone`) is in that state too.
      const { device: copy } = device.simulatorClone();
      expectCode('StateCorrupt', () => copy.initialized);
      expectCode('StateCorrupt', () =>
        copy.factoryInit({ userPin: USER_PIN, adminPin: ADMIN_PIN, manufacturer: other }),
      );
      device.cutPower();
      device.powerOn();
      expect(device.initialized).toBe(true);
      device.login('user', USER_PIN);
      expect(device.listKeyIds()).toEqual([1]);
      expect(toHex(device.manufacturerPublicKey)).toBe(toHex(root));
      expect(toHex(testOnlyHooks(device).readIdentitySecret())).toBe(toHex(identity));
      expect(findSecretResidue(rawImage(flash, [...DEFAULT_STATE_SECTORS]), [identity])).toBeDefined();
    },
  );

  it('a failed key-store write makes the device remount the store before its next use', () => {
    const flash = new Flash({ strict: true });
    const device = new SecubeDevice({ flash, seed: 'remount', pinIterations: 10 });
    device.factoryInit({ userPin: USER_PIN, adminPin: ADMIN_PIN, manufacturer: TEST_MANUFACTURER });
    device.login('admin', ADMIN_PIN);
    device.generateKey(1);
    // Dirty the next free slot behind the store's back: its next append has to program 1 over 0.
    const layout = storeLayout(flash.sector(17).size, DEFAULT_KEY_STORE_SECTORS.length);
    flash.program(flash.sector(17).address + layout.dataOffset + SLOT_BYTES, new Uint8Array(4));
    expect(() => device.generateKey(2)).toThrow(FlashNotErasedError);
    device.generateKey(2);
    expect(device.listKeyIds()).toEqual([1, 2]);
    expect(String(device)).toMatch(/keys=2\)$/);
  });

  /**
   * A state write can land in flash and still fail: a worn-out program whose verify fails, or a write
   * listener that throws after the write (`flash.ts`; the CLI's checkpoints are one). RAM must then
   * read the record back: journalling the next step from the old view counted a spent try twice, and
   * the next boot found the counter out of range (`StateCorrupt`) or the admin level locked.
   */
  function failNextStateProgram(flash: Flash): void {
    let armed = true;
    flash.setWriteListener((w) => {
      if (armed && w.kind === 'program' && DEFAULT_STATE_SECTORS.includes(w.sector)) {
        armed = false;
        throw new Error('checkpoint failed (disk full)');
      }
    });
  }

  it('a spent user try that landed but failed is counted once, and the locked level still boots', () => {
    const t = makeDevice('landed-user-try');
    failNextStateProgram(t.flash);
    expect(() => t.device.login('user', 'wrong-pin-1')).toThrow('disk full');
    t.flash.setWriteListener(undefined);
    // Flash holds the spent try (no comparison ran): RAM says so too.
    expect(t.device.retriesLeft.user).toBe(2);
    expectCode('WrongPin', () => t.device.login('user', 'wrong-pin-2'));
    expectCode('WrongPin', () => t.device.login('user', 'wrong-pin-3'));
    expectCode('PinLocked', () => t.device.login('user', 'wrong-pin-4'));
    const booted = reboot(t);
    expect(booted.retriesLeft).toEqual({ user: 0, admin: 3 });
    expect(booted.session).toBe('loggedOut');
  });

  it('the same on the admin level: two compared wrong PINs leave one try, not a locked HSM', () => {
    const t = makeDevice('landed-admin-try');
    failNextStateProgram(t.flash);
    expect(() => t.device.login('admin', 'wrong-admin-1')).toThrow('disk full');
    t.flash.setWriteListener(undefined);
    expectCode('WrongPin', () => t.device.login('admin', 'wrong-admin-2'));
    expect(t.device.retriesLeft.admin).toBe(1);
    const booted = reboot(t);
    expect(booted.session).toBe('loggedOut');
    expect(booted.retriesLeft.admin).toBe(1);
    booted.login('admin', ADMIN_PIN);
    expect(booted.retriesLeft.admin).toBe(3);
  });

  it('a counter step that landed but failed reads the same before and after a reboot; the session stays', () => {
    const t = makeDevice('landed-counter');
    t.device.login('admin', ADMIN_PIN);
    t.device.counterAdvance('db.generation', 5);
    failNextStateProgram(t.flash);
    expect(() => t.device.counterAdvance('db.generation', 6)).toThrow('disk full');
    t.flash.setWriteListener(undefined);
    expect(t.device.session).toBe('admin');
    expect(t.device.counterRead('db.generation')).toBe(6);
    expect(t.device.counterAdvance('db.generation', 7)).toBe(7);
    const booted = reboot(t);
    booted.login('admin', ADMIN_PIN);
    expect(booted.counterRead('db.generation')).toBe(7);
  });

  it('state without a key store is reported as StateCorrupt', () => {
    const t = makeDevice('no-store');
    for (const s of DEFAULT_KEY_STORE_SECTORS) t.flash.eraseSector(s);
    expectCode('StateCorrupt', () => reboot(t));
  });

  it('cuts the SD card with the device: its unsynced writes go through the crash model', () => {
    const sdcard = new SdCard({ sectorCount: 16 });
    const t = makeDevice('with-sd', { sdcard });
    expect(t.device.sdcard).toBe(sdcard);
    expect(t.device.meter).toBe(t.meter);
    sdcard.write(0, new Uint8Array(512).fill(1));
    sdcard.sync();
    sdcard.write(1, new Uint8Array(512).fill(2));
    t.device.cutPower();
    expect(sdcard.powered).toBe(false);
    expect(sdcard.stats().powerCuts).toBe(1);
    expect(String(t.device)).toMatch(/, off, session=-, keys=-\)$/);
    t.device.powerOn();
    expect(sdcard.read(0)).toEqual(new Uint8Array(512).fill(1));
  });

  it('a cut that fires inside a flash operation cuts the SD card too: one supply', () => {
    const sdcard = new SdCard({ sectorCount: 16 });
    const t = makeDevice('flash-cut-sd', { sdcard });
    t.device.login('user', USER_PIN);
    sdcard.write(0, new Uint8Array(512).fill(1));
    sdcard.sync();
    sdcard.write(1, new Uint8Array(512).fill(2));
    t.flash.cutPowerAfter(1);
    expect(() => t.device.counterAdvance('n', 1)).toThrow(PowerLossError);
    // The card's unsynced write went through the crash model, as in a cut of the whole device.
    expect(sdcard.powered).toBe(false);
    expect(sdcard.stats().powerCuts).toBe(1);
    expect(() => sdcard.read(0)).toThrow(PowerLossError);
    t.device.powerOn();
    expect(sdcard.read(0)).toEqual(new Uint8Array(512).fill(1));
  });

  it('a cut that fires inside an SD operation stops the device too: one supply, either way', () => {
    const sdcard = new SdCard({ sectorCount: 16 });
    const t = makeDevice('sd-cut-device', { sdcard });
    t.device.login('user', USER_PIN);
    sdcard.write(0, new Uint8Array(512).fill(1));
    sdcard.cutPowerAtSync(1);
    expect(() => sdcard.sync()).toThrow(PowerLossError);
    // Off, the session gone (the PIN machine's POWER_LOSS), as after a cut of the whole device.
    expect(t.device.powered).toBe(false);
    expect(String(t.device)).toMatch(/, off, session=-, keys=-\)$/);
    expect(() => t.device.counterAdvance('n', 1)).toThrow(PowerLossError);
    expect(sdcard.stats().powerCuts).toBe(1);
    t.device.powerOn();
    expect([t.device.powered, t.device.session, sdcard.powered]).toEqual([true, 'loggedOut', true]);
    // A device rebuilt on the same card takes over the supply; a clone of the card has none.
    const rebuilt = new SecubeDevice({ flash: t.flash, sdcard });
    const clone = sdcard.clone();
    clone.cutPower();
    expect([rebuilt.powered, t.device.powered]).toEqual([true, true]);
    sdcard.cutPower();
    expect([rebuilt.powered, t.device.powered]).toEqual([false, true]);
  });
});

describe('test hooks', () => {
  it('exist only on devices built with testHooks: true', () => {
    const device = new SecubeDevice({ flash: new Flash() });
    expectCode('AccessDenied', () => testOnlyHooks(device));
  });
});

describe('modelled cycles (168 MHz Cortex-M4 cost table)', () => {
  it('charges each key operation its TRNG, AES, GHASH, CRC and flash costs', () => {
    const { device, meter } = makeDevice('cycles');
    device.login('admin', ADMIN_PIN);
    const hooks = testOnlyHooks(device);
    hooks.importPlainKey(1, testKey(1), 'wrap');
    hooks.importPlainKey(6, testKey(1), 'unwrap');
    for (let id = 2; id < 6; id++) device.generateKey(id); // steady state: the store's sector is open
    const measure = (f: () => unknown): ReturnType<CycleMeter['snapshot']> => {
      meter.reset();
      f();
      return meter.snapshot();
    };
    const generate = measure(() => device.generateKey(10));
    const insert = measure(() => hooks.importPlainKey(11, new Uint8Array(32).fill(7), 'data'));
    const wrap = measure(() => device.exportWrapped(10, 1, 1));
    // Bound to key 10 (secubeWrap.ts): imported back in its place.
    const { blob } = device.exportWrapped(10, 1, 1);
    device.deleteKey(10);
    const unwrap = measure(() => device.importWrapped(10, blob, 6));
    const del = measure(() => device.deleteKey(11));
    const kib = new Uint8Array(1024);
    const gcm = measure(() => device.encrypt(10, kib));
    const figures = { generate, insert, delete: del, wrap, unwrap, gcmEncrypt1KiB: gcm };
    for (const [name, snap] of Object.entries(figures)) {
      console.info(
        `modelled cycles: ${name.padEnd(15)} ${Math.round(snap.cycles).toString().padStart(9)} cycles = ` +
          `${snap.busyMs.toFixed(3)} ms`,
      );
    }
    // Generation: 8 TRNG words for 256 bits; the record is programmed into flash (slot + entry).
    expect(generate.byOp['trng.word']?.units).toBe(8);
    expect(generate.byOp['flash.program']?.units).toBeGreaterThanOrEqual(10);
    expect(insert.byOp['trng.word']).toBeUndefined();
    // Wrap/unwrap of a 256-bit key and its 8-byte binding: RFC 3394 runs 6·n = 30 AES block operations (n = 5).
    expect(wrap.byOp['aes256.byte']?.units).toBe(30 * 16);
    expect(unwrap.byOp['aes256.byte']?.units).toBe(30 * 16);
    expect(unwrap.byOp['flash.program']?.units).toBeGreaterThanOrEqual(10);
    // Delete: tombstone plus zeroing of the whole slot in place, no erase.
    expect(del.byOp['flash.program']?.units).toBeGreaterThanOrEqual(10);
    expect(Object.keys(del.byOp).some((op) => op.startsWith('flash.erase'))).toBe(false);
    // GCM over 1 KiB: GCTR on 1024 B plus two blocks (H, tag mask), GHASH on 1024 B plus the length block, a 96-bit
    // nonce.
    expect(gcm.byOp['aes256.byte']?.units).toBe(1024 + 32);
    expect(gcm.byOp['ghash.byte']?.units).toBe(1024 + 16);
    expect(gcm.byOp['trng.word']?.units).toBe(3);
    expect(gcm.byOp['flash.program']).toBeUndefined();
  });
});

describe('reencrypt (re-protection inside the device)', () => {
  it('moves a message to another key without the plaintext leaving; a bad source is refused', () => {
    const { device } = makeDevice('reencrypt');
    device.login('user', USER_PIN);
    device.generateKey(2100);
    device.generateKey(2101);
    const aad = new Uint8Array([1]);
    const { nonce, ciphertext } = device.encrypt(2100, new TextEncoder().encode('rescue me'), { aad });
    const moved = device.reencrypt(2100, nonce, ciphertext, aad, 2101, new Uint8Array([2]));
    expect(new TextDecoder().decode(device.decrypt(2101, moved.nonce, moved.ciphertext, new Uint8Array([2])))).toBe(
      'rescue me',
    );
    expect(() => device.reencrypt(2100, nonce, ciphertext, new Uint8Array([9]), 2101, aad)).toThrow(/AUTH|authent/i);
  });
});
