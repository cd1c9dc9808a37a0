/**
 * Options every installation command takes: where the installation is (`--home`, else `SEKEY_HOME`,
 * else `./.sekey`), the PIN (`--pin`, else `SEKEY_ADMIN_PIN` / `SEKEY_USER_PIN`), and the time
 * (`--at`). PINs are never defaulted: a command that needs one and has none is a usage error.
 * @module
 */
import { resolve } from 'node:path';
import type { TimeSpec } from '../host/installation.ts';
import { Installation } from '../host/installation.ts';
import type { Args } from './args.ts';
import { UsageError } from './args.ts';
import { timeValue } from './argValues.ts';
import type { CliIo } from './cliIo.ts';

/** The options shared by admin and user commands. */
export interface GlobalOptions {
  readonly home: string;
  readonly pin: string | undefined;
  readonly at: TimeSpec | undefined;
}

/** Help lines of the shared options. */
export function globalOptionsHelp(level: 'admin' | 'user'): string {
  const env = level === 'admin' ? 'SEKEY_ADMIN_PIN' : 'SEKEY_USER_PIN';
  return [
    'options of every command:',
    '  --home DIR   the installation (default $SEKEY_HOME, else ./.sekey)',
    `  --pin PIN    the ${level === 'admin' ? 'admin HSM' : "user's HSM"} PIN (default $${env})`,
    '  --at TIME    run at TIME: ISO 8601, ms since the epoch, or +DURATION after the last recorded',
    '               time; never before the last recorded time',
  ].join('\n');
}

/** Takes `--home`, `--pin` and `--at` from `args`. */
export function takeGlobalOptions(args: Args, io: CliIo): GlobalOptions {
  const home = resolve(io.cwd, args.option('--home') ?? io.env['SEKEY_HOME'] ?? '.sekey');
  const pin = args.option('--pin');
  const at = args.option('--at');
  return { home, pin, at: at === undefined ? undefined : timeValue(at) };
}

/** The PIN of `level`, from `--pin` or the environment. */
export function requirePin(options: GlobalOptions, io: CliIo, level: 'admin' | 'user'): string {
  const env = level === 'admin' ? 'SEKEY_ADMIN_PIN' : 'SEKEY_USER_PIN';
  const pin = options.pin ?? io.env[env];
  if (pin === undefined || pin === '') throw new UsageError(`this command needs the ${level} PIN: pass --pin PIN or set ${env}`);
  return pin;
}

/** The installation the options name, wired to the io's clock and observer. */
export function installationFor(options: GlobalOptions, io: CliIo): Installation {
  return new Installation(options.home, {
    ...(options.at === undefined ? {} : { at: options.at }),
    ...(io.clock === undefined ? {} : { hostClock: io.clock }),
    ...(io.onDeviceReport === undefined ? {} : { observer: io.onDeviceReport }),
  });
}
