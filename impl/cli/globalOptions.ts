/**
 * Options every installation command takes: where the installation is (`--home`, else `SEKEY_HOME`,
 * else `./.sekey`), the PIN (`--pin`, else `SEKEY_ADMIN_PIN` / `SEKEY_USER_PIN`, else a hidden
 * prompt on a terminal), the time (`--at`) and how long to wait for the lock (`--wait`). PINs are
 * never defaulted: a command that needs one and has none is a usage error.
 * @module
 */
import type { TimeSpec } from '../host/sessionClock.ts';
import { Installation } from '../host/installation.ts';
import { FACTORY_ENV } from '../host/manufacturerFile.ts';
import type { GlobalFlags } from './commandLine.ts';
import { UsageError } from './args.ts';
import { secondsValue, timeValue } from './argValues.ts';
import type { CliIo } from './cliIo.ts';
import { resolveFrom } from './cliIo.ts';
import { CliError } from './cliError.ts';

/** The options shared by admin and user commands. */
export interface GlobalOptions {
  readonly home: string;
  readonly pin: string | undefined;
  readonly at: TimeSpec | undefined;
  /** How long to wait for another process's lock (`--wait SECONDS`); 0: refuse at once (`Busy`). */
  readonly waitMs: number;
  /** `--last-try`: a PIN from `--pin` or the environment may spend the last try (`requirePin`). */
  readonly lastTry: boolean;
}

/** Help lines of the shared options. */
export function globalOptionsHelp(level: 'admin' | 'user'): string {
  const env = level === 'admin' ? 'SEKEY_ADMIN_PIN' : 'SEKEY_USER_PIN';
  return [
    'options of every command (anywhere on the line):',
    '  --home DIR      the installation (default $SEKEY_HOME, else ./.sekey)',
    // One line per option: the help printer wraps each at the width, under its description's column
    // (helpText.ts, fitLine); lines broken here by hand were wrapped again, mid-sentence.
    `  --pin PIN       the ${level === 'admin' ? 'admin HSM' : "user's HSM"} PIN (default $${env}; ` +
      'else asked for on a terminal)',
    '  --last-try      spend the last PIN try with a PIN from --pin or the environment (refused otherwise, ' +
      'LastPinTry: a stale PIN in a script would lock the HSM)',
    '  --at TIME       run at TIME (manual-clock installations): ISO 8601, ms since the epoch, or +DURATION after ' +
      'the last recorded time; never before it. A command that runs, a listing too, moves the clock there',
    '  --wait SECONDS  wait this long for another sekey process using the installation (default: refuse, Busy)',
    '  --json          machine-readable output (also for errors)',
    '  --debug         show the stack of an internal error',
  ].join('\n');
}

/**
 * The value of the environment variable `name`, or undefined when it is unset or empty: `SEKEY_HOME=`
 * is no folder (resolved, it would be the working directory), as `--home ''` is refused.
 */
function envValue(env: CliIo['env'], name: string): string | undefined {
  const value = env[name];
  return value === '' ? undefined : value;
}

/** The shared options from the global flags (`commandLine.ts`). */
export function globalOptions(flags: GlobalFlags, io: CliIo): GlobalOptions {
  // An absolute home needs no working folder (which may be gone: `NoWorkingFolder`).
  const home = resolveFrom(io, flags.home ?? envValue(io.env, 'SEKEY_HOME') ?? '.sekey');
  const waitMs = flags.wait === undefined ? 0 : secondsValue(flags.wait, '--wait') * 1000;
  const at = flags.at === undefined ? undefined : timeValue(flags.at);
  return { home, pin: flags.pin, at, waitMs, lastTry: flags.lastTry };
}

/**
 * The factory folder (`--factory DIR`, or `--dir DIR` for `sekey factory init`: `optionName`; else
 * `$SEKEY_FACTORY`), resolved against the working directory: the simulated manufacturer that
 * certifies the HSMs a command creates. Never defaulted, and never inside the installation
 * (`openFactory` checks).
 */
export function requireFactory(
  option: string | undefined,
  env: CliIo['env'],
  from: { readonly cwd: string },
  what: string,
  optionName = '--factory',
): string {
  const dir = option ?? envValue(env, FACTORY_ENV);
  if (dir === undefined || dir === '') {
    const creates =
      optionName === '--factory'
        ? ' (`sekey factory init --dir DIR` creates a simulated one, outside the installation)'
        : '';
    throw new UsageError(
      `${what} needs the factory that certifies new HSMs: pass ${optionName} DIR or set ${FACTORY_ENV}${creates}`,
    );
  }
  return resolveFrom(from, dir);
}

/** Prints a warning for each entry of the share a command skipped (`DirectoryTransport`). */
function shareWarnings(io: CliIo): (entry: { stream: string; name: string; reason: string; detail: string }) => void {
  return (e) =>
    io.err(
      `warning: skipped share entry ${e.stream}/${e.name === '' ? '' : JSON.stringify(e.name)}: ${e.reason} ` +
        `(${e.detail})`,
    );
}

/** Says once, on standard error, that the command waits for another one's lock (`--wait`), and whose. */
export function lockWaitNotice(io: CliIo): (busy: string) => void {
  // The Busy message without its advice to wait: this command is waiting.
  return (busy) => io.err(`sekey: waiting (--wait): ${busy.replace(/; wait for it.*$/, '')}`);
}

/**
 * The installation the options name, wired to the io's clock and observer; skipped share entries are
 * warned about.
 * @throws CliError `SystemClock` for `--at` on an installation that follows the system clock: time
 *   never goes back, so one `--at` in the future would block every command until the clock caught up.
 */
export function installationFor(
  options: GlobalOptions,
  io: CliIo,
  beforeLogin?: (retriesLeft: number) => void,
): Installation {
  if (options.at !== undefined && new Installation(options.home).config().clock === 'system') {
    throw new CliError(
      'SystemClock',
      `--at is for installations with a manual clock; ${options.home} follows the system clock, and a time ` +
        `given now would hold for good (leave out --at; simulations: \`sekey admin init --clock manual\`)`,
    );
  }
  return new Installation(options.home, {
    ...(options.waitMs > 0 ? { waitMs: options.waitMs } : {}),
    ...(options.at === undefined ? {} : { at: options.at }),
    ...(io.clock === undefined ? {} : { hostClock: io.clock }),
    ...(io.onDeviceReport === undefined ? {} : { observer: io.onDeviceReport }),
    onShareSkip: shareWarnings(io),
    ...(beforeLogin === undefined ? {} : { beforeLogin }),
    ...(io.beginChanges === undefined ? {} : { onLocked: io.beginChanges }),
    onLockWait: lockWaitNotice(io),
    onUnsavedAdminChange: () => io.err(UNSAVED_ADMIN_CHANGE),
  });
}

/**
 * Said by every admin command, from the one that found the admin HSM's images in a checkpoint holding
 * a database change the last command never saved at its end, until `sekey admin audit` has shown what
 * was done (`adminCutShortAt`). That command may have printed nothing of what it did (its lines are
 * printed once its session ends), and running it again would do it twice.
 */
export const UNSAVED_ADMIN_CHANGE =
  'warning: an admin command on this installation was cut short (killed, a power cut, or its save failed) ' +
  'after it had changed the database; that change is kept. If it printed nothing of it, check what it did ' +
  'before running it again (sekey admin audit --last 10, which also ends this warning; admin keys, users, ' +
  'groups): a command that creates something (add-key) would create it twice';
