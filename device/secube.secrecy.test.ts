import { describe, expect, it } from 'vitest';
import { DELETE_ORDER_AAD, encodeDeleteOrder } from './deleteOrder.ts';
import { provisionUserDevice } from './provisioning.ts';
import { encodeAckHeader } from './acknowledgement.ts';
import { UPDATE_SEQUENCE_COUNTER, testOnlyHooks } from './secube.ts';
import type { EncryptOptions, SecubeDevice } from './secube.ts';
import {
  ADMIN_PIN,
  PAIR_IDS,
  USER_PIN,
  hostViews,
  leaks,
  makeDevice,
  sealUpdate,
  secretNeedles,
} from './secube.testkit.ts';

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
  it(
    'results, errors, toString, inspect and JSON of every call never contain key bytes, identity secrets or ' + 'PINs',
    () => {
      const admin = makeDevice('secrecy-admin');
      const user = makeDevice('secrecy-user');
      const seen: unknown[] = [];
      const a = admin.device;
      const u = user.device;
      observe(seen, () => a.login('user', 'wrong-pin-1'));
      observe(seen, () => a.login('admin', ADMIN_PIN));
      observe(seen, () => u.login('admin', ADMIN_PIN));
      observe(seen, () => provisionUserDevice(a, u, PAIR_IDS));
      const { adminToUserKeyId: a2u, userToAdminKeyId: u2a, wrappingKeyId: wrap } = PAIR_IDS;
      for (const id of [10, 11, 12]) observe(seen, () => a.generateKey(id));
      const deletedLater = testOnlyHooks(a).readKey(12);
      observe(seen, () => a.generateKey(13, { purpose: 'wrap' as 'data' }));
      observe(seen, () => a.generateKey(10));
      const wrapped: Uint8Array[] = [];
      for (const id of [10, 11, 12]) {
        observe(seen, () => {
          const r = a.exportWrapped(id, wrap, 1);
          wrapped.push(r.blob);
          return r;
        });
      }
      observe(seen, () => a.exportWrapped(wrap, wrap, 1));
      observe(seen, () => a.exportWrapped(a2u, wrap, 1));
      observe(seen, () => a.exportWrapped(10, 10, 1));
      observe(seen, () => a.importWrapped(50, wrapped[0] ?? new Uint8Array(40), wrap));
      observe(seen, () => u.logout());
      observe(seen, () => u.login('user', USER_PIN));
      wrapped.forEach((blob, i) => observe(seen, () => u.importWrapped(10 + i, blob, wrap)));
      observe(seen, () => u.importWrapped(99, wrapped[0]?.map((b) => b ^ 1) ?? new Uint8Array(40), wrap));
      observe(seen, () => u.exportWrapped(10, wrap, 1));
      observe(seen, () => u.deleteKey(10));
      observe(seen, () => u.generateKey(10, { replace: true }));
      const pt = new TextEncoder().encode('the plaintext itself is not a secret of the device');
      observe(seen, () => a.encrypt(10, pt, { aad: Uint8Array.of(1) }));
      observe(seen, () => u.seal(u2a, pt, Uint8Array.of(2)));
      observe(seen, () => u.seal(a2u, pt, Uint8Array.of(2)));
      observe(seen, () => a.open(u2a, u.seal(u2a, pt, Uint8Array.of(2)), Uint8Array.of(3)));
      observe(seen, () => u.open(a2u, a.seal(a2u, pt, Uint8Array.of(4)), Uint8Array.of(4)));
      observe(seen, () => u.open(u2a, new Uint8Array(40), Uint8Array.of(4)));
      observe(seen, () => u.decrypt(11, new Uint8Array(12), new Uint8Array(40)));
      observe(seen, () => u.encrypt(wrap, pt));
      observe(seen, () => u.encrypt(a2u, pt));
      observe(seen, () => u.encrypt(10, pt, { nonce: new Uint8Array(12) } as EncryptOptions));
      const ackHeader = (sequence: number): Uint8Array =>
        encodeAckHeader({ userId: 'U1', serial: u.serial, sequence, fileHash: new Uint8Array(32) });
      observe(seen, () => u.acknowledge(u2a, ackHeader(1)));
      observe(seen, () => u.acknowledge(a2u, ackHeader(1)));
      observe(seen, () => u.acknowledge(u2a, ackHeader(1).subarray(0, 20)));
      observe(seen, () => u.counterAdvance(UPDATE_SEQUENCE_COUNTER, 1));
      const update = sealUpdate(a, u.serial, 1, { body: pt });
      observe(seen, () => u.openUpdate(a2u, update.header, update.sealedBody));
      observe(seen, () =>
        u.openUpdate(
          a2u,
          update.header,
          update.sealedBody.map((b) => b ^ 1),
        ),
      );
      observe(seen, () => u.openUpdate(10, update.header, update.sealedBody));
      observe(seen, () => u.recordUpdateApplied(2));
      observe(seen, () => u.recordUpdateApplied(1));
      observe(seen, () => a.open(u2a, u.acknowledge(u2a, ackHeader(1)), ackHeader(1)));
      observe(seen, () => u.counterAdvance('seq', 3));
      observe(seen, () => u.counterAdvance('seq', 2));
      observe(seen, () => u.keyInfo(10));
      observe(seen, () => u.keyInfo(a2u));
      observe(seen, () => u.listKeyIds());
      observe(seen, () => u.identityPublicKey);
      observe(seen, () => u.certificate);
      observe(seen, () => a.manufacturerPublicKey);
      observe(seen, () =>
        a.installProvisionedKeys({
          role: 'admin',
          peer: { serial: u.serial, publicKey: new Uint8Array(32).fill(9), certificate: u.certificate },
          adminToUserKeyId: 70,
          userToAdminKeyId: 71,
          wrappingKeyId: 72,
        }),
      );
      const order = a.seal(a2u, encodeDeleteOrder(u.serial, 12, 2), DELETE_ORDER_AAD);
      seen.push(order);
      observe(seen, () => u.deleteKeyByOrder(11, order, a2u));
      observe(seen, () =>
        u.deleteKeyByOrder(
          12,
          order.map((b, i) => (i === 20 ? b ^ 1 : b)),
          a2u,
        ),
      );
      observe(seen, () => u.deleteKeyByOrder(12, order, u2a));
      observe(seen, () => u.deleteKeyByOrder(12, order, a2u));
      observe(seen, () => u.deleteKeyByOrder(12, order, a2u));
      observe(seen, () => a.deleteKey(12));
      observe(seen, () => a.exportWrapped(12, wrap, 1));
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
      expect(u.listKeyIds()).toEqual([10, 11, a2u, u2a, wrap]);
      const secrets = [
        ...secretsOf(a, [10, 11, a2u, u2a, wrap]),
        ...secretsOf(u, [10, 11, a2u, u2a, wrap]),
        deletedLater,
      ];
      const pins = [USER_PIN, ADMIN_PIN, 'wrong-pin-1'].map((p) => new TextEncoder().encode(p));
      const needles = [...secretNeedles(secrets), ...secretNeedles(pins)];
      const views = seen.flatMap(hostViews);
      expect(seen.filter((s) => s instanceof Error).length).toBeGreaterThan(20);
      expect(leaks(views, needles)).toEqual([]);
      // The scanner works: it does find a secret when one is there.
      expect(leaks(hostViews({ oops: secrets[0] }), needles).length).toBeGreaterThan(0);
    },
  );

  it('PINs are not stored in clear in flash (W8)', () => {
    const t = makeDevice('pins-in-flash');
    const image = Buffer.from(t.flash.toImage());
    for (const pin of [USER_PIN, ADMIN_PIN]) expect(image.includes(Buffer.from(pin))).toBe(false);
  });
});
