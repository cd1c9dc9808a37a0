/**
 * `sekey admin init`: creates an installation — factory-initialises the admin HSM with the PINs
 * given (explicitly: an installation's PINs are never taken from the environment or defaulted),
 * creates the administrator's encrypted database, and records the share and the clock mode. It also
 * plays the HSM factory: it creates the simulated manufacturer's signing key (`manufacturer.json`),
 * which certifies each HSM's identity; in a real deployment the factory holds that key and the admin
 * host never sees it.
 * @module
 */
import { resolve } from 'node:path';
import { formatDuration, formatTime } from './durations.ts';
import { Installation } from '../host/installation.ts';
import type { Args } from './args.ts';
import { UsageError } from './args.ts';
import { durationValue } from './argValues.ts';
import type { CliIo } from './cliIo.ts';
import { takeGlobalOptions } from './globalOptions.ts';

/** The synopsis of `admin init`. */
export const ADMIN_INIT_ARGS = '--admin-pin PIN --user-pin PIN [--share DIR] [--clock system|manual] [--stale-after DURATION]';

/** The help of `admin init`. */
export const ADMIN_INIT_HELP = [
  'Factory-initialises the admin HSM (admin/flash.img, admin/sd.img) and creates the administrator.',
  'Plays the HSM factory too: HOME/manufacturer.json holds the simulated manufacturer\'s signing key, which',
  'certifies every HSM\'s identity (in a real deployment the factory keeps it; the admin host never sees it).',
  '  --admin-pin PIN         the admin HSM\'s admin-level PIN (4 to 64 bytes); later: --pin or $SEKEY_ADMIN_PIN',
  '  --user-pin PIN          the admin HSM\'s user-level PIN (factory init sets both levels)',
  '  --share DIR             where update files travel (a network share, a synced folder); default HOME/share',
  '  --clock system|manual   system: the host clock (default); manual: time moves only with --at',
  '                          (default when --at is given: simulations and demos)',
  '  --stale-after DURATION  a user who leaves an update unacknowledged this long is stale (default 7d)',
  '  --home DIR, --at TIME   as for every command',
].join('\n');

/** Runs `admin init` with its arguments (after `init`). */
export async function runAdminInit(args: Args, io: CliIo): Promise<number> {
  const global = takeGlobalOptions(args, io);
  const adminPin = args.option('--admin-pin');
  const userPin = args.option('--user-pin');
  const share = args.option('--share');
  const clock = args.option('--clock');
  const staleAfter = args.option('--stale-after');
  args.done();
  if (global.pin !== undefined) throw new UsageError('init sets the PINs: use --admin-pin and --user-pin, not --pin');
  if (adminPin === undefined || userPin === undefined) throw new UsageError('init sets the admin HSM\'s PINs: give both --admin-pin PIN and --user-pin PIN');
  if (clock !== undefined && clock !== 'system' && clock !== 'manual') throw new UsageError(`--clock must be system or manual, got '${clock}'`);
  const installation = await Installation.init(
    global.home,
    {
      adminPin,
      userPin,
      ...(share === undefined ? {} : { share: resolve(io.cwd, share) }),
      ...(clock === undefined ? {} : { clock }),
      ...(staleAfter === undefined ? {} : { staleAfterMs: durationValue(staleAfter, '--stale-after') }),
    },
    {
      ...(global.at === undefined ? {} : { at: global.at }),
      ...(io.clock === undefined ? {} : { hostClock: io.clock }),
      ...(io.onDeviceReport === undefined ? {} : { observer: io.onDeviceReport }),
    },
  );
  const config = installation.config();
  io.out(`initialised an SEkey installation in ${installation.home}`);
  io.out(`  admin HSM ${config.adminSerial}`);
  io.out('  factory   manufacturer.json (simulated HSM manufacturer; a real admin host never holds it)');
  io.out(`  share     ${installation.sharePath(config)}`);
  io.out(`  clock     ${config.clock}${config.clock === 'manual' ? ' (moves only with --at)' : ''}, now ${formatTime(config.lastTime)}`);
  io.out(`  stale after ${formatDuration(config.staleAfterMs)} without acknowledgement`);
  return 0;
}
