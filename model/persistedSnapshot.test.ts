import { describe, expect, test } from 'vitest';
import { createMachine, initialTransition, transition } from 'xstate';
import type { AnyStateMachine } from 'xstate';
import { keyLifecycleMachine } from './keyLifecycle.ts';
import { PersistedSnapshotError, persistSnapshot, restoreSnapshot } from './persistedSnapshot.ts';
import { pinSessionMachine } from './pinSession.ts';
import { publicationMachine } from './publication.ts';
import { updateProcessingMachine } from './updateProcessing.ts';

const DAY = 86_400_000;

function refusal(run: () => unknown): PersistedSnapshotError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(PersistedSnapshotError);
    return error as PersistedSnapshotError;
  }
  throw new Error('expected a PersistedSnapshotError');
}

describe('persistedSnapshot', () => {
  test('a snapshot is saved as { value, context } JSON, byte for byte as before', () => {
    let [s] = initialTransition(keyLifecycleMachine, { id: 'K1', createdAt: 0, cryptoperiodMs: DAY });
    [s] = transition(keyLifecycleMachine, s, { type: 'ACTIVATE', now: 5 });
    expect(persistSnapshot(s)).toBe(JSON.stringify({ value: s.value, context: s.context }));
  });

  test.each([
    [
      'keyLifecycle',
      keyLifecycleMachine,
      { id: 'K1', createdAt: 0, cryptoperiodMs: DAY },
      { type: 'ACTIVATE', now: 1 },
    ],
    ['pinSession', pinSessionMachine, {}, { type: 'LOGIN', level: 'user' }],
    ['updateProcessing', updateProcessingMachine, {}, { type: 'OPEN', resync: false, fileHash: 'h' }],
    ['publication', publicationMachine, { userId: 'U1', staleAfterMs: DAY }, { type: 'PUBLISH', sequence: 1, now: 0 }],
  ] as const)('%s: restore(persist(s)) is s, and goes on the same way', (_name, machine, input, event) => {
    const m = machine as AnyStateMachine;
    let [s] = initialTransition(m, input);
    [s] = transition(m, s, event);
    const restored = restoreSnapshot(m, persistSnapshot(s));
    expect(restored.value).toEqual(s.value);
    expect(restored.context).toEqual(s.context);
    expect(persistSnapshot(restored)).toBe(persistSnapshot(s));
    expect(restored.status).toBe('active');
  });

  test('configuration in the context may be overridden on restore', () => {
    const [s] = initialTransition(publicationMachine, { userId: 'U1', staleAfterMs: DAY });
    const restored = restoreSnapshot(publicationMachine, persistSnapshot(s), { staleAfterMs: 2 * DAY });
    expect(restored.context).toEqual({ ...s.context, staleAfterMs: 2 * DAY });
  });

  test('an unknown state is refused with a clear error', () => {
    const e = refusal(() => restoreSnapshot(keyLifecycleMachine, JSON.stringify({ value: 'revoked', context: {} })));
    expect(e.code).toBe('UnknownState');
    expect(e.message).toMatch(
      /keyLifecycle: persisted state revoked is not a state of the machine \(it has preActivation, active/,
    );
    // Inherited names are not states either.
    expect(refusal(() => restoreSnapshot(keyLifecycleMachine, '{"value":"constructor","context":{}}')).code).toBe(
      'UnknownState',
    );
    for (const value of [null, 3, [], {}]) {
      expect(refusal(() => restoreSnapshot(keyLifecycleMachine, JSON.stringify({ value, context: {} }))).code).toBe(
        'UnknownState',
      );
    }
  });

  test('text that is not a persisted snapshot is refused', () => {
    for (const text of [
      '',
      '{',
      '"active"',
      '[]',
      '{"value":"active"}',
      '{"value":"active","context":null}',
      '{"value":"active","context":[]}',
      '{"context":{}}',
    ]) {
      const e = refusal(() => restoreSnapshot(keyLifecycleMachine, text));
      expect(e.code, text).toBe('MalformedSnapshot');
      expect(e.name).toBe('PersistedSnapshotError');
    }
  });

  test('nested state values are checked at every level', () => {
    const nested = createMachine({
      id: 'nested',
      initial: 'on',
      states: { off: {}, on: { initial: 'low', states: { low: {}, high: {} } } },
    });
    const [s] = initialTransition(nested);
    expect(restoreSnapshot(nested, persistSnapshot(s)).value).toEqual({ on: 'low' });
    expect(restoreSnapshot(nested, '{"value":{"on":"high"},"context":{}}').value).toEqual({ on: 'high' });
    expect(refusal(() => restoreSnapshot(nested, '{"value":{"on":"max"},"context":{}}')).message).toMatch(
      /state on\.max is not/,
    );
    expect(refusal(() => restoreSnapshot(nested, '{"value":{"dim":"low"},"context":{}}')).message).toMatch(
      /state dim is not/,
    );
  });
  test('every region of a parallel state value is checked', () => {
    const parallel = createMachine({
      id: 'parallel',
      type: 'parallel',
      states: {
        power: { initial: 'on', states: { on: {}, off: {} } },
        mode: { initial: 'auto', states: { auto: {}, manual: {} } },
      },
    });
    const [s] = initialTransition(parallel);
    expect(restoreSnapshot(parallel, persistSnapshot(s)).value).toEqual({ power: 'on', mode: 'auto' });
    const e = refusal(() => restoreSnapshot(parallel, '{"value":{"power":"off","mode":"turbo"},"context":{}}'));
    expect(e.code).toBe('UnknownState');
    expect(e.message).toMatch(/state mode\.turbo is not/);
  });

  test('refusals name the machine and what is wrong with the text', () => {
    const message = (text: string) => refusal(() => restoreSnapshot(keyLifecycleMachine, text)).message;
    expect(message('{')).toMatch(/^keyLifecycle: persisted snapshot is not JSON \(SyntaxError/);
    expect(message('[]')).toMatch(/^keyLifecycle: persisted snapshot is not \{ value, context \}$/);
    // A value that is not a state name nor an object of them is shown as JSON.
    for (const value of [null, 3, ['active'], {}]) {
      expect(message(JSON.stringify({ value, context: {} }))).toContain(
        `persisted state ${JSON.stringify(value)} is not a state`,
      );
    }
  });
});
