import { describe, expect, test } from 'vitest';
import { InvariantError, differences, same } from './invariantError.ts';

describe('how a broken invariant says where', () => {
  const expected = {
    users: [{ id: 'U1', name: 'alice' }],
    keys: [
      { id: 'K2000', state: 'compromised', holders: ['U1'] },
      { id: 'K2001', state: 'active', holders: ['U1'] },
    ],
  };

  test('paths to each difference; elements with an id are matched by it, not by position', () => {
    const actual = {
      users: [{ id: 'U1', name: 'alice' }],
      keys: [
        { id: 'K1999', state: 'active', holders: [] },
        { id: 'K2000', state: 'compromised', holders: ['U1', 'U4'] },
        { id: 'K2001', state: 'active', holders: ['U1'] },
      ],
    };
    expect(differences(actual, expected)).toEqual([
      'keys[K1999]: actual {"id":"K1999","state":"active","holders":[]}, expected nothing',
      'keys[K2000].holders: actual ["U1","U4"], expected ["U1"]',
    ]);
  });

  test('plain values, arrays of other lengths, and a limit', () => {
    expect(differences(1, 2)).toEqual(['(the whole value): actual 1, expected 2']);
    expect(differences({ a: [1, 2] }, { a: [1] })).toEqual(['a: actual [1,2], expected [1]']);
    expect(differences({ a: [1, 2] }, { a: [1, 3] })).toEqual(['a[1]: actual 2, expected 3']);
    const many = Object.fromEntries(Array.from({ length: 9 }, (_, i) => [`k${i}`, i]));
    expect(differences(many, {}, 3)).toHaveLength(3);
    expect(differences(expected, structuredClone(expected))).toEqual([]);
  });

  test('the same elements in another order, or an ID twice: the array itself is named', () => {
    const k1 = { id: 'K1' };
    const k2 = { id: 'K2' };
    expect(differences({ keys: [k1, k2] }, { keys: [k2, k1] })).toEqual([
      'keys: actual [{"id":"K1"},{"id":"K2"}], expected [{"id":"K2"},{"id":"K1"}]',
    ]);
    expect(
      differences(
        [
          { id: 'K1', s: 1 },
          { id: 'K1', s: 2 },
        ],
        [{ id: 'K1', s: 2 }],
      ),
    ).toEqual(['(the whole value): actual [{"id":"K1","s":1},{"id":"K1","s":2}], expected [{"id":"K1","s":2}]']);
  });

  test('same() names the invariant, what was compared and where, then both values whole', () => {
    const broken = { ...expected, users: [{ id: 'U1', name: 'alicia' }] };
    let error: unknown;
    try {
      same('model-agreement', "the admin's view", broken, expected);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(InvariantError);
    expect((error as InvariantError).invariant).toBe('model-agreement');
    expect((error as Error).message.split('\n').slice(0, 2)).toEqual([
      expect.stringContaining("the admin's view"),
      '  differs at users[U1].name: actual "alicia", expected "alice"',
    ]);
    expect(() => same('model-agreement', 'x', expected, structuredClone(expected))).not.toThrow();
  });
});
