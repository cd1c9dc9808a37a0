import { describe, expect, test } from 'vitest';
import { GROUP_KEY_EVENTS, GROUP_KEY_POLICY, groupKeyRule } from './groupKeyPolicy.ts';
import { KEY_STATES } from './keyLifecycle.ts';

describe('the group key policy table', () => {
  test('exactly one row applies to every event in every group setting', () => {
    for (const event of GROUP_KEY_EVENTS) {
      for (const shareHistory of [false, true]) {
        const rows = GROUP_KEY_POLICY.filter(
          (r) => r.event === event && (r.shareHistory === 'any' || r.shareHistory === shareHistory),
        );
        expect(rows, `${event} with shareHistory ${shareHistory}`).toHaveLength(1);
        expect(groupKeyRule(event, shareHistory)).toBe(rows[0]);
      }
    }
  });

  test('every row says what happens to a key in every state', () => {
    for (const rule of GROUP_KEY_POLICY) expect(Object.keys(rule.keys).sort()).toEqual([...KEY_STATES].sort());
  });

  test('compromised and destroyed keys are never given, and only joins give keys', () => {
    for (const rule of GROUP_KEY_POLICY) {
      for (const state of ['compromised', 'destroyed', 'destroyedCompromised'] as const) {
        expect(rule.keys[state]).toBe('keep');
      }
      const gives = Object.values(rule.keys).some((f) => f === 'give' || f === 'retireIfHeld');
      expect(gives).toBe(rule.event === 'join');
    }
  });
});
