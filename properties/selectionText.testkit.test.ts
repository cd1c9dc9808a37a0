import { describe, expect, test } from 'vitest';
import { buildSelectionState, selectionText } from './selectionText.testkit.ts';
import type { SelectionCase } from './selectionText.testkit.ts';

describe('the selection oracle’s cases in words', () => {
  test('groups, each key’s activation and end of cryptoperiod, the keys the model added, and the query', () => {
    // The case a planted bug (earliest activation preferred) shrank to: K2001 is no key of the draw,
    // but the replacement the model made when K2000, active, was compromised.
    const shrunk: SelectionCase = {
      groups: [['U6']],
      keys: [
        { group: 0, activateAt: 0, cryptoperiod: 1, later: 'COMPROMISE' },
        { group: 0, activateAt: 1, cryptoperiod: 1, later: 'none' },
      ],
      sender: 'U6',
      recipients: [],
      now: 1,
    };
    expect(selectionText(shrunk)).toBe(
      [
        'groups (each: keys for 100ms at most): G1 with U6',
        'keys, times from the start:',
        '  K2000 of G1: activated at +00:00:00.000 for 1ms, to +00:00:00.001, then compromised at once',
        '  K2001 of G1, the model\'s own ("replacement in G1"): activated at +00:00:00.000 for 100ms, to +00:00:00.100',
        '  K2002 of G1: activated at +00:00:00.001 for 1ms, to +00:00:00.002',
        'then at +00:00:00.001, U6 selects a key for no other recipient',
      ].join('\n'),
    );
    // A key index past the groups counts round; a key never activated says its state.
    const other: SelectionCase = {
      groups: [['U1', 'U2'], ['U1']],
      keys: [
        { group: 3, activateAt: 50, cryptoperiod: 100, later: 'SUSPEND' },
        { group: 0, activateAt: 0, cryptoperiod: 7, later: 'never-activated' },
      ],
      sender: 'U1',
      recipients: ['U2', 'U3'],
      now: 160,
    };
    expect(selectionText(other)).toBe(
      [
        'groups (each: keys for 100ms at most): G1 with U1, U2; G2 with U1',
        'keys, times from the start:',
        '  K2000 of G2: activated at +00:00:00.050 for 100ms, to +00:00:00.150, then suspended at once',
        '  K2001 of G1: never activated (preActivation)',
        'then at +00:00:00.160, U1 selects a key for U2, U3',
      ].join('\n'),
    );
    expect(selectionText({ ...other, keys: [] })).toContain('\nno key\n');
    // What the property counts: 6 users, 2 groups, 3 members, 2 keys, 2 events.
    expect(buildSelectionState(other).applied).toBe(6 + 2 + 3 + 2 + 2);
  });

  test('a key drawn to be destroyed is destroyed (deactivated first), not left active', () => {
    const destroyed: SelectionCase = {
      groups: [['U1']],
      keys: [{ group: 0, activateAt: 0, cryptoperiod: 100, later: 'DESTROY' }],
      sender: 'U1',
      recipients: [],
      now: 1,
    };
    const { state } = buildSelectionState(destroyed);
    expect(state.keys.K2000?.lifecycle.value).toBe('destroyed');
    expect(selectionText(destroyed)).toContain('K2000 of G1: activated at +00:00:00.000 for 100ms');
  });
});
