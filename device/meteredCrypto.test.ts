import { describe, expect, it } from 'vitest';
import { COST_TABLE, CycleMeter, hmacSha256Compressions } from './costModel.ts';
import {
  aesGcmDecrypt,
  aesGcmEncrypt,
  aesKeyUnwrap,
  aesKeyWrap,
  chargePbkdf2,
  hkdfSha256,
  x25519PublicKey,
  x25519SharedSecret,
} from './meteredCrypto.ts';
import { expectCode } from './secube.testkit.ts';

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'hex'));
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

describe('metered primitives', () => {
  it('X25519 matches RFC 7748 §6.1 and charges one scalar multiplication per call', () => {
    const meter = new CycleMeter();
    const alice = hex('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a');
    const bob = hex('5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb');
    expect(toHex(x25519PublicKey(alice, meter))).toBe(
      '8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a',
    );
    const bobPublic = x25519PublicKey(bob, meter);
    expect(toHex(bobPublic)).toBe('de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f');
    expect(toHex(x25519SharedSecret(alice, bobPublic, meter))).toBe(
      '4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742',
    );
    expect(meter.snapshot().byOp['x25519.scalarMult']).toEqual({
      units: 3,
      cycles: 3 * COST_TABLE['x25519.scalarMult'].cycles,
    });
  });

  it('X25519 refuses low-order and malformed peer keys (RFC 7748 §6.1 all-zero check)', () => {
    const secret = new Uint8Array(32).fill(1);
    expectCode('BadArgument', () => x25519SharedSecret(secret, new Uint8Array(32)));
    expectCode('BadArgument', () => x25519SharedSecret(secret, new Uint8Array(31)));
  });

  it('HKDF-SHA256 matches RFC 5869 A.1 and charges HMAC compressions for extract and expand', () => {
    const meter = new CycleMeter();
    const okm = hkdfSha256(
      new Uint8Array(22).fill(0x0b),
      hex('000102030405060708090a0b0c'),
      hex('f0f1f2f3f4f5f6f7f8f9'),
      42,
      meter,
    );
    expect(toHex(okm)).toBe('3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865');
    const expected = hmacSha256Compressions(22) + hmacSha256Compressions(10 + 1) + hmacSha256Compressions(32 + 10 + 1);
    expect(meter.snapshot().byOp['hmacSha256.block']?.units).toBe(expected);
  });

  it('AES-GCM insists on 96-bit nonces and maps tag failures to AuthFailed', () => {
    const key = new Uint8Array(32).fill(2);
    const nonce = new Uint8Array(12).fill(3);
    const ct = aesGcmEncrypt(key, nonce, Uint8Array.of(1, 2), Uint8Array.of(9));
    expect(aesGcmDecrypt(key, nonce, ct, Uint8Array.of(9))).toEqual(Uint8Array.of(1, 2));
    expectCode('BadNonce', () => aesGcmEncrypt(key, new Uint8Array(8), Uint8Array.of(1), new Uint8Array(0)));
    expectCode('AuthFailed', () => aesGcmDecrypt(key, nonce, ct, Uint8Array.of(8)));
    expectCode('AuthFailed', () => aesGcmDecrypt(key, nonce, new Uint8Array(15), new Uint8Array(0)));
  });

  it('AES-KW refuses key data that is not whole 64-bit semiblocks, and bad blobs', () => {
    const kek = new Uint8Array(32).fill(4);
    expectCode('BadArgument', () => aesKeyWrap(kek, new Uint8Array(20)));
    expectCode('BadArgument', () => aesKeyWrap(kek, new Uint8Array(8)));
    expectCode('UnwrapFailed', () => aesKeyUnwrap(kek, new Uint8Array(16)));
    expectCode('UnwrapFailed', () => aesKeyUnwrap(kek, new Uint8Array(41)));
    expectCode('UnwrapFailed', () => aesKeyUnwrap(kek, new Uint8Array(40)));
    const blob = aesKeyWrap(kek, new Uint8Array(16).fill(5));
    expect(aesKeyUnwrap(kek, blob)).toEqual(new Uint8Array(16).fill(5));
  });

  it('charges AES at the key length it runs with: AES-128, -192 or -256 (FIPS 197 §5)', () => {
    // A fresh-eyes hunt: 16- and 24-byte keys (the key store holds all three lengths) were charged as AES-256.
    const nonce = new Uint8Array(12).fill(3);
    const charged = (keyBytes: number) => {
      const meter = new CycleMeter();
      const key = new Uint8Array(keyBytes).fill(7);
      const sealed = aesGcmEncrypt(key, nonce, new Uint8Array(100), new Uint8Array(0), meter);
      aesGcmDecrypt(key, nonce, sealed, new Uint8Array(0), meter);
      aesKeyUnwrap(key, aesKeyWrap(key, new Uint8Array(32), meter), meter);
      return meter.snapshot().byOp;
    };
    for (const [bits, keyBytes] of [
      [128, 16],
      [192, 24],
      [256, 32],
    ] as const) {
      const byOp = charged(keyBytes);
      const byte = `aes${bits}.byte` as const;
      const schedule = `aes${bits}.keySchedule` as const;
      // Two GCM passes over 7 blocks of text plus H and J0, two key wraps of 6·4 blocks.
      expect(byOp[byte]).toEqual({ units: 2 * (112 + 32) + 2 * 24 * 16, cycles: expect.any(Number) });
      expect(byOp[byte]?.cycles).toBeCloseTo((byOp[byte]?.units ?? 0) * COST_TABLE[byte].cycles, 6);
      expect(byOp[schedule]?.units).toBe(4);
      // Only that length's rows.
      const aesRows = Object.keys(byOp).filter((op) => op.startsWith('aes'));
      expect(aesRows.sort()).toEqual([byte, schedule]);
    }
    expect(COST_TABLE['aes128.byte'].cycles).toBeLessThan(COST_TABLE['aes192.byte'].cycles);
    expect(COST_TABLE['aes192.byte'].cycles).toBeLessThan(COST_TABLE['aes256.byte'].cycles);
  });

  it('charges PBKDF2 as two midstates plus two compressions per iteration', () => {
    const meter = new CycleMeter();
    chargePbkdf2(meter, 1000);
    expect(meter.snapshot().byOp['hmacSha256.block']?.units).toBe(2002);
    chargePbkdf2(undefined, 5);
  });
});
