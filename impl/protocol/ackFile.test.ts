import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { propertyParams } from '../../testing/runConfig.ts';
import { ACK_SEAL_BYTES, encodeAckHeader, parseAck } from './ackFile.ts';
import type { Acknowledgement } from './ackFile.ts';
import { UpdateFormatError } from './updateFile.ts';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const SERIAL = 'S'.repeat(32);
const HASH = new Uint8Array(32).fill(0xab);
const SEAL = new Uint8Array(ACK_SEAL_BYTES).fill(0x5e);

function file(a: Acknowledgement, seal = SEAL): Uint8Array {
  return Uint8Array.from([...encodeAckHeader(a), ...seal]);
}

function refusal(bytes: Uint8Array): UpdateFormatError {
  try {
    parseAck(bytes);
  } catch (e) {
    expect(e).toBeInstanceOf(UpdateFormatError);
    expect((e as Error).message).toMatch(/^not an acknowledgement: /);
    return e as UpdateFormatError;
  }
  return expect.unreachable();
}

describe('acknowledgement files', () => {
  it('round-trip what they state, header and seal', () => {
    const ack = { userId: 'U', serial: SERIAL, sequence: 7, fileHash: HASH };
    fc.assert(
      fc.property(
        fc.string({ unit: 'binary', maxLength: 300 }),
        fc.nat({ max: Number.MAX_SAFE_INTEGER }),
        (userId, sequence) => {
          const a = { ...ack, userId, sequence };
          const parsed = parseAck(file(a));
          expect(parsed.ack).toEqual(a);
          expect(parsed.header).toEqual(encodeAckHeader(a));
          expect(parsed.seal).toEqual(SEAL);
        },
      ),
      propertyParams(100),
    );
  });

  it('keep the one-byte length of identifiers under 128 bytes and use a real varint above', () => {
    const short = encodeAckHeader({ userId: 'U1', serial: SERIAL, sequence: 1, fileHash: HASH });
    expect(hex(short.subarray(0, 8))).toBe('534b414b' + '01' + '02' + '5531');
    const long = encodeAckHeader({ userId: 'u'.repeat(200), serial: SERIAL, sequence: 1, fileHash: HASH });
    expect(hex(long.subarray(5, 8))).toBe('c80175');
    expect(parseAck(Uint8Array.from([...long, ...SEAL])).ack.userId).toBe('u'.repeat(200));
  });

  it('refuse anything else', () => {
    const good = file({ userId: 'U1', serial: SERIAL, sequence: 1, fileHash: HASH });
    expect(refusal(good.subarray(0, 3)).truncated).toBe(true);
    expect(refusal(Uint8Array.from([...good.subarray(0, 4), 2, ...good.subarray(5)])).message).toMatch(
      /bad magic or version/,
    );
    expect(refusal(Uint8Array.from([0, ...good.subarray(1)])).message).toMatch(/bad magic or version/);
    expect(refusal(good.subarray(0, good.length - 1)).truncated).toBe(true);
    expect(refusal(Uint8Array.from([...good, 0])).truncated).toBe(false);
    expect(refusal(good.subarray(0, 20)).truncated).toBe(true);
    const badUtf8 = good.slice();
    badUtf8[6] = 0xff;
    expect(refusal(badUtf8).message).toMatch(/UTF-8/);
    const overlong = Uint8Array.from([...good.subarray(0, 5), 0x82, 0x00, ...good.subarray(6)]);
    expect(refusal(overlong).message).toMatch(/shortest form/);
    expect(() => encodeAckHeader({ userId: 'U1', serial: SERIAL, sequence: 1, fileHash: new Uint8Array(31) })).toThrow(
      RangeError,
    );
  });
});
