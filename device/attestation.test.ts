import { ed25519 } from '@noble/curves/ed25519.js';
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { CERTIFICATE_BYTES, IDENTITY_CERTIFICATE_LABEL, Manufacturer, verifyIdentity } from './attestation.ts';

const SERIAL = 'A'.repeat(32);
const KEY = new Uint8Array(32).fill(5);

describe('device identity attestation (Ed25519, RFC 8032)', () => {
  it('certifies (serial, identity key) and verifies only that pair under that manufacturer', () => {
    const m = Manufacturer.generate('attestation');
    const cert = m.certify(SERIAL, KEY);
    expect(cert.length).toBe(CERTIFICATE_BYTES);
    expect(verifyIdentity(m.publicKey, SERIAL, KEY, cert)).toBe(true);
    expect(verifyIdentity(m.publicKey, 'B'.repeat(32), KEY, cert)).toBe(false);
    expect(verifyIdentity(m.publicKey, SERIAL, new Uint8Array(32).fill(6), cert)).toBe(false);
    expect(verifyIdentity(Manufacturer.generate('other').publicKey, SERIAL, KEY, cert)).toBe(false);
    const flipped = cert.slice();
    flipped[10] = (flipped[10] ?? 0) ^ 1;
    expect(verifyIdentity(m.publicKey, SERIAL, KEY, flipped)).toBe(false);
  });

  it('issues the same certificate for the same pair every time (Ed25519 is deterministic), each a copy', () => {
    const m = Manufacturer.generate('again');
    const first = m.certify(SERIAL, KEY);
    first.fill(0);
    const second = m.certify(SERIAL, KEY);
    expect(verifyIdentity(m.publicKey, SERIAL, KEY, second)).toBe(true);
    expect(m.certify(SERIAL, KEY)).toEqual(second);
    expect(m.certify('B'.repeat(32), KEY)).not.toEqual(second);
  });

  it('answers a repeated verification (remembered) exactly as the first, and a changed input afresh', () => {
    const m = Manufacturer.generate('repeated');
    const cert = m.certify(SERIAL, KEY);
    const flipped = cert.slice();
    flipped[0] = (flipped[0] ?? 0) ^ 1;
    for (let round = 0; round < 2; round++) {
      expect(verifyIdentity(m.publicKey, SERIAL, KEY, cert)).toBe(true);
      expect(verifyIdentity(m.publicKey, SERIAL, KEY, flipped)).toBe(false);
      expect(verifyIdentity(m.publicKey, SERIAL.toLowerCase(), KEY, cert)).toBe(false);
    }
    // The inputs are copied into the key: changing the caller's array afterwards changes nothing remembered.
    const mine = cert.slice();
    expect(verifyIdentity(m.publicKey, SERIAL, KEY, mine)).toBe(true);
    mine[5] = (mine[5] ?? 0) ^ 1;
    expect(verifyIdentity(m.publicKey, SERIAL, KEY, mine)).toBe(false);
  });

  it('signs the documented, length-prefixed, domain-separated message (RFC 8032 §5.1.6)', () => {
    const m = Manufacturer.generate('format');
    const enc = new TextEncoder();
    const message = Uint8Array.from([
      ...enc.encode(IDENTITY_CERTIFICATE_LABEL),
      0,
      0,
      32,
      ...enc.encode(SERIAL),
      0,
      32,
      ...KEY,
    ]);
    expect(IDENTITY_CERTIFICATE_LABEL).toBe('SEkey-TS device identity v1');
    expect(ed25519.verify(m.certify(SERIAL, KEY), message, m.publicKey)).toBe(true);
    expect(() => m.certify('x'.repeat(0x10000), KEY)).toThrow(RangeError);
    // Without the label (a bare signature of serial ‖ key) nothing verifies: no cross-protocol reuse.
    const secret = new Uint8Array(32).fill(3);
    const bare = Manufacturer.generate(secret);
    expect(
      verifyIdentity(
        bare.publicKey,
        SERIAL,
        KEY,
        ed25519.sign(Uint8Array.from([...enc.encode(SERIAL), ...KEY]), secret),
      ),
    ).toBe(false);
  });

  it('is deterministic from a seed, random otherwise; byte seeds are 32-byte Ed25519 secrets', () => {
    expect(Manufacturer.generate('s').publicKey).toEqual(Manufacturer.generate('s').publicKey);
    expect(Manufacturer.generate('s').publicKey).not.toEqual(Manufacturer.generate('t').publicKey);
    expect(Manufacturer.generate().publicKey).not.toEqual(Manufacturer.generate().publicKey);
    const secret = new Uint8Array(32).fill(1);
    expect(Manufacturer.generate(secret).publicKey).toEqual(ed25519.getPublicKey(secret));
    expect(() => Manufacturer.generate(new Uint8Array(31))).toThrow(RangeError);
  });

  it('never throws on malformed input: it is simply not a valid certificate', () => {
    const m = Manufacturer.generate('malformed');
    const cert = m.certify(SERIAL, KEY);
    expect(verifyIdentity(new Uint8Array(31), SERIAL, KEY, cert)).toBe(false);
    expect(verifyIdentity(new Uint8Array(32).fill(0xff), SERIAL, KEY, cert)).toBe(false);
    expect(verifyIdentity(m.publicKey, SERIAL, KEY, cert.subarray(0, 63))).toBe(false);
    expect(verifyIdentity(m.publicKey, SERIAL, KEY, new Uint8Array(64))).toBe(false);
    expect(verifyIdentity(m.publicKey, SERIAL, KEY, new Uint8Array(64).fill(0xff))).toBe(false);
  });

  it('prints its public key only', () => {
    const secret = new Uint8Array(32).fill(0x42);
    const m = Manufacturer.generate(secret);
    const hex = Buffer.from(secret).toString('hex');
    for (const view of [String(m), JSON.stringify(m), inspect(m, { showHidden: true, depth: 5 })]) {
      expect(view).not.toContain(hex.slice(0, 16));
      expect(view).toContain(Buffer.from(m.publicKey).toString('hex'));
    }
  });
});
