/**
 * `sekey admin init`: creates an installation — factory-initialises the admin HSM with the PINs
 * given (`--admin-pin`, `--user-pin`, else `$SEKEY_NEW_ADMIN_PIN`, `$SEKEY_NEW_USER_PIN`, else typed
 * twice on a terminal: never defaulted, nor taken from the variables other commands log in with;
 * `pinCommands.ts`, `NEW_PIN_ENV`), creates the administrator's encrypted database, and records the
 * share and the clock mode. The admin HSM is certified by a factory folder outside the installation
 * (`--factory DIR` or `$SEKEY_FACTORY`, made by `sekey factory init`); the installation keeps no
 * manufacturer's key, only the public key its HSMs carry as their root of trust.
 * @module
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { formatDuration, formatTime } from './durations.ts';
import { Installation } from '../host/installation.ts';
import { initialShare } from '../host/homeFolders.ts';
import type { Args } from './args.ts';
import { UsageError } from './args.ts';
import { durationValue } from './argValues.ts';
import type { CliIo } from './cliIo.ts';
import type { GlobalFlags } from './commandLine.ts';
import { json } from './format.ts';
import { globalOptions, lockWaitNotice, requireFactory } from './globalOptions.ts';
import { resolveFrom } from './cliIo.ts';
import { openFactory } from '../host/manufacturerFile.ts';
import { INSTALLATION_FILE, freshnessOf } from '../host/installationConfig.ts';
import { InstallationError } from '../host/installationError.ts';
import { SETUP_EXAMPLES, SETUP_HEADING, examplesHelp } from './commandExamples.ts';
import { NEW_PINS_WARNING, pinToSet, requirePinsToSet, settledPin } from './pinCommands.ts';

/** The synopsis of `admin init`. */
export const ADMIN_INIT_ARGS =
  '[--admin-pin PIN] [--user-pin PIN] [--factory DIR] [--share DIR] [--clock system|manual] [--stale-after DURATION] ' +
  '[--heartbeat DURATION] [--freshness DURATION]';

/** The help of `admin init`. */
export const ADMIN_INIT_HELP = [
  'Factory-initialises the admin HSM (admin/flash.img, admin/sd.img) and creates the administrator. The',
  "factory certifies the admin HSM's identity; it lives outside the installation (a real admin host",
  "never holds a manufacturer's key), and the installation keeps only the manufacturer's public key.",
  // One line, wrapped by the help printer (helpText.ts); the example is run by newHsmPins.test.ts.
  NEW_PINS_WARNING,
  '  SEKEY_NEW_ADMIN_PIN=2468-admin SEKEY_NEW_USER_PIN=1357-user sekey admin init --factory ../factory',
  "  --admin-pin PIN         the admin HSM's admin-level PIN (4 to 64 bytes; else $SEKEY_NEW_ADMIN_PIN, else " +
    'asked twice on a terminal); later: --pin or $SEKEY_ADMIN_PIN',
  "  --user-pin PIN          the admin HSM's user-level PIN (factory init sets both levels; else " +
    '$SEKEY_NEW_USER_PIN, else asked twice on a terminal)',
  '  --factory DIR           the factory folder (default $SEKEY_FACTORY): `sekey factory init --dir DIR`',
  '  --share DIR             where update files travel (a network share, a synced folder); default ' +
    'HOME/share. Not the home, nor over its admin/ or users/ folders, nor over the factory',
  '  --clock system|manual   system: the host clock (default); manual: time moves only with --at',
  '                          (default when --at is given: simulations and demos)',
  '  --stale-after DURATION  a user with an update out and no acknowledgement seen for this long',
  '                          is stale (default 7d); an acknowledgement still on the share counts',
  '                          when it is read',
  '  --heartbeat DURATION    publish sends a heartbeat-only file to a user whose latest file is',
  '                          this old (default 1d); run `sekey admin publish` from cron at least',
  '                          this often',
  '  --freshness DURATION    users refuse to encrypt (NotFresh) when the latest update they applied',
  '                          is older than this: withheld updates are noticed (default 3 × the',
  '                          heartbeat interval; must be longer than it). Installation-wide;',
  '                          carried in every heartbeat',
  '  --home DIR, --at TIME, --wait SECONDS, --json   as for every command',
  examplesHelp(SETUP_EXAMPLES, SETUP_HEADING),
].join('\n');

/** Runs `admin init` with its arguments (after `init`). */
export async function runAdminInit(args: Args, io: CliIo, flags: GlobalFlags): Promise<number> {
  const global = globalOptions(flags, io);
  const adminPinOption = args.option('--admin-pin');
  const userPinOption = args.option('--user-pin');
  const share = args.option('--share');
  const clock = args.option('--clock');
  const staleAfter = args.option('--stale-after');
  const factoryOption = args.option('--factory');
  const heartbeat = args.option('--heartbeat');
  const freshness = args.option('--freshness');
  args.done();
  if (global.pin !== undefined) {
    throw new UsageError(
      'init sets the PINs: use --admin-pin and --user-pin (or SEKEY_NEW_ADMIN_PIN and SEKEY_NEW_USER_PIN, or ' +
        'the prompts), not --pin',
    );
  }
  const pins = [
    pinToSet('--admin-pin', 'admin', 'the admin HSM', adminPinOption, io.env),
    pinToSet('--user-pin', 'user', 'the admin HSM', userPinOption, io.env),
  ] as const;
  requirePinsToSet(pins, io.prompt !== undefined, "init sets the admin HSM's PINs");
  if (clock !== undefined && clock !== 'system' && clock !== 'manual')
    throw new UsageError(`--clock must be system or manual, got '${clock}'`);
  if (clock === 'system' && global.at !== undefined)
    throw new UsageError('--at starts a manual clock: leave out --at with --clock system (the host clock is used)');
  const timings = {
    ...(heartbeat === undefined ? {} : { heartbeatIntervalMs: durationValue(heartbeat, '--heartbeat') }),
    ...(freshness === undefined ? {} : { freshnessWindowMs: durationValue(freshness, '--freshness') }),
  };
  const { heartbeatIntervalMs, freshnessWindowMs } = freshnessOf(timings);
  if (freshnessWindowMs <= heartbeatIntervalMs) {
    throw new UsageError(
      `--freshness (${formatDuration(freshnessWindowMs)}) must be longer than the heartbeat interval ` +
        `(${formatDuration(heartbeatIntervalMs)})`,
    );
  }
  const factory = requireFactory(factoryOption, io.env, io, 'init');
  const shareDir = share === undefined ? undefined : resolveFrom(io, share);
  const manufacturer = openFactory(factory, global.home, initialShare(global.home, shareDir).dir);
  // Typed last, once the command line has passed every check that needs no HSM; not for a home that
  // holds an installation, which Installation.init refuses (under the lock: this is only a courtesy).
  if (pins.some((p) => p.given === undefined) && existsSync(join(global.home, INSTALLATION_FILE)))
    throw new InstallationError('AlreadyInitialized', `${global.home} already holds an SEkey installation`);
  const adminPin = await settledPin(pins[0], io, 'nothing was created');
  const userPin = await settledPin(pins[1], io, 'nothing was created');
  const installation = await Installation.init(
    global.home,
    {
      adminPin,
      userPin,
      manufacturer,
      ...(shareDir === undefined ? {} : { share: shareDir }),
      ...(clock === undefined ? {} : { clock }),
      ...(staleAfter === undefined ? {} : { staleAfterMs: durationValue(staleAfter, '--stale-after') }),
      ...timings,
    },
    {
      ...(global.at === undefined ? {} : { at: global.at }),
      ...(global.waitMs > 0 ? { waitMs: global.waitMs } : {}),
      ...(io.clock === undefined ? {} : { hostClock: io.clock }),
      ...(io.onDeviceReport === undefined ? {} : { observer: io.onDeviceReport }),
      ...(io.beginChanges === undefined ? {} : { onLocked: io.beginChanges }),
      onLockWait: lockWaitNotice(io),
    },
  );
  const config = installation.config();
  if (flags.json) {
    io.out(json({ command: 'admin init', home: installation.home, ...config, share: installation.sharePath(config) }));
    return 0;
  }
  io.out(`initialised an SEkey installation in ${installation.home}`);
  io.out(`  admin HSM ${config.adminSerial}`);
  io.out(
    `  factory   ${factory} (outside the installation; it keeps only the public key ` +
      `${Buffer.from(manufacturer.publicKey).toString('hex').slice(0, 16)}…)`,
  );
  io.out(`  share     ${installation.sharePath(config)}`);
  io.out(
    `  clock     ${config.clock}${config.clock === 'manual' ? ' (moves only with --at)' : ''}, now ` +
      `${formatTime(config.lastTime)}`,
  );
  io.out(`  stale once an update waits ${formatDuration(config.staleAfterMs)} unacknowledged`);
  const f = freshnessOf(config);
  io.out(
    `  heartbeat every ${formatDuration(f.heartbeatIntervalMs)} (run \`sekey admin publish\` from cron); users ` +
      `encrypt for ${formatDuration(f.freshnessWindowMs)} after the latest one they applied`,
  );
  return 0;
}
