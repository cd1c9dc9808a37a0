/**
 * PIN sessions of one SEcube device: who is logged in, and how many wrong PINs each level has left.
 *
 * The original firmware has no retry counter at all (any number of guesses, and the login challenge
 * leaks PBKDF2(PIN, host nonce) before the host proves anything). Here every level has a counter that
 * is **spent before the PIN is compared**: a login attempt first moves to `checking` with the try
 * already taken off (the device persists that to flash), and only the next step compares the PIN. A
 * power cut between the two (`POWER_LOSS`) leaves the try spent, so cutting power never buys a free
 * guess — the classic attack on smart cards that decrement after the comparison.
 *
 * - A success restores that level's counter to the maximum.
 * - A user level with no tries left refuses user logins; an admin session may reset it, and so may a
 *   PIN reset order of the KMS administrator's HSM, accepted while nobody is logged in
 *   (`RESET_ORDER_ACCEPTED`): recovery without the device's own admin PIN and without a new device,
 *   as the RESET RETRY COUNTER command of ISO/IEC 7816-4 (INS '2C') unblocks a card's PIN with a
 *   reset code held by its issuer.
 * - An admin level with no tries left makes the whole device `locked`: nothing but a factory reset,
 *   which erases every key (action `eraseAllKeys`), brings it back.
 * - A factory reset is also allowed when nobody is logged in (and in an admin session, not in a user
 *   session): it needs no PIN, and it can reveal nothing — every key and the device identity are
 *   erased, so the device must be provisioned again. What it allows is destroying one's own device,
 *   which possession allows anyway. (The device, `device/secubeFactory.ts`, also needs its own
 *   manufacturer, who certifies the new identity.)
 *
 * @module
 */
import { assertEvent, assign, setup } from 'xstate';
import type { MachineDescription } from './machineDescription.ts';

/** PIN levels, as the SEcube firmware's `SE3_ACCESS_USER` (100) and `SE3_ACCESS_ADMIN` (1000). */
export type PinLevel = 'user' | 'admin';

/** Every state of a PIN session. */
export const PIN_STATES = ['loggedOut', 'checking', 'user', 'admin', 'locked'] as const;
/** A state of a PIN session. */
export type PinState = (typeof PIN_STATES)[number];

/** Every event a PIN session understands. */
export const PIN_EVENT_TYPES = [
  'LOGIN',
  'PIN_ACCEPTED',
  'PIN_REJECTED',
  'POWER_LOSS',
  'LOGOUT',
  'RESET_USER_PIN',
  'RESET_ORDER_ACCEPTED',
  'FACTORY_RESET',
] as const;
/** The type of a PIN session event. */
export type PinEventType = (typeof PIN_EVENT_TYPES)[number];

/**
 * PIN session events.
 * - `LOGIN`: a login attempt at `level`; spends one try of that level before any comparison.
 * - `PIN_ACCEPTED` / `PIN_REJECTED`: the outcome of the comparison the device ran in `checking`.
 * - `POWER_LOSS`: power went away; every session ends, spent tries stay spent.
 * - `RESET_USER_PIN`: an admin session sets a new user PIN and restores the user tries.
 * - `RESET_ORDER_ACCEPTED`: nobody logged in, the device verified a PIN reset order of the KMS
 *   administrator's HSM (authentic, for this device, fresher than the last one it accepted): it sets
 *   the new user PIN the order carries and restores the user tries. The device feeds it only after
 *   those checks, which are about bytes the machine does not see (`device/pinResetOrder.ts`).
 * - `FACTORY_RESET`: erase every key, restore both counters (the PINs go back to the factory value).
 */
export type PinEvent =
  | { type: 'LOGIN'; level: PinLevel }
  | { type: 'PIN_ACCEPTED' }
  | { type: 'PIN_REJECTED' }
  | { type: 'POWER_LOSS' }
  | { type: 'LOGOUT' }
  | { type: 'RESET_USER_PIN' }
  | { type: 'RESET_ORDER_ACCEPTED' }
  | { type: 'FACTORY_RESET' };

/** Input of {@link pinSessionMachine}. */
export interface PinSessionInput {
  /** Consecutive wrong PINs a level tolerates (default {@link DEFAULT_PIN_RETRIES}). */
  maxRetries?: number;
  /** Tries left per level, when restoring a device whose counters live in flash. */
  retriesLeft?: { user: number; admin: number };
}

/** Context of a PIN session. */
export interface PinSessionContext {
  readonly maxRetries: number;
  /** Tries left per level; 0 means the level is locked. */
  readonly retriesLeft: { readonly user: number; readonly admin: number };
  /** The level of the attempt being compared while in `checking`. */
  readonly attempting: PinLevel | null;
}

/** The number of tries per level, as on most smart cards (ISO 7816-4 VERIFY retry counters). */
export const DEFAULT_PIN_RETRIES = 3;

/** The guards, actions and parameters of {@link pinSessionMachine} in words, for the specification. */
export const PIN_SESSION_DESCRIPTION: MachineDescription = {
  guards: {
    levelHasTries: '`retriesLeft[level] > 0` for the level the `LOGIN` asks for.',
    adminLevelExhausted:
      '`retriesLeft.admin = 0`. Checked on entering `loggedOut`, so also at boot with counters restored from flash.',
    attemptingAdmin: "The attempt being compared is at admin level (`attempting = 'admin'`).",
  },
  actions: {
    spendTry:
      '`retriesLeft[level] -= 1`, `attempting = level`. The device persists the counter to flash before it compares ' +
      'the PIN.',
    restoreTries: '`retriesLeft[attempting] = maxRetries`, `attempting = null`: a correct PIN restores its level.',
    endAttempt: '`attempting = null`; the spent try stays spent.',
    restoreUserTries:
      '`retriesLeft.user = maxRetries`: an admin session, or a PIN reset order of the KMS administrator, resets the ' +
      'user PIN.',
    restoreAllTries: 'Both levels back to `maxRetries`, `attempting = null`.',
    eraseAllKeys:
      'Handed back to the device, which erases every key, both PINs and its identity (it must be provisioned again).',
  },
  parameters: [
    {
      name: 'maxRetries',
      value: `${DEFAULT_PIN_RETRIES} (\`DEFAULT_PIN_RETRIES\`), set at factory init`,
      meaning:
        'Consecutive wrong PINs a level tolerates (ISO 7816-4 VERIFY retry counters). A user level at 0 refuses user ' +
        "logins until an admin resets it (an admin session, or a reset order of the KMS administrator's HSM); an " +
        'admin level at 0 locks the device until a factory reset.',
    },
  ],
};

/**
 * The PIN session machine. Counters are bounded, so the state graph is finite and the exhaustive
 * graph tests walk every edge.
 */
export const pinSessionMachine = setup({
  types: {
    context: {} as PinSessionContext,
    events: {} as PinEvent,
    input: {} as PinSessionInput,
  },
  guards: {
    /** The level asked for still has tries left. */
    levelHasTries: ({ context, event }) => {
      assertEvent(event, 'LOGIN');
      return context.retriesLeft[event.level] > 0;
    },
    /** The admin level has no tries left: the device is unusable until a factory reset. */
    adminLevelExhausted: ({ context }) => context.retriesLeft.admin === 0,
    /** The attempt being compared is at admin level. */
    attemptingAdmin: ({ context }) => context.attempting === 'admin',
  },
  actions: {
    /** Takes one try off the level before the comparison (persisted to flash by the device). */
    spendTry: assign(({ context, event }) => {
      assertEvent(event, 'LOGIN');
      const level = event.level;
      return {
        attempting: level,
        retriesLeft: { ...context.retriesLeft, [level]: context.retriesLeft[level] - 1 },
      };
    }),
    /** A correct PIN gives the level back all its tries. */
    restoreTries: assign(({ context }) => {
      // `checking` is only entered through spendTry, which sets the level.
      const level = context.attempting as PinLevel;
      return { attempting: null, retriesLeft: { ...context.retriesLeft, [level]: context.maxRetries } };
    }),
    /** The comparison is over (or was cut short); the spent try stays spent. */
    endAttempt: assign({ attempting: null }),
    /** An admin (its session, or its HSM's reset order) restores the user level after a lockout or a forgotten PIN. */
    restoreUserTries: assign(({ context }) => ({
      retriesLeft: { ...context.retriesLeft, user: context.maxRetries },
    })),
    /** Factory reset: both levels get all their tries back. */
    restoreAllTries: assign(({ context }) => ({
      attempting: null,
      retriesLeft: { user: context.maxRetries, admin: context.maxRetries },
    })),
    /**
     * Erase every key and PIN. The effect belongs to the device: `transition()` hands this action
     * back to it (assignments are folded into the snapshot and never come back), and the device
     * wipes its key store when it sees it.
     */
    eraseAllKeys: () => {},
  },
}).createMachine({
  id: 'pinSession',
  context: ({ input }) => {
    const maxRetries = input.maxRetries ?? DEFAULT_PIN_RETRIES;
    if (!Number.isSafeInteger(maxRetries) || maxRetries < 1) {
      throw new RangeError(`maxRetries must be a positive integer, got ${maxRetries}`);
    }
    const retriesLeft = input.retriesLeft ?? { user: maxRetries, admin: maxRetries };
    for (const level of ['user', 'admin'] as const) {
      const left = retriesLeft[level];
      if (!Number.isSafeInteger(left) || left < 0 || left > maxRetries) {
        throw new RangeError(`retriesLeft.${level} must be in 0..${maxRetries}, got ${left}`);
      }
    }
    return { maxRetries, retriesLeft: { ...retriesLeft }, attempting: null };
  },
  initial: 'loggedOut',
  states: {
    loggedOut: {
      // Also reached at boot with counters restored from flash, hence an eventless check.
      always: { guard: 'adminLevelExhausted', target: 'locked' },
      on: {
        LOGIN: { guard: 'levelHasTries', target: 'checking', actions: 'spendTry' },
        // Logged out only: no session is needed (the user level may be locked), and none is opened.
        RESET_ORDER_ACCEPTED: { actions: 'restoreUserTries' },
        FACTORY_RESET: { target: 'loggedOut', actions: ['eraseAllKeys', 'restoreAllTries'] },
      },
    },
    checking: {
      on: {
        PIN_ACCEPTED: [
          { guard: 'attemptingAdmin', target: 'admin', actions: 'restoreTries' },
          { target: 'user', actions: 'restoreTries' },
        ],
        // Back to loggedOut, whose eventless check locks the device if that was the last admin try.
        PIN_REJECTED: { target: 'loggedOut', actions: 'endAttempt' },
        POWER_LOSS: { target: 'loggedOut', actions: 'endAttempt' },
      },
    },
    user: {
      on: {
        LOGOUT: 'loggedOut',
        POWER_LOSS: 'loggedOut',
      },
    },
    admin: {
      on: {
        LOGOUT: 'loggedOut',
        POWER_LOSS: 'loggedOut',
        RESET_USER_PIN: { actions: 'restoreUserTries' },
        FACTORY_RESET: { target: 'loggedOut', actions: ['eraseAllKeys', 'restoreAllTries'] },
      },
    },
    locked: {
      on: {
        FACTORY_RESET: { target: 'loggedOut', actions: ['eraseAllKeys', 'restoreAllTries'] },
      },
    },
  },
});
