import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { propertyParams } from '../testing/runConfig.ts';
import { PIN_MAX_BYTES, PIN_MIN_BYTES } from './pinHash.ts';
import { PIN_RESET_ORDER_LABEL, decodePinResetOrder, encodePinResetOrder, pinResetOrderAad } from './pinResetOrder.ts';
import { expectCode } from './secube.testkit.ts';

const pin = (s: string): Uint8Array => new TextEncoder().encode(s);

describe('PIN reset order encoding', () => {
  it('is u8 serial length ‖ serial ‖ u64be sequence ‖ u8 PIN length ‖ PIN, under its own AAD label', () => {
    const bytes = encodePinResetOrder({ serial: 'AB', sequence: 0x0102, newPin: pin('wxyz') });
    expect(Buffer.from(bytes).toString('hex')).toBe(`024142${'0000000000000102'}04${'7778797a'}`);
    expect(PIN_RESET_ORDER_LABEL).toBe('SEKEY pin-reset-order v1');
    expect(Buffer.from(pinResetOrderAad()).toString()).toBe(PIN_RESET_ORDER_LABEL);
    expect(pinResetOrderAad()).not.toBe(pinResetOrderAad()); // a fresh copy each time
  });

  it('round-trips any serial of 1..255 UTF-8 bytes, sequence ≥ 1 and PIN of the allowed lengths', () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 1, maxLength: 60, unit: 'binary' }),
        fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
        fc.uint8Array({ minLength: PIN_MIN_BYTES, maxLength: PIN_MAX_BYTES }),
        (serial, sequence, newPin) => {
          expect(decodePinResetOrder(encodePinResetOrder({ serial, sequence, newPin }))).toEqual({
            serial,
            sequence,
            newPin,
          });
        },
      ),
      propertyParams(100),
    );
  });

  it('refuses to encode or decode anything else (BadOrder)', () => {
    for (const [serial, sequence, newPin] of [
      ['', 1, pin('abcd')],
      ['x'.repeat(256), 1, pin('abcd')],
      ['AB', 0, pin('abcd')],
      ['AB', 1.5, pin('abcd')],
      ['AB', 2 ** 53, pin('abcd')],
      ['AB', 1, pin('abc')],
      ['AB', 1, new Uint8Array(PIN_MAX_BYTES + 1)],
    ] as const) {
      expectCode('BadOrder', () => encodePinResetOrder({ serial, sequence, newPin }));
    }
    const good = encodePinResetOrder({ serial: 'AB', sequence: 7, newPin: pin('abcd') });
    const seq = [0, 0, 0, 0, 0, 0, 0, 7];
    for (const bad of [
      new Uint8Array(0),
      good.subarray(0, good.length - 1),
      Uint8Array.of(...good, 0),
      Uint8Array.of(0, ...seq, 4, 1, 2, 3, 4), // empty serial
      Uint8Array.of(2, 0xc3, 0x28, ...seq, 4, 1, 2, 3, 4), // invalid UTF-8
      Uint8Array.of(2, 0x41, 0x42, 0, 0, 0, 0, 0, 0, 0, 0, 4, 1, 2, 3, 4), // sequence 0
      Uint8Array.of(2, 0x41, 0x42, ...seq, 3, 1, 2, 3), // PIN too short
    ]) {
      expectCode('BadOrder', () => decodePinResetOrder(bad));
    }
  });
});
