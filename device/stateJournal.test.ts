import { describe, expect, it } from 'vitest';
import { isDeviceError } from './deviceError.ts';
import type { DeviceState } from './deviceState.ts';
import { PIN_RESTORED_INDEX, PIN_SPENT_INDEX, foldJournal, journalMove } from './stateJournal.ts';

const verifier = (fill: number) => ({ salt: new Uint8Array(16).fill(fill), iterations: 10, hash: new Uint8Array(32) });
const base: DeviceState = {
  serial: 'A'.repeat(32),
  maxRetries: 3,
  pins: { user: verifier(1), admin: verifier(2) },
  retriesLeft: { user: 2, admin: 3 },
  counters: new Map([
    ['db.intent', 5 * 2 ** 20],
    ['db.generation', 5],
  ]),
  identitySecret: new Uint8Array(32).fill(7),
  attestation: null,
};
const counters6 = (): Map<string, number> => new Map(base.counters).set('db.generation', 6);
const expectCorrupt = (f: () => unknown): void => {
  try {
    f();
    expect.unreachable();
  } catch (e) {
    expect(isDeviceError(e, 'StateCorrupt')).toBe(true);
  }
};

describe('state journal', () => {
  it('folds counter advances by their index in the record (ascending names) and PIN counts into tries left', () => {
    // 'db.generation' < 'db.intent': index 0 and 1.
    const folded = foldJournal(
      base,
      new Map([
        [0, 2],
        [1, 2 * 2 ** 20],
        [PIN_SPENT_INDEX.user, 1],
      ]),
    );
    expect(folded.counters).toEqual(
      new Map([
        ['db.intent', 7 * 2 ** 20],
        ['db.generation', 7],
      ]),
    );
    expect(folded.retriesLeft).toEqual({ user: 1, admin: 3 });
    // After a restore, tries left count from the maximum.
    const restored = new Map([
      [PIN_SPENT_INDEX.user, 3],
      [PIN_RESTORED_INDEX.user, 2],
    ]);
    expect(foldJournal(base, restored).retriesLeft.user).toBe(2);
    expect(foldJournal(base, new Map())).toBe(base);
  });

  it('refuses a journal that names an unknown index or leaves tries out of range', () => {
    expectCorrupt(() => foldJournal(base, new Map([[2, 1]])));
    expectCorrupt(() => foldJournal(base, new Map([[PIN_SPENT_INDEX.user, 3]])));
    expectCorrupt(() => foldJournal(base, new Map([[PIN_RESTORED_INDEX.admin, 1]])));
    expectCorrupt(() => foldJournal(base, new Map([[0, Number.MAX_SAFE_INTEGER]])));
  });

  it('finds the single advance that a counter step, a spent try or a restore is', () => {
    const counters = new Map(base.counters).set('db.generation', 6);
    expect(journalMove(base, new Map(), { ...base, counters })).toEqual({ index: 0, delta: 1 });
    expect(journalMove(base, new Map(), { ...base, retriesLeft: { user: 1, admin: 3 } })).toEqual({
      index: PIN_SPENT_INDEX.user,
      delta: 1,
    });
    const spentTwo = new Map([[PIN_SPENT_INDEX.user, 2]]);
    expect(journalMove(base, spentTwo, { ...base, retriesLeft: { user: 3, admin: 3 } })).toEqual({
      index: PIN_RESTORED_INDEX.user,
      delta: 2,
    });
  });

  it('ignores copies: equal bytes are the same field', () => {
    const copy = {
      ...base,
      pins: { user: verifier(1), admin: verifier(2) },
      identitySecret: base.identitySecret.slice(),
    };
    expect(journalMove(base, new Map(), { ...copy, counters: counters6() })).toEqual({ index: 0, delta: 1 });
    const attested = { ...base, attestation: { rootOfTrust: new Uint8Array(32), certificate: new Uint8Array(64) } };
    const sameAttestation = { rootOfTrust: new Uint8Array(32), certificate: new Uint8Array(64) };
    expect(
      journalMove(attested, new Map(), { ...attested, attestation: sameAttestation, counters: counters6() }),
    ).toEqual({ index: 0, delta: 1 });
  });

  it('leaves everything else to a new base record', () => {
    const none = new Map<number, number>();
    const back = new Map(base.counters).set('db.generation', 4);
    const added = new Map(base.counters).set('updates.sequence', 1);
    const both = new Map(base.counters).set('db.generation', 6).set('db.intent', 6 * 2 ** 20);
    for (const next of [
      { ...base, counters: back },
      { ...base, counters: added },
      { ...base, counters: both },
      { ...base, counters: new Map([['db.generation', 6]]) },
      { ...base, retriesLeft: { user: 3, admin: 3 } }, // a restore with no try spent since the base
      { ...base, retriesLeft: { user: 0, admin: 3 } }, // two tries at once
      { ...base, retriesLeft: { user: 1, admin: 2 } },
      { ...base, pins: { ...base.pins, admin: verifier(9) } },
      { ...base, counters: new Map(base.counters).set('db.generation', 6), identitySecret: new Uint8Array(32) },
      { ...base, counters: new Map(base.counters).set('db.generation', 6), serial: 'B'.repeat(32) },
      { ...base, retriesLeft: { user: 1, admin: 3 }, maxRetries: 4 },
      { ...base, counters: counters6(), pins: { ...base.pins, user: { ...verifier(1), iterations: 11 } } },
      {
        ...base,
        counters: counters6(),
        pins: { ...base.pins, user: { ...verifier(1), hash: new Uint8Array(32).fill(1) } },
      },
      {
        ...base,
        counters: counters6(),
        attestation: { rootOfTrust: new Uint8Array(32), certificate: new Uint8Array(64) },
      },
      base,
    ])
      expect(journalMove(base, none, next)).toBeUndefined();
  });
});
