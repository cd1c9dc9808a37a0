import { describe, expect, test } from 'vitest';
import { initialTransition, transition } from 'xstate';
import { explore, summarize } from './exhaustive.testkit.ts';
import { PUBLICATION_STATES, caughtUp, heartbeatDue, publicationMachine } from './publication.ts';
import type { PublicationEvent, PublicationSnapshot } from './publication.ts';

const input = { userId: 'U1', staleAfterMs: 100 };
function run(events: readonly PublicationEvent[]): PublicationSnapshot {
  let [s] = initialTransition(publicationMachine, input);
  for (const e of events) [s] = transition(publicationMachine, s, e);
  return s;
}
const publish = (sequence: number, now: number): PublicationEvent => ({ type: 'PUBLISH', sequence, now });
const ack = (sequence: number, now: number, nextPublishedAt: number | null = null): PublicationEvent => ({
  type: 'ACK',
  sequence,
  now,
  nextPublishedAt,
});
const tick = (now: number): PublicationEvent => ({ type: 'TICK', now });

describe('publication', () => {
  test('upToDate → pending → acknowledged → pending', () => {
    expect(run([]).value).toBe('upToDate');
    expect(run([publish(1, 0)]).value).toBe('pending');
    expect(run([publish(1, 0), ack(1, 10)]).value).toBe('acknowledged');
    expect(run([publish(1, 0), ack(1, 10), publish(2, 20)]).context).toMatchObject({
      publishedSequence: 2,
      acknowledgedSequence: 1,
      pendingSince: 20,
    });
  });

  test('caught up: nothing published, or the latest file acknowledged; a pending or stale user owes', () => {
    expect(PUBLICATION_STATES.filter(caughtUp)).toEqual(['upToDate', 'acknowledged']);
    expect(caughtUp(run([publish(1, 0), ack(1, 10)]).value)).toBe(true);
    expect(caughtUp(run([publish(1, 0), ack(1, 10), publish(2, 20)]).value)).toBe(false);
  });

  test('a user who does not acknowledge for staleAfterMs becomes stale; an ack brings it back', () => {
    expect(run([publish(1, 0), tick(99)]).value).toBe('pending');
    expect(run([publish(1, 0), publish(2, 50), tick(100)]).value).toBe('stale');
    expect(run([publish(1, 0), publish(2, 50), tick(100), ack(1, 120)]).value).toBe('pending');
    expect(run([publish(1, 0), publish(2, 50), tick(100), ack(2, 120)]).value).toBe('acknowledged');
  });

  test('progress restarts the staleness clock when the oldest file still waiting was published', () => {
    // File 2 was published at 10: acknowledging 1 at 90 leaves it waiting since 10, not since 90.
    expect(run([publish(1, 0), publish(2, 10), ack(1, 90, 10)]).context.pendingSince).toBe(10);
    expect(run([publish(1, 0), publish(2, 10), ack(1, 90, 10), tick(109)]).value).toBe('pending');
    expect(run([publish(1, 0), publish(2, 10), ack(1, 90, 10), tick(110)]).value).toBe('stale');
    // Stale, an acknowledgement of progress whose next file is overdue too leaves it stale; pending
    // (no TICK since it became overdue), it leaves it pending and overdue, for the next TICK to say.
    expect(run([publish(1, 0), publish(2, 10), publish(3, 60), tick(100), ack(1, 110, 10)]).value).toBe('stale');
    const overdue = run([publish(1, 0), publish(2, 10), publish(3, 60), ack(1, 110, 10)]);
    expect(overdue.value).toBe('pending');
    expect(overdue.context).toMatchObject({ acknowledgedSequence: 1, pendingSince: 10 });
    expect(transition(publicationMachine, overdue, tick(110))[0].value).toBe('stale');
    expect(run([publish(1, 0), publish(2, 10), publish(3, 60), tick(100), ack(2, 110, 60)]).value).toBe('pending');
    // One whose next file is recent gives the user until that file is overdue.
    expect(run([publish(1, 0), publish(2, 50), tick(100), ack(1, 105, 50), tick(149)]).value).toBe('pending');
  });

  test('a time unknown (a file published before it was recorded) restarts the clock at the collection', () => {
    expect(run([publish(1, 0), publish(2, 10), ack(1, 90)]).context.pendingSince).toBe(90);
    expect(run([publish(1, 0), publish(2, 10), ack(1, 90), tick(189)]).value).toBe('pending');
    expect(run([publish(1, 0), publish(2, 10), ack(1, 90), tick(190)]).value).toBe('stale');
  });

  test('the time a progress gives is kept between the old pending time and now', () => {
    // Never before the first file that was waiting (a later one was published no earlier), never after now.
    expect(run([publish(1, 5), publish(2, 10), ack(1, 90, 0)]).context.pendingSince).toBe(5);
    expect(run([publish(1, 10), publish(2, 20), ack(1, 90, 500)]).context.pendingSince).toBe(90);
    // A pending snapshot without its pending time (a damaged row) takes the time the progress gives.
    const pending = run([publish(1, 0), publish(2, 5)]);
    const damaged = publicationMachine.resolveState({
      value: 'pending',
      context: { ...pending.context, pendingSince: null },
    });
    expect(transition(publicationMachine, damaged, ack(1, 90, 5))[0].context.pendingSince).toBe(5);
  });

  test('forged or out-of-order acknowledgements and non-increasing publications are refused', () => {
    const pending = run([publish(2, 0)]);
    expect(pending.can(ack(3, 5))).toBe(false);
    expect(pending.can(ack(0, 5))).toBe(false);
    expect(pending.can(publish(2, 5))).toBe(false);
    expect(run([]).can(ack(0, 1))).toBe(false);
    expect(initialTransition(publicationMachine, { userId: 'U1', staleAfterMs: 0 })[0].status).toBe('error');
    const [bad] = initialTransition(publicationMachine, { userId: 'U1', staleAfterMs: -3 });
    expect(String(bad.error)).toMatch(/staleAfterMs must be a positive number, got -3/);
  });

  test('a pending snapshot without its pending time (a damaged row) is never overdue: null is not time 0', () => {
    const pending = run([publish(1, 0)]);
    const damaged = publicationMachine.resolveState({
      value: 'pending',
      context: { ...pending.context, pendingSince: null },
    });
    expect(damaged.can(tick(1000))).toBe(false);
    expect(pending.can(tick(1000))).toBe(true);
  });

  test('exhaustive: every state reachable, every edge exercised, every refusal changes nothing', () => {
    const events: PublicationEvent[] = [];
    for (const now of [0, 100, 200]) {
      for (const sequence of [0, 1, 2]) events.push(publish(sequence, now), ack(sequence, now), ack(sequence, now, 0));
      events.push(tick(now));
    }
    const e = explore({ machine: publicationMachine, input, events });
    console.log(summarize('publication', e));
    expect([...e.reachedStates].sort()).toEqual([...PUBLICATION_STATES].sort());
    expect(e.unexercisedEdges).toEqual([]);
    expect(e.refusalsThatChanged).toEqual([]);
    expect(e.uncoveredUnhandledPairs).toEqual([]);
  });

  test('a heartbeat is due once the latest file is an interval old, never before the first file', () => {
    expect(heartbeatDue(run([]).context, 1000, 100)).toBe(false);
    const published = run([publish(1, 0), ack(1, 10), publish(2, 50)]);
    expect(published.context.lastPublishedAt).toBe(50);
    expect(heartbeatDue(published.context, 149, 100)).toBe(false);
    expect(heartbeatDue(published.context, 150, 100)).toBe(true);
    // A snapshot saved before heartbeats existed has no time of its last file: due at once.
    const { lastPublishedAt: _dropped, ...old } = published.context;
    expect(heartbeatDue(old as typeof published.context, 51, 100)).toBe(true);
  });
});
