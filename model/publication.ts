/**
 * What the administrator knows about one user's copy of the system: the admin side of distribution.
 *
 * The original SEkey has no acknowledgements (its update files go out and nobody learns whether they
 * arrived), so a user whose files are withheld — deleted from the shared folder, or never synced —
 * keeps using revoked keys and nobody notices. This is The Update Framework's *freeze* attack. Here
 * each user device acknowledges every file it applies, sealed under its channel key, and the admin
 * tracks each user through this machine:
 *
 * - `upToDate`: nothing published yet since the device was provisioned (the initial state only).
 * - `pending`: files up to `publishedSequence` were published and not all acknowledged yet.
 * - `acknowledged`: the user acknowledged the latest published file.
 * - `stale`: the oldest file the user has not acknowledged was published `staleAfterMs` ago or more;
 *   the admin lists such users and may publish a full resync.
 *
 * An acknowledgement of a sequence that was never published is refused: it can only be forged or
 * come from a rolled-back admin.
 *
 * Every file carries a heartbeat (when it was issued); a user whose latest file is older than the
 * heartbeat interval gets a heartbeat-only file ({@link heartbeatDue}). So an idle installation
 * still publishes, and a user who stops acknowledging becomes stale even when nothing changes.
 *
 * @module
 */
import { assertEvent, assign, setup } from 'xstate';
import { formatDuration } from './machineDescription.ts';
import type { MachineDescription } from './machineDescription.ts';

/** States of a user's publication. */
export const PUBLICATION_STATES = ['upToDate', 'pending', 'acknowledged', 'stale'] as const;
/** A state of a user's publication. */
export type PublicationState = (typeof PUBLICATION_STATES)[number];

/**
 * Whether a user in `state` is owed nothing: every file published to it is acknowledged
 * (`acknowledged`), or none was published yet (`upToDate`). A `pending` or `stale` user still owes
 * an acknowledgement, so a deployment whose users all synced and were collected has converged only
 * when every user is caught up.
 */
export function caughtUp(state: PublicationState): boolean {
  return state === 'acknowledged' || state === 'upToDate';
}

/**
 * Publication events (all carry the time, in milliseconds):
 * - `PUBLISH`: file `sequence` for this user was written to the transport.
 * - `ACK`: the user acknowledged having applied everything up to `sequence`; `nextPublishedAt` is when
 *   the first file after it that the user still needs was published (null: not known, or none).
 * - `TICK`: time passes; lets a pending user become stale.
 */
export type PublicationEvent =
  | { type: 'PUBLISH'; sequence: number; now: number }
  | { type: 'ACK'; sequence: number; now: number; nextPublishedAt: number | null }
  | { type: 'TICK'; now: number };

/** Input of {@link publicationMachine}. */
export interface PublicationInput {
  readonly userId: string;
  /** How long a user may stay pending before it is stale, in milliseconds. */
  readonly staleAfterMs: number;
}

/** Context of a user's publication. */
export interface PublicationContext {
  readonly userId: string;
  readonly staleAfterMs: number;
  /** The latest sequence published to this user (0 = none). */
  readonly publishedSequence: number;
  /** The latest sequence the user acknowledged. */
  readonly acknowledgedSequence: number;
  /**
   * Since when the user has had something unacknowledged: when the oldest file it still needs was
   * published (or, that time unknown, when it last showed progress).
   */
  readonly pendingSince: number | null;
  readonly lastAcknowledgedAt: number | null;
  /**
   * When the latest file was published (its heartbeat's `issuedAt`); null before the first. A
   * snapshot saved by a version without heartbeats lacks it: {@link heartbeatDue} reads that as due.
   */
  readonly lastPublishedAt: number | null;
}

/**
 * Whether the next publication round must send `userId` a file even if its view did not change: its
 * latest file is `intervalMs` old or older (or its time is unknown). A heartbeat is TUF's timestamp
 * role (The Update Framework specification, §"timestamp"): a statement re-issued often, so a user
 * from whom files are withheld notices that its newest one is old (a *freeze* attack), rather than
 * trusting a view that silently stopped moving. Nothing is due before the first publication: that
 * one is a resync, sent anyway.
 */
export function heartbeatDue(context: PublicationContext, now: number, intervalMs: number): boolean {
  if (context.publishedSequence === 0) return false;
  const last = context.lastPublishedAt ?? null;
  return last === null || now - last >= intervalMs;
}

/** How long a user may leave a publication unacknowledged before it is stale, by default: seven days. */
export const DEFAULT_STALE_AFTER_MS = 7 * 86_400_000;

/** The default heartbeat interval: one day. */
export const DEFAULT_HEARTBEAT_INTERVAL_MS = 86_400_000;

/**
 * The default freshness window for a heartbeat interval: two intervals (a heartbeat missed by a
 * late cron run, or a user syncing just before the next one) plus one more as margin for clock skew
 * and a user's sync schedule — three days for the default one-day interval.
 */
export function defaultFreshnessWindow(heartbeatIntervalMs: number): number {
  return 3 * heartbeatIntervalMs;
}

/** The guards, actions and parameters of {@link publicationMachine} in words, for the specification. */
export const PUBLICATION_DESCRIPTION: MachineDescription = {
  guards: {
    nextSequence: '`PUBLISH.sequence > publishedSequence`: sequences published to one user only grow.',
    acknowledgesLatest: '`ACK.sequence = publishedSequence`: the user has applied everything published.',
    acknowledgesProgress:
      '`acknowledgedSequence < ACK.sequence < publishedSequence`: progress, but files remain. An `ACK` that is ' +
      'neither (older, or of a sequence never published) is refused: it can only be forged or replayed.',
    acknowledgesProgressStillOverdue:
      '`acknowledgesProgress`, and the oldest file still waiting was published `staleAfterMs` ago or more ' +
      '(`now - pendingSince >= staleAfterMs` with the `pendingSince` that `recordProgress` sets): a `stale` user ' +
      'stays `stale`.',
    overdue: '`pendingSince` is set and `now - pendingSince >= staleAfterMs`.',
  },
  actions: {
    recordPublication:
      '`publishedSequence = sequence`, `lastPublishedAt = now`; `pendingSince = now` unless already pending.',
    recordAcknowledgement: '`acknowledgedSequence = sequence`, `lastAcknowledgedAt = now`, `pendingSince = null`.',
    recordProgress:
      '`acknowledgedSequence = sequence`, `lastAcknowledgedAt = now`, `pendingSince = ACK.nextPublishedAt` (kept ' +
      'between the old `pendingSince` and `now`; `now` when unknown): the clock restarts at the publication of the ' +
      'oldest file still unacknowledged, not at the collection, so acknowledgements held back and released late ' +
      'cannot keep a user whose later files are withheld from ever being stale.',
  },
  parameters: [
    {
      name: 'staleAfterMs',
      value: `${formatDuration(DEFAULT_STALE_AFTER_MS)} (\`DEFAULT_STALE_AFTER_MS\`), set per installation`,
      meaning: 'How long a published file may wait unacknowledged before its user is `stale`.',
    },
    {
      name: 'heartbeat interval',
      value: `${formatDuration(DEFAULT_HEARTBEAT_INTERVAL_MS)} (\`DEFAULT_HEARTBEAT_INTERVAL_MS\`)`,
      meaning:
        'A user whose latest file is this old gets a heartbeat-only file at the next publication (`heartbeatDue`), ' +
        'so a user who stops acknowledging becomes stale even when nothing changes.',
    },
    {
      name: 'freshness window',
      value:
        `${formatDuration(defaultFreshnessWindow(DEFAULT_HEARTBEAT_INTERVAL_MS))} ` +
        '(`defaultFreshnessWindow`: three heartbeat intervals)',
      meaning:
        'Carried by every heartbeat: how long after a file was issued (or applied, if that was earlier) its user ' +
        'may still encrypt (see `stalenessAt`, update processing). It must exceed the heartbeat interval.',
    },
  ],
};

/**
 * Progress restarts the staleness clock at the publication of the oldest file still waiting, not
 * at the collection: the files after the one acknowledged have waited since they were published.
 * Restarted at `now`, an attacker who can write the share (TUF's *freeze* attack, The Update
 * Framework specification §"timestamp") could hold a user's acknowledgements back, withhold a
 * rekey, and release one old acknowledgement every few days: each authentic, each progress, and
 * the user never stale while it applies nothing. Bounded by `now` and by the old `pendingSince`
 * (that file was published no earlier; a damaged row has none); `now` when the time is unknown
 * (files published before it was recorded), as before.
 */
function pendingSinceAfterProgress(
  context: PublicationContext,
  event: Extract<PublicationEvent, { type: 'ACK' }>,
): number {
  const since = Math.min(event.now, event.nextPublishedAt ?? event.now);
  return context.pendingSince === null ? since : Math.max(context.pendingSince, since);
}

/** Whether a file published at `since` has waited `staleAfterMs` or more at `now`: the one rule of staleness. */
function overdueAt(since: number, now: number, context: PublicationContext): boolean {
  return now - since >= context.staleAfterMs;
}

/** An acknowledgement past the last one, short of the latest file: progress, but files remain. */
function isProgress(context: PublicationContext, event: Extract<PublicationEvent, { type: 'ACK' }>): boolean {
  return event.sequence > context.acknowledgedSequence && event.sequence < context.publishedSequence;
}

/** The per-user publication machine. */
export const publicationMachine = setup({
  types: {
    context: {} as PublicationContext,
    events: {} as PublicationEvent,
    input: {} as PublicationInput,
  },
  guards: {
    /** Sequences published to one user only ever grow. */
    nextSequence: ({ context, event }) => {
      assertEvent(event, 'PUBLISH');
      return event.sequence > context.publishedSequence;
    },
    /** The acknowledgement covers the latest published file. */
    acknowledgesLatest: ({ context, event }) => {
      assertEvent(event, 'ACK');
      return event.sequence === context.publishedSequence;
    },
    /** The acknowledgement shows progress, but files remain. */
    acknowledgesProgress: ({ context, event }) => {
      assertEvent(event, 'ACK');
      return isProgress(context, event);
    },
    /** Progress, but the oldest file still waiting has waited `staleAfterMs` or more already. */
    acknowledgesProgressStillOverdue: ({ context, event }) => {
      assertEvent(event, 'ACK');
      return isProgress(context, event) && overdueAt(pendingSinceAfterProgress(context, event), event.now, context);
    },
    /** Pending for at least `staleAfterMs`. */
    overdue: ({ context, event }) =>
      context.pendingSince !== null && overdueAt(context.pendingSince, event.now, context),
  },
  actions: {
    recordPublication: assign(({ context, event }) => {
      assertEvent(event, 'PUBLISH');
      return {
        publishedSequence: event.sequence,
        pendingSince: context.pendingSince ?? event.now,
        lastPublishedAt: event.now,
      };
    }),
    recordAcknowledgement: assign(({ event }) => {
      assertEvent(event, 'ACK');
      return { acknowledgedSequence: event.sequence, lastAcknowledgedAt: event.now, pendingSince: null };
    }),
    /** Progress: the clock restarts at the publication of the oldest file still waiting. */
    recordProgress: assign(({ context, event }) => {
      assertEvent(event, 'ACK');
      const pendingSince = pendingSinceAfterProgress(context, event);
      return { acknowledgedSequence: event.sequence, lastAcknowledgedAt: event.now, pendingSince };
    }),
  },
}).createMachine({
  id: 'publication',
  context: ({ input }) => {
    if (!(Number.isFinite(input.staleAfterMs) && input.staleAfterMs > 0)) {
      throw new RangeError(`staleAfterMs must be a positive number, got ${input.staleAfterMs}`);
    }
    return {
      userId: input.userId,
      staleAfterMs: input.staleAfterMs,
      publishedSequence: 0,
      acknowledgedSequence: 0,
      pendingSince: null,
      lastAcknowledgedAt: null,
      lastPublishedAt: null,
    };
  },
  initial: 'upToDate',
  states: {
    upToDate: {
      on: { PUBLISH: { guard: 'nextSequence', target: 'pending', actions: 'recordPublication' } },
    },
    pending: {
      on: {
        PUBLISH: { guard: 'nextSequence', actions: 'recordPublication' },
        // Progress never makes a pending user overdue: the file now oldest was published no earlier
        // than the one before it. Whether it is overdue already is the next TICK's to say.
        ACK: [
          { guard: 'acknowledgesLatest', target: 'acknowledged', actions: 'recordAcknowledgement' },
          { guard: 'acknowledgesProgress', actions: 'recordProgress' },
        ],
        TICK: { guard: 'overdue', target: 'stale' },
      },
    },
    acknowledged: {
      on: { PUBLISH: { guard: 'nextSequence', target: 'pending', actions: 'recordPublication' } },
    },
    stale: {
      on: {
        PUBLISH: { guard: 'nextSequence', actions: 'recordPublication' },
        ACK: [
          { guard: 'acknowledgesLatest', target: 'acknowledged', actions: 'recordAcknowledgement' },
          { guard: 'acknowledgesProgressStillOverdue', actions: 'recordProgress' },
          { guard: 'acknowledgesProgress', target: 'pending', actions: 'recordProgress' },
        ],
      },
    },
  },
});

/** A snapshot of {@link publicationMachine}. */
export type PublicationSnapshot = ReturnType<typeof publicationMachine.getInitialSnapshot>;
