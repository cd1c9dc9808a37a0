import { describe, expect, test } from 'vitest';
import { initialTransition, transition } from 'xstate';
import { explore, summarize } from './exhaustive.testkit.ts';
import {
  DEFAULT_MAX_REFUSALS,
  REFUSAL_REASONS,
  UPDATE_STATES,
  refusalFor,
  updateProcessingMachine,
} from './updateProcessing.ts';
import type { UpdateEvent, UpdateProcessingInput, UpdateProcessingSnapshot, VerifiedFacts } from './updateProcessing.ts';

const good: VerifiedFacts = { authentic: true, forThisRecipient: true, sequence: 1, resync: false, extendsAppliedChain: true };

function run(events: readonly UpdateEvent[], input: UpdateProcessingInput = {}): UpdateProcessingSnapshot {
  let [s] = initialTransition(updateProcessingMachine, input);
  for (const e of events) [s] = transition(updateProcessingMachine, s, e);
  return s;
}

/** The events of one whole file, up to the verification. */
const file = (facts: Partial<VerifiedFacts> = {}, resyncName = false): UpdateEvent[] => [
  { type: 'OPEN', resync: resyncName },
  { type: 'OPENED', truncated: false, malformed: false },
  { type: 'VERIFIED', ...good, ...facts },
];
const apply = (hash: string): UpdateEvent => ({ type: 'APPLIED', fileHash: hash });

describe('updateProcessing', () => {
  test('a good file goes idle → opening → verifying → applying → applied', () => {
    const states: string[] = [];
    let [s] = initialTransition(updateProcessingMachine, {});
    states.push(String(s.value));
    for (const e of [...file(), apply('h1')]) {
      [s] = transition(updateProcessingMachine, s, e);
      states.push(String(s.value));
    }
    expect(states).toEqual(['idle', 'opening', 'verifying', 'applying', 'applied']);
    expect(s.context).toMatchObject({ lastSequence: 1, lastFileHash: 'h1', consecutiveRefusals: 0 });
  });

  test.each([
    ['truncated', [{ type: 'OPEN', resync: false }, { type: 'OPENED', truncated: true, malformed: false }]],
    ['corrupt', [{ type: 'OPEN', resync: false }, { type: 'OPENED', truncated: false, malformed: true }]],
    ['forged', file({ authentic: false })],
    ['wrongRecipient', file({ forThisRecipient: false })],
    ['replayed', file({ sequence: 3 })],
    ['rolledBack', file({ sequence: 2 })],
    ['gap', file({ sequence: 5 })],
    ['forged', file({ sequence: 4, extendsAppliedChain: false })],
  ] as const)('refuses %s and keeps the applied state', (reason, events) => {
    const s = run(events as readonly UpdateEvent[], { lastSequence: 3, lastFileHash: 'h3' });
    expect(s.value).toBe('refused');
    expect(s.context).toMatchObject({ lastRefusal: reason, lastSequence: 3, lastFileHash: 'h3', consecutiveRefusals: 1 });
  });

  test('every refusal reason is reachable', () => {
    const seen = new Set<string>();
    for (const facts of [{ authentic: false }, { forThisRecipient: false }, { sequence: 3 }, { sequence: 2 }, { sequence: 9 }]) {
      seen.add(String(refusalFor(run([], { lastSequence: 3 }).context, { ...good, ...facts })));
    }
    seen.add(String(run([{ type: 'OPEN', resync: false }, { type: 'OPENED', truncated: true, malformed: false }]).context.lastRefusal));
    seen.add(String(run([{ type: 'OPEN', resync: false }, { type: 'OPENED', truncated: false, malformed: true }]).context.lastRefusal));
    expect([...seen].sort()).toEqual([...REFUSAL_REASONS].sort());
  });

  test('a power cut while applying keeps nothing of the file', () => {
    const s = run([...file(), { type: 'POWER_LOSS' }]);
    expect(s.value).toBe('idle');
    expect(s.context).toMatchObject({ lastSequence: 0, pending: null });
    expect(run([...file(), { type: 'POWER_LOSS' }, ...file(), apply('h1')]).context.lastSequence).toBe(1);
  });

  test(`after ${DEFAULT_MAX_REFUSALS} consecutive refusals the user is blocked until a resync applies`, () => {
    const bad = Array.from({ length: DEFAULT_MAX_REFUSALS }, () => file({ authentic: false })).flat();
    const blocked = run(bad);
    expect(blocked.value).toBe('blocked');
    expect(blocked.can({ type: 'OPEN', resync: false })).toBe(false);
    // An incremental file dressed as a resync is still refused while blocked.
    expect(run([...bad, ...file({}, true)]).value).toBe('blocked');
    expect(run([...bad, ...file({}, true)]).context.lastRefusal).toBe('gap');
    const resynced = run([...bad, ...file({ resync: true, sequence: 7, extendsAppliedChain: false }, true), apply('h7')]);
    expect(resynced.value).toBe('applied');
    expect(resynced.context).toMatchObject({ lastSequence: 7, consecutiveRefusals: 0, lastRefusal: null });
  });

  test('a resync may skip sequences but never go back', () => {
    expect(run([...file({ resync: true, sequence: 9, extendsAppliedChain: false }), apply('h9')]).context.lastSequence).toBe(9);
    expect(run(file({ resync: true, sequence: 2 }), { lastSequence: 4 }).context.lastRefusal).toBe('rolledBack');
  });

  test('a success resets the refusal count', () => {
    const s = run([...file({ authentic: false }), ...file({ authentic: false }), ...file(), apply('h1')]);
    expect(s.context.consecutiveRefusals).toBe(0);
  });

  test('a device restored at the refusal limit boots blocked; bad inputs are refused', () => {
    expect(run([], { consecutiveRefusals: 5 }).value).toBe('blocked');
    for (const input of [{ maxRefusals: 0 }, { lastSequence: -1 }, { consecutiveRefusals: 0.5 }]) {
      expect(initialTransition(updateProcessingMachine, input)[0].status).toBe('error');
    }
  });

  test('exhaustive: every state reachable, every edge exercised, every refusal changes nothing', () => {
    const verifiedVariants: UpdateEvent[] = [];
    for (const authentic of [true, false])
      for (const forThisRecipient of [true, false])
        for (const sequence of [0, 1, 2])
          for (const resync of [true, false])
            for (const extendsAppliedChain of [true, false])
              verifiedVariants.push({ type: 'VERIFIED', authentic, forThisRecipient, sequence, resync, extendsAppliedChain });
    const events: UpdateEvent[] = [
      { type: 'OPEN', resync: false },
      { type: 'OPEN', resync: true },
      { type: 'OPENED', truncated: true, malformed: false },
      { type: 'OPENED', truncated: false, malformed: true },
      { type: 'OPENED', truncated: false, malformed: false },
      ...verifiedVariants,
      { type: 'APPLIED', fileHash: 'h' },
      { type: 'POWER_LOSS' },
    ];
    const e = explore({ machine: updateProcessingMachine, input: { maxRefusals: 2 }, events });
    console.log(summarize('updateProcessing', e));
    expect([...e.reachedStates].sort()).toEqual([...UPDATE_STATES].sort());
    expect(e.unexercisedEdges).toEqual([]);
    expect(e.refusalsThatChanged).toEqual([]);
    expect(e.uncoveredUnhandledPairs).toEqual([]);
  });
});
