import { describe, expect, test } from 'vitest';
import { createActor, initialTransition, transition } from 'xstate';
import type { AnyMachineSnapshot } from 'xstate';
import { explore, summarize } from './exhaustive.testkit.ts';
import { declaredTransitions } from './specDocument.ts';
import {
  KEY_EVENT_TYPES,
  KEY_STATES,
  KEY_TRANSITIONS,
  KEY_USAGE,
  keyLifecycleMachine,
  keyUsage,
  keyUsageAt,
  newKeyLifecycle,
  refusalOf,
} from './keyLifecycle.ts';
import type { KeyEvent, KeyEventType, KeyLifecycleSnapshot, KeyState, KeyUsage } from './keyLifecycle.ts';

const input = { id: 'K2000', cryptoperiodMs: 1_000, createdAt: 0 };
const ACTIVATED_AT = 100;
const EXPIRES_AT = ACTIVATED_AT + input.cryptoperiodMs;
/** Times on both sides of every guard: before, exactly at, and after the end of the cryptoperiod. */
const TIMES = [EXPIRES_AT - 1, EXPIRES_AT, EXPIRES_AT + 500];

/** The shortest event sequence that puts a fresh key (activated at 100) in `state`. */
const ROUTES: Record<KeyState, readonly KeyEvent[]> = {
  preActivation: [],
  active: [{ type: 'ACTIVATE', now: ACTIVATED_AT }],
  suspended: [
    { type: 'ACTIVATE', now: ACTIVATED_AT },
    { type: 'SUSPEND', now: 200 },
  ],
  deactivated: [
    { type: 'ACTIVATE', now: ACTIVATED_AT },
    { type: 'DEACTIVATE', now: 300 },
  ],
  compromised: [{ type: 'COMPROMISE', now: 50 }],
  destroyed: [{ type: 'DESTROY', now: 50 }],
  destroyedCompromised: [
    { type: 'COMPROMISE', now: 50 },
    { type: 'DESTROY', now: 60 },
  ],
};

function reach(state: KeyState): KeyLifecycleSnapshot {
  let snapshot = newKeyLifecycle(input);
  for (const event of ROUTES[state]) [snapshot] = transition(keyLifecycleMachine, snapshot, event);
  expect(snapshot.value).toBe(state);
  return snapshot;
}

/** What the table says an event at `now` does in `state`: the target, or null for a refusal. */
function expected(state: KeyState, type: KeyEventType, snapshot: KeyLifecycleSnapshot, now: number) {
  const row = KEY_TRANSITIONS[state][type];
  if (row === undefined) return null;
  const expiresAt = snapshot.context.expiresAt;
  if (row.guard === 'cryptoperiodEnded' && !(expiresAt !== null && now >= expiresAt)) return null;
  if (row.guard === 'cryptoperiodRunning' && !(expiresAt !== null && now < expiresAt)) return null;
  return row.target;
}

describe('keyLifecycleMachine against KEY_TRANSITIONS', () => {
  test('declares exactly the seven states and seven events', () => {
    expect(Object.keys(keyLifecycleMachine.root.states)).toEqual([...KEY_STATES]);
    expect([...keyLifecycleMachine.events].sort()).toEqual([...KEY_EVENT_TYPES].sort());
    expect(Object.keys(KEY_TRANSITIONS)).toEqual([...KEY_STATES]);
  });

  for (const state of KEY_STATES) {
    for (const type of KEY_EVENT_TYPES) {
      test(`${state} + ${type}`, () => {
        for (const now of TIMES) {
          const before = reach(state);
          const event = { type, now };
          const [after] = transition(keyLifecycleMachine, before, event);
          const target = expected(state, type, before, now);
          expect(before.can(event)).toBe(target !== null);
          if (target === null) {
            expect(after.value).toBe(state);
            expect(after.context).toEqual(before.context);
          } else {
            expect(after.value).toBe(target);
            // As accepted; an expiry dated at the end of the cryptoperiod, however late it came.
            const recorded = type === 'EXPIRE' ? { type, now: before.context.expiresAt } : event;
            expect(after.context.history).toEqual([...before.context.history, recorded]);
          }
        }
      });
    }
  }

  test('the machine declares exactly the table’s transitions, with the same guard names', () => {
    const declared = declaredTransitions(keyLifecycleMachine).map(
      (e) => `${e.source} ${e.event} ${e.target} ${e.guard ?? ''}`,
    );
    const table = KEY_STATES.flatMap((state) =>
      Object.entries(KEY_TRANSITIONS[state]).map(
        ([event, row]) => `${state} ${event} ${row.target} ${row.guard ?? ''}`,
      ),
    );
    expect(declared.sort()).toEqual(table.sort());
  });

  test('the table names a NIST or KMIP clause for every allowed transition', () => {
    for (const state of KEY_STATES) {
      for (const row of Object.values(KEY_TRANSITIONS[state])) {
        expect(row.clause).toMatch(/^(NIST T([2-9]|1[0-5])|KMIP (9|10))/);
      }
    }
  });

  test('only destroyedCompromised is final', () => {
    for (const state of KEY_STATES) {
      expect(reach(state).status === 'done').toBe(state === 'destroyedCompromised');
    }
  });
});

describe('timestamps', () => {
  test('first activation sets activatedAt and expiresAt = now + cryptoperiod', () => {
    const active = reach('active');
    expect(active.context.activatedAt).toBe(ACTIVATED_AT);
    expect(active.context.expiresAt).toBe(EXPIRES_AT);
  });

  test('suspend and resume record their times and never move expiresAt', () => {
    const [resumed] = transition(keyLifecycleMachine, reach('suspended'), { type: 'RESUME', now: 700 });
    expect(resumed.value).toBe('active');
    expect(resumed.context.suspendedAt).toBe(200);
    expect(resumed.context.resumedAt).toBe(700);
    expect(resumed.context.expiresAt).toBe(EXPIRES_AT);
  });

  test('RESUME at the end of the cryptoperiod is refused; EXPIRE then deactivates', () => {
    const suspended = reach('suspended');
    expect(suspended.can({ type: 'RESUME', now: EXPIRES_AT })).toBe(false);
    const [expired] = transition(keyLifecycleMachine, suspended, { type: 'EXPIRE', now: EXPIRES_AT });
    expect(expired.value).toBe('deactivated');
  });

  test('a late expiry is recorded at the end of the cryptoperiod, a manual deactivation at now', () => {
    const [expired] = transition(keyLifecycleMachine, reach('active'), {
      type: 'EXPIRE',
      now: EXPIRES_AT + 86_400_000,
    });
    expect(expired.context.deactivatedAt).toBe(EXPIRES_AT);
    // The history too: a sweep at any time after the end records the same key.
    expect(expired.context.history.at(-1)).toEqual({ type: 'EXPIRE', now: EXPIRES_AT });
    const [later] = transition(keyLifecycleMachine, reach('active'), { type: 'EXPIRE', now: EXPIRES_AT + 7 });
    expect(later.context).toEqual(expired.context);
    expect(reach('deactivated').context.deactivatedAt).toBe(300);
  });

  test('compromise and destruction record their own times', () => {
    const snapshot = reach('destroyedCompromised');
    expect(snapshot.context.compromisedAt).toBe(50);
    expect(snapshot.context.destroyedAt).toBe(60);
    const [both] = transition(keyLifecycleMachine, reach('destroyed'), { type: 'COMPROMISE', now: 90 });
    expect(both.value).toBe('destroyedCompromised');
    expect(both.context).toMatchObject({ destroyedAt: 50, compromisedAt: 90 });
  });

  test('a cryptoperiod must be positive', () => {
    for (const cryptoperiodMs of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => newKeyLifecycle({ ...input, cryptoperiodMs })).toThrow(RangeError);
      expect(initialTransition(keyLifecycleMachine, { ...input, cryptoperiodMs })[0].status).toBe('error');
    }
  });

  test('a fresh key has its creation time and nothing else: no other time, no history', () => {
    expect(newKeyLifecycle(input).context).toEqual({
      ...input,
      activatedAt: null,
      expiresAt: null,
      suspendedAt: null,
      resumedAt: null,
      deactivatedAt: null,
      compromisedAt: null,
      destroyedAt: null,
      history: [],
    });
  });

  test('a bad cryptoperiod is refused with a message naming it', () => {
    expect(() => newKeyLifecycle({ ...input, cryptoperiodMs: -7 })).toThrow(
      /cryptoperiodMs must be a positive number, got -7/,
    );
  });

  test('the machine has no timers: a persisted and restored key behaves the same', () => {
    const actor = createActor(keyLifecycleMachine, { input }).start();
    actor.send({ type: 'ACTIVATE', now: ACTIVATED_AT });
    const restored = createActor(keyLifecycleMachine, {
      input,
      snapshot: actor.getPersistedSnapshot(),
    }).start();
    expect(restored.getSnapshot().value).toBe('active');
    restored.send({ type: 'EXPIRE', now: EXPIRES_AT });
    expect(restored.getSnapshot().value).toBe('deactivated');
    expect(JSON.stringify(keyLifecycleMachine.toJSON())).not.toMatch(/xstate\.after/);
  });
});

describe('usage', () => {
  test('protect only in active; process in active, suspended, deactivated; reprotect also compromised', () => {
    const where = (flag: keyof KeyUsage) => KEY_STATES.filter((s) => keyUsage(s)[flag]);
    expect(where('protect')).toEqual(['active']);
    expect(where('process')).toEqual(['active', 'suspended', 'deactivated']);
    expect(where('reprotect')).toEqual(['active', 'suspended', 'deactivated', 'compromised']);
    // A rescue (re-protection on a stale view, the result marked) only from a compromised key.
    expect(where('rescue')).toEqual(['compromised']);
    expect(keyUsage('active')).toBe(KEY_USAGE.active);
  });

  test('an active key past its cryptoperiod no longer protects, but still processes', () => {
    const active = reach('active');
    expect(keyUsageAt('active', active.context, EXPIRES_AT - 1).protect).toBe(true);
    expect(keyUsageAt('active', active.context, EXPIRES_AT)).toEqual({
      protect: false,
      process: true,
      reprotect: true,
      rescue: false,
    });
    expect(keyUsageAt('suspended', active.context, 0)).toBe(KEY_USAGE.suspended);
    expect(keyUsageAt('active', active.context, ACTIVATED_AT - 1).protect).toBe(false);
  });
});

describe('snapshots the machine never makes', () => {
  // A key's snapshot is restored from a database row or an update file (persistedSnapshot.ts checks
  // the state name, not the times). A damaged row may say `active` or `suspended` with a time
  // missing: such a key never protects, expires or resumes, at any time (null must not be read as 0).
  const TIMES_AROUND_ZERO = [-50, 0, ACTIVATED_AT, EXPIRES_AT - 1, EXPIRES_AT];
  const damaged = (state: 'active' | 'suspended', times: Partial<KeyLifecycleSnapshot['context']>) =>
    keyLifecycleMachine.resolveState({ value: state, context: { ...reach(state).context, ...times } });

  test('no protection without both ends of the originator-usage period', () => {
    for (const times of [
      { activatedAt: null },
      { expiresAt: null },
      { activatedAt: -100, expiresAt: null },
      { activatedAt: null, expiresAt: null },
    ]) {
      const { context } = damaged('active', times);
      for (const now of TIMES_AROUND_ZERO) expect(keyUsageAt('active', context, now).protect, `${now}`).toBe(false);
    }
  });

  test('no expiry and no resumption without an end of the cryptoperiod', () => {
    for (const state of ['active', 'suspended'] as const) {
      const key = damaged(state, { expiresAt: null });
      for (const now of TIMES_AROUND_ZERO) {
        expect(key.can({ type: 'EXPIRE', now }), `${state} EXPIRE ${now}`).toBe(false);
        if (state === 'suspended') expect(key.can({ type: 'RESUME', now }), `RESUME ${now}`).toBe(false);
      }
    }
  });
});

describe('exhaustive graph checks', () => {
  const events: KeyEvent[] = [
    { type: 'ACTIVATE', now: ACTIVATED_AT },
    ...KEY_EVENT_TYPES.filter((t) => t !== 'ACTIVATE').flatMap((type) => TIMES.map((now) => ({ type, now }))),
  ];
  // History grows around the suspend/resume loop; the guards only read expiresAt.
  const serializeState = (s: AnyMachineSnapshot) =>
    JSON.stringify({ value: s.value, expiresAt: (s as KeyLifecycleSnapshot).context.expiresAt });
  const exploration = explore({
    machine: keyLifecycleMachine,
    input,
    events,
    serializeState,
    countSimplePaths: true,
  });

  test('every state reachable, every edge exercised, every refusal leaves the key unchanged', () => {
    console.log(summarize('keyLifecycle', exploration));
    expect([...exploration.reachedStates].sort()).toEqual([...KEY_STATES].sort());
    expect(exploration.unexercisedEdges).toEqual([]);
    expect(exploration.refusalsThatChanged).toEqual([]);
    expect(exploration.uncoveredUnhandledPairs).toEqual([]);
    const allowed = KEY_STATES.reduce((n, s) => n + Object.keys(KEY_TRANSITIONS[s]).length, 0);
    expect(exploration.declaredEdges).toHaveLength(allowed);
  });
});

describe('refusals in words', () => {
  const at = Date.UTC(2026, 1, 20, 9);

  test('the step refused, and the steps the state allows (never EXPIRE, the sweep alone sends it)', () => {
    expect(refusalOf('K2003', 'active', { type: 'ACTIVATE', now: at })).toBe(
      'key K2003 is active: it cannot be activated; it can be suspended, deactivated or marked compromised',
    );
    expect(refusalOf('K7', 'deactivated', { type: 'SUSPEND', now: at })).toBe(
      'key K7 is deactivated: it cannot be suspended; it can be marked compromised or destroyed',
    );
    expect(refusalOf('K7', 'compromised', { type: 'RESUME', now: at })).toBe(
      'key K7 is compromised: it cannot be resumed; it can be destroyed',
    );
    expect(refusalOf('K7', 'destroyedCompromised', { type: 'DESTROY', now: at })).toBe(
      'key K7 is destroyedCompromised: it cannot be destroyed; it can take no further step',
    );
  });

  test('a data key is deactivated before it is destroyed: T5 and T9 are for other kinds of key', () => {
    expect(KEY_TRANSITIONS.active.DESTROY).toBeUndefined();
    expect(KEY_TRANSITIONS.suspended.DESTROY).toBeUndefined();
    for (const state of ['active', 'suspended'] as const) {
      expect(refusalOf('K7', state, { type: 'DESTROY', now: 1 })).toMatch(
        new RegExp(
          `^key K7 is ${state}: it cannot be destroyed; .*; deactivate it first \\(a data key is destroyed once`,
        ),
      );
    }
    expect(refusalOf('K7', 'deactivated', { type: 'SUSPEND', now: 1 })).not.toContain('deactivate it first');
    let key = newKeyLifecycle({ id: 'K7', cryptoperiodMs: 1_000, createdAt: 0 });
    [key] = transition(keyLifecycleMachine, key, { type: 'ACTIVATE', now: 1 });
    expect(key.can({ type: 'DESTROY', now: 2 })).toBe(false);
    [key] = transition(keyLifecycleMachine, key, { type: 'SUSPEND', now: 2 });
    expect(key.can({ type: 'DESTROY', now: 3 })).toBe(false);
    [key] = transition(keyLifecycleMachine, key, { type: 'DEACTIVATE', now: 3 });
    [key] = transition(keyLifecycleMachine, key, { type: 'DESTROY', now: 4 });
    expect(key.value).toBe('destroyed');
  });

  test('a step the state has but its guard refused says why, and when', () => {
    expect(refusalOf('K7', 'suspended', { type: 'RESUME', now: at })).toBe(
      'key K7 is suspended: it cannot be resumed at 2026-02-20T09:00:00.000Z: its cryptoperiod has ended; ' +
        'it can be deactivated or marked compromised',
    );
    expect(refusalOf('K7', 'active', { type: 'EXPIRE', now: at })).toMatch(
      /^key K7 is active: it cannot be expired at 2026-02-20T09:00:00\.000Z: its cryptoperiod is still running;/,
    );
  });

  test('every refusal the machine makes reads so: each state, each event it refuses', () => {
    for (const state of KEY_STATES) {
      for (const type of KEY_EVENT_TYPES) {
        const message = refusalOf('K1', state, { type, now: at });
        expect(message).toMatch(new RegExp(`^key K1 is ${state}: it cannot be [a-z ]+(;| at )`));
        expect(message).not.toMatch(/EXPIRE|ACTIVATE|undefined/);
      }
    }
  });
});
