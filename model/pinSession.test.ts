import { describe, expect, test } from 'vitest';
import { createActor, initialTransition, transition } from 'xstate';
import { explore, summarize } from './exhaustive.testkit.ts';
import { DEFAULT_PIN_RETRIES, PIN_EVENT_TYPES, PIN_STATES, pinSessionMachine } from './pinSession.ts';
import type { PinEvent, PinLevel, PinSessionInput } from './pinSession.ts';

type Snapshot = ReturnType<typeof pinSessionMachine.getInitialSnapshot>;

function run(events: readonly PinEvent[], input: PinSessionInput = {}): Snapshot {
  let [snapshot] = initialTransition(pinSessionMachine, input);
  for (const event of events) [snapshot] = transition(pinSessionMachine, snapshot, event);
  return snapshot;
}

const wrong = (level: PinLevel): PinEvent[] => [{ type: 'LOGIN', level }, { type: 'PIN_REJECTED' }];
const right = (level: PinLevel): PinEvent[] => [{ type: 'LOGIN', level }, { type: 'PIN_ACCEPTED' }];

describe('pinSession', () => {
  test('logs in at user or admin level and out again', () => {
    expect(run(right('user')).value).toBe('user');
    expect(run(right('admin')).value).toBe('admin');
    expect(run([...right('admin'), { type: 'LOGOUT' }]).value).toBe('loggedOut');
  });

  test('the try is spent before the comparison, so a power cut gives no free try', () => {
    const checking = run([{ type: 'LOGIN', level: 'user' }]);
    expect(checking.value).toBe('checking');
    expect(checking.context.retriesLeft.user).toBe(DEFAULT_PIN_RETRIES - 1);
    const afterCut = run([{ type: 'LOGIN', level: 'user' }, { type: 'POWER_LOSS' }]);
    expect(afterCut.value).toBe('loggedOut');
    expect(afterCut.context.retriesLeft.user).toBe(DEFAULT_PIN_RETRIES - 1);
  });

  test('a success restores the counter of its level only', () => {
    const s = run([...wrong('user'), ...wrong('admin'), ...right('user')]);
    expect(s.context.retriesLeft).toEqual({ user: 3, admin: 2 });
  });

  test('consecutive failures lock the user level; an admin can reset it', () => {
    const locked = run([...wrong('user'), ...wrong('user'), ...wrong('user')]);
    expect(locked.value).toBe('loggedOut');
    expect(locked.can({ type: 'LOGIN', level: 'user' })).toBe(false);
    expect(locked.can({ type: 'LOGIN', level: 'admin' })).toBe(true);
    const reset = run([
      ...wrong('user'),
      ...wrong('user'),
      ...wrong('user'),
      ...right('admin'),
      { type: 'RESET_USER_PIN' },
    ]);
    expect(reset.context.retriesLeft.user).toBe(3);
    expect(reset.value).toBe('admin');
  });

  test('a reset order restores a locked user level while logged out, and is refused in every other state', () => {
    const locked = run([...wrong('user'), ...wrong('user'), ...wrong('user')]);
    expect(locked.can({ type: 'LOGIN', level: 'user' })).toBe(false);
    const [reset, actions] = transition(pinSessionMachine, locked, { type: 'RESET_ORDER_ACCEPTED' });
    expect(actions).toEqual([]); // nothing is erased
    expect(reset.value).toBe('loggedOut');
    expect(reset.context.retriesLeft).toEqual({ user: 3, admin: 3 });
    expect(reset.can({ type: 'LOGIN', level: 'user' })).toBe(true);
    // Only logged out: a session, an attempt being compared, or a locked device refuse it.
    const order: PinEvent = { type: 'RESET_ORDER_ACCEPTED' };
    expect(run(right('user')).can(order)).toBe(false);
    expect(run(right('admin')).can(order)).toBe(false);
    expect(run([{ type: 'LOGIN', level: 'user' }]).can(order)).toBe(false);
    expect(run([...wrong('admin'), ...wrong('admin'), ...wrong('admin')]).can(order)).toBe(false);
    // The admin level's spent tries stay spent: the order is about the user level only.
    expect(run([...wrong('admin'), order]).context.retriesLeft).toEqual({ user: 3, admin: 2 });
  });

  test('a user session can neither reset PINs nor factory-reset', () => {
    const user = run(right('user'));
    expect(user.can({ type: 'RESET_USER_PIN' })).toBe(false);
    expect(user.can({ type: 'FACTORY_RESET' })).toBe(false);
  });

  test('a locked admin level leaves the device locked until a factory reset that erases every key', () => {
    const locked = run([...wrong('admin'), ...wrong('admin'), ...wrong('admin')]);
    expect(locked.value).toBe('locked');
    for (const type of PIN_EVENT_TYPES) {
      if (type === 'FACTORY_RESET') continue;
      const event = (type === 'LOGIN' ? { type, level: 'user' } : { type }) as PinEvent;
      expect(locked.can(event)).toBe(false);
    }
    const [fresh, actions] = transition(pinSessionMachine, locked, { type: 'FACTORY_RESET' });
    expect(actions.map((a) => a.type)).toEqual(['eraseAllKeys']);
    expect(fresh.value).toBe('loggedOut');
    expect(fresh.context.retriesLeft).toEqual({ user: 3, admin: 3 });
  });

  test('an actor runs the erase action on factory reset (the device hooks its wipe there)', () => {
    let erased = 0;
    const machine = pinSessionMachine.provide({
      actions: {
        eraseAllKeys: () => {
          erased += 1;
        },
      },
    });
    const actor = createActor(machine, { input: {} }).start();
    actor.send({ type: 'FACTORY_RESET' });
    expect(erased).toBe(1);
    // The default implementation is a no-op: the model itself has no keys to erase.
    const plain = createActor(pinSessionMachine, { input: {} }).start();
    plain.send({ type: 'FACTORY_RESET' });
    expect(plain.getSnapshot().value).toBe('loggedOut');
  });

  test('a power cut on the last admin try still locks the device', () => {
    const s = run([...wrong('admin'), ...wrong('admin'), { type: 'LOGIN', level: 'admin' }, { type: 'POWER_LOSS' }]);
    expect(s.value).toBe('locked');
  });

  test('counters restored from flash: a device with no admin tries boots locked', () => {
    expect(run([], { retriesLeft: { user: 3, admin: 0 } }).value).toBe('locked');
    expect(run([], { maxRetries: 5, retriesLeft: { user: 0, admin: 1 } }).value).toBe('loggedOut');
    // A single try is a valid limit.
    expect(run([], { maxRetries: 1 }).context.retriesLeft).toEqual({ user: 1, admin: 1 });
  });

  test('bad inputs are refused', () => {
    for (const input of [
      { maxRetries: 0 },
      { maxRetries: 1.5 },
      { retriesLeft: { user: 4, admin: 3 } },
      { retriesLeft: { user: 1, admin: -1 } },
    ]) {
      expect(initialTransition(pinSessionMachine, input)[0].status).toBe('error');
    }
  });

  test('bad inputs are refused with a message naming the value', () => {
    const message = (input: PinSessionInput) =>
      String((initialTransition(pinSessionMachine, input)[0].error as Error).message);
    expect(message({ maxRetries: 0 })).toMatch(/maxRetries must be a positive integer, got 0/);
    expect(message({ retriesLeft: { user: 4, admin: 3 } })).toMatch(/retriesLeft\.user must be in 0\.\.3, got 4/);
    expect(message({ retriesLeft: { user: 1, admin: -1 } })).toMatch(/retriesLeft\.admin must be in 0\.\.3, got -1/);
  });

  test('exhaustive: every state reachable, every edge exercised, every refusal changes nothing', () => {
    const events: PinEvent[] = [
      { type: 'LOGIN', level: 'user' },
      { type: 'LOGIN', level: 'admin' },
      { type: 'PIN_ACCEPTED' },
      { type: 'PIN_REJECTED' },
      { type: 'POWER_LOSS' },
      { type: 'LOGOUT' },
      { type: 'RESET_USER_PIN' },
      { type: 'RESET_ORDER_ACCEPTED' },
      { type: 'FACTORY_RESET' },
    ];
    const e = explore({ machine: pinSessionMachine, input: {}, events });
    console.log(summarize('pinSession', e));
    expect([...e.reachedStates].sort()).toEqual([...PIN_STATES].sort());
    expect(e.unexercisedEdges).toEqual([]);
    expect(e.refusalsThatChanged).toEqual([]);
    expect(e.uncoveredUnhandledPairs).toEqual([]);
    // Tries per level go 3..0 and the attempt level is tracked: the graph is finite and covers all.
    expect(e.vertices).toBeGreaterThan(PIN_STATES.length);
  });
});
