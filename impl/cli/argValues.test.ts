import { describe, expect, test } from 'vitest';
import { idList } from './argValues.ts';
import { UsageError } from './args.ts';

describe('idList', () => {
  test('IDs separated by commas, in one argument or several', () => {
    expect(idList(['U2,U3'])).toEqual(['U2', 'U3']);
    expect(idList(['U2', 'U3,U4'])).toEqual(['U2', 'U3', 'U4']);
    expect(idList(['U2,,U3,'])).toEqual(['U2', 'U3']);
    expect(idList(['U3,U2', 'U3'])).toEqual(['U3', 'U2']);
  });

  test('an empty list is a usage error, not a message for the sender alone', () => {
    for (const values of [[''], [','], ['', ',']]) {
      expect(() => idList(values)).toThrow(UsageError);
      expect(() => idList(values)).toThrow(/no user ID/);
    }
  });
});
