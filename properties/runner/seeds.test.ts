import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { BATCH_INDICES, WHOLE, campaignSeed, newCampaignId, parseShard, shardBatchIndex } from './seeds.ts';

describe('campaign seeds and shards', () => {
  test('shards parse as I/N with 1 ≤ I ≤ N', () => {
    expect(parseShard('1/2')).toEqual({ index: 1, count: 2 });
    expect(parseShard('4/4')).toEqual({ index: 4, count: 4 });
    for (const bad of ['0/2', '3/2', '1/0', '1', 'a/b', '1/2/3', '-1/2']) expect(parseShard(bad), bad).toBeNull();
  });

  test('the shards of n are disjoint and together cover the first indices exactly once', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 8 }), fc.integer({ min: 1, max: 20 }), (n, perShard) => {
        const seen = new Map<number, number>();
        for (let i = 1; i <= n; i++) {
          for (let k = 0; k < perShard; k++) {
            const index = shardBatchIndex({ index: i, count: n }, k) as number;
            expect(seen.has(index), `index ${index} in shards ${seen.get(index)} and ${i}`).toBe(false);
            expect(index % n).toBe(i - 1);
            seen.set(index, i);
          }
        }
        expect([...seen.keys()].sort((a, b) => a - b)).toEqual(Array.from({ length: n * perShard }, (_, j) => j));
      }),
      { numRuns: 50 },
    );
  });

  test('one machine takes every index in order', () => {
    expect([0, 1, 2, 3].map((k) => shardBatchIndex(WHOLE, k))).toEqual([0, 1, 2, 3]);
    // A shard ends with its last seed, rather than asking for a seed past them (a campaign split a
    // million ways reached it after some 4,300 batches a shard, and threw).
    const last = { index: 1_000_000, count: 1_000_000 };
    const k = Math.floor((BATCH_INDICES - last.index) / last.count);
    expect(shardBatchIndex(last, k)).toBe(last.index - 1 + k * last.count);
    expect(campaignSeed('c', shardBatchIndex(last, k) as number)).toEqual(expect.any(Number));
    expect(shardBatchIndex(last, k + 1)).toBeNull();
    expect(shardBatchIndex(WHOLE, BATCH_INDICES - 1)).toBe(BATCH_INDICES - 1);
    expect(shardBatchIndex(WHOLE, BATCH_INDICES)).toBeNull();
  });

  test('distinct indices give distinct seeds (a bijection), the same id gives the same seeds', () => {
    const seeds = new Set(Array.from({ length: 20_000 }, (_, i) => campaignSeed('c1', i)));
    expect(seeds.size).toBe(20_000);
    fc.assert(
      fc.property(fc.string(), fc.nat(2 ** 32 - 1), fc.nat(2 ** 32 - 1), (id, a, b) => {
        expect(campaignSeed(id, a)).toBe(campaignSeed(id, a));
        if (a !== b) expect(campaignSeed(id, a)).not.toBe(campaignSeed(id, b));
        const s = campaignSeed(id, a);
        expect(Number.isSafeInteger(s) && s >= -(2 ** 31) && s < 2 ** 31).toBe(true);
        // What fast-check reports a failure's seed as: the same number.
        expect(s | 0).toBe(s);
      }),
    );
  });

  test('campaign ids change the sequence, and shards of one campaign agree on it', () => {
    expect(campaignSeed('a', 0)).not.toBe(campaignSeed('b', 0));
    const twoShards = [1, 2].flatMap((i) => [0, 1, 2].map((k) => shardBatchIndex({ index: i, count: 2 }, k) as number));
    const alone = [0, 1, 2, 3, 4, 5];
    expect(twoShards.map((i) => campaignSeed('x', i)).sort()).toEqual(alone.map((i) => campaignSeed('x', i)).sort());
  });

  test('indices outside 32 bits are refused', () => {
    expect(() => campaignSeed('x', -1)).toThrow(RangeError);
    expect(() => campaignSeed('x', 2 ** 32)).toThrow(RangeError);
    expect(() => campaignSeed('x', 1.5)).toThrow(RangeError);
  });

  test('a new campaign id is the time and a random suffix', () => {
    expect(newCampaignId(new Date(Date.UTC(2026, 11, 2, 8, 5, 9, 123)), () => 0.5)).toBe('20261202T080509Z-8000');
  });
});
