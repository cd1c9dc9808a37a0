import { describe, expect, it } from 'vitest';
import { isDeviceError } from './deviceError.ts';
import { provisionUserDevice } from './provisioning.ts';
import { SdCard } from './sdcard.ts';
import { SecubeDevice } from './secube.ts';
import { ADMIN_PIN, PAIR_IDS, TEST_MANUFACTURER, USER_PIN, freshDevice, makeDevice } from './secube.testkit.ts';
import type { TestDevice } from './secube.testkit.ts';
import { Flash } from './flash.ts';

const CARD_SECTORS = 4096;

/** Everything observable about a device's hardware: meter, flash cells, wear, counters, card. */
function hardware(t: TestDevice): unknown {
  const card = t.device.sdcard;
  return {
    meter: t.meter.snapshot(),
    flash: Buffer.from(t.flash.toImage()).toString('base64'),
    flashStats: t.flash.stats(),
    operations: t.flash.operations,
    powered: t.flash.powered,
    card: card === undefined ? null : Buffer.from(card.toImage()).toString('base64'),
    cardStats: card?.stats() ?? null,
    cardPending: card?.pendingWrites ?? null,
    summary: JSON.stringify(t.device),
  };
}

/** What a call returned or threw, as comparable data. */
function outcome(f: () => unknown): unknown {
  try {
    const value = f();
    return { ok: value instanceof Uint8Array ? Buffer.from(value).toString('hex') : JSON.stringify(value) };
  } catch (e) {
    return { error: isDeviceError(e) ? e.code : String(e) };
  }
}

/**
 * A script of calls covering every persistent and RAM part of a device: PIN tries and sessions,
 * TRNG-made keys and nonces, key store writes and deletes, counters (journal), provisioning with a
 * peer (identity key, certificate), the card, torn flash writes (the fault generator), a power cut
 * and reboot, factory reset. Returns what each call gave and the hardware after it.
 */
function drive(t: TestDevice, peer: SecubeDevice): unknown[] {
  const d = t.device;
  const card = d.sdcard as SdCard;
  const log: unknown[] = [];
  const step = (f: () => unknown): void => {
    log.push(outcome(f), hardware(t));
  };
  step(() => [d.serial, d.identityPublicKey, d.certificate, d.session, d.retriesLeft]);
  step(() => d.login('admin', 'wrong'));
  step(() => d.retriesLeft);
  step(() => d.login('admin', ADMIN_PIN));
  step(() => provisionUserDevice(peer, d, PAIR_IDS));
  step(() => d.generateKey(7));
  step(() => d.generateKey(8, { purpose: 'local', length: 16 }));
  step(() => d.encrypt(7, new Uint8Array([1, 2, 3]), { aad: new Uint8Array([9]) }));
  step(() => d.seal(8, new Uint8Array(100).fill(5), new Uint8Array([1])));
  step(() => d.exportWrapped(7, PAIR_IDS.wrappingKeyId, 1).blob);
  step(() => d.counterAdvance('c1', 3));
  step(() => d.counterAdvance('c1', 9));
  step(() => d.counterAdvance('c2', 1));
  step(() => d.deleteKey(7));
  step(() => d.listKeyIds());
  step(() => {
    card.write(10, new Uint8Array(1024).fill(3));
    card.sync();
    card.write(11, new Uint8Array(512).fill(4));
  });
  step(() => {
    t.flash.cutPowerAfter(1);
    return d.generateKey(9);
  });
  step(() => d.powerOn());
  step(() => [d.listKeyIds(), d.session, d.retriesLeft, d.counterRead('c1')]);
  step(() => d.login('user', USER_PIN));
  step(() => d.generateKey(10));
  step(() => d.logout());
  step(() => d.factoryReset({ userPin: 'u2', adminPin: 'a2', manufacturer: TEST_MANUFACTURER }));
  step(() => [d.identityPublicKey, d.certificate, d.listKeyIds()]);
  return log;
}

describe('SecubeDevice.simulatorClone', () => {
  it('gives a device that behaves, charges and writes exactly as a freshly made one', () => {
    const seed = 'clone-equivalence';
    const template = makeDevice(seed, { sdcard: new SdCard({ sectorCount: CARD_SECTORS }) });
    const clone = template.device.simulatorClone();
    const fresh = makeDevice(seed, { sdcard: new SdCard({ sectorCount: CARD_SECTORS }) });
    const cloned: TestDevice = { device: clone.device, flash: clone.flash, meter: clone.meter ?? fresh.meter };
    expect(clone.meter).toBeDefined();
    expect(hardware(cloned)).toEqual(hardware(fresh));
    const peerOf = (): SecubeDevice => {
      const peer = makeDevice(`${seed}-peer`).device;
      peer.login('admin', ADMIN_PIN);
      return peer;
    };
    const a = drive(fresh, peerOf());
    const b = drive(cloned, peerOf());
    expect(b).toEqual(a);
    // The run did something: keys were made, cycles charged, the card written.
    expect(cloned.meter.cycles).toBeGreaterThan(template.meter.cycles);
    expect(clone.device.sdcard?.stats().writes).toBe(2);
  });

  it('leaves the source untouched and makes copies independent of each other', () => {
    const template = makeDevice('clone-independence', { sdcard: new SdCard({ sectorCount: CARD_SECTORS }) });
    const before = hardware(template);
    const first = template.device.simulatorClone();
    const second = template.device.simulatorClone();
    first.device.login('admin', ADMIN_PIN);
    first.device.generateKey(5);
    first.device.sdcard?.write(0, new Uint8Array(512).fill(1));
    expect(hardware(template)).toEqual(before);
    // The second copy starts as the template did: logged out.
    let refusal: unknown = null;
    try {
      second.device.listKeyIds();
    } catch (error) {
      refusal = error;
    }
    expect(isDeviceError(refusal) ? refusal.code : refusal).toBe('NotLoggedIn');
    second.device.login('admin', ADMIN_PIN);
    expect(second.device.listKeyIds()).toEqual([]);
    expect(second.device.sdcard?.pendingWrites).toBe(0);
    expect(first.device.sdcard).not.toBe(template.device.sdcard);
    expect(first.flash).not.toBe(template.flash);
  });

  it('is refused on a device without test hooks, and for an unseeded TRNG', () => {
    const plain = new SecubeDevice({ flash: new Flash(), seed: 'no-hooks', pinIterations: 10 });
    expect(() => plain.simulatorClone()).toThrow(/only a test device/);
    const unseeded = new SecubeDevice({ flash: new Flash(), pinIterations: 10, testHooks: true });
    expect(() => unseeded.simulatorClone()).toThrow(/seeded TRNG/);
  });
});

describe('freshDevice', () => {
  it('equals makeDevice with a new card of that size, call after call', () => {
    for (let round = 0; round < 2; round++) {
      const copy = freshDevice('fresh-kit', { cardSectors: CARD_SECTORS, flashSeed: 3 });
      const made = makeDevice('fresh-kit', { sdcard: new SdCard({ sectorCount: CARD_SECTORS }), flashSeed: 3 });
      expect(hardware(copy)).toEqual(hardware(made));
      expect(copy.device.sdcard).toBe(copy.sd);
      const peer = makeDevice('fresh-kit-peer').device;
      peer.login('admin', ADMIN_PIN);
      const peer2 = makeDevice('fresh-kit-peer').device;
      peer2.login('admin', ADMIN_PIN);
      expect(drive(copy, peer)).toEqual(drive(made, peer2));
    }
  });

  it('with adminSession, equals makeDevice then an admin login', () => {
    for (let round = 0; round < 2; round++) {
      const copy = freshDevice('fresh-kit-admin', { cardSectors: CARD_SECTORS, adminSession: true });
      const made = makeDevice('fresh-kit-admin', { sdcard: new SdCard({ sectorCount: CARD_SECTORS }) });
      made.device.login('admin', ADMIN_PIN);
      expect(copy.device.session).toBe('admin');
      expect(hardware(copy)).toEqual(hardware(made));
      const peer = makeDevice('fresh-kit-peer').device;
      peer.login('admin', ADMIN_PIN);
      const peer2 = makeDevice('fresh-kit-peer').device;
      peer2.login('admin', ADMIN_PIN);
      expect(drive(copy, peer)).toEqual(drive(made, peer2));
    }
  });
});
