import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { propertyParams } from '../testing/runConfig.ts';
import { isDeviceError } from './deviceError.ts';
import { SERIAL_ALPHABET, SERIAL_LENGTH, decodeDeviceState, encodeDeviceState, isSerial } from './deviceState.ts';
import type { DeviceState } from './deviceState.ts';

const bytes = (n: number): fc.Arbitrary<Uint8Array> => fc.uint8Array({ minLength: n, maxLength: n });
const verifier = fc.record({ salt: bytes(16), iterations: fc.integer({ min: 1, max: 0xffff_ffff }), hash: bytes(32) });
const state: fc.Arbitrary<DeviceState> = fc
  .record({
    serial: fc.string({
      unit: fc.constantFrom(...SERIAL_ALPHABET),
      minLength: SERIAL_LENGTH,
      maxLength: SERIAL_LENGTH,
    }),
    maxRetries: fc.integer({ min: 1, max: 10 }),
    pins: fc.record({ user: verifier, admin: verifier }),
    identitySecret: bytes(32),
    attestation: fc.option(fc.record({ rootOfTrust: bytes(32), certificate: bytes(64) }), { nil: null }),
    counters: fc.uniqueArray(fc.tuple(fc.string({ maxLength: 16 }), fc.nat({ max: Number.MAX_SAFE_INTEGER })), {
      maxLength: 8,
      selector: ([k]) => k,
    }),
    spent: fc.tuple(fc.nat(10), fc.nat(10)),
  })
  .map(({ counters, spent, ...s }) => ({
    ...s,
    counters: new Map(counters),
    retriesLeft: { user: Math.max(0, s.maxRetries - spent[0]), admin: Math.max(0, s.maxRetries - spent[1]) },
  }));

describe('isSerial', () => {
  it('takes 32 characters of the alphabet, nothing shorter, longer, lower-case or with a NUL', () => {
    const serial = 'HFO8YVFQLFC7D1NY6CLOSVVOJUEN5B7Z';
    expect(serial).toHaveLength(SERIAL_LENGTH);
    expect(isSerial(serial)).toBe(true);
    for (const bad of [serial.slice(1), `${serial}A`, serial.toLowerCase(), `${serial.slice(0, 30)}\u0000Z`, ''])
      expect(isSerial(bad), JSON.stringify(bad)).toBe(false);
  });
});

describe('device state encoding', () => {
  it('round-trips every valid state', () => {
    fc.assert(
      fc.property(state, (s) => {
        expect(decodeDeviceState(encodeDeviceState(s))).toEqual(s);
      }),
      propertyParams(100),
    );
  });

  it('refuses truncated, extended, out-of-range and unknown-version records', () => {
    fc.assert(
      fc.property(state, (s) => {
        const good = encodeDeviceState(s);
        const corrupt = [
          good.subarray(0, good.length - 1),
          Uint8Array.from([...good, 0]),
          Uint8Array.from([3, ...good.subarray(1)]),
        ];
        for (const bad of corrupt) {
          try {
            decodeDeviceState(bad);
            expect.unreachable();
          } catch (e) {
            expect(isDeviceError(e, 'StateCorrupt')).toBe(true);
          }
        }
      }),
      propertyParams(30),
    );
    const s: DeviceState = {
      serial: 'A'.repeat(SERIAL_LENGTH),
      maxRetries: 3,
      pins: {
        user: { salt: new Uint8Array(16), iterations: 1, hash: new Uint8Array(32) },
        admin: { salt: new Uint8Array(16), iterations: 1, hash: new Uint8Array(32) },
      },
      retriesLeft: { user: 3, admin: 3 },
      counters: new Map(),
      identitySecret: new Uint8Array(32),
      attestation: null,
    };
    const tooMany = encodeDeviceState(s);
    tooMany[1 + SERIAL_LENGTH + 1] = 9; // user tries left > maxRetries
    expect(() => decodeDeviceState(tooMany)).toThrow(/retry counters/);
  });

  it('reads format-1 records (before attestation) as having no root of trust, and writes format 2', () => {
    fc.assert(
      fc.property(state, (s) => {
        const v2 = encodeDeviceState({ ...s, attestation: null });
        // Format 1 is format 2 without the attestation flag byte after the identity secret.
        const flagAt = 1 + SERIAL_LENGTH + 3 + 2 * (16 + 4 + 32) + 32;
        expect(v2[0]).toBe(2);
        expect(v2[flagAt]).toBe(0);
        const v1 = Uint8Array.from([1, ...v2.subarray(1, flagAt), ...v2.subarray(flagAt + 1)]);
        expect(decodeDeviceState(v1)).toEqual({ ...s, attestation: null });
      }),
      propertyParams(30),
    );
  });

  it('refuses a bad attestation flag and a truncated attestation', () => {
    const s: DeviceState = {
      serial: 'B'.repeat(SERIAL_LENGTH),
      maxRetries: 3,
      pins: {
        user: { salt: new Uint8Array(16), iterations: 1, hash: new Uint8Array(32) },
        admin: { salt: new Uint8Array(16), iterations: 1, hash: new Uint8Array(32) },
      },
      retriesLeft: { user: 3, admin: 3 },
      counters: new Map(),
      identitySecret: new Uint8Array(32),
      attestation: { rootOfTrust: new Uint8Array(32).fill(7), certificate: new Uint8Array(64).fill(9) },
    };
    const good = encodeDeviceState(s);
    expect(decodeDeviceState(good)).toEqual(s);
    const flagAt = 1 + SERIAL_LENGTH + 3 + 2 * (16 + 4 + 32) + 32;
    const badFlag = good.slice();
    badFlag[flagAt] = 2;
    expect(() => decodeDeviceState(badFlag)).toThrow(/attestation flag/);
    expect(() => decodeDeviceState(good.subarray(0, flagAt + 40))).toThrow(/truncated/);
    expect(() =>
      encodeDeviceState({ ...s, attestation: { rootOfTrust: new Uint8Array(31), certificate: new Uint8Array(64) } }),
    ).toThrow(RangeError);
  });

  it('refuses too many counters, over-long names, ill-formed UTF-8, and bad verifiers', () => {
    const s: DeviceState = {
      serial: 'C'.repeat(SERIAL_LENGTH),
      maxRetries: 3,
      pins: {
        user: { salt: new Uint8Array(16), iterations: 1, hash: new Uint8Array(32) },
        admin: { salt: new Uint8Array(16), iterations: 1, hash: new Uint8Array(32) },
      },
      retriesLeft: { user: 3, admin: 3 },
      counters: new Map([['a', 1]]),
      identitySecret: new Uint8Array(32),
      attestation: null,
    };
    const good = encodeDeviceState(s);
    const countAt = good.length - (1 + 1 + 8) - 1;
    expect(good[countAt]).toBe(1);
    const corrupt = (at: number, value: number): Uint8Array => {
      const bad = good.slice();
      bad[at] = value;
      return bad;
    };
    expect(() => decodeDeviceState(corrupt(countAt, 65))).toThrow(/65 counters/);
    const longName = Uint8Array.from([
      ...good.subarray(0, countAt + 1),
      65,
      ...new Uint8Array(65).fill(0x61),
      ...new Uint8Array(8),
    ]);
    expect(() => decodeDeviceState(longName)).toThrow(/counter name of 65 bytes/);
    expect(() => decodeDeviceState(corrupt(countAt + 1, 65))).toThrow(/truncated/);
    expect(() => decodeDeviceState(corrupt(countAt + 2, 0xff))).toThrow(/malformed.*UTF-8/);
    expect(() => decodeDeviceState(corrupt(1, 0xff))).toThrow(/malformed.*UTF-8/);
    expect(() => decodeDeviceState(corrupt(countAt + 3 + 7, 0x80))).toThrow(/malformed.*2\^53/);
    for (const bad of [corrupt(countAt, 65), corrupt(1, 0xff)]) {
      try {
        decodeDeviceState(bad);
        expect.unreachable();
      } catch (e) {
        expect(isDeviceError(e, 'StateCorrupt')).toBe(true);
      }
    }
    const weak = { salt: new Uint8Array(15), iterations: 1, hash: new Uint8Array(32) };
    expect(() => encodeDeviceState({ ...s, pins: { ...s.pins, user: weak } })).toThrow(RangeError);
    expect(() => encodeDeviceState({ ...s, counters: new Map([['x'.repeat(65), 1]]) })).toThrow(RangeError);
  });
});
