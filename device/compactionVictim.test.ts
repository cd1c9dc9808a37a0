import { describe, expect, it } from 'vitest';
import { chooseCompactionVictim, leastWorn } from './compactionVictim.ts';
import type { VictimCandidate, VictimInput } from './compactionVictim.ts';
import { KeyStoreCorruptError } from './keyStoreErrors.ts';

const SLOTS = 10;
const used = (live: number, seq: number): VictimCandidate => ({ used: true, live, seq });
const FREE: VictimCandidate = { used: false, live: 0, seq: 0 };

function input(sectors: VictimCandidate[], wear: number[], options: Partial<VictimInput> = {}): VictimInput {
  return { sectors, wear, wearLevelThreshold: 4, slotsPerSector: SLOTS, staticAllowed: true, ...options };
}

describe('leastWorn', () => {
  it('picks the position with the fewest erases, the first one on ties, and nothing from nothing', () => {
    expect(leastWorn([3, 1, 1, 0], [0, 1, 2])).toBe(1);
    expect(leastWorn([3, 1, 1, 0], [3, 0])).toBe(3);
    expect(leastWorn([3, 1], [])).toBeUndefined();
    expect(leastWorn([2], [0, 5])).toBe(5); // a position without a count has none
  });
});

describe('chooseCompactionVictim (greedy, with static wear levelling)', () => {
  it('greedy: the used sector with the fewest live records', () => {
    expect(chooseCompactionVictim(input([used(7, 1), used(3, 2), FREE, used(5, 3)], [1, 1, 1, 1]))).toBe(1);
  });

  it('greedy ties go to the less worn sector, then to the older one', () => {
    expect(chooseCompactionVictim(input([used(3, 1), used(3, 2), FREE], [2, 1, 0]))).toBe(1);
    expect(chooseCompactionVictim(input([used(3, 5), used(3, 2), FREE], [1, 1, 0]))).toBe(1);
    expect(chooseCompactionVictim(input([used(3, 2), used(3, 5), FREE], [1, 1, 0]))).toBe(0);
  });

  it('never picks a free sector, however empty', () => {
    expect(chooseCompactionVictim(input([FREE, used(9, 1), FREE], [0, 0, 0]))).toBe(1);
  });

  it(
    'static move: once wear drifts beyond the threshold, the least-worn used sector (cold data), even when ' + 'full',
    () => {
      const sectors = [used(SLOTS, 1), used(2, 2), FREE];
      expect(chooseCompactionVictim(input(sectors, [1, 6, 9]))).toBe(0); // 9 − 1 > 4
      expect(chooseCompactionVictim(input(sectors, [5, 6, 9]))).toBe(1); // 9 − 5 = 4: not beyond
    },
  );

  it('no static move when it is not allowed (the second round of one append)', () => {
    expect(chooseCompactionVictim(input([used(8, 1), used(2, 2), FREE], [1, 6, 9], { staticAllowed: false }))).toBe(1);
  });

  it('refuses when no used sector has a slot to reclaim, or none is used', () => {
    expect(() => chooseCompactionVictim(input([used(SLOTS, 1), used(SLOTS, 2), FREE], [0, 0, 0]))).toThrow(
      KeyStoreCorruptError,
    );
    expect(() => chooseCompactionVictim(input([FREE, FREE], [0, 0]))).toThrow(/no sector has reclaimable slots/);
  });
});
