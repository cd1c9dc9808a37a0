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
 * A refusal leaves the user's keys and metadata as they were. Only refusals of authentic files that
 * claim news count towards a block (`countsTowardsBlock`): `wrongRecipient`, `gap`, and an authentic
 * file that does not extend the applied chain. Junk that anyone with write access to the shared
 * folder can drop there (`truncated`, `corrupt`, a seal that fails) and old authentic files replayed
 * under new names (`replayed`, `rolledBack`) are refused and remembered but never counted: they must
 * not stop a later authentic file from applying. After `maxRefusals` consecutive counted refusals
 * (default 5, as the original's TRY_LIMIT, SEkey's `sekey_update_userdata`) the user is `blocked`: only a file named as
 * a full resync is
 * opened then, and applying one clears the block. The original re-parsed everything from a
 * `.recovery` file with no freshness at all; here a resync must still carry a sequence newer than the
 * last applied one, so an old snapshot cannot be used to roll a user back.
 *
 * Each file is judged and counted once. `OPEN` carries the hash of the file's bytes; the context
 * keeps the files refused since the last applied one with their reasons (`refusedFiles`), and a file
 * found there is not opened again (`openingRefusal`): one junk file left in the shared folder must
 * not block the user by itself, sync after sync. A blocked user does not open a file that is not
 * named as a resync either; asked why, the answer is `gap` — it has lost continuity and needs a
 * snapshot. Applying a file clears the list (a later file is judged against a new last sequence).
 *
 * The context is the whole of the user's update state: the implementation persists the snapshot
 * (`model/persistedSnapshot.ts`) in the same commit as the file's changes, so the last applied
 * sequence and hash recorded are the ones `recordApplied` set. The HSM's flash counter follows the
 * sequence, as a floor against a rolled-back database.
 *
 * **Freshness.** Every file the administrator publishes carries a heartbeat: when it was issued (on
 * the admin's clock) and for how long a user may encrypt after it (the freshness window).
 * `APPLIED` carries the heartbeat of the file just applied, and the context keeps the latest one
 * (`freshness`), so it is saved in the same commit as the file. {@link stalenessAt} says whether
 * the user's view is too old to protect new data under: TUF's timestamp role (The Update Framework
 * specification, §"timestamp"), against a *freeze* attack — withholding files (a rekey after a
 * member left, say) so that a user keeps encrypting under keys a removed member still holds. A
 * withheld file also blocks every later one (`gap`), so later heartbeats cannot be delivered
 * around it. Only what was applied counts: a refused file (forged, replayed, …) changes nothing.
 *
 * @module
 */
import { assertEvent, assign, setup } from 'xstate';
import type { MachineDescription } from './machineDescription.ts';

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

/** A file refused since the last applied one, and why: it is not judged, nor counted, again. */
export interface RefusedFile {
  /** Hash of the file's bytes (as given by `OPEN`). */
  readonly fileHash: string;
  readonly reason: RefusalReason;
}

/** What `OPEN` says of a file found in the user's stream, before it is parsed. */
export interface OpenFacts {
  /** What its name claims (unauthenticated): a full resync rather than an incremental file. */
  readonly resync: boolean;
  /** Hash of the file's bytes: what identifies the file in the refused list and, once applied, the chain. */
  readonly fileHash: string;
}

/**
 * The administrator's sealed statement of when a file was issued (its heartbeat): `issuedAt` on
 * the admin's clock, ms since the epoch, and how long after it a user may still encrypt; with when
 * this user applied the file, on its own clock.
 */
export interface FreshnessStatement {
  readonly issuedAt: number;
  readonly windowMs: number;
  /**
   * When the user applied the file (its clock); absent in snapshots saved before it was kept. The
   * window counts from the earlier of the two ({@link freshSince}).
   */
  readonly appliedAt?: number;
}

/**
 * Where a statement's window starts: `issuedAt`, or when the user applied the file if that was
 * earlier. A heartbeat is the administrator's word on time, and its clock can run ahead of real
 * time (a wrong host clock): dated a week ahead, it would keep its users fresh a week longer, time
 * in which an adversary on the share withholds every later file (a rekey after a removal among
 * them) unnoticed. No file can have been issued after it reached the user, so the user's clock at
 * application bounds the date from above. A user clock behind the admin's then measures the whole
 * window on its own clock from when the file came, which is what the window means to it.
 *
 * That alone answers a passive share only: an adversary who holds each file back until just before
 * its date makes arrival and date meet again. So a heartbeat dated more than its own window ahead of
 * the user's clock when it came gives no freshness at all ({@link stalenessAt}: `datedAhead`): what
 * a fast admin clock can still buy such an adversary is bounded by one window, the exposure the
 * window accepts anyway, and a grossly wrong clock stops encryption where everyone sees it.
 */
export function freshSince(statement: FreshnessStatement): number {
  return Math.min(statement.issuedAt, statement.appliedAt ?? statement.issuedAt);
}

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
 * - `OPEN`: a file was found in the user's stream and read (see {@link OpenFacts}); it is opened
 *   unless refused before, or the user is blocked and its name does not claim a resync.
 * - `OPENED`: the bytes were parsed.
 * - `VERIFIED`: the device checked the seal and the header.
 * - `APPLIED`: the file's changes and the snapshot this event leads to are committed together
 *   (database and key store in one atomic commit). It carries the file's heartbeat, if it has one
 *   (files of versions before heartbeats have none: the latest statement is then kept).
 * - `POWER_LOSS`: power went away, as the host learns it: a device call fails (the cut HSM, its
 *   flash or its card). An uncommitted apply or refusal is as if it never started. `opening` does
 *   not take it: opening a file is parsing bytes in host memory, with no device call and no await
 *   between `OPEN` and `OPENED`, so a cut then is learnt at the HSM's check, in `verifying`.
 */
export type UpdateEvent =
  | ({ type: 'OPEN' } & OpenFacts)
  | ({ type: 'OPENED' } & OpenedFacts)
  | ({ type: 'VERIFIED' } & VerifiedFacts)
  | { type: 'APPLIED'; freshness?: FreshnessStatement }
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
  /** Files refused since the last applied one, oldest first (each judged and counted once). */
  readonly refusedFiles: readonly RefusedFile[];
  /** Hash of the file in hand, from `OPEN` until it is applied, refused or lost to a power cut. */
  readonly fileInHand: string | null;
  /** The file in hand: its verified sequence and kind, once known. */
  readonly pending: { readonly sequence: number; readonly resync: boolean } | null;
  /**
   * The heartbeat of the latest applied file that carried one; null before. A snapshot saved by a
   * version without heartbeats lacks it (read as null).
   */
  readonly freshness: FreshnessStatement | null;
}

/** Why a user's view is too old to protect new data under, as {@link stalenessAt} says. */
export type Staleness =
  /** Files were applied, but none carried a heartbeat (a replica of a version before them). */
  | { readonly reason: 'noStatement' }
  /** The latest heartbeat was dated more than its window ahead of the user's clock when it came. */
  | { readonly reason: 'datedAhead'; readonly issuedAt: number; readonly appliedAt: number; readonly windowMs: number }
  /** The latest heartbeat is older than its window: `ageMs` counted from `since` ({@link freshSince}). */
  | {
      readonly reason: 'expired';
      readonly issuedAt: number;
      readonly since: number;
      readonly windowMs: number;
      readonly ageMs: number;
    };

/**
 * Whether the view is too old to encrypt under at `now` (the user's clock): null when it is fresh,
 * that is `now − since ≤ windowMs` for the latest applied heartbeat, `since` being its
 * {@link freshSince}. A user that has applied no file at all is not judged (null): its replica is
 * empty, so there is nothing to encrypt under. A user whose files never carried a heartbeat is
 * stale: it must sync, and the administrator sends one to any user whose latest file is older than
 * the heartbeat interval. A clock set back gives a negative age: fresh (the user's clock is the
 * user's own business; see docs/update-format.md, "Freshness").
 */
export function stalenessAt(context: UpdateProcessingContext, now: number): Staleness | null {
  if (context.lastSequence === 0) return null;
  const statement = context.freshness ?? null;
  if (statement === null) return { reason: 'noStatement' };
  const { issuedAt, appliedAt, windowMs } = statement;
  // A statement kept before arrival times were is never ahead (it counts from its date, as it did).
  if (issuedAt - (appliedAt ?? issuedAt) > windowMs)
    return { reason: 'datedAhead', issuedAt, appliedAt: appliedAt ?? issuedAt, windowMs };
  const since = freshSince(statement);
  const ageMs = now - since;
  return ageMs > statement.windowMs
    ? { reason: 'expired', issuedAt: statement.issuedAt, since, windowMs: statement.windowMs, ageMs }
    : null;
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

/**
 * Why a file is not opened at all, or null when it is: a blocked user refuses anything not named as
 * a resync as `gap` (it has lost continuity and waits for a snapshot); a file refused since the last
 * applied one keeps the reason it was refused for (judged and counted once).
 */
export function openingRefusal(context: UpdateProcessingContext, open: OpenFacts): RefusalReason | null {
  if (atRefusalLimit(context) && !open.resync) return 'gap';
  return refusedBefore(context, open.fileHash);
}

/** The reason the file with `fileHash` was refused for since the last applied one, or null if it was not. */
export function refusedBefore(context: UpdateProcessingContext, fileHash: string): RefusalReason | null {
  return context.refusedFiles.find((f) => f.fileHash === fileHash)?.reason ?? null;
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

/**
 * Whether refusing a file for `reason` counts towards a block: only an authentic file (its seal
 * verified under the channel key, which only the admin HSM can seal under) that claims news. Junk
 * from the untrusted share and replays of old authentic files are refused without counting.
 */
export function countsTowardsBlock(reason: RefusalReason, authentic: boolean): boolean {
  return authentic && reason !== 'replayed' && reason !== 'rolledBack';
}

/**
 * The context after refusing the file in hand for `reason`: remembered (judged once), and counted
 * when `counts` (see {@link countsTowardsBlock}).
 */
function refusal(
  context: UpdateProcessingContext,
  reason: RefusalReason,
  counts: boolean,
): Partial<UpdateProcessingContext> {
  // `opening` and `verifying`, where files are refused, are only entered with a file in hand.
  const fileHash = context.fileInHand as string;
  return {
    lastRefusal: reason,
    // Saturates at the limit: once blocked, more refusals change nothing but the last reason.
    consecutiveRefusals: counts
      ? Math.min(context.consecutiveRefusals + 1, context.maxRefusals)
      : context.consecutiveRefusals,
    refusedFiles: [...context.refusedFiles, { fileHash, reason }],
    fileInHand: null,
    pending: null,
  };
}

/** The open facts an event carries; guards and actions using it sit on `OPEN` only. */
function opened(event: UpdateEvent): OpenFacts {
  assertEvent(event, 'OPEN');
  return event;
}

/** The guards, actions and parameters of {@link updateProcessingMachine} in words, for the specification. */
export const UPDATE_PROCESSING_DESCRIPTION: MachineDescription = {
  guards: {
    refusalLimitReached:
      '`consecutiveRefusals >= maxRefusals`, read after a refusal was counted: the user is now blocked.',
    awaitingResync: 'The same test, read before the file in hand: the user was already blocked.',
    fileTruncated: 'The `OPENED` facts say the file ends before the length its header declares.',
    fileMalformed: 'The file is complete but does not parse as a v1 update file.',
    notRefusedBefore:
      '`openingRefusal` is null: the user is not blocked (or the file is named as a resync), and the hash of the ' +
      'file is not among the files refused since the last applied one.',
    namedResync:
      'The same test as `notRefusedBefore`, read in `blocked`: only a file named as a resync, and not refused ' +
      'before, is opened.',
    acceptable:
      '`refusalFor` finds no reason: authentic, for this user and device, sequence > last applied and, for an ' +
      'incremental file, sequence = last + 1 and previous-file hash = hash of the last applied file.',
    acceptableResync: 'The verified header says resync, and `refusalFor` finds no reason (the sequence checks only).',
  },
  actions: {
    takeFile: '`fileInHand = hash` of the file `OPEN` names.',
    refuseTruncated: 'Refuses the file in hand as `truncated`: remembered, not counted.',
    refuseCorrupt: 'Refuses the file in hand as `corrupt`: remembered, not counted.',
    refuseVerified:
      'Refuses the file in hand for the reason `refusalFor` gives (`gap` for a blocked user and an incremental ' +
      'file): remembered, and counted when `countsTowardsBlock` (an authentic file that is not a replay or a ' +
      'rollback).',
    rememberPending: '`pending = { sequence, resync }` from the verified header.',
    recordApplied:
      '`lastSequence = pending.sequence`, `lastFileHash = fileInHand`, `freshness` = the heartbeat of the file (if ' +
      'it has one); the refusal count and the refused files are cleared. Committed with the file.',
    dropFile: '`fileInHand = null`, `pending = null`: without its commit nothing of the file is kept.',
  },
  parameters: [
    {
      name: 'maxRefusals',
      value: `${DEFAULT_MAX_REFUSALS} (\`DEFAULT_MAX_REFUSALS\`, the original's TRY_LIMIT)`,
      meaning: 'Consecutive counted refusals after which the user is `blocked` until a resync applies.',
    },
    {
      name: 'freshness window',
      value: "carried by each file's heartbeat (set by the administrator; see publication)",
      meaning:
        '`stalenessAt`: a user that has applied a file may encrypt only while `now - since <= windowMs` for the ' +
        'latest applied heartbeat, `since` being the earlier of `issuedAt` and when the user applied it ' +
        '(`freshSince`), and none if it was dated more than the window ahead of the user clock when it came ' +
        '(TUF timestamp role, against a freeze attack).',
    },
  ],
};

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
    /** A file not refused since the last applied one (see {@link openingRefusal}). */
    notRefusedBefore: ({ context, event }) => openingRefusal(context, opened(event)) === null,
    /**
     * A blocked user only opens what claims to be a resync, and not one it refused before (see
     * {@link openingRefusal}: the same test as `notRefusedBefore`, which also reads the block).
     */
    namedResync: ({ context, event }) => openingRefusal(context, opened(event)) === null,
    /** The verified facts leave no reason to refuse (see {@link refusalFor}). */
    acceptable: ({ context, event }) => refusalFor(context, verified(event)) === null,
    /** A blocked user accepts nothing but an acceptable resync. */
    acceptableResync: ({ context, event }) => verified(event).resync && refusalFor(context, verified(event)) === null,
  },
  actions: {
    /** The file in hand is the one `OPEN` names. */
    takeFile: assign(({ event }) => ({ fileInHand: opened(event).fileHash })),
    refuseTruncated: assign(({ context }) => refusal(context, 'truncated', false)),
    refuseCorrupt: assign(({ context }) => refusal(context, 'corrupt', false)),
    /**
     * Refuses a verified file for the reason {@link refusalFor} gives. A blocked user that meets an
     * otherwise fine incremental file refuses it as `gap`: it has lost continuity and needs a snapshot.
     */
    refuseVerified: assign(({ context, event }) => {
      const reason = refusalFor(context, verified(event)) ?? 'gap';
      return refusal(context, reason, countsTowardsBlock(reason, verified(event).authentic));
    }),
    rememberPending: assign(({ event }) => {
      const facts = verified(event);
      return { pending: { sequence: facts.sequence, resync: facts.resync } };
    }),
    /**
     * Records the applied file: its sequence and hash become the last applied, its heartbeat the
     * latest freshness statement; the refusal count and the refused files are cleared. The snapshot this leaves is what
     * the commit of the file writes.
     */
    recordApplied: assign(({ context, event }) => {
      assertEvent(event, 'APPLIED');
      // `applying` is only entered with a file in hand and its verified facts pending.
      const pending = context.pending as { sequence: number };
      return {
        // The file's heartbeat replaces the one before (the admin's latest word, even if its clock
        // went back); a file without one keeps it.
        freshness: event.freshness ?? context.freshness ?? null,
        lastSequence: pending.sequence,
        lastFileHash: context.fileInHand as string,
        consecutiveRefusals: 0,
        lastRefusal: null,
        refusedFiles: [],
        fileInHand: null,
        pending: null,
      };
    }),
    /** A power cut drops the file in hand: without its commit, nothing of it is kept. */
    dropFile: assign({ fileInHand: null, pending: null }),
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
      refusedFiles: [],
      fileInHand: null,
      pending: null,
      freshness: null,
    };
  },
  initial: 'idle',
  states: {
    idle: {
      // A device restored with its refusal count at the limit boots blocked.
      always: { guard: 'awaitingResync', target: 'blocked' },
      on: { OPEN: { guard: 'notRefusedBefore', target: 'opening', actions: 'takeFile' } },
    },
    opening: {
      on: {
        OPENED: [
          { guard: 'fileTruncated', target: 'refused', actions: 'refuseTruncated' },
          { guard: 'fileMalformed', target: 'refused', actions: 'refuseCorrupt' },
          { target: 'verifying' },
        ],
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
        POWER_LOSS: { target: 'idle', actions: 'dropFile' },
      },
    },
    applying: {
      on: {
        APPLIED: { target: 'applied', actions: 'recordApplied' },
        // Apply is atomic: without its commit, nothing of the file is kept.
        POWER_LOSS: { target: 'idle', actions: 'dropFile' },
      },
    },
    applied: {
      on: { OPEN: { guard: 'notRefusedBefore', target: 'opening', actions: 'takeFile' }, POWER_LOSS: 'idle' },
    },
    refused: {
      always: { guard: 'refusalLimitReached', target: 'blocked' },
      on: { OPEN: { guard: 'notRefusedBefore', target: 'opening', actions: 'takeFile' }, POWER_LOSS: 'idle' },
    },
    blocked: {
      on: { OPEN: { guard: 'namedResync', target: 'opening', actions: 'takeFile' } },
    },
  },
});

/** A snapshot of {@link updateProcessingMachine}. */
export type UpdateProcessingSnapshot = ReturnType<typeof updateProcessingMachine.getInitialSnapshot>;
