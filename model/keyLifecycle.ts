/**
 * The life cycle of one symmetric key: NIST SP 800-57 Part 1 Rev. 5 §7 (states and transitions
 * T2–T15), extended with KMIP's `Destroyed Compromised` state (KMIP 2.1 §4.57 transitions 9 and 10),
 * which the SEkey paper counts among its seven states.
 *
 * Time is an input, never a timer: every event carries `now` (milliseconds), and the end of the
 * cryptoperiod is an explicit `EXPIRE` event guarded by `now >= expiresAt`. XState `after` timers are
 * not restored from persisted snapshots (statelyai/xstate#5331), and a key store outlives any process.
 *
 * Which transitions, for which keys: SEkey's keys are symmetric data-encryption keys (AES-256-GCM,
 * shared by a group), and §7 ties some transitions to the type of key. Active → destroyed (T5) and
 * suspended → destroyed (T9) are for keys that nothing needs once their use ends (private signature
 * and authentication keys, symmetric RBG, master and authorization keys, ephemeral key-agreement
 * keys); a symmetric data-encryption key may still decrypt during its recipient-usage period (§5.3.5,
 * §7.2), so it leaves active or suspended by deactivation (T8, T12) and only then is destroyed (T13).
 * KMIP 2.1 §4.57 agrees: Destroy is refused for an Active object. Data encrypted a minute before a
 * direct destruction would be unreadable for every member at once; here it takes a deactivation first.
 *
 * Where we differ from the original SEkey (`check_key_transition_validity`, `sekey_check_expired_keys`):
 * - It allows pre-active → deactivated. NIST has no such transition: a key that was never used and is
 *   not wanted is destroyed (T2), so we refuse `DEACTIVATE` in `preActivation`.
 * - It expires keys lazily with an SQL check that fires 60 s early (`expiration <= now + 60`) and
 *   stamps a wrong deactivation time. Here expiry is exact (`now >= expiresAt`), and the deactivation
 *   recorded for an expiry is the end of the cryptoperiod itself, so every device that processes the
 *   same expiry, whenever it gets to it, records the same time.
 * - It destroys active and suspended keys directly (T5, T9); here they are deactivated first, as above.
 * - It has no destroyed-compromised state: a destroyed key cannot be marked compromised afterwards.
 *   Here it can (KMIP transition 10), because learning of a compromise after destruction still
 *   matters for the data the key protected: the administrator's records (and audit log) say so. No
 *   device is told: destruction erased the key from every HSM and dropped it from every replica
 *   (`holders` empty), so no user's HSM could use it or has a record of it to mark.
 *
 * @module
 */
import { assign, setup } from 'xstate';
import { initialTransition } from './pureTransition.ts';
import type { MachineDescription } from './machineDescription.ts';

/** The seven key states. */
export const KEY_STATES = [
  'preActivation',
  'active',
  'suspended',
  'deactivated',
  'compromised',
  'destroyed',
  'destroyedCompromised',
] as const;
/** A key state. */
export type KeyState = (typeof KEY_STATES)[number];

/** The seven key events. */
export const KEY_EVENT_TYPES = [
  'ACTIVATE',
  'SUSPEND',
  'RESUME',
  'DEACTIVATE',
  'EXPIRE',
  'COMPROMISE',
  'DESTROY',
] as const;
/** The type of a key event. */
export type KeyEventType = (typeof KEY_EVENT_TYPES)[number];

/** A key event: every one carries the time it happens at, in milliseconds. */
export interface KeyEvent {
  readonly type: KeyEventType;
  readonly now: number;
}

/** Input of {@link keyLifecycleMachine}. */
export interface KeyLifecycleInput {
  readonly id: string;
  /** The originator-usage period (NIST SP 800-57 Pt 1 §5.3.5), in milliseconds; > 0. */
  readonly cryptoperiodMs: number;
  /** Generation time (T1: the key enters pre-activation on generation). */
  readonly createdAt: number;
}

/** One accepted event in a key's history. Replaying a history on the machine re-creates the key. */
export interface KeyHistoryEntry {
  readonly type: KeyEventType;
  readonly now: number;
}

/**
 * Context of a key: the time of every transition (NIST SP 800-57 Pt 1 §7: "the date and time of the
 * transition shall be recorded"), `null` while it has not happened.
 */
export interface KeyLifecycleContext {
  readonly id: string;
  readonly cryptoperiodMs: number;
  readonly createdAt: number;
  /** First activation (T4). */
  readonly activatedAt: number | null;
  /** End of the originator-usage period: `activatedAt + cryptoperiodMs`, set once. */
  readonly expiresAt: number | null;
  /** Latest suspension (T7). */
  readonly suspendedAt: number | null;
  /** Latest resumption (T10). */
  readonly resumedAt: number | null;
  /** Deactivation (T8, T12); for an expiry, the end of the cryptoperiod. */
  readonly deactivatedAt: number | null;
  /** Compromise (T3, T6, T11, T14; KMIP 10). */
  readonly compromisedAt: number | null;
  /** Destruction (T2, T13, T15). */
  readonly destroyedAt: number | null;
  /** Every accepted event, in order. */
  readonly history: readonly KeyHistoryEntry[];
}

/** Guard names of the key life cycle, as they appear in diagrams and in {@link KEY_TRANSITIONS}. */
export type KeyGuard = 'cryptoperiodEnded' | 'cryptoperiodRunning';

/** One allowed transition: where it leads, under which guard, and which clause allows it. */
export interface KeyTransition {
  readonly target: KeyState;
  readonly guard?: KeyGuard;
  /** The NIST SP 800-57 Pt 1 §7 transition number, or the KMIP 2.1 §4.57 one. */
  readonly clause: string;
}

/**
 * The transition table as data: every allowed (state, event) pair. Clause numbers: T2–T4, T8 and
 * T10–T12 match the text of SP 800-57 Pt 1 §7.1–§7.3 (T5 and T9 are not for data keys: above); for
 * T6/T7 (active → compromised / suspended), T13/T14 (deactivated → destroyed / compromised) and T15
 * (compromised → destroyed) the verbatim text was not available to us, and the numbering follows
 * the standard's pattern of listing the destroyed, then the compromised target (T15 is the one
 * transition left for the compromised state). The specification says so too. A pair not listed
 * is refused and leaves the key unchanged. The machine below is written out by hand as the readable
 * specification; a test proves the two agree on all 49 pairs, guards included.
 */
export const KEY_TRANSITIONS: Readonly<Record<KeyState, Readonly<Partial<Record<KeyEventType, KeyTransition>>>>> = {
  preActivation: {
    ACTIVATE: { target: 'active', clause: 'NIST T4' },
    COMPROMISE: { target: 'compromised', clause: 'NIST T3' },
    DESTROY: { target: 'destroyed', clause: 'NIST T2' },
  },
  active: {
    SUSPEND: { target: 'suspended', clause: 'NIST T7' },
    DEACTIVATE: { target: 'deactivated', clause: 'NIST T8' },
    EXPIRE: { target: 'deactivated', guard: 'cryptoperiodEnded', clause: 'NIST T8' },
    COMPROMISE: { target: 'compromised', clause: 'NIST T6' },
  },
  suspended: {
    RESUME: { target: 'active', guard: 'cryptoperiodRunning', clause: 'NIST T10' },
    DEACTIVATE: { target: 'deactivated', clause: 'NIST T12' },
    EXPIRE: { target: 'deactivated', guard: 'cryptoperiodEnded', clause: 'NIST T12' },
    COMPROMISE: { target: 'compromised', clause: 'NIST T11' },
  },
  deactivated: {
    COMPROMISE: { target: 'compromised', clause: 'NIST T14' },
    DESTROY: { target: 'destroyed', clause: 'NIST T13' },
  },
  compromised: {
    DESTROY: { target: 'destroyedCompromised', clause: 'NIST T15; KMIP 9' },
  },
  destroyed: {
    COMPROMISE: { target: 'destroyedCompromised', clause: 'KMIP 10' },
  },
  destroyedCompromised: {},
};

/** How a refusal names each event: what the key would have been. */
const EVENT_WORDS: Readonly<Record<KeyEventType, string>> = {
  ACTIVATE: 'activated',
  SUSPEND: 'suspended',
  RESUME: 'resumed',
  DEACTIVATE: 'deactivated',
  EXPIRE: 'expired',
  COMPROMISE: 'marked compromised',
  DESTROY: 'destroyed',
};

/** Why a guard refused its event, in words. */
const GUARD_WORDS: Readonly<Record<KeyGuard, string>> = {
  cryptoperiodRunning: 'its cryptoperiod has ended',
  cryptoperiodEnded: 'its cryptoperiod is still running',
};

/**
 * Why a key in `state` does not take `event`, in words a key's administrator reads: the step it
 * cannot take, why when a guard said no (and at what time, ISO 8601), and the steps it can take.
 * `EXPIRE`, the expiry sweep's own event, is left out of what a key "can" do: no command sends it.
 * (NIST SP 800-57 Pt 1 Rev 5 §7: the transitions of {@link KEY_TRANSITIONS}.)
 */
export function refusalOf(keyId: string, state: KeyState, event: KeyEvent): string {
  const asked = EVENT_WORDS[event.type];
  const steps = Object.entries(KEY_TRANSITIONS[state]) as [KeyEventType, KeyTransition][];
  const guard = steps.find(([type]) => type === event.type)?.[1].guard;
  const why = guard === undefined ? '' : ` at ${new Date(event.now).toISOString()}: ${GUARD_WORDS[guard]}`;
  const can = steps.filter(([type]) => type !== 'EXPIRE' && type !== event.type).map(([type]) => EVENT_WORDS[type]);
  const others =
    can.length === 0
      ? 'it can take no further step'
      : `it can be ${can.length === 1 ? can[0] : `${can.slice(0, -1).join(', ')} or ${can.at(-1)}`}`;
  // The one refusal whose way round is not in the list of steps: a data key in use goes out of use first.
  const first =
    event.type === 'DESTROY' && (state === 'active' || state === 'suspended')
      ? '; deactivate it first (a data key is destroyed once it is out of use: T8 or T12, then T13)'
      : '';
  return `key ${keyId} is ${state}: it cannot be ${asked}${why}; ${others}${first}`;
}

/** What a key in a given state may be used for. */
export interface KeyUsage {
  /** Apply protection: encrypt. */
  readonly protect: boolean;
  /** Process protected data: decrypt. */
  readonly process: boolean;
  /**
   * Decrypt and re-encrypt under another key inside the HSM, the plaintext never leaving it: the
   * only way to rescue data under a compromised key (the original's `secure_recrypt`).
   */
  readonly reprotect: boolean;
  /**
   * Re-protection from the key is a rescue: the data under it is already readable by whoever learnt
   * the key, so a device re-protects it even on a view past its freshness window (a withheld update
   * can only make it pick a worse key, not expose the data more; refusing would hold the data hostage
   * to the withholding), and the result is marked with this key, whose word vouches for nothing that
   * was protected under it (NIST SP 800-57 Pt 1 §5.5: after a compromise, protection and integrity
   * under the key cannot be trusted). Only a compromised key: from any other, a stale view could move
   * the data under a key that a withheld rekey retired and a removed member still holds.
   */
  readonly rescue: boolean;
}

/**
 * The usage table (NIST SP 800-57 Pt 1 §7.1–§7.6): protect only while active; process while active,
 * suspended (data protected before the suspension) or deactivated (post-operational use); reprotect
 * from any state in which the key material is still meant to exist and the data may need rescuing;
 * and a rescue (no freshness asked, the result marked) from a compromised key only.
 */
export const KEY_USAGE: Readonly<Record<KeyState, KeyUsage>> = {
  preActivation: { protect: false, process: false, reprotect: false, rescue: false },
  active: { protect: true, process: true, reprotect: true, rescue: false },
  suspended: { protect: false, process: true, reprotect: true, rescue: false },
  deactivated: { protect: false, process: true, reprotect: true, rescue: false },
  compromised: { protect: false, process: false, reprotect: true, rescue: true },
  destroyed: { protect: false, process: false, reprotect: false, rescue: false },
  destroyedCompromised: { protect: false, process: false, reprotect: false, rescue: false },
};

/** What a key in `state` may be used for ({@link KEY_USAGE}). */
export function keyUsage(state: KeyState): KeyUsage {
  return KEY_USAGE[state];
}

/**
 * The guards, actions and parameters of {@link keyLifecycleMachine} in words, for the specification.
 * Every action also appends the event to `history` (`EXPIRE` dated at the end of the cryptoperiod,
 * as `recordExpiry` dates the deactivation).
 */
export const KEY_LIFECYCLE_DESCRIPTION: MachineDescription = {
  guards: {
    cryptoperiodEnded: "`expiresAt` is set and the event's `now >= expiresAt`: the originator-usage period is over.",
    cryptoperiodRunning:
      '`expiresAt` is set and `now < expiresAt`: a suspended key resumes only within its cryptoperiod (T10).',
  },
  actions: {
    recordActivation:
      '`activatedAt = now`, `expiresAt = now + cryptoperiodMs`. `ACTIVATE` leaves only `preActivation`, so this ' +
      'happens once; nothing moves `expiresAt` afterwards.',
    recordSuspension: '`suspendedAt = now`.',
    recordResumption: '`resumedAt = now`; `expiresAt` unchanged, so a suspension never stretches a cryptoperiod.',
    recordDeactivation: '`deactivatedAt = now` (a deactivation asked for).',
    recordExpiry:
      '`deactivatedAt = expiresAt`, and the history entry dated `expiresAt` too: the end of the cryptoperiod, ' +
      'however late the sweep ran, so every device records the same key.',
    recordCompromise: '`compromisedAt = now`.',
    recordDestruction:
      '`destroyedAt = now`; the key material is erased from every HSM and the key has no holders (the users whose ' +
      'devices must hold it: KMS rules).',
  },
  parameters: [
    {
      name: 'cryptoperiodMs',
      value: "per key; at most its group's `defaultCryptoperiodMs`, which is also the default",
      meaning: 'The originator-usage period (NIST SP 800-57 Pt 1 §5.3.5), counted from the first activation.',
    },
  ],
};

const stamp = (entry: KeyHistoryEntry, context: KeyLifecycleContext): KeyHistoryEntry[] => [...context.history, entry];

/**
 * The key life-cycle machine (XState v5). Refused events leave state and context unchanged; check
 * with `snapshot.can(event)` or compare snapshots.
 */
export const keyLifecycleMachine = setup({
  types: {
    context: {} as KeyLifecycleContext,
    events: {} as KeyEvent,
    input: {} as KeyLifecycleInput,
  },
  guards: {
    /** The originator-usage period is over: `now >= expiresAt`. */
    cryptoperiodEnded: ({ context, event }) => context.expiresAt !== null && event.now >= context.expiresAt,
    /** The originator-usage period still runs: `now < expiresAt` (T10: resume only before its end). */
    cryptoperiodRunning: ({ context, event }) => context.expiresAt !== null && event.now < context.expiresAt,
  },
  actions: {
    /** T4: the first activation starts the cryptoperiod. */
    recordActivation: assign(({ context, event }) => ({
      activatedAt: event.now,
      expiresAt: event.now + context.cryptoperiodMs,
      history: stamp(event, context),
    })),
    /** T10: resuming never moves `expiresAt`, so suspension cannot stretch a cryptoperiod. */
    recordResumption: assign(({ context, event }) => ({
      resumedAt: event.now,
      history: stamp(event, context),
    })),
    recordSuspension: assign(({ context, event }) => ({
      suspendedAt: event.now,
      history: stamp(event, context),
    })),
    recordDeactivation: assign(({ context, event }) => ({
      deactivatedAt: event.now,
      history: stamp(event, context),
    })),
    /**
     * An expiry is recorded at the end of the cryptoperiod, however late it was processed, in the
     * history too: a key expired by a sweep at any time after its end is the same key, so devices,
     * replays and the publisher's content hashes agree (with the sweep's own time there, every read of
     * a due key as expired, `keyAsOf`, differed, and the publisher sent its holders a new file each
     * round). Replaying it passes the guard: `now >= expiresAt`, with equality.
     */
    recordExpiry: assign(({ context, event }) => ({
      deactivatedAt: context.expiresAt,
      history: stamp({ ...event, now: context.expiresAt ?? event.now }, context),
    })),
    recordCompromise: assign(({ context, event }) => ({
      compromisedAt: event.now,
      history: stamp(event, context),
    })),
    recordDestruction: assign(({ context, event }) => ({
      destroyedAt: event.now,
      history: stamp(event, context),
    })),
  },
}).createMachine({
  id: 'keyLifecycle',
  context: ({ input }) => {
    if (!(Number.isFinite(input.cryptoperiodMs) && input.cryptoperiodMs > 0)) {
      throw new RangeError(`cryptoperiodMs must be a positive number, got ${input.cryptoperiodMs}`);
    }
    return {
      id: input.id,
      cryptoperiodMs: input.cryptoperiodMs,
      createdAt: input.createdAt,
      activatedAt: null,
      expiresAt: null,
      suspendedAt: null,
      resumedAt: null,
      deactivatedAt: null,
      compromisedAt: null,
      destroyedAt: null,
      history: [],
    };
  },
  initial: 'preActivation',
  states: {
    preActivation: {
      on: {
        ACTIVATE: { target: 'active', actions: 'recordActivation' },
        COMPROMISE: { target: 'compromised', actions: 'recordCompromise' },
        DESTROY: { target: 'destroyed', actions: 'recordDestruction' },
      },
    },
    active: {
      on: {
        SUSPEND: { target: 'suspended', actions: 'recordSuspension' },
        DEACTIVATE: { target: 'deactivated', actions: 'recordDeactivation' },
        EXPIRE: { guard: 'cryptoperiodEnded', target: 'deactivated', actions: 'recordExpiry' },
        COMPROMISE: { target: 'compromised', actions: 'recordCompromise' },
      },
    },
    suspended: {
      on: {
        RESUME: { guard: 'cryptoperiodRunning', target: 'active', actions: 'recordResumption' },
        DEACTIVATE: { target: 'deactivated', actions: 'recordDeactivation' },
        EXPIRE: { guard: 'cryptoperiodEnded', target: 'deactivated', actions: 'recordExpiry' },
        COMPROMISE: { target: 'compromised', actions: 'recordCompromise' },
      },
    },
    deactivated: {
      on: {
        COMPROMISE: { target: 'compromised', actions: 'recordCompromise' },
        DESTROY: { target: 'destroyed', actions: 'recordDestruction' },
      },
    },
    compromised: {
      on: {
        DESTROY: { target: 'destroyedCompromised', actions: 'recordDestruction' },
      },
    },
    destroyed: {
      on: {
        COMPROMISE: { target: 'destroyedCompromised', actions: 'recordCompromise' },
      },
    },
    destroyedCompromised: { type: 'final' },
  },
});

/** A snapshot of {@link keyLifecycleMachine}. */
export type KeyLifecycleSnapshot = ReturnType<typeof keyLifecycleMachine.getInitialSnapshot>;

/**
 * Usage of a key at time `now`: {@link keyUsage} of its state, except that protection also needs
 * `now` inside the originator-usage period `[activatedAt, expiresAt)`. Between the end of the cryptoperiod and the
 * `EXPIRE` sweep a key is
 * still `active` on paper, but it must not encrypt (NIST SP 800-57 Pt 1 §5.3.5: protection only
 * during the originator-usage period).
 */
export function keyUsageAt(state: KeyState, context: KeyLifecycleContext, now: number): KeyUsage {
  const usage = keyUsage(state);
  if (!usage.protect) return usage;
  // The originator-usage period is [activatedAt, expiresAt): a query for a time before activation
  // (a clock behind the one that activated the key) does not get to encrypt either.
  const running =
    context.activatedAt !== null && context.expiresAt !== null && now >= context.activatedAt && now < context.expiresAt;
  return running ? usage : { ...usage, protect: false };
}

/**
 * The snapshot of a freshly generated key (NIST T1: generation → pre-activation). Throws a
 * `RangeError` on a bad input, where `initialTransition` alone would hand back an errored snapshot.
 */
export function newKeyLifecycle(input: KeyLifecycleInput): KeyLifecycleSnapshot {
  const [snapshot] = initialTransition(keyLifecycleMachine, input);
  if (snapshot.status === 'error') throw snapshot.error;
  return snapshot;
}
