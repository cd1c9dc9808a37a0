/**
 * DEVICE-INTERNAL. PIN sessions of the SEcube: login, logout, PIN changes, and the retry counters.
 *
 * Every decision is the model's `pinSessionMachine` (driven with xstate's pure `transition()`); the
 * device persists what the machine decided and runs the effects it hands back. The fixes over the
 * original firmware (which stores PINs in clear and counts no tries, W8): a retry counter per level,
 * spent in flash **before** the comparison, so a power cut between the two gives no free try; PINs
 * kept only as salted PBKDF2-HMAC-SHA256 verifiers (RFC 8018 §5.2, `pinHash.ts`) compared in
 * constant time.
 * @module
 */
import { transition } from '../model/pureTransition.ts';
import type { PinEvent, PinLevel } from '../model/pinSession.ts';
import { pinSessionMachine } from '../model/pinSession.ts';
import { DeviceError } from './deviceError.ts';
import { chargePbkdf2 } from './meteredCrypto.ts';
import { PIN_SALT_BYTES, makePinVerifier, pinBytes, verifyPin } from './pinHash.ts';
import type { Pin, PinVerifier } from './pinHash.ts';
import { sessionOf } from './secubeCore.ts';
import type { DeviceCore, PinSnapshot, SessionState } from './secubeCore.ts';

/** The session state, from the PIN machine (`checking` exists only inside {@link login}). */
export function sessionState(core: DeviceCore): SessionState {
  return sessionOf(core.requireInit().pin.value);
}

/** Tries left per level (persisted in flash). */
export function retriesLeft(core: DeviceCore): { readonly user: number; readonly admin: number } {
  return { ...core.requireInit().pin.context.retriesLeft };
}

/** Feeds `event` to the PIN machine; reports whether it asked for the `eraseAllKeys` effect. */
export function feedPin(core: DeviceCore, event: PinEvent): { next: PinSnapshot; eraseAllKeys: boolean } {
  const { pin } = core.requireInit();
  const [next, actions] = transition(pinSessionMachine, pin, event);
  return { next, eraseAllKeys: actions.some((a) => a.type === 'eraseAllKeys') };
}

/** Writes the snapshot's retry counters to flash when they differ from the persisted ones. */
function persistRetries(core: DeviceCore, snapshot: PinSnapshot): void {
  const { state } = core.requireInit();
  const left = snapshot.context.retriesLeft;
  if (left.user !== state.retriesLeft.user || left.admin !== state.retriesLeft.admin)
    core.save({ ...state, retriesLeft: { ...left } });
}

/** A fresh salted PBKDF2 verifier of `pin` (RFC 8018 §5.2), the salt from the TRNG, its cost charged. */
export function newPinVerifier(core: DeviceCore, pin: Pin): PinVerifier {
  pinBytes(pin);
  chargePbkdf2(core.meter, core.pinIterations);
  return makePinVerifier(pin, core.trng.randomBytes(PIN_SALT_BYTES), core.pinIterations);
}

/**
 * Opens a session at `level`: the machine spends one try, the device writes it to flash, and only
 * then compares the PIN; a correct PIN restores that level's tries.
 * @throws DeviceError `WrongPin`, `PinLocked`, `DeviceLocked`, `SessionActive`.
 */
export function login(core: DeviceCore, level: PinLevel, pin: Pin): void {
  const { state, pin: current } = core.requireInit();
  pinBytes(pin); // a malformed PIN is a usage error, not a guess: refuse it before spending a try
  const event: PinEvent = { type: 'LOGIN', level };
  if (!current.can(event)) {
    if (current.value === 'locked')
      throw new DeviceError('DeviceLocked', 'admin PIN tries exhausted: only a factory reset helps');
    if (current.value !== 'loggedOut') throw new DeviceError('SessionActive', 'log out first');
    throw new DeviceError('PinLocked', `the ${level} PIN has no tries left`);
  }
  const { next: checking } = feedPin(core, event);
  core.authenticatedUpdate = undefined;
  persistRetries(core, checking); // the spent try reaches flash before any comparison
  core.pin = checking;
  core.testHooks?.onTrySpent?.();
  core.requirePower();
  chargePbkdf2(core.meter, state.pins[level].iterations);
  const accepted = verifyPin(pin, state.pins[level]);
  const { next } = feedPin(core, { type: accepted ? 'PIN_ACCEPTED' : 'PIN_REJECTED' });
  persistRetries(core, next);
  core.pin = next;
  if (!accepted) {
    if (next.value === 'locked')
      throw new DeviceError('DeviceLocked', 'wrong admin PIN, no tries left: only a factory reset helps');
    const left = next.context.retriesLeft[level];
    // The last wrong user PIN locks the level: say so, and who can lift it (model/pinSession.ts).
    throw new DeviceError(
      'WrongPin',
      left === 0
        ? `wrong ${level} PIN, no tries left: the ${level} level is locked until an admin resets its PIN`
        : `wrong ${level} PIN, ${left} ${left === 1 ? 'try' : 'tries'} left`,
      wrongPinRemedy(level, left),
    );
  }
}

/**
 * The way out of a wrong PIN at `level` with `left` tries: a locked user level is lifted by the
 * administrator (a PIN reset order); the admin level is never reset, so its last tries are guarded.
 */
function wrongPinRemedy(level: PinLevel, left: number): string {
  // No command names or options here: the device knows nothing of the command line (nor may a remedy
  // hold a PIN). The admin level's last wrong try ends in DeviceLocked, not here: left 0 is the user's.
  if (left === 0) return 'Ask the administrator to set a new user PIN (a PIN reset order; no new HSM needed).';
  const lock = level === 'admin' ? 'locks the HSM for good' : 'locks the user level';
  const check =
    left === 1
      ? `Check the ${level} PIN: one try is left, and a wrong one ${lock}`
      : `Check the ${level} PIN and try again`;
  return level === 'admin' ? `${check}.` : `${check}; a forgotten one is set anew by the administrator.`;
}

/** Ends the session. @throws DeviceError `NotLoggedIn`. */
export function logout(core: DeviceCore): void {
  const { pin } = core.requireInit();
  if (!pin.can({ type: 'LOGOUT' })) throw new DeviceError('NotLoggedIn', 'no session to close');
  core.pin = feedPin(core, { type: 'LOGOUT' }).next;
  core.authenticatedUpdate = undefined;
}

/** Admin: a new user PIN, and the user level's tries restored (`RESET_USER_PIN`), in one record. */
export function resetUserPin(core: DeviceCore, newPin: Pin): void {
  const { state, pin } = core.requireSession(['admin']);
  if (!pin.can({ type: 'RESET_USER_PIN' }))
    throw new DeviceError('AccessDenied', 'the PIN machine refuses RESET_USER_PIN here');
  const { next } = feedPin(core, { type: 'RESET_USER_PIN' });
  // New verifier and restored counter in one record: both or neither survive a cut.
  core.save({
    ...state,
    pins: { ...state.pins, user: newPinVerifier(core, newPin) },
    retriesLeft: { ...next.context.retriesLeft },
  });
  core.pin = next;
}

/**
 * User: a new user PIN, set from a user session — the holder proved the current one at login
 * (NIST SP 800-63B §6.1.2.1: the subscriber may change a memorized secret after authenticating
 * with it). The retry counter is untouched: the login already restored it.
 */
export function changeUserPin(core: DeviceCore, newPin: Pin): void {
  const { state } = core.requireSession(['user']);
  core.save({ ...state, pins: { ...state.pins, user: newPinVerifier(core, newPin) } });
}

/** Admin: a new admin PIN. */
export function changeAdminPin(core: DeviceCore, newPin: Pin): void {
  const { state } = core.requireSession(['admin']);
  core.save({ ...state, pins: { ...state.pins, admin: newPinVerifier(core, newPin) } });
}
