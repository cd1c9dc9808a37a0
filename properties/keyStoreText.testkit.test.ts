import { describe, expect, test } from 'vitest';
import { recoveredText, repairsText, stepText, workloadText } from './keyStoreText.testkit.ts';

const NOTHING = {
  erasedSectors: [],
  rolledBackCompaction: false,
  completedCompaction: false,
  scrubbedSlots: 0,
  duplicatesResolved: 0,
};

describe('key store workloads and findings in words', () => {
  test('steps with the IDs the store sees: drawn IDs modulo the pool', () => {
    expect(stepText({ kind: 'put', id: 42, length: 16 }, 24)).toBe('put 18 (16 bytes)');
    expect(stepText({ kind: 'delete', id: 5 }, 6)).toBe('delete 5');
  });

  test('a workload: IDs, prefill and cuts in one line, then its steps numbered from 1', () => {
    const steps = Array.from({ length: 10 }, (_, i) => ({ kind: 'put', id: i, length: 32 }) as const);
    const w = { pool: 6, prefill: 70, steps, faultSeed: -7, doubleFault: true };
    expect(workloadText(w).split('\n').slice(0, 3)).toEqual([
      'IDs 0 to 5, keys 0 to 5 stored first; a cut at every flash operation of every step, and another while ' +
        'the mount after it recovers (where: drawn from fault seed -7):',
      '   1. put 0 (32 bytes)',
      '   2. put 1 (32 bytes)',
    ]);
    expect(workloadText(w).split('\n').at(-1)).toBe('  10. put 3 (32 bytes)');
    const single = {
      pool: 70,
      prefill: 0,
      steps: [{ kind: 'delete', id: 3 }] as const,
      faultSeed: 0,
      doubleFault: false,
    };
    expect(workloadText(single)).toBe(
      'IDs 0 to 69, no key stored first; a cut at every flash operation of every step:\n  1. delete 3',
    );
    expect(workloadText({ ...single, steps: [] }).split('\n')[1]).toBe('  (no step)');
  });

  test('what a mount repaired, or nothing', () => {
    expect(repairsText(NOTHING)).toEqual([]);
    expect(repairsText(undefined)).toEqual(['no mount report']);
    expect(
      repairsText({
        erasedSectors: [2, 3],
        rolledBackCompaction: true,
        completedCompaction: true,
        scrubbedSlots: 1,
        duplicatesResolved: 2,
      }),
    ).toEqual([
      'erased sector(s) 2, 3',
      'rolled a compaction back',
      'completed a compaction',
      'scrubbed 1 torn slot',
      'resolved 2 duplicate IDs',
    ]);
  });

  test('a recovered state that is neither: the IDs, and any key whose value neither state held', () => {
    const before = new Map([[0, 'aa']]);
    const after = new Map([
      [0, 'bb'],
      [3, 'cc'],
    ]);
    expect(recoveredText(new Map(), before, after)).toBe('recovered {}, expected before {0} or after {0,3}');
    expect(recoveredText(new Map([[0, 'ff']]), before, new Map([[0, 'bb']]))).toBe(
      'recovered {0}, expected before {0} or after {0}; key 0 holds a value it held neither before nor after',
    );
    expect(
      recoveredText(
        new Map([
          [3, 'ee'],
          [0, 'ff'],
          [9, 'dd'],
        ]),
        before,
        after,
      ),
    ).toBe(
      'recovered {0,3,9}, expected before {0} or after {0,3}; keys 0, 3 hold values they held neither before nor after',
    );
  });
});
