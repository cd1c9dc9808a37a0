/**
 * How a user device processes one update file after another (the user side of SEkey's distribution).
 *
 * A file goes `idle → opening → verifying → applying → applied`. Every check is a guard over facts the
 * device established (the seal verified, the header parsed, the sequence read), so the decision — apply,
 * or refuse and why — is taken here, once, and not re-coded by the implementation:
 *
 * | reason          | when                                                                           |
 * |-----------------|--------------------------------------------------------------------------------|
 * | `truncated`     | the file ends before its declared length                                      |
 * | `corrupt`       | the bytes do not parse as a v1 update file                                     |
 * | `forged`        | the seal does not verify under this user's channel key                        |
 * | `wrongRecipient`| authentic, but addressed to another user or another device                   |
 * | `replayed`      | its sequence is the one already applied                                        |
 * | `rolledBack`    | its sequence is older than the one applied                                     |
 * | `gap`           | a file in between is missing (an incremental file, sequence > last + 1)       |
 *
 * plus one more check: an incremental file whose "previous file hash" is not the hash of the file we
 * applied extends some other history (only a forked or restored administrator could seal one); it is
 * refused as `forged`. A resync skips both the `gap` and the previous-hash checks — it replaces the
 * replica — but never the sequence checks.
 *
 * A refusal leaves the user's keys and metadata as they were; only the refusal count moves. After `maxRefusals` consecutive refusals (default 5,
 * as the original's TRY_LIMIT) the user is `blocked`: only a full resync snapshot is opened then, and
 * applying one clears the block. The original re-parsed everything from a `.recovery` file with no
 * freshness at all; here a resync must still carry a sequence newer than the last applied one, so an
 * old snapshot cannot be used to roll a user back.
 *
 * The sequence and hash of the last applied file live in device flash (a monotonic counter); the
 * context here mirrors them.
 *
 * @module
 */
import { assertEvent, assign, setup } from 'xstate';

/** Why a file was refused. */
export const REFUSAL_REASONS = [
  'forged',
  'wrongRecipient',
  'replayed',
  'rolledBack',
  'gap',
  'corrupt',
  'truncated',
] as const;
/** A refusal reason. */
export type RefusalReason = (typeof REFUSAL_REASONS)[number];

/** States of update processing. */
export const UPDATE_STATES = ['idle', 'opening', 'verifying', 'applying', 'applied', 'refused', 'blocked'] as const;
/** A state of update processing. */
export type UpdateState = (typeof UPDATE_STATES)[number];

/** Facts from parsing a file's bytes (before any cryptography). */
export interface OpenedFacts {
  /** The file is shorter than its header says. */
  readonly truncated: boolean;
  /** The file is complete but not a well-formed v1 update file. */
  readonly malformed: boolean;
}

/** Facts from verifying a parsed file against this device. */
export interface VerifiedFacts {
  /** The seal verified under the channel key shared with the admin device. */
  readonly authentic: boolean;
  /** The header names this user and this device. */
  readonly forThisRecipient: boolean;
  readonly sequence: number;
  /** A full snapshot (resync) rather than an incremental file. */
  readonly resync: boolean;
  /** The header's previous-file hash equals the hash of the last applied file. */
  readonly extendsAppliedChain: boolean;
}

/**
 * Update-processing events.
 * - `OPEN`: a file was found in the user's stream; `resync` is what its name claims (unauthenticated,
 *   used only to decide whether a blocked user opens it at all).
 * - `OPENED`: the bytes were read and parsed.
 * - `VERIFIED`: the device checked the seal and the header.
 * - `APPLIED`: database and key store committed together; `fileHash` is the applied file's hash.
 * - `POWER_LOSS`: power went away; an uncommitted apply is as if it never started.
 */
export type UpdateEvent =
  | { type: 'OPEN'; resync: boolean }
  | ({ type: 'OPENED' } & OpenedFacts)
  | ({ type: 'VERIFIED' } & VerifiedFacts)
  | { type: 'APPLIED'; fileHash: string }
  | { type: 'POWER_LOSS' };

/** Input of {@link updateProcessingMachine}. */
export interface UpdateProcessingInput {
  /** Consecutive refusals before the user blocks (default {@link DEFAULT_MAX_REFUSALS}). */
  readonly maxRefusals?: number;
  /** Restored from flash: the last applied sequence (0 = provisioned, nothing applied). */
  readonly lastSequence?: number;
  /** Restored from flash: hash of the last applied file ('' before the first). */
  readonly lastFileHash?: string;
  /** Restored: consecutive refusals so far. */
  readonly consecutiveRefusals?: number;
}

/** Context of update processing. */
export interface UpdateProcessingContext {
  readonly maxRefusals: number;
  readonly lastSequence: number;
  readonly lastFileHash: string;
  readonly consecutiveRefusals: number;
  readonly lastRefusal: RefusalReason | null;
  /** The file in hand: its verified sequence and kind, once known. */
  readonly pending: { readonly sequence: number; readonly resync: boolean } | null;
}

/** The original SEkey's TRY_LIMIT. */
export const DEFAULT_MAX_REFUSALS = 5;

/** The verified facts an event carries; guards and actions using it sit on `VERIFIED` only. */
function verified(event: UpdateEvent): VerifiedFacts {
  assertEvent(event, 'VERIFIED');
  return event;
}

function atRefusalLimit(context: UpdateProcessingContext): boolean {
  return context.consecutiveRefusals >= context.maxRefusals;
}

/** The refusal reason for a verified file, or null when it may be applied. Order matters. */
export function refusalFor(context: UpdateProcessingContext, facts: VerifiedFacts): RefusalReason | null {
  if (!facts.authentic) return 'forged';
  if (!facts.forThisRecipient) return 'wrongRecipient';
  if (facts.sequence === context.lastSequence) return 'replayed';
  if (facts.sequence < context.lastSequence) return 'rolledBack';
  if (facts.resync) return null;
  if (facts.sequence > context.lastSequence + 1) return 'gap';
  if (!facts.extendsAppliedChain) return 'forged';
  return null;
}

/** The context after refusing a file for `reason`. */
function refusal(context: UpdateProcessingContext, reason: RefusalReason): Partial<UpdateProcessingContext> {
  return {
    lastRefusal: reason,
    // Saturates at the limit: once blocked, more refusals change nothing but the last reason.
    consecutiveRefusals: Math.min(context.consecutiveRefusals + 1, context.maxRefusals),
    pending: null,
  };
}

/** The user-side update-processing machine. */
export const updateProcessingMachine = setup({
  types: {
    context: {} as UpdateProcessingContext,
    events: {} as UpdateEvent,
    input: {} as UpdateProcessingInput,
  },
  guards: {
    /** The refusal just counted reached the limit. */
    refusalLimitReached: ({ context }) => atRefusalLimit(context),
    /** The user is waiting for a resync (blocked before this file). Same test, read at another moment. */
    awaitingResync: ({ context }) => atRefusalLimit(context),
    fileTruncated: ({ event }) => {
      assertEvent(event, 'OPENED');
      return event.truncated;
    },
    fileMalformed: ({ event }) => {
      assertEvent(event, 'OPENED');
      return event.malformed;
    },
    /** A blocked user only opens what claims to be a resync. */
    namedResync: ({ event }) => {
      assertEvent(event, 'OPEN');
      return event.resync;
    },
    /** The verified facts leave no reason to refuse (see {@link refusalFor}). */
    acceptable: ({ context, event }) => refusalFor(context, verified(event)) === null,
    /** A blocked user accepts nothing but an acceptable resync. */
    acceptableResync: ({ context, event }) =>
      verified(event).resync && refusalFor(context, verified(event)) === null,
  },
  actions: {
    refuseTruncated: assign(({ context }) => refusal(context, 'truncated')),
    refuseCorrupt: assign(({ context }) => refusal(context, 'corrupt')),
    /**
     * Refuses a verified file for the reason {@link refusalFor} gives. A blocked user that meets an
     * otherwise fine incremental file refuses it as `gap`: it has lost continuity and needs a snapshot.
     */
    refuseVerified: assign(({ context, event }) =>
      refusal(context, refusalFor(context, verified(event)) ?? 'gap'),
    ),
    rememberPending: assign(({ event }) => {
      const facts = verified(event);
      return { pending: { sequence: facts.sequence, resync: facts.resync } };
    }),
    /** The device advanced its flash counter in the same atomic commit as the data. */
    recordApplied: assign(({ context, event }) => {
      assertEvent(event, 'APPLIED');
      // `applying` is only entered with a pending file.
      const pending = context.pending as { sequence: number };
      return {
        lastSequence: pending.sequence,
        lastFileHash: event.fileHash,
        consecutiveRefusals: 0,
        lastRefusal: null,
        pending: null,
      };
    }),
    dropPending: assign({ pending: null }),
  },
}).createMachine({
  id: 'updateProcessing',
  context: ({ input }) => {
    const maxRefusals = input.maxRefusals ?? DEFAULT_MAX_REFUSALS;
    const lastSequence = input.lastSequence ?? 0;
    const consecutiveRefusals = input.consecutiveRefusals ?? 0;
    if (!Number.isSafeInteger(maxRefusals) || maxRefusals < 1) {
      throw new RangeError(`maxRefusals must be a positive integer, got ${maxRefusals}`);
    }
    if (!Number.isSafeInteger(lastSequence) || lastSequence < 0) {
      throw new RangeError(`lastSequence must be a non-negative integer, got ${lastSequence}`);
    }
    if (!Number.isSafeInteger(consecutiveRefusals) || consecutiveRefusals < 0) {
      throw new RangeError(`consecutiveRefusals must be a non-negative integer, got ${consecutiveRefusals}`);
    }
    return {
      maxRefusals,
      lastSequence,
      lastFileHash: input.lastFileHash ?? '',
      consecutiveRefusals,
      lastRefusal: null,
      pending: null,
    };
  },
  initial: 'idle',
  states: {
    idle: {
      // A device restored with its refusal count at the limit boots blocked.
      always: { guard: 'awaitingResync', target: 'blocked' },
      on: { OPEN: 'opening' },
    },
    opening: {
      on: {
        OPENED: [
          { guard: 'fileTruncated', target: 'refused', actions: 'refuseTruncated' },
          { guard: 'fileMalformed', target: 'refused', actions: 'refuseCorrupt' },
          { target: 'verifying' },
        ],
        POWER_LOSS: 'idle',
      },
    },
    verifying: {
      on: {
        VERIFIED: [
          { guard: 'acceptableResync', target: 'applying', actions: 'rememberPending' },
          { guard: 'awaitingResync', target: 'refused', actions: 'refuseVerified' },
          { guard: 'acceptable', target: 'applying', actions: 'rememberPending' },
          { target: 'refused', actions: 'refuseVerified' },
        ],
        POWER_LOSS: 'idle',
      },
    },
    applying: {
      on: {
        APPLIED: { target: 'applied', actions: 'recordApplied' },
        // Apply is atomic: without its commit, nothing of the file is kept.
        POWER_LOSS: { target: 'idle', actions: 'dropPending' },
      },
    },
    applied: {
      on: { OPEN: 'opening', POWER_LOSS: 'idle' },
    },
    refused: {
      always: { guard: 'refusalLimitReached', target: 'blocked' },
      on: { OPEN: 'opening', POWER_LOSS: 'idle' },
    },
    blocked: {
      on: { OPEN: { guard: 'namedResync', target: 'opening' } },
    },
  },
});

/** A snapshot of {@link updateProcessingMachine}. */
export type UpdateProcessingSnapshot = ReturnType<typeof updateProcessingMachine.getInitialSnapshot>;
