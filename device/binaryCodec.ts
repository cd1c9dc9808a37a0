/**
 * The one binary codec of SEkey-TS: every record and message format (device state record, delete
 * orders, identity certificates, update and acknowledgement files, messages, the database manifest;
 * not the flash structures that hold records, `keyStoreLayout.ts`, `recordArea.ts`,
 * `counterJournal.ts`, which are fixed-width words in a `DataView`) is written with a
 * {@link Writer} and read with a {@link Reader}, so that varints, length prefixes and fixed-width
 * integers are coded once, tested once, and refused the same way everywhere.
 *
 * - **varint**: unsigned LEB128 (DWARF 5 §7.6; the Protocol Buffers "base 128 varint"): 7 bits per
 *   byte, least significant group first, high bit set on every byte but the last. Values are safe
 *   integers (0 … 2^53 − 1), so at most 8 bytes. The reader accepts only the *shortest* encoding: a
 *   last byte of 0x00 after a continuation byte (e.g. `80 00` for 0) is refused as overlong, so every
 *   value has exactly one encoding and the bytes cannot be altered without changing what they say.
 * - **length-prefixed bytes and strings**: a varint byte count, then the bytes; strings are UTF-8
 *   (RFC 3629) and are decoded strictly (malformed UTF-8 is refused, a leading U+FEFF is kept).
 * - **fixed-width integers**: u8, u16/u32/u64 big-endian (network order, RFC 1700) or little-endian
 *   (the STM32's native order, ARMv7-M ARM §A3.3), as each format specifies. u64 values must be safe
 *   integers.
 *
 * Every read is bounds-checked; a malformed input throws a {@link BinaryCodecError} with a stable
 * `code`, which each format maps to its own error. Encoding a value out of range is a programming
 * error and throws `RangeError`.
 *
 * Layering: this module is at `device/` level (it imports only `model/`), so `device/` and `impl/`
 * can both use it.
 * @module
 */
import { CodedError } from '../model/codedError.ts';

/** Why bytes could not be decoded. */
export const BINARY_CODEC_ERROR_CODES = [
  /**
   * The input ends before the field does.
   * @remedy Internal to the formats: each format reports it as its own error (e.g. a corrupt update
   * file); seen alone, report it as a bug with the bytes that caused it.
   */
  'Truncated',
  /**
   * A varint in a non-shortest form (a final 0x00 group after a continuation byte).
   * @remedy Internal to the formats: each format reports it as its own error (e.g. a corrupt update
   * file); seen alone, report it as a bug with the bytes that caused it.
   */
  'OverlongVarint',
  /**
   * A varint or u64 whose value exceeds 2^53 − 1 (not a safe integer), or longer than 8 bytes.
   * @remedy Internal to the formats: each format reports it as its own error (e.g. a corrupt update
   * file); seen alone, report it as a bug with the bytes that caused it.
   */
  'ValueTooLarge',
  /**
   * A string field whose bytes are not well-formed UTF-8 (RFC 3629 §3).
   * @remedy Internal to the formats: each format reports it as its own error (e.g. a corrupt update
   * file); seen alone, report it as a bug with the bytes that caused it.
   */
  'InvalidUtf8',
  /**
   * Bytes left over after the last field of a structure.
   * @remedy Internal to the formats: each format reports it as its own error (e.g. a corrupt update
   * file); seen alone, report it as a bug with the bytes that caused it.
   */
  'TrailingBytes',
] as const;
/** A {@link BinaryCodecError} code. */
export type BinaryCodecErrorCode = (typeof BINARY_CODEC_ERROR_CODES)[number];

/** Bytes that are not a valid encoding; `code` says why, `offset` where. */
export class BinaryCodecError extends CodedError<BinaryCodecErrorCode> {
  /** Byte offset at which the faulty field starts. */
  readonly offset: number;

  constructor(code: BinaryCodecErrorCode, message: string, offset: number) {
    super('BinaryCodecError', code, `${message} (at byte ${offset})`);
    this.offset = offset;
  }
}

/** Largest value a varint or u64 field carries: `Number.MAX_SAFE_INTEGER`, 2^53 − 1. */
export const MAX_VARINT = Number.MAX_SAFE_INTEGER;
/** Longest varint encoding: ⌈53 / 7⌉ = 8 bytes. */
const MAX_VARINT_BYTES = 8;

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** UTF-8 bytes of `s` (lone surrogates become U+FFFD, as the WHATWG Encoding Standard says). */
export function utf8(s: string): Uint8Array {
  return utf8Encoder.encode(s);
}

/** Number of bytes {@link Writer.varint} writes for `n`. */
export function varintLength(n: number): number {
  checkUint(n, MAX_VARINT, 'varint');
  let len = 1;
  for (let v = n; v >= 0x80; v = Math.floor(v / 0x80)) len++;
  return len;
}

function checkUint(n: number, max: number, what: string): void {
  if (!Number.isSafeInteger(n) || n < 0 || n > max)
    throw new RangeError(`${what} needs an integer in 0..${max}, got ${String(n)}`);
}

/** Appends fields to a growing buffer; {@link Writer.finish} returns the bytes. */
export class Writer {
  #buf = new Uint8Array(64);
  #len = 0;

  /** Bytes written so far. */
  get length(): number {
    return this.#len;
  }

  #reserve(n: number): number {
    const at = this.#len;
    if (at + n > this.#buf.length) {
      const grown = new Uint8Array(Math.max(2 * this.#buf.length, at + n));
      grown.set(this.#buf.subarray(0, at));
      this.#buf = grown;
    }
    this.#len = at + n;
    return at;
  }

  /** One byte, 0..255. */
  u8(n: number): this {
    checkUint(n, 0xff, 'u8');
    const at = this.#reserve(1);
    this.#buf[at] = n;
    return this;
  }

  /** Big-endian u16. */
  u16be(n: number): this {
    checkUint(n, 0xffff, 'u16');
    const at = this.#reserve(2);
    this.#buf[at] = n >>> 8;
    this.#buf[at + 1] = n & 0xff;
    return this;
  }

  #u32(n: number, littleEndian: boolean): this {
    checkUint(n, 0xffff_ffff, 'u32');
    const at = this.#reserve(4);
    for (let i = 0; i < 4; i++) this.#buf[at + (littleEndian ? i : 3 - i)] = (n >>> (8 * i)) & 0xff;
    return this;
  }
  /** Big-endian u32. */
  u32be(n: number): this {
    return this.#u32(n, false);
  }
  /** Little-endian u32. */
  u32le(n: number): this {
    return this.#u32(n, true);
  }

  #u64(n: number, littleEndian: boolean): this {
    checkUint(n, MAX_VARINT, 'u64');
    const lo = n % 2 ** 32;
    const hi = Math.floor(n / 2 ** 32);
    return littleEndian ? this.#u32(lo, true).#u32(hi, true) : this.#u32(hi, false).#u32(lo, false);
  }
  /** Big-endian u64 of a safe integer. */
  u64be(n: number): this {
    return this.#u64(n, false);
  }
  /** Little-endian u64 of a safe integer. */
  u64le(n: number): this {
    return this.#u64(n, true);
  }

  /** Unsigned LEB128 of a safe integer, shortest form (1 to 8 bytes). */
  varint(n: number): this {
    const at = this.#reserve(varintLength(n));
    let v = n;
    let i = at;
    while (v >= 0x80) {
      this.#buf[i++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    this.#buf[i] = v;
    return this;
  }

  /** Raw bytes, no length. */
  bytes(b: Uint8Array): this {
    const at = this.#reserve(b.length);
    this.#buf.set(b, at);
    return this;
  }

  /** Varint byte count, then the bytes. */
  lenBytes(b: Uint8Array): this {
    return this.varint(b.length).bytes(b);
  }

  /** Varint byte count, then the UTF-8 bytes of `s`. */
  string(s: string): this {
    return this.lenBytes(utf8(s));
  }

  /** A copy of the bytes written. The writer may go on being used. */
  finish(): Uint8Array {
    return this.#buf.slice(0, this.#len);
  }
}

/** Reads fields from `bytes` with a cursor; every read is bounds-checked. */
export class Reader {
  readonly #b: Uint8Array;
  #at = 0;

  constructor(bytes: Uint8Array) {
    this.#b = bytes;
  }

  /** Offset of the next byte to read. */
  get offset(): number {
    return this.#at;
  }
  /** Bytes not read yet. */
  get remaining(): number {
    return this.#b.length - this.#at;
  }

  #take(n: number, what: string): number {
    if (n > this.remaining)
      throw new BinaryCodecError('Truncated', `${what}: ${n} bytes needed, ${this.remaining} left`, this.#at);
    const at = this.#at;
    this.#at += n;
    return at;
  }

  /** One byte. */
  u8(): number {
    return this.#b[this.#take(1, 'u8')] as number;
  }

  /** Big-endian u16. */
  u16be(): number {
    const at = this.#take(2, 'u16');
    return ((this.#b[at] as number) << 8) | (this.#b[at + 1] as number);
  }

  #u32(littleEndian: boolean): number {
    const at = this.#take(4, 'u32');
    let v = 0;
    for (let i = 0; i < 4; i++) v += (this.#b[at + (littleEndian ? i : 3 - i)] as number) * 2 ** (8 * i);
    return v;
  }
  /** Big-endian u32. */
  u32be(): number {
    return this.#u32(false);
  }
  /** Little-endian u32. */
  u32le(): number {
    return this.#u32(true);
  }

  #u64(littleEndian: boolean): number {
    const start = this.#at;
    if (this.remaining < 8) this.#take(8, 'u64');
    const first = this.#u32(littleEndian);
    const second = this.#u32(littleEndian);
    const [hi, lo] = littleEndian ? [second, first] : [first, second];
    if (hi >= 2 ** 21) throw new BinaryCodecError('ValueTooLarge', 'u64 above 2^53 - 1', start);
    return hi * 2 ** 32 + lo;
  }
  /** Big-endian u64; `ValueTooLarge` above 2^53 − 1. */
  u64be(): number {
    return this.#u64(false);
  }
  /** Little-endian u64; `ValueTooLarge` above 2^53 − 1. */
  u64le(): number {
    return this.#u64(true);
  }

  /**
   * Unsigned LEB128. `Truncated` if the input ends inside it, `OverlongVarint` for a non-shortest
   * form, `ValueTooLarge` above 2^53 − 1.
   */
  varint(): number {
    const start = this.#at;
    let n = 0;
    let scale = 1;
    for (let i = 0; i < MAX_VARINT_BYTES; i++) {
      if (this.remaining === 0) throw new BinaryCodecError('Truncated', 'input ends inside a varint', start);
      const b = this.#b[this.#at++] as number;
      n += (b & 0x7f) * scale;
      if (b < 0x80) {
        if (b === 0 && i > 0) throw new BinaryCodecError('OverlongVarint', 'varint is not in its shortest form', start);
        if (n > MAX_VARINT) throw new BinaryCodecError('ValueTooLarge', 'varint above 2^53 - 1', start);
        return n;
      }
      scale *= 0x80;
    }
    throw new BinaryCodecError('ValueTooLarge', `varint longer than ${MAX_VARINT_BYTES} bytes`, start);
  }

  /** The next `n` bytes (a copy). */
  bytes(n: number): Uint8Array {
    const at = this.#take(n, 'byte field');
    return this.#b.slice(at, at + n);
  }

  /** Every byte not read yet (a copy); the reader is then at its end. */
  rest(): Uint8Array {
    return this.bytes(this.remaining);
  }

  /** A varint byte count, then that many bytes. */
  lenBytes(): Uint8Array {
    return this.bytes(this.varint());
  }

  /** A varint byte count, then that many bytes of well-formed UTF-8. */
  string(): string {
    const start = this.#at;
    return decodeUtf8(this.lenBytes(), start);
  }

  /** `TrailingBytes` unless every byte has been read. */
  end(): void {
    if (this.remaining !== 0)
      throw new BinaryCodecError('TrailingBytes', `${this.remaining} bytes after the last field`, this.#at);
  }
}

/**
 * Strict UTF-8 decoding (RFC 3629 §3: overlong forms, surrogates and truncated sequences refused);
 * a leading U+FEFF is kept, so decoding inverts {@link utf8}.
 * @param offset where the bytes started, for the error message.
 */
export function decodeUtf8(bytes: Uint8Array, offset = 0): string {
  try {
    return utf8Decoder.decode(bytes);
  } catch {
    throw new BinaryCodecError('InvalidUtf8', 'string is not well-formed UTF-8', offset);
  }
}

/**
 * Runs `decode`; a {@link BinaryCodecError} it throws is replaced by `map(error)` (each format has
 * its own error type), any other error goes through unchanged.
 */
export function mapCodecError<T>(decode: () => T, map: (error: BinaryCodecError) => Error): T {
  try {
    return decode();
  } catch (error) {
    throw error instanceof BinaryCodecError ? map(error) : error;
  }
}

/** Runs `read` over `bytes` and requires it to consume them all (`TrailingBytes` otherwise). */
export function readAll<T>(bytes: Uint8Array, read: (r: Reader) => T): T {
  const r = new Reader(bytes);
  const value = read(r);
  r.end();
  return value;
}

/**
 * Whether `a` and `b` hold the same bytes (not constant-time: for public data such as magics, and
 * the database's check of which 4 KiB pages a commit changed, hence a native compare of views
 * rather than a loop per byte).
 */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  return Buffer.from(a.buffer, a.byteOffset, a.length).equals(Buffer.from(b.buffer, b.byteOffset, b.length));
}
