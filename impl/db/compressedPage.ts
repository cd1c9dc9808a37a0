/**
 * Compression of database pages before the HSM seals them. Opening the database decrypts every page
 * on the HSM (AES-256-GCM, about 250 cycles a byte on the SEcube's Cortex-M4), so the bytes sealed
 * are what every command pays for; SQLite pages hold short text and integers, half-filled B-tree
 * nodes and zeroed free space (`secure_delete`), and shrink several times under DEFLATE (RFC 1951,
 * raw: no zlib header or checksum, the seal authenticates). The host compresses and inflates: it
 * holds the plaintext pages anyway (SQLite runs there), and no plaintext is ever written.
 *
 * What the card shows in exchange: each page record's length, hence how compressible each page is.
 * The database holds no key material (keys never leave HSMs); the lengths say how dense a page's
 * metadata is, not what it says.
 * @module
 */
import { hash } from 'node:crypto';
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { DatabaseError } from './databaseError.ts';

/**
 * The most a page can take once compressed: DEFLATE falls back to stored blocks (5 bytes of
 * header per block of up to 65,535 bytes, RFC 1951 §3.2.4), so 64 bytes over the page is ample.
 */
export function maxCompressedLength(pageSize: number): number {
  return pageSize + 64;
}

/**
 * Pages compressed lately, by SHA-256 of their bytes: DEFLATE at level 9 costs a hundred times the
 * hash, and the same page bytes are compressed again and again wherever several databases live in one
 * process (every new device's first commit writes the same empty schema; simulations and the
 * property suites build the same installation run after run). DEFLATE is deterministic, so a hit
 * is exactly what compressing again would give: the bytes sealed, and the cycles charged, are the
 * same. Bounded (oldest first out); a collision of SHA-256 is not a concern.
 */
const recent = new Map<string, Uint8Array>();
/** Entries kept: a few installations' worth of pages, about a megabyte of compressed pages. */
export const COMPRESSED_PAGE_CACHE_ENTRIES = 4096;

/** The page, compressed (DEFLATE at its best level: a page is compressed once per change, read many times). */
export function compressPage(page: Uint8Array): Uint8Array {
  // The one-shot `crypto.hash` (Node 20.12+) gives createHash(…).update(page).digest('base64')'s very
  // string without building a Hash object (about a seventh of the 3 us a 4 KiB page took).
  const key = hash('sha256', page, 'base64');
  const hit = recent.get(key);
  if (hit !== undefined) return hit.slice();
  const out = deflateRawSync(page, { level: 9 });
  if (out.length > maxCompressedLength(page.length)) {
    throw new RangeError(`a ${page.length}-byte page compressed to ${out.length} bytes, over the bound`);
  }
  const compressed = new Uint8Array(out.buffer, out.byteOffset, out.length);
  if (recent.size >= COMPRESSED_PAGE_CACHE_ENTRIES) recent.delete(recent.keys().next().value as string);
  recent.set(key, compressed.slice());
  return compressed;
}

/** The page of `pageSize` bytes that `compressed` holds; `Tampered` if it does not inflate to exactly that. */
export function decompressPage(compressed: Uint8Array, pageSize: number): Uint8Array {
  let out: Buffer;
  try {
    out = inflateRawSync(compressed, { maxOutputLength: pageSize + 1 });
  } catch {
    throw new DatabaseError('Tampered', 'a page does not inflate');
  }
  if (out.length !== pageSize) throw new DatabaseError('Tampered', `a page inflates to ${out.length} bytes`);
  return new Uint8Array(out.buffer, out.byteOffset, out.length);
}
