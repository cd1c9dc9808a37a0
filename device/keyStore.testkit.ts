/**
 * Helpers for key-store tests and the power-cut property suite: raw-flash residue scans and state
 * snapshots.
 *
 * Test support only: not part of the package.
 * @module
 */
import type { Flash } from './flash.ts';
import { readKeyMaterialForDevice, type KeyStore } from './keyStore.ts';
import type { SeededPrng } from './seededPrng.ts';

/** Hex of a byte array, to compare key material by value. */
export function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

/** Every key the store holds, by ID, as hex (read through the device-internal path). */
export function storeContents(store: KeyStore): Map<number, string> {
  const out = new Map<number, string>();
  for (const id of store.ids()) {
    const key = readKeyMaterialForDevice(store, id);
    out.set(id, hex(key));
    key.fill(0);
  }
  return out;
}

/** Raw bytes of the given sectors (all sectors by default), concatenated. */
export function rawImage(flash: Flash, sectors: readonly number[] = flash.sectors.map((s) => s.index)): Uint8Array {
  const parts = sectors.map((i) => {
    const s = flash.sector(i);
    return flash.read(s.address, s.size);
  });
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/**
 * Looks for any `chunk`-byte piece of any secret (at offsets 0, chunk, 2·chunk… of the secret)
 * anywhere in `image`. Finding even a piece means key material survived in flash; 8-byte pieces of
 * random keys do not occur by chance in a few hundred KiB (p ≈ 2^-64 per position).
 * @returns a description of the first hit, or undefined
 */
export function findSecretResidue(image: Uint8Array, secrets: Iterable<Uint8Array>, chunk = 8): string | undefined {
  const byHead = new Map<number, { secret: number; offset: number; piece: Uint8Array }[]>();
  let n = 0;
  for (const secret of secrets) {
    for (let off = 0; off + chunk <= secret.length; off += chunk) {
      const piece = secret.subarray(off, off + chunk);
      const head = word(piece, 0);
      const list = byHead.get(head) ?? [];
      list.push({ secret: n, offset: off, piece });
      byHead.set(head, list);
    }
    n++;
  }
  if (byHead.size === 0) return undefined;
  for (let i = 0; i + chunk <= image.length; i++) {
    const candidates = byHead.get(word(image, i));
    if (!candidates) continue;
    for (const c of candidates) {
      let same = true;
      for (let k = 4; k < chunk && same; k++) same = image[i + k] === c.piece[k];
      if (same) return `secret #${c.secret} bytes ${c.offset}..${c.offset + chunk} found at image offset ${i}`;
    }
  }
  return undefined;
}

function word(bytes: Uint8Array, at: number): number {
  return (
    ((bytes[at] ?? 0) | ((bytes[at + 1] ?? 0) << 8) | ((bytes[at + 2] ?? 0) << 16) | ((bytes[at + 3] ?? 0) << 24)) >>> 0
  );
}

/**
 * Puts random keys (IDs below `ids`, 32 bytes each, drawn from `prng`) into `store` on `flash` until a
 * put compacts (more than 8 flash operations; a plain replace takes 4): the flash image just before
 * that put and the operations it took. Each key put before it is handed to `kept`. Throws after
 * `limit` puts without a compaction.
 */
export function churnUntilCompaction(
  flash: Flash,
  store: KeyStore,
  prng: SeededPrng,
  { ids, limit = 5000, kept }: { ids: number; limit?: number; kept: (id: number, key: Uint8Array) => void },
): { image: Uint8Array; compactingOps: number } {
  for (let i = 0; i < limit; i++) {
    const image = flash.toImage();
    const id = prng.int(ids);
    const key = prng.bytes(32);
    const before = flash.operations;
    store.put(id, key);
    if (flash.operations - before > 8) return { image, compactingOps: flash.operations - before };
    kept(id, key);
  }
  throw new Error(`no compaction in ${limit} puts`);
}
