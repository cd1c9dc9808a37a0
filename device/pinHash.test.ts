import { describe, expect, it } from 'vitest';
import { isDeviceError } from './deviceError.ts';
import { PIN_SALT_BYTES, constantTimeEqual, makePinVerifier, pinBytes, pinHash, verifyPin } from './pinHash.ts';

describe('PIN verifiers (PBKDF2-HMAC-SHA256, RFC 8018 §5.2)', () => {
  it('matches the RFC 7914 §11 PBKDF2-HMAC-SHA256 vector (P="passwd", S="salt", c=1), first 32 bytes', () => {
    const dk = pinHash('passwd', new TextEncoder().encode('salt'), 1);
    expect(Buffer.from(dk).toString('hex')).toBe('55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc');
  });

  it('verifies the right PIN only, and never stores it in clear', () => {
    const salt = new Uint8Array(PIN_SALT_BYTES).fill(3);
    const v = makePinVerifier('123456', salt, 10);
    expect(verifyPin('123456', v)).toBe(true);
    expect(verifyPin('123457', v)).toBe(false);
    expect(Buffer.from(v.hash).includes(Buffer.from('123456'))).toBe(false);
    const other = makePinVerifier('123456', new Uint8Array(PIN_SALT_BYTES).fill(4), 10);
    expect(other.hash).not.toEqual(v.hash);
  });

  it('keeps binary PINs whole, NUL bytes included (unlike the original, B5)', () => {
    const salt = new Uint8Array(PIN_SALT_BYTES);
    const v = makePinVerifier(Uint8Array.of(1, 0, 2, 3), salt, 5);
    expect(verifyPin(Uint8Array.of(1, 0, 2, 3), v)).toBe(true);
    expect(verifyPin(Uint8Array.of(1, 0, 9, 9), v)).toBe(false);
  });

  it('refuses PINs of bad size, bad salts and bad iteration counts', () => {
    for (const bad of ['abc', 'x'.repeat(65)]) {
      try {
        pinBytes(bad);
        expect.unreachable();
      } catch (e) {
        expect(isDeviceError(e, 'BadArgument')).toBe(true);
      }
    }
    expect(() => makePinVerifier('1234', new Uint8Array(8))).toThrow(/salt/);
    expect(() => makePinVerifier('1234', new Uint8Array(PIN_SALT_BYTES), 0)).toThrow(/iteration/);
  });

  it('compares in constant time over the whole length', () => {
    expect(constantTimeEqual(Uint8Array.of(1, 2, 3), Uint8Array.of(1, 2, 3))).toBe(true);
    expect(constantTimeEqual(Uint8Array.of(1, 2, 3), Uint8Array.of(1, 2, 4))).toBe(false);
    expect(constantTimeEqual(Uint8Array.of(1, 2, 3), Uint8Array.of(1, 2))).toBe(false);
    expect(constantTimeEqual(new Uint8Array(0), new Uint8Array(0))).toBe(true);
  });
});
