import { describe, expect, it } from 'vitest';
import { provisionUserDevice } from './provisioning.ts';
import { testOnlyHooks } from './secube.ts';
import type { SecubeDevice } from './secube.ts';
import { ADMIN_PIN, USER_PIN, hostViews, leaks, makeDevice, secretNeedles } from './secube.testkit.ts';

/**
 * Runs `f` and records what a host sees of it: the result, or the thrown error.
 */
function observe(seen: unknown[], f: () => unknown): void {
  try {
    seen.push(f());
  } catch (e) {
    seen.push(e);
  }
}

describe('key secrecy: no key byte in anything host-visible', () => {
  it('results, errors, toString, inspect and JSON of every call never contain key bytes, identity secrets or PINs', () => {
    const admin = makeDevice('secrecy-admin');
    const user = makeDevice('secrecy-user');
    const seen: unknown[] = [];
    const a = admin.device;
    const u = user.device;
    observe(seen, () => a.login('user', 'wrong-pin-1'));
    observe(seen, () => a.login('admin', ADMIN_PIN));
    observe(seen, () => u.login('admin', ADMIN_PIN));
    observe(seen, () => provisionUserDevice(a, u, { admin: { channelKeyId: 1000, wrappingKeyId: 1001 }, user: { channelKeyId: 1, wrappingKeyId: 2 } }));
    for (const id of [10, 11, 12]) observe(seen, () => a.generateKey(id));
    observe(seen, () => a.generateKey(13, { purpose: 'wrap' }));
    observe(seen, () => a.generateKey(10));
    const wrapped: Uint8Array[] = [];
    for (const id of [10, 11, 12]) {
      observe(seen, () => {
        const r = a.exportWrapped(id, 1001);
        wrapped.push(r.blob);
        return r;
      });
    }
    observe(seen, () => a.exportWrapped(1001, 13));
    observe(seen, () => a.exportWrapped(10, 10));
    observe(seen, () => u.logout());
    observe(seen, () => u.login('user', USER_PIN));
    wrapped.forEach((blob, i) => observe(seen, () => u.importWrapped(10 + i, blob, 2)));
    observe(seen, () => u.importWrapped(99, wrapped[0]?.map((b) => b ^ 1) ?? new Uint8Array(40), 2));
    observe(seen, () => u.deleteKey(10));
    observe(seen, () => u.generateKey(10, { replace: true }));
    const pt = new TextEncoder().encode('the plaintext itself is not a secret of the device');
    observe(seen, () => a.encrypt(10, pt, { aad: Uint8Array.of(1) }));
    observe(seen, () => u.seal(1, pt, Uint8Array.of(2)));
    observe(seen, () => a.open(1000, u.seal(1, pt, Uint8Array.of(2)), Uint8Array.of(3)));
    observe(seen, () => u.decrypt(11, new Uint8Array(12), new Uint8Array(40)));
    observe(seen, () => u.encrypt(2, pt));
    observe(seen, () => u.encrypt(10, pt, { nonce: new Uint8Array(7) }));
    observe(seen, () => u.counterAdvance('seq', 3));
    observe(seen, () => u.counterAdvance('seq', 2));
    observe(seen, () => u.keyInfo(10));
    observe(seen, () => u.listKeyIds());
    observe(seen, () => u.identityPublicKey);
    observe(seen, () => a.deleteKey(12));
    observe(seen, () => a.exportWrapped(12, 1001));
    seen.push(a, u, admin.flash, admin.meter.snapshot());
    observe(seen, () => {
      u.cutPower();
      return u.listKeyIds();
    });
    observe(seen, () => u.powerOn());

    const secretsOf = (d: SecubeDevice, ids: readonly number[]): Uint8Array[] => {
      const hooks = testOnlyHooks(d);
      return [...ids.map((id) => hooks.readKey(id)), hooks.readIdentitySecret()];
    };
    u.login('user', USER_PIN);
    const secrets = [...secretsOf(a, [10, 11, 13, 1000, 1001]), ...secretsOf(u, [1, 2, 10, 11, 12])];
    const pins = [USER_PIN, ADMIN_PIN, 'wrong-pin-1'].map((p) => new TextEncoder().encode(p));
    const needles = [...secretNeedles(secrets), ...secretNeedles(pins)];
    const views = seen.flatMap(hostViews);
    expect(seen.filter((s) => s instanceof Error).length).toBeGreaterThan(10);
    expect(leaks(views, needles)).toEqual([]);
    // The scanner works: it does find a secret when one is there.
    expect(leaks(hostViews({ oops: secrets[0] }), needles).length).toBeGreaterThan(0);
  });

  it('PINs are not stored in clear in flash (W8)', () => {
    const t = makeDevice('pins-in-flash');
    const image = Buffer.from(t.flash.toImage());
    for (const pin of [USER_PIN, ADMIN_PIN]) expect(image.includes(Buffer.from(pin))).toBe(false);
  });
});
