import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { propertyParams } from '../testing/runConfig.ts';
import {
  ACK_FORMAT_VERSION,
  UPDATE_SEQUENCE_COUNTER,
  decodeAckHeader,
  encodeAckHeader,
  readAckHeader,
} from './acknowledgement.ts';
import { BinaryCodecError, Reader } from './binaryCodec.ts';

const HASH = new Uint8Array(32).fill(0xab);
const SERIAL = 'S'.repeat(32);

describe('acknowledgement header (the one codec, read by the HSM)', () => {
  it('decodes what it encodes', () => {
    fc.assert(
      fc.property(
        fc.string({ maxLength: 200 }),
        fc.string({ maxLength: 40 }),
        fc.nat({ max: Number.MAX_SAFE_INTEGER }),
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        (userId, serial, sequence, fileHash) => {
          const a = { userId, serial, sequence, fileHash };
          expect(decodeAckHeader(encodeAckHeader(a))).toEqual(a);
        },
      ),
      propertyParams(100),
    );
  });

  it('starts with "SKAK" and version 1, and names the counter the KMS advances', () => {
    const h = encodeAckHeader({ userId: 'U1', serial: SERIAL, sequence: 1, fileHash: HASH });
    expect(Buffer.from(h.subarray(0, 5)).toString('hex')).toBe('534b414b01');
    expect(ACK_FORMAT_VERSION).toBe(1);
    expect(UPDATE_SEQUENCE_COUNTER).toBe('updates.sequence');
  });

  it('reads one header and leaves the reader after it; says undefined for another magic or version', () => {
    const h = encodeAckHeader({ userId: 'U1', serial: SERIAL, sequence: 3, fileHash: HASH });
    const r = new Reader(Uint8Array.from([...h, 1, 2]));
    expect(readAckHeader(r)?.sequence).toBe(3);
    expect(r.remaining).toBe(2);
    expect(decodeAckHeader(Uint8Array.from([0, ...h.subarray(1)]))).toBeUndefined();
    expect(decodeAckHeader(Uint8Array.from([...h.subarray(0, 4), 2, ...h.subarray(5)]))).toBeUndefined();
  });

  it(
    'refuses truncation and trailing bytes as codec errors, and a file hash that is not 32 bytes as a ' + 'RangeError',
    () => {
      const h = encodeAckHeader({ userId: 'U1', serial: SERIAL, sequence: 3, fileHash: HASH });
      expect(() => decodeAckHeader(h.subarray(0, h.length - 1))).toThrow(
        expect.objectContaining({ code: 'Truncated' }),
      );
      expect(() => decodeAckHeader(Uint8Array.from([...h, 0]))).toThrow(BinaryCodecError);
      expect(() => decodeAckHeader(Uint8Array.from([...h, 0]))).toThrow(
        expect.objectContaining({ code: 'TrailingBytes' }),
      );
      expect(() =>
        encodeAckHeader({ userId: 'U1', serial: SERIAL, sequence: 1, fileHash: new Uint8Array(31) }),
      ).toThrow(RangeError);
    },
  );
});
