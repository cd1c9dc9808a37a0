import { describe, expect, it } from 'vitest';
import { decodeMessage, encodeMessage, messageAad } from './message.ts';
import { SekeyError } from './sekeyError.ts';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const NONCE = new Uint8Array(12).fill(0x11);
const CT = new Uint8Array(21).fill(0x22);

function malformed(bytes: Uint8Array, message = 'not an SEkey message'): void {
  try {
    decodeMessage(bytes);
  } catch (e) {
    expect(e).toBeInstanceOf(SekeyError);
    expect((e as SekeyError).code).toBe('MalformedMessage');
    expect((e as SekeyError).message).toBe(message);
    return;
  }
  expect.unreachable();
}

describe('messages', () => {
  it('are "SKM1" ‖ u32be key number ‖ nonce ‖ ciphertext and tag; the first 8 bytes are the AAD', () => {
    expect(hex(messageAad('K2001'))).toBe('534b4d31000007d1');
    const m = encodeMessage('K2001', NONCE, CT);
    expect(hex(m)).toBe('534b4d31000007d1' + '11'.repeat(12) + '22'.repeat(21));
    expect(decodeMessage(m)).toEqual({ keyId: 'K2001', rescuedFrom: null, nonce: NONCE, ciphertext: CT });
  });

  it('rescued: "SKM2" ‖ key number ‖ the compromised key\'s number ‖ nonce ‖ ciphertext; 12 bytes of AAD', () => {
    expect(hex(messageAad('K2001', 'K2000'))).toBe('534b4d32000007d1000007d0');
    const m = encodeMessage('K2001', NONCE, CT, 'K2000');
    expect(hex(m)).toBe('534b4d32000007d1000007d0' + '11'.repeat(12) + '22'.repeat(21));
    expect(decodeMessage(m)).toEqual({ keyId: 'K2001', rescuedFrom: 'K2000', nonce: NONCE, ciphertext: CT });
  });

  it('refuse to encode a bad nonce or a ciphertext without a tag', () => {
    expect(() => encodeMessage('K2001', new Uint8Array(11), CT)).toThrow(RangeError);
    expect(() => encodeMessage('K2001', NONCE, new Uint8Array(15))).toThrow(RangeError);
    expect(() => messageAad('X1')).toThrow(RangeError);
  });

  it('refuse to decode what cannot be a message', () => {
    const m = encodeMessage('K2001', NONCE, new Uint8Array(16));
    expect(decodeMessage(m).ciphertext.length).toBe(16);
    // Cut short: named as such (a message needs its header, nonce and tag: 36 bytes at least).
    malformed(m.subarray(0, m.length - 1), 'an SEkey message cut short: 35 bytes, at least 36');
    malformed(m.subarray(0, 10), 'an SEkey message cut short: 10 bytes, at least 36');
    malformed(new Uint8Array(0));
    malformed(Uint8Array.from([0x53, 0x4b, 0x4d, 0x33, ...m.subarray(4)]));
    // As SKM2, the same bytes are 4 short: its header holds a second key number.
    malformed(
      Uint8Array.from([0x53, 0x4b, 0x4d, 0x32, ...m.subarray(4)]),
      'an SEkey message cut short: 36 bytes, at least 40',
    );
  });
});
