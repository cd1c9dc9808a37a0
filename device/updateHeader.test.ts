import { describe, expect, it } from 'vitest';
import { BinaryCodecError, Reader } from './binaryCodec.ts';
import {
  PREVIOUS_HASH_BYTES,
  UPDATE_FORMAT_VERSION,
  decodeUpdateHeader,
  encodeUpdateHeader,
  readUpdateHeader,
} from './updateHeader.ts';
import type { UpdateHeader } from './updateHeader.ts';

const HEADER: UpdateHeader = {
  kind: 'resync',
  userId: 'U1',
  serial: 'S'.repeat(32),
  sequence: 2 ** 40,
  previousHash: new Uint8Array(PREVIOUS_HASH_BYTES).fill(9),
};
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

describe('update header codec (device level: the HSM reads it)', () => {
  it('round-trips, and reads one header from a longer input, stopping at the body', () => {
    const bytes = encodeUpdateHeader(HEADER, 300);
    expect(hex(bytes.subarray(0, 8))).toBe('534b5550' + '01' + '01' + '02' + '55');
    expect(decodeUpdateHeader(bytes)).toEqual({ header: HEADER, bodyLength: 300 });
    const r = new Reader(Uint8Array.from([...bytes, 0xaa, 0xbb]));
    expect(readUpdateHeader(r)).toEqual({ header: HEADER, bodyLength: 300 });
    expect(r.remaining).toBe(2);
    expect(decodeUpdateHeader(encodeUpdateHeader({ ...HEADER, kind: 'incremental' }, 28))).toMatchObject({
      header: { kind: 'incremental' },
    });
  });

  it('says why bytes are not a version-1 header, and throws codec errors for broken fields', () => {
    const bytes = encodeUpdateHeader(HEADER, 28);
    const at = (i: number, v: number) => bytes.map((b, j) => (j === i ? v : b));
    expect(decodeUpdateHeader(at(0, 0))).toEqual({ refusal: 'not an SEkey update file' });
    expect(decodeUpdateHeader(at(4, UPDATE_FORMAT_VERSION + 1))).toEqual({
      refusal: `format version ${UPDATE_FORMAT_VERSION + 1} is not supported`,
    });
    expect(decodeUpdateHeader(at(5, 2))).toEqual({ refusal: 'unknown kind 2' });
    expect(() => decodeUpdateHeader(bytes.subarray(0, bytes.length - 1))).toThrow(BinaryCodecError);
    expect(() => decodeUpdateHeader(Uint8Array.from([...bytes, 0]))).toThrow(
      expect.objectContaining({ code: 'TrailingBytes' }),
    );
    expect(() => encodeUpdateHeader({ ...HEADER, previousHash: new Uint8Array(31) }, 28)).toThrow(RangeError);
  });
});
