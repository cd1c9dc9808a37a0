import { describe, expect, test } from 'vitest';
import {
  cutStepText,
  eventsText,
  spaceEventsText,
  spaceStepText,
  stepText,
  stepsText,
} from './databaseText.testkit.ts';

describe('encrypted database transactions in words', () => {
  test('each kind of transaction', () => {
    expect(stepText({ kind: 'insert', id: 0, size: 1 })).toBe('insert row 0 (1 byte)');
    expect(stepText({ kind: 'update', id: 40, size: 3000 })).toBe('update row 40 (3000 bytes)');
    expect(stepText({ kind: 'delete', id: 7 })).toBe('delete row 7');
  });

  test('transactions numbered from 1, padded to one width', () => {
    const steps = Array.from({ length: 10 }, (_, id) => ({ kind: 'delete', id }) as const);
    expect(stepsText(steps).split('\n').slice(0, 2)).toEqual([' 1. delete row 0', ' 2. delete row 1']);
    expect(stepsText(steps).split('\n').at(-1)).toBe('10. delete row 9');
    expect(stepsText([])).toBe('(no transaction)');
  });

  test('commit events: plain, interrupted and kept, interrupted and put back', () => {
    const step = { kind: 'insert', id: 0, size: 1 } as const;
    expect(
      eventsText([
        { step, interrupted: false, putBack: true },
        { step, interrupted: true, putBack: false },
        { step: { kind: 'update', id: 2, size: 5 }, interrupted: true, putBack: true },
        { step: { kind: 'delete', id: 0 }, interrupted: true, putBack: true },
      ]).split('\n'),
    ).toEqual([
      '1. insert row 0 (1 byte)',
      "2. insert row 0 (1 byte), interrupted between its manifest and the device's counter, imaged then; the card kept",
      "3. update row 2 (5 bytes), interrupted between its manifest and the device's counter, imaged then; the card " +
        'then put back as it was before (the attempt abandoned)',
      "4. delete row 0, interrupted between its manifest and the device's counter, imaged then; the card then put " +
        'back as it was before (the attempt abandoned)',
    ]);
  });

  test('a delete of a row that is not there commits nothing: no commit to interrupt, no image', () => {
    expect(
      eventsText([
        { step: { kind: 'delete', id: 2 }, interrupted: true, putBack: true },
        { step: { kind: 'insert', id: 2, size: 9 }, interrupted: true, putBack: true },
        // Row 2's insert was abandoned: it is still not there.
        { step: { kind: 'delete', id: 2 }, interrupted: false, putBack: false },
        { step: { kind: 'insert', id: 2, size: 9 }, interrupted: false, putBack: false },
        { step: { kind: 'delete', id: 2 }, interrupted: true, putBack: false },
        { step: { kind: 'delete', id: 2 }, interrupted: true, putBack: false },
      ]).split('\n'),
    ).toEqual([
      '1. delete row 2 (row 2 is not there: it changes nothing and commits nothing, so no commit to interrupt and ' +
        'no image)',
      "2. insert row 2 (9 bytes), interrupted between its manifest and the device's counter, imaged then; the card " +
        'then put back as it was before (the attempt abandoned)',
      '3. delete row 2 (row 2 is not there: it changes nothing and commits nothing)',
      '4. insert row 2 (9 bytes)',
      "5. delete row 2, interrupted between its manifest and the device's counter, imaged then; the card kept",
      '6. delete row 2 (row 2 is not there: it changes nothing and commits nothing, so no commit to interrupt and ' +
        'no image)',
    ]);
  });

  test('the step a power-cut property cuts; a delete of a row that is not there commits nothing to cut', () => {
    const insert = { kind: 'insert', id: 3, size: 600 } as const;
    const del = { kind: 'delete', id: 3 } as const;
    const seed = ' (torn writes drawn from card seed 9)';
    expect(cutStepText([insert], del, 'SD write and sync', seed)).toBe(
      'then delete row 3, its commit cut at each SD write and sync in turn (torn writes drawn from card seed 9)',
    );
    expect(cutStepText([], { kind: 'update', id: 3, size: 1 }, 'flash operation and SD write')).toBe(
      'then update row 3 (1 byte), its commit cut at each flash operation and SD write in turn',
    );
    // Never there, or deleted already: no commit, so no cut and no torn write to draw.
    for (const before of [[], [insert, del], [{ kind: 'update', id: 3, size: 9 } as const, del]])
      expect(cutStepText(before, del, 'SD write and sync', seed)).toBe(
        'then delete row 3 (row 3 is not there: it changes nothing and commits nothing, so no commit to cut)',
      );
  });
});

describe('the no-space property in words', () => {
  test('many rows in one transaction, and the plain steps as before', () => {
    expect(spaceStepText({ kind: 'fill', id: 3, count: 7, size: 600 })).toBe(
      'insert rows 3 to 9 (600 bytes each) in one transaction',
    );
    expect(spaceStepText({ kind: 'fill', id: 3, count: 1, size: 1 })).toBe('insert row 3 (1 byte) in one transaction');
    expect(spaceStepText({ kind: 'delete', id: 7 })).toBe('delete row 7');
  });

  test('the card, then the events, a power cut where one is armed', () => {
    expect(
      spaceEventsText(45, 3, [
        { step: { kind: 'insert', id: 0, size: 9000 }, cutAtWrite: null },
        { step: { kind: 'fill', id: 1, count: 2, size: 10 }, cutAtWrite: 2 },
      ]).split('\n'),
    ).toEqual([
      'on a card of 45 pages, 3 more than the new database with its table:',
      '1. insert row 0 (9000 bytes)',
      '2. insert rows 1 to 2 (10 bytes each) in one transaction, the power cut at its SD write #2 ' +
        '(if it writes that many)',
    ]);
  });
});
