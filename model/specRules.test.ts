import { describe, expect, test } from 'vitest';
import { formatExampleOperation, formatOutcome, ruleLink } from './specRules.ts';
import { DAY, EXAMPLE_POLICY } from './specExamples.ts';

describe('rendering the KMS rules and examples', () => {
  test('an operation reads as typed: IDs bare, names quoted, long names cut, policies and durations in words', () => {
    expect(formatExampleOperation({ type: 'addMember', groupId: 'G1', userId: 'U3' })).toBe('addMember G1 U3');
    expect(formatExampleOperation({ type: 'renameUser', userId: 'U2', name: 'x'.repeat(101) })).toBe(
      'renameUser U2 "xxx…" (101 characters)',
    );
    expect(
      formatExampleOperation({
        type: 'addGroup',
        groupId: 'G2',
        name: 'a',
        policy: EXAMPLE_POLICY,
        shareHistory: true,
      }),
    ).toBe('addGroup G2 "a" policy (maxKeys 3, AES-256-GCM, 30 days) shareHistory');
    expect(
      formatExampleOperation({
        type: 'addGroup',
        groupId: 'G3',
        name: 'b',
        policy: EXAMPLE_POLICY,
        shareHistory: false,
      }),
    ).toBe('addGroup G3 "b" policy (maxKeys 3, AES-256-GCM, 30 days)');
    expect(formatExampleOperation({ type: 'addKey', groupId: 'G1', name: 'k', cryptoperiodMs: 2 * DAY })).toBe(
      'addKey G1 "k" cryptoperiod 2 days',
    );
    expect(formatExampleOperation({ type: 'keyEvent', keyId: 'K2000', event: 'ACTIVATE' })).toBe(
      'keyEvent K2000 ACTIVATE',
    );
  });

  test('an outcome reads as sentences, absent things included', () => {
    expect(
      formatOutcome({
        keys: { K2000: null, K2001: { state: 'destroyed', holders: [] } },
        groups: { G1: null },
        views: { U1: null, U2: { groups: {}, users: { U2: 'bob' }, keys: {} } },
      }),
    ).toEqual([
      'key `K2000` does not exist',
      'key `K2001` is `destroyed`, held by nobody',
      'group `G1` does not exist',
      'user `U1` does not exist',
      'U2\'s device holds groups: none; users: U2 "bob"; keys: none',
    ]);
  });

  test('rule links: anchors stay, repository paths are taken from docs/', () => {
    expect(ruleLink('#group-key-policy')).toBe('#group-key-policy');
    expect(ruleLink('device/pinHash.ts')).toBe('../device/pinHash.ts');
  });
});
