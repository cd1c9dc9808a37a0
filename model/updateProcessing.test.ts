import { describe, expect, test } from 'vitest';
import { initialTransition, transition } from 'xstate';
import type { AnyMachineSnapshot } from 'xstate';
import { explore, summarize } from './exhaustive.testkit.ts';
import {
  DEFAULT_MAX_REFUSALS,
  REFUSAL_REASONS,
  countsTowardsBlock,
  UPDATE_STATES,
  openingRefusal,
  refusalFor,
  freshSince,
  stalenessAt,
  updateProcessingMachine,
} from './updateProcessing.ts';
import type {
  UpdateEvent,
  UpdateProcessingInput,
  UpdateProcessingSnapshot,
  VerifiedFacts,
} from './updateProcessing.ts';

const good: VerifiedFacts = {
  authentic: true,
  forThisRecipient: true,
  sequence: 1,
  resync: false,
  extendsAppliedChain: true,
};

function run(events: readonly UpdateEvent[], input: UpdateProcessingInput = {}): UpdateProcessingSnapshot {
  let [s] = initialTransition(updateProcessingMachine, input);
  for (const e of events) [s] = transition(updateProcessingMachine, s, e);
  return s;
}

/** A hash no other file of a test has. */
let files = 0;
const freshHash = (): string => `f${++files}`;
/** Opening a file: a fresh one unless `fileHash` is given. */
const open = (resyncName = false, fileHash = freshHash()): UpdateEvent => ({
  type: 'OPEN',
  resync: resyncName,
  fileHash,
});
/** The events of one whole file, up to the verification. */
const file = (facts: Partial<VerifiedFacts> = {}, resyncName = false, fileHash = freshHash()): UpdateEvent[] => [
  open(resyncName, fileHash),
  { type: 'OPENED', truncated: false, malformed: false },
  { type: 'VERIFIED', ...good, ...facts },
];
const applied: UpdateEvent = { type: 'APPLIED' };

describe('updateProcessing', () => {
  test('a good file goes idle → opening → verifying → applying → applied', () => {
    const states: string[] = [];
    let [s] = initialTransition(updateProcessingMachine, {});
    states.push(String(s.value));
    for (const e of [...file({}, false, 'h1'), applied]) {
      [s] = transition(updateProcessingMachine, s, e);
      states.push(String(s.value));
    }
    expect(states).toEqual(['idle', 'opening', 'verifying', 'applying', 'applied']);
    expect(s.context).toMatchObject({ lastSequence: 1, lastFileHash: 'h1', consecutiveRefusals: 0 });
  });

  test.each([
    ['truncated', [open(), { type: 'OPENED', truncated: true, malformed: false }], 0],
    ['corrupt', [open(), { type: 'OPENED', truncated: false, malformed: true }], 0],
    ['forged', file({ authentic: false }), 0],
    ['wrongRecipient', file({ forThisRecipient: false }), 1],
    ['replayed', file({ sequence: 3 }), 0],
    ['rolledBack', file({ sequence: 2 }), 0],
    ['gap', file({ sequence: 5 }), 1],
    ['forged', file({ sequence: 4, extendsAppliedChain: false }), 1],
  ] as const)('refuses %s and keeps the applied state (counted towards a block: %s)', (reason, events, counted) => {
    const s = run(events as readonly UpdateEvent[], { lastSequence: 3, lastFileHash: 'h3' });
    expect(s.value).toBe('refused');
    expect(s.context).toMatchObject({
      lastRefusal: reason,
      lastSequence: 3,
      lastFileHash: 'h3',
      consecutiveRefusals: counted,
    });
  });

  test('only authentic files that claim news count towards a block: junk and replays never block', () => {
    for (const reason of REFUSAL_REASONS) {
      expect(countsTowardsBlock(reason, false), reason).toBe(false);
      expect(countsTowardsBlock(reason, true), reason).toBe(reason !== 'replayed' && reason !== 'rolledBack');
    }
    const junk = Array.from({ length: 3 * DEFAULT_MAX_REFUSALS }, (_, i) => [
      ...file({ authentic: false }),
      ...file({ sequence: 2 }),
      open(false, `cut${i}`),
      { type: 'OPENED', truncated: true, malformed: false } as UpdateEvent,
    ]).flat();
    const s = run([...junk, ...file({ sequence: 4 }, false, 'h4'), applied], { lastSequence: 3, lastFileHash: 'h3' });
    expect(s.value).toBe('applied');
    expect(s.context.lastSequence).toBe(4);
  });

  test('every refusal reason is reachable', () => {
    const seen = new Set<string>();
    for (const facts of [
      { authentic: false },
      { forThisRecipient: false },
      { sequence: 3 },
      { sequence: 2 },
      { sequence: 9 },
    ]) {
      seen.add(String(refusalFor(run([], { lastSequence: 3 }).context, { ...good, ...facts })));
    }
    seen.add(String(run([open(), { type: 'OPENED', truncated: true, malformed: false }]).context.lastRefusal));
    seen.add(String(run([open(), { type: 'OPENED', truncated: false, malformed: true }]).context.lastRefusal));
    expect([...seen].sort()).toEqual([...REFUSAL_REASONS].sort());
  });

  test('a power cut while applying keeps nothing of the file', () => {
    const s = run([...file(), { type: 'POWER_LOSS' }]);
    expect(s.value).toBe('idle');
    expect(s.context).toMatchObject({ lastSequence: 0, pending: null });
    expect(s.context.fileInHand).toBeNull();
    // The same file, opened again after the power cut, applies: a lost file is not a refused one.
    expect(
      run([...file({}, false, 'h1'), { type: 'POWER_LOSS' }, ...file({}, false, 'h1'), applied]).context.lastSequence,
    ).toBe(1);
  });

  test(`after ${DEFAULT_MAX_REFUSALS} consecutive refusals the user is blocked until a resync applies`, () => {
    const bad = Array.from({ length: DEFAULT_MAX_REFUSALS }, () => file({ sequence: 9 })).flat();
    const blocked = run(bad);
    expect(blocked.value).toBe('blocked');
    expect(blocked.can(open())).toBe(false);
    // An incremental file dressed as a resync is still refused while blocked.
    expect(run([...bad, ...file({}, true)]).value).toBe('blocked');
    expect(run([...bad, ...file({}, true)]).context.lastRefusal).toBe('gap');
    const resynced = run([
      ...bad,
      ...file({ resync: true, sequence: 7, extendsAppliedChain: false }, true, 'h7'),
      applied,
    ]);
    expect(resynced.value).toBe('applied');
    expect(resynced.context).toMatchObject({
      lastSequence: 7,
      lastFileHash: 'h7',
      consecutiveRefusals: 0,
      lastRefusal: null,
    });
  });

  test('a resync may skip sequences but never go back', () => {
    expect(
      run([...file({ resync: true, sequence: 9, extendsAppliedChain: false }), applied]).context.lastSequence,
    ).toBe(9);
    expect(run(file({ resync: true, sequence: 2 }), { lastSequence: 4 }).context.lastRefusal).toBe('rolledBack');
  });

  test('a success resets the refusal count', () => {
    const gaps = run([...file({ sequence: 9 }), ...file({ sequence: 9 })]);
    expect(gaps.context.consecutiveRefusals).toBe(2);
    const s = run([...file({ sequence: 9 }), ...file({ sequence: 9 }), ...file(), applied]);
    expect(s.context.consecutiveRefusals).toBe(0);
  });

  test('a device restored at the refusal limit boots blocked; bad inputs are refused', () => {
    expect(run([], { consecutiveRefusals: 5 }).value).toBe('blocked');
    for (const input of [
      { maxRefusals: 0 },
      { lastSequence: -1 },
      { consecutiveRefusals: 0.5 },
      { consecutiveRefusals: -1 },
    ]) {
      expect(initialTransition(updateProcessingMachine, input)[0].status).toBe('error');
    }
    // A limit of one refusal is valid.
    expect(run([], { maxRefusals: 1 }).context.maxRefusals).toBe(1);
  });

  test('bad inputs are refused with a message naming the value; a device starts with no applied file', () => {
    const message = (input: UpdateProcessingInput) =>
      String((initialTransition(updateProcessingMachine, input)[0].error as Error).message);
    expect(message({ maxRefusals: 0 })).toMatch(/maxRefusals must be a positive integer, got 0/);
    expect(message({ lastSequence: -1 })).toMatch(/lastSequence must be a non-negative integer, got -1/);
    expect(message({ consecutiveRefusals: 0.5 })).toMatch(
      /consecutiveRefusals must be a non-negative integer, got 0.5/,
    );
    expect(run([]).context.lastFileHash).toBe('');
    expect(run([], { lastFileHash: 'h1' }).context.lastFileHash).toBe('h1');
  });

  test('a file refused once is not opened, judged or counted again; its reason is kept', () => {
    const junk = file({ authentic: false }, false, 'junk');
    const once = run(junk);
    expect(once.context).toMatchObject({
      consecutiveRefusals: 0,
      refusedFiles: [{ fileHash: 'junk', reason: 'forged' }],
      fileInHand: null,
    });
    // A counted refusal is counted once too.
    const early = file({ sequence: 9 }, false, 'early');
    expect(run([...early, ...early, ...early]).context).toMatchObject({
      consecutiveRefusals: 1,
      refusedFiles: [{ fileHash: 'early', reason: 'gap' }],
    });
    expect(once.can(open(false, 'junk'))).toBe(false);
    expect(openingRefusal(once.context, { resync: false, fileHash: 'junk' })).toBe('forged');
    expect(openingRefusal(once.context, { resync: false, fileHash: 'other' })).toBeNull();
    // Presented again and again, it changes nothing: no count, no block.
    const again = run([...junk, ...junk, ...junk, ...junk, ...junk]);
    expect(again.value).toBe('refused');
    expect(again.context).toEqual(once.context);
    // Truncated and corrupt files are remembered the same way.
    const cut = run([open(false, 'cut'), { type: 'OPENED', truncated: true, malformed: false }]);
    expect(cut.context.refusedFiles).toEqual([{ fileHash: 'cut', reason: 'truncated' }]);
    expect(cut.can(open(true, 'cut'))).toBe(false);
  });

  test('applying a file records the verified sequence and the opened hash, and forgets the refused files', () => {
    const s = run([...file({ authentic: false }, false, 'junk'), ...file({ sequence: 4 }, false, 'h4'), applied], {
      lastSequence: 3,
      lastFileHash: 'h3',
    });
    expect(s.value).toBe('applied');
    expect(s.context).toMatchObject({
      lastSequence: 4,
      lastFileHash: 'h4',
      refusedFiles: [],
      fileInHand: null,
      pending: null,
    });
    // After the apply the old junk is judged afresh, against the new last sequence.
    expect(s.can(open(false, 'junk'))).toBe(true);
    expect(
      run(
        [
          ...file({ authentic: false }, false, 'junk'),
          ...file({ sequence: 4 }, false, 'h4'),
          applied,
          ...file({ sequence: 4 }, false, 'junk'),
        ],
        { lastSequence: 3 },
      ).context.lastRefusal,
    ).toBe('replayed');
  });

  test('a blocked user does not open a file not named as a resync (gap), nor a resync it refused before', () => {
    const bad = Array.from({ length: DEFAULT_MAX_REFUSALS }, () => file({ sequence: 9 })).flat();
    const blocked = run([...bad, ...file({ resync: true, authentic: false }, true, 'badResync')]);
    expect(blocked.value).toBe('blocked');
    expect(openingRefusal(blocked.context, { resync: false, fileHash: 'new' })).toBe('gap');
    expect(blocked.can(open(false, 'new'))).toBe(false);
    expect(openingRefusal(blocked.context, { resync: true, fileHash: 'badResync' })).toBe('forged');
    expect(blocked.can(open(true, 'badResync'))).toBe(false);
    expect(openingRefusal(blocked.context, { resync: true, fileHash: 'new' })).toBeNull();
    expect(blocked.can(open(true, 'new'))).toBe(true);
  });

  test('a power cut while verifying drops the file in hand, and does not refuse it', () => {
    const s = run([open(false, 'x'), { type: 'OPENED', truncated: false, malformed: false }, { type: 'POWER_LOSS' }]);
    expect(s.value).toBe('idle');
    expect(s.context).toMatchObject({ fileInHand: null, pending: null, refusedFiles: [], consecutiveRefusals: 0 });
    expect(s.can(open(false, 'x'))).toBe(true);
  });

  test('opening takes no power loss: a parse in host memory; the cut is learnt at the check, in verifying', () => {
    const opening = run([open(false, 'x')]);
    expect(opening.value).toBe('opening');
    expect(opening.can({ type: 'POWER_LOSS' })).toBe(false);
  });

  test('a power cut during the resync that would release a blocked user leaves it blocked', () => {
    const bad = Array.from({ length: DEFAULT_MAX_REFUSALS }, () => file({ sequence: 9 })).flat();
    for (const cutAfter of [1, 2]) {
      // Cut while verifying the resync, or while applying it (before its commit).
      const resync = file({ resync: true, sequence: 10 }, true, 'snapshot').slice(0, cutAfter + 1);
      const s = run([...bad, ...resync, { type: 'POWER_LOSS' }]);
      expect(s.value).toBe('blocked');
      expect(s.context).toMatchObject({ fileInHand: null, pending: null, lastSequence: 0 });
      expect(s.can(open(true, 'snapshot'))).toBe(true);
    }
  });

  test('exhaustive: every state reachable, every edge exercised, every refusal changes nothing', () => {
    const verifiedVariants: UpdateEvent[] = [];
    for (const authentic of [true, false])
      for (const forThisRecipient of [true, false])
        for (const sequence of [0, 1, 2])
          for (const resync of [true, false])
            for (const extendsAppliedChain of [true, false])
              verifiedVariants.push({
                type: 'VERIFIED',
                authentic,
                forThisRecipient,
                sequence,
                resync,
                extendsAppliedChain,
              });
    const events: UpdateEvent[] = [
      // Three files: two refused block the user (maxRefusals 2), and the third may still be opened.
      ...['a', 'b', 'c'].flatMap((fileHash): UpdateEvent[] => [
        { type: 'OPEN', resync: false, fileHash },
        { type: 'OPEN', resync: true, fileHash },
      ]),
      { type: 'OPENED', truncated: true, malformed: false },
      { type: 'OPENED', truncated: false, malformed: true },
      { type: 'OPENED', truncated: false, malformed: false },
      ...verifiedVariants,
      { type: 'APPLIED' },
      { type: 'POWER_LOSS' },
    ];
    // Vertices keep what a guard reads: which files were refused matters, not why, in what order, nor
    // the last reason or the last applied hash (VERIFIED brings `extendsAppliedChain` as a fact).
    const serializeState = (snapshot: AnyMachineSnapshot): string => {
      const c = (snapshot as UpdateProcessingSnapshot).context;
      const refused = c.refusedFiles.map((f) => f.fileHash).sort();
      return JSON.stringify([snapshot.value, c.lastSequence, c.consecutiveRefusals, refused, c.fileInHand, c.pending]);
    };
    const e = explore({ machine: updateProcessingMachine, input: { maxRefusals: 2 }, events, serializeState });
    console.log(summarize('updateProcessing', e));
    expect([...e.reachedStates].sort()).toEqual([...UPDATE_STATES].sort());
    expect(e.unexercisedEdges).toEqual([]);
    expect(e.refusalsThatChanged).toEqual([]);
    expect(e.uncoveredUnhandledPairs).toEqual([]);
  });

  test('freshness: the latest applied heartbeat is kept; the view is stale once it is older than its window', () => {
    const beat = (issuedAt: number, windowMs = 100): UpdateEvent => ({
      type: 'APPLIED',
      freshness: { issuedAt, windowMs },
    });
    // Nothing applied: not judged.
    expect(stalenessAt(run([]).context, 1e12)).toBeNull();
    const one = run([...file({ sequence: 1 }), beat(1000)]);
    expect(one.context.freshness).toEqual({ issuedAt: 1000, windowMs: 100 });
    expect(stalenessAt(one.context, 1100)).toBeNull();
    expect(stalenessAt(one.context, 900)).toBeNull(); // a user clock behind the admin's
    expect(stalenessAt(one.context, 1101)).toEqual({
      reason: 'expired',
      issuedAt: 1000,
      since: 1000,
      windowMs: 100,
      ageMs: 101,
    });
    // The next file's heartbeat replaces it, even an earlier one (the admin's latest word); a file
    // without a heartbeat keeps it; a refused file changes nothing.
    const two = run([...file({ sequence: 1 }), beat(1000), ...file({ sequence: 2 }), beat(900, 500)]);
    expect(two.context.freshness).toEqual({ issuedAt: 900, windowMs: 500 });
    expect(run([...file({ sequence: 1 }), beat(1000), ...file({ sequence: 2 }), applied]).context.freshness).toEqual({
      issuedAt: 1000,
      windowMs: 100,
    });
    expect(run([...file({ sequence: 1 }), beat(1000), ...file({ sequence: 3 })]).context.freshness).toEqual({
      issuedAt: 1000,
      windowMs: 100,
    });
    // Applied later than issued (the usual case): the window counts from the issue.
    const late = run([
      ...file({ sequence: 1 }),
      { type: 'APPLIED', freshness: { issuedAt: 1000, windowMs: 100, appliedAt: 1050 } },
    ]);
    expect(stalenessAt(late.context, 1100)).toBeNull();
    expect(stalenessAt(late.context, 1101)).toMatchObject({ reason: 'expired', since: 1000, ageMs: 101 });
    // Dated ahead of the user's clock when it came (the admin's clock ran fast): from its arrival.
    const ahead = run([
      ...file({ sequence: 1 }),
      { type: 'APPLIED', freshness: { issuedAt: 1050, windowMs: 100, appliedAt: 1000 } },
    ]);
    expect(ahead.context.freshness).toEqual({ issuedAt: 1050, windowMs: 100, appliedAt: 1000 });
    expect(freshSince({ issuedAt: 1050, windowMs: 100, appliedAt: 1000 })).toBe(1000);
    expect(stalenessAt(ahead.context, 1100)).toBeNull();
    expect(stalenessAt(ahead.context, 1101)).toEqual({
      reason: 'expired',
      issuedAt: 1050,
      since: 1000,
      windowMs: 100,
      ageMs: 101,
    });
    // Dated more than its window ahead when it came: no freshness at all, whatever the time now.
    const far = run([
      ...file({ sequence: 1 }),
      { type: 'APPLIED', freshness: { issuedAt: 1101, windowMs: 100, appliedAt: 1000 } },
    ]);
    expect(stalenessAt(far.context, 1000)).toEqual({
      reason: 'datedAhead',
      issuedAt: 1101,
      appliedAt: 1000,
      windowMs: 100,
    });
    const edge = run([
      ...file({ sequence: 1 }),
      { type: 'APPLIED', freshness: { issuedAt: 1100, windowMs: 100, appliedAt: 1000 } },
    ]);
    expect(stalenessAt(edge.context, 1000)).toBeNull();
    expect(stalenessAt(edge.context, 1101)).toMatchObject({ reason: 'expired', since: 1000 });
    // A statement saved before arrival times were kept counts from its issue, as it did.
    expect(freshSince({ issuedAt: 5000, windowMs: 100 })).toBe(5000);
    expect(stalenessAt(run([...file({ sequence: 1 }), beat(5000)]).context, 1000)).toBeNull();
    // Files applied, none with a heartbeat (a replica of a version before them): stale.
    expect(stalenessAt(run([...file({ sequence: 1 }), applied]).context, 0)).toEqual({ reason: 'noStatement' });
  });
});
