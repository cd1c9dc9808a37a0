import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { propertyParams } from '../../testing/runConfig.ts';
import {
  NO_PREVIOUS_FILE,
  UpdateFormatError,
  assembleUpdateFile,
  decodeRecords,
  encodeRecords,
  fileHash,
  parseUpdateFile,
} from './updateFile.ts';
import type { UpdateHeader, UpdateRecord } from './updateFile.ts';
import { encodeUpdateHeader } from '../../device/updateHeader.ts';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const unhex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'hex'));
const SERIAL = 'S'.repeat(32);
const HEADER: UpdateHeader = {
  kind: 'incremental',
  userId: 'U1',
  serial: SERIAL,
  sequence: 1,
  previousHash: NO_PREVIOUS_FILE,
};

function refusal(f: () => unknown): UpdateFormatError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(UpdateFormatError);
    return e as UpdateFormatError;
  }
  return expect.unreachable();
}

const id = fc.string({ unit: 'binary', maxLength: 40 });
const bytes = fc.uint8Array({ maxLength: 60 });
const record: fc.Arbitrary<UpdateRecord> = fc.oneof(
  fc.constant({ type: 'reset' as const }),
  fc.record({ type: fc.constant('userUpsert' as const), id, name: id }),
  fc.record({ type: fc.constantFrom('userDelete' as const, 'groupDelete' as const, 'keyDelete' as const), id }),
  fc.record({
    type: fc.constant('groupUpsert' as const),
    id,
    name: id,
    policy: fc.record({
      maxKeys: fc.nat({ max: Number.MAX_SAFE_INTEGER }),
      algorithm: fc.constant('AES-256-GCM' as const),
      defaultCryptoperiodMs: fc.nat({ max: Number.MAX_SAFE_INTEGER }),
    }),
    shareHistory: fc.boolean(),
    members: fc.array(id, { maxLength: 5 }),
  }),
  fc.record({
    type: fc.constant('keyUpsert' as const),
    id,
    name: id,
    owner: id,
    algorithm: fc.constant('AES-256-GCM' as const),
    lifecycle: fc.string({ maxLength: 300 }),
  }),
  fc.record({ type: fc.constant('keyMaterial' as const), keyNumber: fc.nat({ max: 0xffff_ffff }), blob: bytes }),
  fc.record({ type: fc.constant('eraseOrder' as const), keyNumber: fc.nat({ max: 0xffff_ffff }), order: bytes }),
  fc.record({
    type: fc.constant('heartbeat' as const),
    issuedAt: fc.nat({ max: Number.MAX_SAFE_INTEGER }),
    freshnessWindowMs: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
  }),
);

describe('update file header', () => {
  it('round-trips any header, and the file splits into header bytes and sealed body', () => {
    fc.assert(
      fc.property(
        fc.record({
          kind: fc.constantFrom('incremental' as const, 'resync' as const),
          userId: id,
          serial: id,
          sequence: fc.nat({ max: Number.MAX_SAFE_INTEGER }),
          previousHash: fc.uint8Array({ minLength: 32, maxLength: 32 }),
        }),
        fc.uint8Array({ minLength: 28, maxLength: 200 }),
        (h, body) => {
          const file = assembleUpdateFile(h, () => body, body.length);
          const parsed = parseUpdateFile(file);
          expect(parsed.header).toEqual(h);
          expect(parsed.headerBytes).toEqual(encodeUpdateHeader(h, body.length));
          expect(parsed.sealedBody).toEqual(body);
        },
      ),
      propertyParams(100),
    );
  });

  it('starts with "SKUP", version 1, kind, then varint-length strings', () => {
    expect(hex(encodeUpdateHeader(HEADER, 28).subarray(0, 9))).toBe('534b5550' + '01' + '00' + '02' + '5531');
    expect(fileHash(new Uint8Array(0))).toEqual(
      unhex('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'),
    );
  });

  it('refuses truncated, malformed and over-long files, saying which', () => {
    const body = new Uint8Array(28);
    const good = assembleUpdateFile(HEADER, () => body, body.length);
    const at = (i: number, v: number): Uint8Array => {
      const b = good.slice();
      b[i] = v;
      return b;
    };
    expect(refusal(() => parseUpdateFile(good.subarray(0, 3))).truncated).toBe(true);
    expect(refusal(() => parseUpdateFile(good.subarray(0, 20))).truncated).toBe(true);
    expect(refusal(() => parseUpdateFile(good.subarray(0, good.length - 1))).truncated).toBe(true);
    for (const [bad, why] of [
      [at(0, 0), /not an SEkey update file/],
      [at(4, 2), /version 2/],
      [at(5, 2), /unknown kind/],
      [at(7, 0xff), /UTF-8/],
      [Uint8Array.from([...good, 0]), /bytes after the body/],
      [assembleUpdateFile(HEADER, () => new Uint8Array(27), 27), /too short/],
      [Uint8Array.from([...good.subarray(0, 6), 0x82, 0x00, ...good.subarray(7)]), /shortest form/],
    ] as const) {
      const e = refusal(() => parseUpdateFile(bad));
      expect(e.message).toMatch(why);
      expect(e.truncated).toBe(false);
    }
    const sequenceAt = 6 + 3 + 33;
    const huge = good.slice();
    huge[sequenceAt] = 0x00;
    huge[sequenceAt + 1] = 0x20; // 2^53
    expect(refusal(() => parseUpdateFile(huge)).message).toMatch(/2\^53/);
    expect(() => encodeUpdateHeader({ ...HEADER, previousHash: new Uint8Array(31) }, 28)).toThrow(RangeError);
    expect(() => assembleUpdateFile(HEADER, () => body, 29)).toThrow(RangeError);
  });
});

describe('update records', () => {
  it('round-trip any list of records', () => {
    fc.assert(
      fc.property(fc.array(record, { maxLength: 8 }), (records) => {
        expect(decodeRecords(encodeRecords(records))).toEqual(records);
      }),
      propertyParams(100),
    );
  });

  it('are varint type ‖ varint length ‖ fields, lengths above 127 taking two bytes', () => {
    expect(hex(encodeRecords([{ type: 'reset' }, { type: 'userDelete', id: 'U1' }]))).toBe('0000' + '0203025531');
    const key = encodeRecords([{ type: 'keyMaterial', keyNumber: 2001, blob: new Uint8Array(40) }]);
    expect(key.length).toBe(46);
    expect(hex(key.subarray(0, 6))).toBe('07' + '2c' + '000007d1');
    const big = encodeRecords([{ type: 'keyDelete', id: 'k'.repeat(200) }]);
    expect(hex(big.subarray(0, 5))).toBe('06' + 'ca01' + 'c801');
    // A heartbeat: type 9, length, issuedAt and freshnessWindowMs as varints (1 ms after the epoch, 3 days).
    expect(hex(encodeRecords([{ type: 'heartbeat', issuedAt: 1, freshnessWindowMs: 259_200_000 }]))).toBe(
      '09' + '05' + '01' + '80a8cc7b',
    );
    expect(() => encodeRecords([{ type: 'heartbeat', issuedAt: 1, freshnessWindowMs: 0 }])).toThrow(RangeError);
  });

  it('refuse anything malformed', () => {
    const group = encodeRecords([
      {
        type: 'groupUpsert',
        id: 'G',
        name: 'g',
        policy: { maxKeys: 1, algorithm: 'AES-256-GCM', defaultCryptoperiodMs: 1 },
        shareHistory: true,
        members: [],
      },
    ]);
    // 03 len | 01 47 | 01 67 | 01 | 0b "AES-256-GCM" | 01 | share | count
    const shareAt = group.length - 2;
    expect(group[shareAt]).toBe(1);
    const badShare = group.slice();
    badShare[shareAt] = 2;
    const manyMembers = group.slice();
    manyMembers[shareAt + 1] = 5;
    const badAlgorithm = group.slice();
    badAlgorithm[8] = 0x42;
    for (const [bad, why, truncated] of [
      [unhex('0a00'), /unknown record type/, false],
      [unhex('09020100'), /zero freshness window/, false],
      [unhex('090101'), /input ends inside a varint/, true],
      [unhex('0001ff'), /reset record has trailing bytes/, false],
      [unhex('8000'), /shortest form/, false],
      [unhex('0205025531'), /byte field: 5 bytes needed, 3 left/, true],
      [unhex('07020000'), /u32: 4 bytes needed, 2 left/, true],
      [badShare, /shareHistory flag 2/, false],
      [manyMembers, /5 members announced/, true],
      [badAlgorithm, /unknown algorithm/, false],
    ] as const) {
      const e = refusal(() => decodeRecords(bad));
      expect(e.message).toMatch(why);
      expect(e.truncated).toBe(truncated);
    }
  });
});
