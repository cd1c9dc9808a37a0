import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { propertyParams } from '../testing/runConfig.ts';
import {
  BinaryCodecError,
  MAX_VARINT,
  Reader,
  Writer,
  bytesEqual,
  decodeUtf8,
  mapCodecError,
  readAll,
  utf8,
  varintLength,
} from './binaryCodec.ts';
import type { BinaryCodecErrorCode } from './binaryCodec.ts';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const unhex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s/g, ''), 'hex'));

function expectCodecError(code: BinaryCodecErrorCode, f: () => unknown): BinaryCodecError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(BinaryCodecError);
    expect((e as BinaryCodecError).code).toBe(code);
    expect((e as BinaryCodecError).name).toBe('BinaryCodecError');
    return e as BinaryCodecError;
  }
  return expect.unreachable(`expected ${code}`);
}

describe('varint (unsigned LEB128)', () => {
  // Vectors: DWARF 5 §7.6 figure 22 (2 → 02, 127 → 7f, 128 → 80 01, 129 → 81 01, 130 → 82 01,
  // 12857 → b9 64), plus the edges of each length and of safe integers.
  const vectors: Array<[number, string]> = [
    [0, '00'],
    [1, '01'],
    [2, '02'],
    [127, '7f'],
    [128, '8001'],
    [129, '8101'],
    [130, '8201'],
    [300, 'ac02'],
    [12857, 'b964'],
    [16383, 'ff7f'],
    [16384, '808001'],
    [2 ** 32 - 1, 'ffffffff0f'],
    [2 ** 49 - 1, 'ffffffffffff7f'],
    [2 ** 53 - 1, 'ffffffffffffff0f'],
  ];

  it('encodes and decodes the reference vectors', () => {
    for (const [n, h] of vectors) {
      expect(hex(new Writer().varint(n).finish()), String(n)).toBe(h);
      expect(varintLength(n)).toBe(h.length / 2);
      expect(readAll(unhex(h), (r) => r.varint())).toBe(n);
    }
  });

  it('round-trips every safe integer, in the shortest form', () => {
    fc.assert(
      fc.property(fc.nat({ max: MAX_VARINT }), (n) => {
        const b = new Writer().varint(n).finish();
        expect(b.length).toBe(Math.max(1, Math.ceil(Math.log2(n + 1) / 7)));
        expect(b.at(-1)).toBeLessThan(0x80);
        expect(readAll(b, (r) => r.varint())).toBe(n);
      }),
      propertyParams(300),
    );
  });

  it('refuses overlong encodings, values above 2^53 - 1, and truncation', () => {
    for (const h of ['8000', '8100', 'ff00', '808000', 'ffffffffffffff00'])
      expectCodecError('OverlongVarint', () => new Reader(unhex(h)).varint());
    expectCodecError('ValueTooLarge', () => new Reader(unhex('8080808080808010')).varint()); // 2^53
    expectCodecError('ValueTooLarge', () => new Reader(unhex('ffffffffffffff7f')).varint()); // 2^56 - 1
    expectCodecError('ValueTooLarge', () => new Reader(unhex('808080808080808001')).varint()); // 9 bytes
    expectCodecError('Truncated', () => new Reader(new Uint8Array(0)).varint());
    const r = new Reader(unhex('0580'));
    r.u8();
    const e = expectCodecError('Truncated', () => r.varint());
    expect(e.offset).toBe(1);
    expect(e.message).toMatch(/at byte 1/);
  });

  it('refuses to encode what is not a non-negative safe integer', () => {
    for (const n of [-1, 1.5, MAX_VARINT + 1, Number.NaN, Infinity]) {
      expect(() => new Writer().varint(n)).toThrow(RangeError);
      expect(() => varintLength(n)).toThrow(RangeError);
    }
  });
});

describe('fixed-width integers', () => {
  it('writes the documented byte orders', () => {
    const w = new Writer()
      .u8(0xab)
      .u16be(0x0102)
      .u32be(0x01020304)
      .u32le(0x01020304)
      .u64be(0x0102_0304_0506)
      .u64le(0x0102_0304_0506);
    expect(hex(w.finish())).toBe('ab' + '0102' + '01020304' + '04030201' + '0000010203040506' + '0605040302010000');
    const r = new Reader(w.finish());
    expect([r.u8(), r.u16be(), r.u32be(), r.u32le(), r.u64be(), r.u64le()]).toEqual([
      0xab, 0x0102, 0x01020304, 0x01020304, 0x0102_0304_0506, 0x0102_0304_0506,
    ]);
    r.end();
  });

  it('round-trips every value in range', () => {
    fc.assert(
      fc.property(
        fc.nat(0xff),
        fc.nat(0xffff),
        fc.nat({ max: 0xffff_ffff }),
        fc.nat({ max: MAX_VARINT }),
        (a, b, c, d) => {
          const bytes = new Writer().u8(a).u16be(b).u32be(c).u32le(c).u64be(d).u64le(d).finish();
          expect(bytes.length).toBe(1 + 2 + 4 + 4 + 8 + 8);
          expect(readAll(bytes, (r) => [r.u8(), r.u16be(), r.u32be(), r.u32le(), r.u64be(), r.u64le()])).toEqual([
            a,
            b,
            c,
            c,
            d,
            d,
          ]);
        },
      ),
      propertyParams(200),
    );
  });

  it('handles the extremes: 0, 2^32 - 1, 2^53 - 1', () => {
    expect(hex(new Writer().u32be(0xffff_ffff).u64be(MAX_VARINT).u64le(0).finish())).toBe(
      'ffffffff' + '001fffffffffffff' + '0000000000000000',
    );
    expect(readAll(unhex('001fffffffffffff'), (r) => r.u64be())).toBe(MAX_VARINT);
    expect(readAll(unhex('ffffffffffff1f00'), (r) => r.u64le())).toBe(MAX_VARINT);
  });

  it('refuses u64 values above 2^53 - 1 and truncated fields', () => {
    expectCodecError('ValueTooLarge', () => new Reader(unhex('0020000000000000')).u64be());
    expectCodecError('ValueTooLarge', () => new Reader(unhex('0000000000002000')).u64le());
    expectCodecError('Truncated', () => new Reader(new Uint8Array(7)).u64be());
    expectCodecError('Truncated', () => new Reader(new Uint8Array(7)).u64le());
    expectCodecError('Truncated', () => new Reader(new Uint8Array(3)).u32be());
    expectCodecError('Truncated', () => new Reader(new Uint8Array(3)).u32le());
    expectCodecError('Truncated', () => new Reader(new Uint8Array(1)).u16be());
    expectCodecError('Truncated', () => new Reader(new Uint8Array(0)).u8());
  });

  it('refuses to encode out-of-range values', () => {
    expect(() => new Writer().u8(256)).toThrow(RangeError);
    expect(() => new Writer().u8(-1)).toThrow(RangeError);
    expect(() => new Writer().u16be(0x10000)).toThrow(RangeError);
    expect(() => new Writer().u32be(2 ** 32)).toThrow(RangeError);
    expect(() => new Writer().u32le(0.5)).toThrow(RangeError);
    expect(() => new Writer().u64be(MAX_VARINT + 1)).toThrow(RangeError);
    expect(() => new Writer().u64le(-1)).toThrow(RangeError);
  });
});

describe('byte fields and strings', () => {
  it('prefixes bytes and UTF-8 strings with a varint length', () => {
    expect(hex(new Writer().lenBytes(unhex('0102')).string('é').string('').finish())).toBe('020102' + '02c3a9' + '00');
    const long = new Uint8Array(300).fill(7);
    const enc = new Writer().lenBytes(long).finish();
    expect(hex(enc.subarray(0, 3))).toBe('ac0207');
    expect(readAll(enc, (r) => r.lenBytes())).toEqual(long);
  });

  it('round-trips any bytes and any well-formed string', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.string({ unit: 'binary', maxLength: 200 }), (b, s) => {
        const w = new Writer().lenBytes(b).string(s).bytes(b);
        expect(w.length).toBe(w.finish().length);
        expect(readAll(w.finish(), (r) => [r.lenBytes(), r.string(), r.rest()])).toEqual([b, s, b]);
      }),
      propertyParams(200),
    );
  });

  it('keeps a leading byte order mark', () => {
    expect(readAll(new Writer().string('\ufeffA').finish(), (r) => r.string())).toBe('\ufeffA');
    expect(decodeUtf8(utf8('\ufeff'))).toBe('\ufeff');
  });

  it('refuses malformed UTF-8, a length beyond the input, and trailing bytes', () => {
    for (const h of ['01ff', '02c328', '03eda080', '02c0af'])
      expectCodecError('InvalidUtf8', () => new Reader(unhex(h)).string());
    expect(expectCodecError('InvalidUtf8', () => decodeUtf8(unhex('ff'), 9)).offset).toBe(9);
    expectCodecError('Truncated', () => new Reader(unhex('050102')).lenBytes());
    expectCodecError('Truncated', () => new Reader(unhex('0541')).string());
    expectCodecError('TrailingBytes', () => readAll(unhex('0000'), (r) => r.u8()));
    const r = new Reader(unhex('010203'));
    expect(r.bytes(1)).toEqual(unhex('01'));
    expect([r.offset, r.remaining]).toEqual([1, 2]);
    expect(r.rest()).toEqual(unhex('0203'));
    r.end();
  });

  it('returns copies, not views, and a writer can keep going after finish', () => {
    const input = unhex('02aabb');
    const got = new Reader(input).lenBytes();
    input[1] = 0;
    expect(hex(got)).toBe('aabb');
    const w = new Writer().u8(1);
    const first = w.finish();
    w.u8(2);
    expect(hex(first)).toBe('01');
    expect(hex(w.finish())).toBe('0102');
  });

  it('grows past its initial buffer', () => {
    const w = new Writer();
    for (let i = 0; i < 1000; i++) w.u8(i & 0xff);
    w.bytes(new Uint8Array(5000));
    const out = w.finish();
    expect(out.length).toBe(6000);
    expect(out[999]).toBe(999 & 0xff);
  });
});

describe('mapCodecError', () => {
  it('replaces codec errors only', () => {
    const map = (e: BinaryCodecError): Error => new SyntaxError(`mapped ${e.code}`);
    expect(mapCodecError(() => 5, map)).toBe(5);
    expect(() => mapCodecError(() => new Reader(new Uint8Array(0)).u8(), map)).toThrow(
      new SyntaxError('mapped Truncated'),
    );
    expect(() =>
      mapCodecError(() => {
        throw new TypeError('other');
      }, map),
    ).toThrow(TypeError);
  });
});

describe('bytesEqual', () => {
  it('compares contents and lengths', () => {
    expect(bytesEqual(unhex('0102'), unhex('0102'))).toBe(true);
    expect(bytesEqual(unhex('0102'), unhex('0103'))).toBe(false);
    expect(bytesEqual(unhex('0102'), unhex('01'))).toBe(false);
  });

  it('agrees with a byte-by-byte comparison on views at any offset, one byte changed anywhere or not', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 64 }),
        fc.nat(5),
        fc.nat(5),
        fc.option(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { nil: undefined }),
        (bytes, offsetA, offsetB, change) => {
          const a = new Uint8Array(offsetA + bytes.length);
          a.set(bytes, offsetA);
          const b = new Uint8Array(offsetB + bytes.length + 3);
          b.set(bytes, offsetB);
          const viewA = a.subarray(offsetA);
          const viewB = b.subarray(offsetB, offsetB + bytes.length);
          if (change !== undefined && bytes.length > 0) {
            const at = change[0] % bytes.length;
            viewB[at] = ((viewB[at] as number) + change[1]) & 0xff;
          }
          expect(bytesEqual(viewA, viewB)).toBe(viewA.every((x, i) => x === viewB[i]));
        },
      ),
      propertyParams(300),
    );
  });
});
