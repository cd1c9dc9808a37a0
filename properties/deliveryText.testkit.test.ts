import { describe, expect, test } from 'vitest';
import { deliveryText, refusedText } from './deliveryText.testkit.ts';

describe('a delivery of update files in words', () => {
  test('each file under the name it lies under, numbered on from the last file applied', () => {
    const delivery = { count: 3, sequences: [1, 8, 2], resync: [false, false, true] };
    expect(deliveryText(delivery, 2).split('\n')).toEqual([
      "after file 2, the admin's next 3 files, each under the name given:",
      '  file 3 as 000000000003.update',
      '  file 4 as 000000000010.update',
      '  file 5 as 000000000004.resync',
    ]);
  });

  test('before any run knew the last file applied: offsets from it', () => {
    expect(deliveryText({ count: 2, sequences: [2, 1], resync: [true, false] }, null).split('\n')).toEqual([
      "after the last file applied, the admin's next 2 files, each under the name given:",
      '  file last + 1 as the resync name of sequence last + 2',
      '  file last + 2 as the incremental name of sequence last + 1',
    ]);
  });

  test('refused files with their reasons, or none', () => {
    expect(refusedText([])).toBe('none');
    expect(
      refusedText([
        { name: '000000000004.resync', reason: 'gap' },
        { name: '000000000010.update', reason: 'replayed' },
      ]),
    ).toBe('000000000004.resync (gap), 000000000010.update (replayed)');
  });
});
