/**
 * PINs from the command line: changing the admin HSM's PIN, resetting a user's PIN on the user's HSM
 * (its admin level restores the user level's tries, `RESET_USER_PIN` of `model/pinSession.ts`), and
 * the warning printed when a wrong PIN leaves one try: the next wrong one locks that level (the
 * SEcube's retry counter, NIST SP 800-63B §5.2.2 throttling), and recovery then costs a new HSM for a
 * user, a factory reset — which loses the installation — for the administrator.
 * @module
 */
import { Flash } from '../../device/flash.ts';
import { SdCard } from '../../device/sdcard.ts';
import { SecubeDevice } from '../../device/secube.ts';
import { hasDeviceImages, loadDeviceImages } from '../host/deviceImages.ts';
import type { AdminCommand } from './adminCommand.ts';
import { announceAfterSaving } from './announce.ts';
import type { Args } from './args.ts';
import { UsageError } from './args.ts';
import type { CliIo } from './cliIo.ts';
import type { GlobalFlags } from './commandLine.ts';
import { json } from './format.ts';
import { globalOptions, installationFor } from './globalOptions.ts';
import { errorCode } from './reportError.ts';

/**
 * A new PIN: `--new-pin`, else typed twice at a hidden prompt on a terminal.
 * @throws UsageError without either, or when the two typed differ.
 */
export async function newPinValue(option: string | undefined, io: CliIo, what: string): Promise<string> {
  if (option !== undefined) return option;
  if (io.prompt === undefined) throw new UsageError(`give the new ${what} with --new-pin PIN`);
  const first = await io.prompt(`new ${what}: `, { hidden: true });
  const again = await io.prompt(`new ${what} again: `, { hidden: true });
  if (first !== again) throw new UsageError(`the two new ${what}s typed differ; nothing was changed`);
  return first;
}

/** The tries left at `level` of the HSM whose images are in `dir`, as the next command will boot it. */
export function triesLeftOnDisk(dir: string, level: 'user' | 'admin'): number | null {
  if (!hasDeviceImages(dir)) return null;
  try {
    const images = loadDeviceImages(dir);
    return new SecubeDevice({ flash: Flash.fromImage(images.flash), sdcard: SdCard.fromImage(images.sd) }).retriesLeft[
      level
    ];
  } catch {
    return null; // a damaged image is reported by the command itself
  }
}

/**
 * After a wrong PIN: when one try is left, says what the next wrong one does and how to recover.
 * `hsm` names the device (`the admin HSM`, `U1's HSM`), `recovery` what to do once it is locked.
 */
export function lastTryWarning(
  error: unknown,
  dir: string,
  level: 'user' | 'admin',
  hsm: string,
  recovery: string,
): string | null {
  if (errorCode(error) !== 'WrongPin' || triesLeftOnDisk(dir, level) !== 1) return null;
  return `warning: ONE ${level} PIN try left on ${hsm}: another wrong PIN locks it; then ${recovery}`;
}

/** What a locked admin HSM and a locked user HSM leave to do (README: "PINs, lockout and recovery"). */
export const RECOVERY = {
  admin: 'only a factory reset of the admin HSM helps, and it loses the installation (every key, user and group)',
  user: 'the administrator provisions a new HSM for the user (`sekey admin provision U`), which then syncs',
} as const;

/** `sekey admin change-pin`: a new admin-level PIN for the admin HSM. */
export const ADMIN_CHANGE_PIN: AdminCommand = {
  name: 'change-pin',
  args: '[--new-pin PIN]',
  summary: "change the admin HSM's admin PIN (--pin is the current one; the new one asked twice on a terminal)",
  mutates: false,
  prepare: (args) => {
    const option = args.option('--new-pin');
    return async ({ session, io, did }) => {
      const pin = await newPinValue(option, io, 'admin PIN');
      session.admin.device.changeAdminPin(pin);
      did({ changed: 'admin PIN' });
      io.out('the admin HSM has a new admin PIN: use it from now on (--pin or SEKEY_ADMIN_PIN)');
    };
  },
};

/** The synopsis of `admin reset-user-pin`. */
export const RESET_USER_PIN_ARGS = 'U --device-admin-pin PIN [--new-pin PIN]';

/** The help of `admin reset-user-pin`. */
export const RESET_USER_PIN_HELP = [
  "Sets a new user PIN on U's HSM and gives its user level all its tries back (also when locked), from the",
  "HSM's own admin level: the device admin PIN given at `sekey admin provision U`. The admin HSM is not",
  'involved and no key moves.',
  "  --device-admin-pin PIN  the admin PIN of U's HSM (its tries count: three wrong ones lock it for good)",
  '  --new-pin PIN           the new user PIN (asked twice on a terminal)',
].join('\n');

/** Runs `sekey admin reset-user-pin U …`. */
export async function runResetUserPin(args: Args, io: CliIo, flags: GlobalFlags): Promise<number> {
  const deviceAdminPin = args.option('--device-admin-pin');
  const option = args.option('--new-pin');
  const userId = args.positional('user ID');
  args.done();
  if (deviceAdminPin === undefined) throw new UsageError("give U's HSM admin PIN with --device-admin-pin PIN");
  const newPin = await newPinValue(option, io, `user PIN of ${userId}`);
  const installation = installationFor(globalOptions(flags, io), io);
  const dir = installation.userDir(userId);
  try {
    return await announceAfterSaving(
      io,
      (inner: (device: SecubeDevice) => Promise<number>) =>
        installation.withUserDeviceAdmin(userId, deviceAdminPin, inner),
      async (device, held) => {
        device.resetUserPin(newPin);
        held.out(
          flags.json
            ? json({ command: 'admin reset-user-pin', user: userId })
            : `${userId}'s HSM has a new user PIN, with all its tries`,
        );
        return 0;
      },
    );
  } catch (error) {
    const warning = lastTryWarning(error, dir, 'admin', `${userId}'s HSM`, RECOVERY.user);
    if (warning !== null) io.err(warning);
    throw error;
  }
}
