import { describe, expect, test, vi } from 'vitest';
import { log, setup, initialTransition as xInitial, transition as xTransition } from 'xstate';
import { KEY_EVENT_TYPES, keyLifecycleMachine, newKeyLifecycle } from './keyLifecycle.ts';
import { pinSessionMachine } from './pinSession.ts';
import { initialTransition, transition } from './pureTransition.ts';

describe('pure transitions with a reused scope', () => {
  test('give the snapshots and actions of xstate’s own functions, call after call', () => {
    const input = { maxRetries: 3 };
    const [ours] = initialTransition(pinSessionMachine, input);
    const [theirs] = xInitial(pinSessionMachine, input);
    expect(ours.value).toEqual(theirs.value);
    expect(ours.context).toEqual(theirs.context);
    let a = ours;
    let b = theirs;
    const events = [
      { type: 'LOGIN', level: 'user' },
      { type: 'PIN_REJECTED' },
      { type: 'LOGIN', level: 'user' },
      { type: 'PIN_ACCEPTED' },
      { type: 'LOGOUT' },
      { type: 'LOGIN', level: 'admin' },
      { type: 'PIN_REJECTED' },
      { type: 'LOGIN', level: 'admin' },
      { type: 'POWER_LOSS' },
      { type: 'LOGIN', level: 'admin' },
      { type: 'PIN_REJECTED' },
      { type: 'FACTORY_RESET' },
    ] as const;
    for (const event of events) {
      const [na, actionsA] = transition(pinSessionMachine, a, event as never);
      const [nb, actionsB] = xTransition(pinSessionMachine, b, event as never);
      expect(na.value).toEqual(nb.value);
      expect(na.context).toEqual(nb.context);
      expect(actionsA.map((x) => x.type)).toEqual(actionsB.map((x) => x.type));
      a = na;
      b = nb;
    }
  });

  test('a key life cycle steps alike through every event, in turn', () => {
    let ours = newKeyLifecycle({ id: 'K1', createdAt: 0, cryptoperiodMs: 1000 });
    let theirs = ours;
    for (const [i, type] of [...KEY_EVENT_TYPES, ...KEY_EVENT_TYPES].entries()) {
      const event = { type, now: 5 + i } as never;
      [ours] = transition(keyLifecycleMachine, ours, event);
      [theirs] = xTransition(keyLifecycleMachine, theirs, event);
      expect(ours.value).toEqual(theirs.value);
      expect(ours.context).toEqual(theirs.context);
    }
  });
  test('the reused scope is inert: an action run from it logs nothing', () => {
    const machine = setup({}).createMachine({
      initial: 'a',
      states: { a: { on: { GO: { target: 'b', actions: log('seen') } } }, b: {} },
    });
    const [start] = initialTransition(machine);
    const [next, actions] = transition(machine, start, { type: 'GO' });
    expect(next.value).toBe('b');
    expect(actions.map((a) => a.type)).toEqual(['xstate.log']);
    const spy = vi.spyOn(console, 'log').mockImplementation(() => {});
    try {
      for (const action of actions) action.exec?.(action.info, action.params);
      expect(spy).not.toHaveBeenCalled();
    } finally {
      spy.mockRestore();
    }
  });
  test('one scope per machine, built once: every call runs with the same inert actor', () => {
    const machine = setup({ actions: { note: () => {} } }).createMachine({
      initial: 'a',
      states: {
        a: { on: { GO: { target: 'b', actions: 'note' } } },
        b: { on: { GO: { target: 'a', actions: 'note' } } },
      },
    });
    const [start] = initialTransition(machine);
    const [b, [first]] = transition(machine, start, { type: 'GO' });
    const [, [second]] = transition(machine, b, { type: 'GO' });
    expect(first?.info.self).toBeDefined();
    expect(second?.info.self).toBe(first?.info.self);
    const [, [other]] = transition(
      keyLifecycleMachine,
      newKeyLifecycle({ id: 'K1', createdAt: 0, cryptoperiodMs: 9 }),
      {
        type: 'ACTIVATE',
        now: 1,
      },
    );
    expect(other?.info.self).not.toBe(first?.info.self);
  });

  test("a transition taken inside another one's guard does not take the outer transition's actions", () => {
    let inner: readonly { type: string }[] = [];
    const machine = setup({
      actions: { outer: () => {}, inner: () => {} },
      guards: {
        // A guard that itself steps the same machine (through the same shared scope).
        stepsInside: () => {
          [, inner] = transition(machine, initialTransition(machine)[0], { type: 'INNER' });
          return true;
        },
      },
    }).createMachine({
      types: { events: {} as { type: 'GO' } | { type: 'INNER' } },
      initial: 'a',
      states: {
        a: {
          on: { GO: { guard: 'stepsInside', target: 'b', actions: 'outer' }, INNER: { target: 'b', actions: 'inner' } },
        },
        b: {},
      },
    });
    const [next, actions] = transition(machine, initialTransition(machine)[0], { type: 'GO' });
    expect(next.value).toBe('b');
    expect(actions.map((a) => a.type)).toEqual(['outer']);
    expect(inner.map((a) => a.type)).toEqual(['inner']);
  });
});
