import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { backendFromEnvironment, cryptoBackend, useCryptoBackend } from './cryptoBackend.ts';
import type { CryptoBackend } from './cryptoBackend.ts';
import { CycleMeter } from './costModel.ts';
import { HOST_CRYPTO, x25519PrivateFromDer } from './hostCrypto.ts';
import { createHmac, createPublicKey } from 'node:crypto';
import { aesGcmEncrypt, aesKeyWrap, hkdfSha256, x25519PublicKey, x25519SharedSecret } from './meteredCrypto.ts';
import { NOBLE_CRYPTO } from './nobleCrypto.ts';
import { propertyParams } from '../testing/runConfig.ts';

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'hex'));
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const BACKENDS: readonly CryptoBackend[] = [HOST_CRYPTO, NOBLE_CRYPTO];
/** u-coordinates of small order on Curve25519 (0, 1, and points of order 8), whose shared secret is zero. */
const LOW_ORDER_POINTS = [
  '0000000000000000000000000000000000000000000000000000000000000000',
  '0100000000000000000000000000000000000000000000000000000000000000',
  'e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800',
  '5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157',
];

const started = cryptoBackend();
afterEach(() => {
  useCryptoBackend(started);
});

describe.each(BACKENDS)('$name backend against the standards’ vectors', (b) => {
  it('AES-256-GCM: McGrew–Viega test case 16 (the GCM specification submitted to NIST, AES-256, AAD)', () => {
    const key = hex('feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308');
    const iv = hex('cafebabefacedbaddecaf888');
    const aad = hex('feedfacedeadbeeffeedfacedeadbeefabaddad2');
    const text = hex(
      'd9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72' +
        '1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39',
    );
    const sealed =
      '522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa' +
      '8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662' +
      '76fc6ece0f4e1768cddf8853bb2d551b';
    expect(toHex(b.gcmEncrypt(key, iv, text, aad))).toBe(sealed);
    expect(b.gcmDecrypt(key, iv, hex(sealed), aad)).toEqual(text);
    const forged = hex(sealed);
    forged[0] = (forged[0] as number) ^ 1;
    expect(() => b.gcmDecrypt(key, iv, forged, aad)).toThrow();
    expect(() => b.gcmDecrypt(key, iv, hex(sealed), aad.subarray(1))).toThrow();
  });

  it('AES Key Wrap: RFC 3394 §4.6 (256 bits of key data under a 256-bit KEK)', () => {
    const kek = hex('000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f');
    const data = hex('00112233445566778899aabbccddeeff000102030405060708090a0b0c0d0e0f');
    const wrapped = '28c9f404c4b810f4cbccb35cfb87f8263f5786e2d80ed326cbc7f0e71a99f43bfb988b9b7a02dd21';
    expect(toHex(b.keyWrap(kek, data))).toBe(wrapped);
    expect(b.keyUnwrap(kek, hex(wrapped))).toEqual(data);
    const bad = hex(wrapped);
    bad[39] = (bad[39] as number) ^ 1;
    expect(() => b.keyUnwrap(kek, bad)).toThrow();
  });

  it('HMAC-SHA-256: RFC 4231 §4.2–4.8 (test cases 1–4, 6 and 7: short keys, and keys longer than the block)', () => {
    const text = (s: string) => new TextEncoder().encode(s);
    const fill = (length: number, byte: number) => new Uint8Array(length).fill(byte);
    const cases: readonly (readonly [Uint8Array, Uint8Array, string])[] = [
      [fill(20, 0x0b), text('Hi There'), 'b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7'],
      [
        text('Jefe'),
        text('what do ya want for nothing?'),
        '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843',
      ],
      [fill(20, 0xaa), fill(50, 0xdd), '773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe'],
      [
        Uint8Array.from({ length: 25 }, (_, i) => i + 1),
        fill(50, 0xcd),
        '82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b',
      ],
      [
        fill(131, 0xaa),
        text('Test Using Larger Than Block-Size Key - Hash Key First'),
        '60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54',
      ],
      [
        fill(131, 0xaa),
        text(
          'This is a test using a larger than block-size key and a larger than block-size data. The key needs ' +
            'to be hashed before being used by the HMAC algorithm.',
        ),
        '9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2',
      ],
    ];
    for (const [key, message, mac] of cases) expect(toHex(b.hmacSha256(key, message))).toBe(mac);
  });

  it('HKDF-SHA-256: RFC 5869 A.1 and A.3 (absent salt = HashLen zeros = empty salt)', () => {
    const ikm = new Uint8Array(22).fill(0x0b);
    expect(toHex(b.hkdfSha256(ikm, hex('000102030405060708090a0b0c'), hex('f0f1f2f3f4f5f6f7f8f9'), 42))).toBe(
      '3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865',
    );
    const a3 = '8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8';
    expect(toHex(b.hkdfSha256(ikm, undefined, new Uint8Array(0), 42))).toBe(a3);
    expect(toHex(b.hkdfSha256(ikm, new Uint8Array(0), new Uint8Array(0), 42))).toBe(a3);
  });

  it('X25519: RFC 7748 §6.1 (both public keys, the shared secret), and a low-order peer is refused', () => {
    const alice = hex('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a');
    const bob = hex('5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb');
    expect(toHex(b.x25519PublicKey(alice))).toBe('8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a');
    const bobPublic = b.x25519PublicKey(bob);
    expect(toHex(bobPublic)).toBe('de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f');
    expect(toHex(b.x25519SharedSecret(alice, bobPublic))).toBe(
      '4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742',
    );
    for (const lowOrder of LOW_ORDER_POINTS) expect(() => b.x25519SharedSecret(alice, hex(lowOrder))).toThrow();
  });

  it('returns plain Uint8Arrays that own their bytes (no Buffer, no shared pool)', () => {
    const out = b.hmacSha256(new Uint8Array(32), new Uint8Array(3));
    expect(Object.getPrototypeOf(out)).toBe(Uint8Array.prototype);
    expect(out.byteOffset).toBe(0);
    expect(out.buffer.byteLength).toBe(32);
  });
});

describe('host X25519 key import', () => {
  it("the DER fallback (for a Node that checks a JWK private key's x) gives RFC 7748 §6.1's public keys", () => {
    const raw = (secret: string) =>
      toHex(Buffer.from(createPublicKey(x25519PrivateFromDer(hex(secret))).export({ format: 'jwk' }).x!, 'base64url'));
    expect(raw('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a')).toBe(
      '8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a',
    );
    expect(raw('5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb')).toBe(
      'de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f',
    );
  });
});

describe('host backend equals the noble reference on random inputs', () => {
  const key = fc.uint8Array({ minLength: 32, maxLength: 32 });
  const bytes = (max: number) => fc.uint8Array({ maxLength: max });

  it('AES-256-GCM seal and open, and both refuse the same tampered input', () => {
    fc.assert(
      fc.property(
        key,
        fc.uint8Array({ minLength: 12, maxLength: 12 }),
        bytes(300),
        bytes(40),
        fc.nat(),
        (k, iv, text, aad, flip) => {
          const sealed = HOST_CRYPTO.gcmEncrypt(k, iv, text, aad);
          expect(sealed).toEqual(NOBLE_CRYPTO.gcmEncrypt(k, iv, text, aad));
          expect(HOST_CRYPTO.gcmDecrypt(k, iv, sealed, aad)).toEqual(text);
          expect(NOBLE_CRYPTO.gcmDecrypt(k, iv, sealed, aad)).toEqual(text);
          const tampered = sealed.slice();
          const at = flip % tampered.length;
          tampered[at] = (tampered[at] as number) ^ (1 << (flip % 8));
          expect(() => HOST_CRYPTO.gcmDecrypt(k, iv, tampered, aad)).toThrow();
          expect(() => NOBLE_CRYPTO.gcmDecrypt(k, iv, tampered, aad)).toThrow();
        },
      ),
      propertyParams(200),
    );
  });

  it('AES Key Wrap and Unwrap', () => {
    const semiblocks = fc
      .integer({ min: 2, max: 8 })
      .chain((n) => fc.uint8Array({ minLength: 8 * n, maxLength: 8 * n }));
    fc.assert(
      fc.property(key, semiblocks, fc.nat(), (kek, data, flip) => {
        const wrapped = HOST_CRYPTO.keyWrap(kek, data);
        expect(wrapped).toEqual(NOBLE_CRYPTO.keyWrap(kek, data));
        expect(HOST_CRYPTO.keyUnwrap(kek, wrapped)).toEqual(data);
        const tampered = wrapped.slice();
        const at = flip % tampered.length;
        tampered[at] = (tampered[at] as number) ^ (1 << (flip % 8));
        expect(() => HOST_CRYPTO.keyUnwrap(kek, tampered)).toThrow();
        expect(() => NOBLE_CRYPTO.keyUnwrap(kek, tampered)).toThrow();
      }),
      propertyParams(200),
    );
  });

  it('X25519 public keys and shared secrets', () => {
    fc.assert(
      fc.property(key, key, (a, b) => {
        const publicA = HOST_CRYPTO.x25519PublicKey(a);
        expect(publicA).toEqual(NOBLE_CRYPTO.x25519PublicKey(a));
        const publicB = NOBLE_CRYPTO.x25519PublicKey(b);
        expect(HOST_CRYPTO.x25519SharedSecret(a, publicB)).toEqual(NOBLE_CRYPTO.x25519SharedSecret(a, publicB));
        // Any 32 bytes as a peer key (high bit set, u ≥ p included): both agree, or both refuse.
        const agree = (f: () => Uint8Array) => {
          try {
            return toHex(f());
          } catch {
            return 'refused';
          }
        };
        expect(agree(() => HOST_CRYPTO.x25519SharedSecret(a, b))).toBe(
          agree(() => NOBLE_CRYPTO.x25519SharedSecret(a, b)),
        );
      }),
      propertyParams(100),
    );
  });

  it("HMAC-SHA-256 equals node's createHmac, for keys shorter and longer than the block, and long messages", () => {
    // The host HMAC is built from two one-shot hashes (hostCrypto.ts), so OpenSSL's own HMAC is a
    // second reference; messages past its 256-byte scratch make it grow, and the same inputs twice
    // show nothing of one call leaks into the next.
    fc.assert(
      fc.property(bytes(200), bytes(1200), (k, m) => {
        const expected = new Uint8Array(createHmac('sha256', k).update(m).digest());
        expect(HOST_CRYPTO.hmacSha256(k, m)).toEqual(expected);
        expect(HOST_CRYPTO.hmacSha256(k, m)).toEqual(expected);
      }),
      propertyParams(200),
    );
  });

  it('HMAC-SHA-256 and HKDF-SHA-256', () => {
    fc.assert(
      fc.property(
        bytes(100),
        bytes(200),
        fc.option(bytes(40), { nil: undefined }),
        fc.integer({ min: 1, max: 100 }),
        (k, m, salt, n) => {
          expect(HOST_CRYPTO.hmacSha256(k, m)).toEqual(NOBLE_CRYPTO.hmacSha256(k, m));
          expect(HOST_CRYPTO.hkdfSha256(k, salt, m, n)).toEqual(NOBLE_CRYPTO.hkdfSha256(k, salt, m, n));
        },
      ),
      propertyParams(200),
    );
  });
});

describe('backend selection', () => {
  it('SEKEY_CRYPTO chooses the starting backend: host by default, noble on request, nothing else', () => {
    expect(backendFromEnvironment(undefined)).toBe(HOST_CRYPTO);
    expect(backendFromEnvironment('')).toBe(HOST_CRYPTO);
    expect(backendFromEnvironment('host')).toBe(HOST_CRYPTO);
    expect(backendFromEnvironment('noble')).toBe(NOBLE_CRYPTO);
    expect(() => backendFromEnvironment('openssl')).toThrow(RangeError);
  });

  it('useCryptoBackend switches and returns the previous one', () => {
    useCryptoBackend(HOST_CRYPTO);
    expect(cryptoBackend()).toBe(HOST_CRYPTO);
    expect(useCryptoBackend(NOBLE_CRYPTO)).toBe(HOST_CRYPTO);
    expect(cryptoBackend()).toBe(NOBLE_CRYPTO);
  });

  it('modelled cycles and outputs do not depend on the backend', () => {
    const run = () => {
      const meter = new CycleMeter();
      const key = new Uint8Array(32).fill(7);
      const out = [
        aesGcmEncrypt(key, new Uint8Array(12), new Uint8Array(100), new Uint8Array(5), meter),
        aesKeyWrap(key, new Uint8Array(32).fill(1), meter),
        hkdfSha256(key, undefined, new Uint8Array(3), 64, meter),
        x25519SharedSecret(key, x25519PublicKey(new Uint8Array(32).fill(9), meter), meter),
      ];
      return { out, cycles: meter.snapshot() };
    };
    useCryptoBackend(NOBLE_CRYPTO);
    const noble = run();
    useCryptoBackend(HOST_CRYPTO);
    expect(run()).toEqual(noble);
  });
});
