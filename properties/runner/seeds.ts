/**
 * Campaign seeds: batch `index` of campaign `id` runs with `campaignSeed(id, index)`, and shard `i`
 * of `n` takes the indices congruent to `i - 1` modulo `n`. The seed is a bijection of the index
 * (a 32-bit mixing permutation keyed by the campaign id), so distinct indices give distinct seeds:
 * shards never repeat each other's work, and together they cover exactly the seeds one machine
 * would have drawn. Shards agree as long as they are given the same `--campaign` id.
 * @module
 */

/** Shard `index` (1-based) of `count`. */
export interface Shard {
  readonly index: number;
  readonly count: number;
}

/** The whole campaign on one machine. */
export const WHOLE: Shard = { index: 1, count: 1 };

/** Parses `i/n` (1 ≤ i ≤ n); null when malformed. */
export function parseShard(text: string): Shard | null {
  const m = /^(\d+)\/(\d+)$/.exec(text.trim());
  if (!m) return null;
  const index = Number(m[1]);
  const count = Number(m[2]);
  return count >= 1 && index >= 1 && index <= count && count <= 1_000_000 ? { index, count } : null;
}

/** How many batch indices, and so distinct seeds, a campaign has: one per 32-bit seed. */
export const BATCH_INDICES = 2 ** 32;

/**
 * The `k`-th batch index (k = 0, 1, …) of a shard: `index - 1 + k·count`; null past the last one
 * ({@link BATCH_INDICES}), when the shard has run every seed it owns (about 4,300 batches a shard
 * when a campaign is split a million ways, where it threw).
 */
export function shardBatchIndex(shard: Shard, k: number): number | null {
  const index = shard.index - 1 + k * shard.count;
  return index < BATCH_INDICES ? index : null;
}

/** FNV-1a over the id's UTF-16 code units: a 32-bit key per campaign. */
function keyOf(id: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/** murmur3's finaliser: a bijection on 32-bit integers that spreads neighbouring inputs apart. */
function fmix32(x: number): number {
  let h = x >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

/**
 * The fast-check seed of batch `index` of campaign `id`: a 32-bit signed integer, distinct for
 * distinct indices below 2³² (the index is XORed with the campaign's key, then mixed bijectively).
 * Signed because fast-check folds every seed to one (`seed | 0`) and reports failures with that:
 * the summary's batch seed and the failure's replay seed are then the same number.
 */
export function campaignSeed(id: string, index: number): number {
  if (!Number.isSafeInteger(index) || index < 0 || index >= BATCH_INDICES) throw new RangeError(`batch index ${index}`);
  return fmix32((index ^ keyOf(id)) >>> 0) | 0;
}

/** A fresh campaign id: the UTC time to the second and four random hex digits. */
export function newCampaignId(now = new Date(), random = Math.random): string {
  const stamp = now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  return `${stamp}-${Math.floor(random() * 0x10000)
    .toString(16)
    .padStart(4, '0')}`;
}
