/**
 * PINs from the command line: changing the admin HSM's PIN, resetting a user's PIN through the admin
 * HSM (a PIN reset order, `RESET_ORDER_ACCEPTED` of `model/pinSession.ts`), and the warning printed
 * when a wrong PIN leaves one try: the next wrong one locks that level (the SEcube's retry counter,
 * NIST SP 800-63B §5.2.2 throttling); recovery then is a reset order for a user, a factory reset —
 * which loses the installation — for the administrator.
 * @module
 */
import { Flash } from '../../device/flash.ts';
import { SdCard } from '../../device/sdcard.ts';
import { SecubeDevice } from '../../device/secube.ts';
import { peekDeviceImages } from '../host/deviceImages.ts';
import { InstallationError } from '../host/installationError.ts';
import type { Admin } from '../kms/admin.ts';
import { userDeviceOf } from '../kms/distribution.ts';
import { readUser } from '../kms/kmsRows.ts';
import { issuePinReset } from '../kms/pinReset.ts';
import { SekeyError } from '../protocol/sekeyError.ts';
import type { UserId } from '../../model/kms.ts';
import type { AdminCommand } from './adminCommand.ts';
import { UsageError } from './args.ts';
import { pinValue } from './argValues.ts';
import type { CliIo } from './cliIo.ts';
import { errorCode } from './reportError.ts';
import { CliError } from './cliError.ts';
import type { GlobalOptions } from './globalOptions.ts';

/**
 * A new PIN: `--new-pin`, else the environment's `variable` (a PIN on the command line is visible to
 * every local user: {@link NEW_PIN_ENV}), else typed twice at a hidden prompt on a terminal; with
 * `current` (a change of the PIN the session logged in with), never that one: announced as new, it
 * would be no change.
 * @throws UsageError without any, or for the current PIN; CliError `NotConfirmed` when the two
 * typed differ.
 */
export async function newPinValue(
  option: string | undefined,
  io: CliIo,
  what: string,
  variable: (typeof NEW_PIN_ENV)['--admin-pin' | '--user-pin'],
  current?: string,
): Promise<string> {
  const checked = (pin: string, source: string): string => {
    if (pinValue(pin, source) === current)
      throw new UsageError(`${source}: this is the ${what} in use; nothing was changed`);
    return pin;
  };
  if (option !== undefined) return checked(option, '--new-pin');
  const fromEnv = io.env[variable];
  if (fromEnv !== undefined && fromEnv !== '') return checked(fromEnv, `$${variable}`);
  if (io.prompt === undefined)
    throw new UsageError(
      `give the new ${what}: set ${variable}, or run it on a terminal to type it (hidden, twice), or pass ` +
        '--new-pin PIN (visible to other local users: ps)',
    );
  const typed = await typedTwice(io.prompt, what, `the two new ${what}s typed differ; nothing was changed`);
  return checked(typed, `the new ${what} typed`);
}

/**
 * What to do when the two PINs typed differ. Not `NotConfirmed`'s general remedy, which tells of
 * answering yes and of `--yes`: no question was asked here, and `change-pin` takes no `--yes`.
 */
const PINS_DIFFER_REMEDY =
  'Nothing to undo: run the command again and type the same new PIN both times (hidden, so typed with care).';

/**
 * A new `what` typed twice at hidden prompts, the second time to catch a typo nobody could see.
 * @throws CliError `NotConfirmed` (saying `differ`) when the two typed differ.
 */
async function typedTwice(prompt: NonNullable<CliIo['prompt']>, what: string, differ: string): Promise<string> {
  const first = await prompt(`new ${what}: `, { hidden: true });
  const again = await prompt(`new ${what} again: `, { hidden: true });
  if (first !== again) throw new CliError('NotConfirmed', differ, PINS_DIFFER_REMEDY);
  return first;
}

/**
 * The variables that stand in for the options of the PINs `admin init` and `admin provision` set on
 * the HSM they create: a PIN on the command line is visible to every local user while the command
 * runs (`ps`, /proc/PID/cmdline), the environment only to the user running it. Names of their own,
 * not SEKEY_ADMIN_PIN or SEKEY_USER_PIN: a PIN exported to log in with never becomes a new HSM's PIN
 * unasked, and one exported to be set is never tried as a login (spending a try).
 */
export const NEW_PIN_ENV = {
  '--admin-pin': 'SEKEY_NEW_ADMIN_PIN',
  '--user-pin': 'SEKEY_NEW_USER_PIN',
  '--device-admin-pin': 'SEKEY_NEW_DEVICE_ADMIN_PIN',
} as const;

/** What the help of `admin init` and `admin provision` says about their PIN options (an example follows). */
export const NEW_PINS_WARNING =
  'A PIN on the command line is visible to every local user while the command runs (`ps`): leave a PIN ' +
  'option out to type that PIN twice at a hidden prompt, or give it in the environment, which other users ' +
  'cannot read (the variable each option names), e.g.:';

/** An option giving a PIN to set on a new HSM. */
export type NewPinOption = keyof typeof NEW_PIN_ENV;

/** A PIN a command sets on an HSM it creates. */
export interface PinToSet {
  readonly option: NewPinOption;
  readonly level: 'admin' | 'user';
  /** The HSM as prompts name it: `the admin HSM`, `U5's new HSM`. */
  readonly hsm: string;
  /** From the option, else its variable (a valid PIN); undefined: to be typed ({@link settledPin}). */
  readonly given: string | undefined;
}

/**
 * The PIN to set of `option`: the option's `value`, else its variable in `env` (empty is unset), each
 * checked as a PIN now, before anything is touched; else none yet, to be typed.
 * @throws UsageError for a PIN no HSM takes, named by where it came from.
 */
export function pinToSet(
  option: NewPinOption,
  level: PinToSet['level'],
  hsm: string,
  value: string | undefined,
  env: CliIo['env'],
): PinToSet {
  const variable = env[NEW_PIN_ENV[option]];
  const given =
    value !== undefined
      ? pinValue(value, option)
      : variable !== undefined && variable !== ''
        ? pinValue(variable, `$${NEW_PIN_ENV[option]}`)
        : undefined;
  return { option, level, hsm, given };
}

/**
 * Refuses, before any HSM is touched, a command that has no terminal to type the PINs it was not
 * given: `sets` says what it does (`init sets the admin HSM's PINs`); the refusal names the three ways.
 * @throws UsageError
 */
export function requirePinsToSet(pins: readonly PinToSet[], terminal: boolean, sets: string): void {
  const missing = pins.filter((p) => p.given === undefined).map((p) => p.option);
  if (missing.length > 0 && !terminal) throw noWayToSet(missing, sets);
}

/** The refusal of {@link requirePinsToSet}. */
function noWayToSet(missing: readonly NewPinOption[], sets: string): UsageError {
  const them = missing.length === 1 ? 'it' : 'them';
  return new UsageError(
    `${sets}, and none was given for ${missing.join(', ')}: set ${missing.map((o) => NEW_PIN_ENV[o]).join(' and ')}, ` +
      `or run it on a terminal to type ${them} (hidden, twice), or pass ` +
      `${missing.map((o) => `${o} PIN`).join(' and ')} (a PIN on the command line is visible to other local ` +
      'users: ps)',
  );
}

/**
 * The PIN `pin` sets: the one given, else typed twice at a hidden prompt; `unchanged` ends the refusal
 * when the two typed differ (`nothing was created`).
 * @throws CliError `NotConfirmed` when they differ; UsageError for a PIN no HSM takes, or without a
 * terminal (refused before, by {@link requirePinsToSet}).
 */
export async function settledPin(pin: PinToSet, io: CliIo, unchanged: string): Promise<string> {
  if (pin.given !== undefined) return pin.given;
  const what = `${pin.level} PIN of ${pin.hsm}`;
  if (io.prompt === undefined) throw noWayToSet([pin.option], `this command sets the ${what}`);
  const typed = await typedTwice(
    io.prompt,
    what,
    `the two ${pin.level} PINs typed for ${pin.hsm} differ; ${unchanged}`,
  );
  return pinValue(typed, `the new ${what} typed`);
}

/**
 * The tries left at `level` of the HSM whose images are in `dir`, as the next command will boot it.
 * Read-only (`peekDeviceImages`): it runs outside the home's lock, while another command may be
 * saving those images.
 */
export function triesLeftOnDisk(dir: string, level: 'user' | 'admin'): number | null {
  try {
    const images = peekDeviceImages(dir);
    if (images === null) return null;
    return new SecubeDevice({ flash: Flash.fromImage(images.flash), sdcard: SdCard.fromImage(images.sd) }).retriesLeft[
      level
    ];
  } catch {
    return null; // a damaged image (or one read in the middle of a save) is reported by the command itself
  }
}

/** Whose PIN a command spends: a level of one HSM, where its images are, what is left once it locks. */
export interface PinHolder {
  readonly level: 'admin' | 'user';
  /** The HSM as messages name it: `the admin HSM`, `U1's HSM`. */
  readonly hsm: string;
  /** The folder of its images (for {@link triesLeftOnDisk}). */
  readonly dir: string;
  /** What to do once the level is locked (README: "PIN tries, lockout and recovery"). */
  readonly recovery: string;
  /** Where a PIN that is not typed comes from. */
  readonly env: 'SEKEY_ADMIN_PIN' | 'SEKEY_USER_PIN';
}

/** The admin level of the admin HSM, whose images are in `dir`. */
export function adminPinHolder(dir: string): PinHolder {
  return {
    level: 'admin',
    hsm: 'the admin HSM',
    dir,
    recovery: 'only a factory reset of the admin HSM helps, and it loses the installation (every key, user and group)',
    env: 'SEKEY_ADMIN_PIN',
  };
}

/** The user level of `userId`'s HSM, whose images are in `dir`. */
export function userPinHolder(userId: string, dir: string): PinHolder {
  return {
    level: 'user',
    hsm: `${userId}'s HSM`,
    dir,
    recovery: `the administrator sets a new user PIN through the admin HSM (\`sekey admin reset-user-pin ${userId}\`)`,
    env: 'SEKEY_USER_PIN',
  };
}

/** A PIN a command was given, and where from. */
export interface GivenPin {
  readonly pin: string;
  /** `--pin`, the environment, or the prompt (typed now, knowing the tries left). */
  readonly source: '--pin' | `$${PinHolder['env']}` | 'the prompt';
}

/**
 * The PIN of `holder`: `--pin`, else the environment, else typed at a hidden prompt on a terminal.
 * A PIN is never defaulted: without any of those, a usage error.
 *
 * The last try is spent only by a PIN typed for it, or with `--last-try`: a PIN that is not typed
 * may be stale (changed since the script or cron job that passes it was written), and three runs of
 * it would lock the HSM without anyone choosing to; for the admin HSM that loses the installation.
 * {@link lastTryGuard} applies that rule, under the session's lock.
 */
export async function requirePin(options: GlobalOptions, io: CliIo, holder: PinHolder): Promise<GivenPin> {
  const given = options.pin ?? io.env[holder.env];
  if (given !== undefined && given !== '') {
    // The tries left are judged under the session's lock (lastTryGuard), where the device is loaded
    // anyway: not here, which would boot the HSM from its images once more for every command.
    const source = options.pin === undefined ? (`$${holder.env}` as const) : '--pin';
    return { pin: pinValue(given, source), source };
  }
  if (io.prompt !== undefined) {
    // Before the person types: if this is the last try, they should know before they guess.
    if (triesLeftOnDisk(holder.dir, holder.level) === 1)
      io.err(`warning: ONE ${holder.level} PIN try left on ${holder.hsm}: if it is wrong, ${holder.recovery}`);
    const typed = await io.prompt(`${holder.level} PIN of ${holder.hsm}: `, { hidden: true });
    if (typed !== '') return { pin: pinValue(typed, `the ${holder.level} PIN typed`), source: 'the prompt' };
  }
  throw new UsageError(`this command needs the ${holder.level} PIN: pass --pin PIN or set ${holder.env}`);
}

/**
 * The check of {@link requirePin}'s rule on the tries left, for the session to run under its lock
 * right before the PIN is tried (`InstallationOptions.beforeLogin`).
 * @throws CliError `LastPinTry`
 */
export function lastTryGuard(
  options: GlobalOptions,
  holder: PinHolder,
  given: GivenPin,
): (retriesLeft: number) => void {
  return (retriesLeft) => {
    if (retriesLeft !== 1 || options.lastTry || given.source === 'the prompt') return;
    throw new CliError(
      'LastPinTry',
      `ONE ${holder.level} PIN try left on ${holder.hsm}, and a wrong PIN locks it (then ${holder.recovery}); ` +
        `a PIN from ${given.source} is not spent on it: type the PIN at the prompt on a terminal (without ` +
        `--pin and $${holder.env}), or add --last-try`,
    );
  };
}

/**
 * What to say after a refusal about `holder`'s PIN: when a wrong PIN leaves one try, what the next
 * wrong one does; once the level is locked, how to recover. Null after any other error.
 */
export function pinAdvice(error: unknown, holder: PinHolder): string | null {
  const code = errorCode(error);
  if (code !== 'WrongPin' && code !== 'PinLocked') return null;
  const left = triesLeftOnDisk(holder.dir, holder.level);
  if (code === 'WrongPin' && left === 1) {
    const then = `another wrong PIN locks it; then ${holder.recovery}`;
    return `warning: ONE ${holder.level} PIN try left on ${holder.hsm}: ${then}`;
  }
  // Locked now (the third wrong PIN) or before: the admin level's lock is DeviceLocked, whose
  // message says it all.
  if (holder.level === 'user' && left === 0) return `${holder.hsm} is locked at user level: ${holder.recovery}`;
  return null;
}

/** `sekey admin change-pin`: a new admin-level PIN for the admin HSM. */
export const ADMIN_CHANGE_PIN: AdminCommand = {
  name: 'change-pin',
  args: '[--new-pin PIN]',
  summary: "change the admin HSM's admin PIN (--pin is the current one; the new one asked twice on a terminal)",
  help:
    '  --new-pin PIN           the new admin PIN, 4 to 64 bytes (else $SEKEY_NEW_ADMIN_PIN, else asked twice ' +
    'on a terminal); then update every script and cron job that passes the old one',
  examples: ['sekey admin change-pin --new-pin admin-pin-2027'],
  mutates: false,
  prepare: (args) => {
    const option = args.option('--new-pin');
    return async ({ session, io, did, pin: current }) => {
      const pin = await newPinValue(option, io, 'admin PIN', NEW_PIN_ENV['--admin-pin'], current);
      session.admin.device.changeAdminPin(pin);
      did({ changed: 'admin PIN' });
      io.out('the admin HSM has a new admin PIN: use it from now on (--pin or SEKEY_ADMIN_PIN)');
    };
  },
};

/** The serial of `userId`'s HSM in service, or null (no such user, no HSM, or a retired one). */
function serialInService(admin: Admin, userId: UserId): string | null {
  return admin.readDatabase((db) => {
    if (readUser(db, userId) === null) return null;
    try {
      const { serial, inService } = userDeviceOf(db, userId);
      return inService ? serial : null;
    } catch (error) {
      if (error instanceof SekeyError && error.code === 'NotProvisioned') return null;
      throw error;
    }
  });
}

/**
 * `sekey admin reset-user-pin U`: a new user PIN for U's HSM, through the admin HSM. The admin HSM
 * issues a PIN reset order (`device/pinResetOrder.ts`: the new PIN sealed to U's HSM alone, fresher
 * than any order before it) and U's HSM, logged out, takes it — also when its user level is locked.
 *
 * The order goes straight from one HSM to the other, in the same session, because this command's
 * installation keeps every HSM's images in one home, as provisioning relies on too (both devices on
 * the admin's host, as the original's `sekey_init_user_SEcube`). The order needs no trusted path:
 * its bytes are authenticated by U's HSM itself, so a deployment with the HSMs apart can carry them
 * over the share or any other channel unchanged. Not through the update stream, though: a user
 * applies update files in a user session, which is exactly what a locked user PIN rules out.
 */
export const ADMIN_RESET_USER_PIN: AdminCommand = {
  name: 'reset-user-pin',
  args: 'U [--new-pin PIN]',
  summary: "a new user PIN on U's HSM, all tries back (also when locked): an order of the admin HSM",
  help: [
    "The admin HSM issues a PIN reset order for U's HSM: the new PIN sealed so that only U's HSM reads",
    "it, numbered so that it is never accepted twice. U's HSM takes it without any PIN (its user level",
    'may be locked) and gives the user level all its tries back. Nothing else changes and no key moves.',
    'Tell U the new PIN out of band; U then sets one of its own (`sekey user U change-pin`).',
    '  --new-pin PIN           the new user PIN (else $SEKEY_NEW_USER_PIN, else asked twice on a terminal)',
  ].join('\n'),
  examples: ['sekey admin reset-user-pin U2 --new-pin bob-temporary-1'],
  mutates: false,
  prepare: (args) => {
    const option = args.option('--new-pin');
    const userId = args.positional('user ID');
    return async ({ session, io, did, installation }) => {
      const newPin = await newPinValue(option, io, `user PIN of ${userId}`, NEW_PIN_ENV['--user-pin']);
      // U's HSM first, and that it is the one paired with U: the order is issued in an audited
      // transaction, which stood as a reset when U's folder then held no HSM, a damaged one or another
      // user's (refused as UnknownKey). No HSM in service: issuePinReset says why (UnknownUser, …).
      const serial = serialInService(session.admin, userId);
      const device = serial === null ? null : session.userDevice(userId);
      if (device !== null && device.serial !== serial)
        throw new InstallationError(
          'BadInstallation',
          `${installation.userDir(userId)} holds HSM ${device.serial}, not ${userId}'s ${serial}`,
          `Put ${userId}'s own HSM back in ${installation.userDir(userId)} (or restore the folder from a backup).`,
        );
      const delivery = issuePinReset(session.admin, userId, newPin);
      const sequence = (device ?? session.userDevice(userId)).acceptPinResetOrder(
        delivery.channelKeyId,
        delivery.order,
      );
      did({ user: userId, order: sequence });
      io.out(`${userId}'s HSM has a new user PIN, with all its tries (PIN reset order #${sequence} of the admin HSM)`);
    };
  },
};
