/**
 * `sekey user U <command>`: a user's commands, run on that user's HSM (`users/U/` in the
 * installation) logged in at user level.
 * @module
 */
import { checkId } from '../../model/kms.ts';
import { Args, UsageError } from './args.ts';
import type { CliIo } from './cliIo.ts';
import { globalOptionsHelp, installationFor, requirePin, takeGlobalOptions } from './globalOptions.ts';
import { USER_COMMANDS } from './userCommands.ts';
import type { UserCommand } from './userCommands.ts';

function synopsis(c: UserCommand): string {
  return [`sekey user U ${c.name}`, c.args, c.lists ? '[--json]' : ''].filter((s) => s !== '').join(' ');
}

/** The list of user commands. */
export function userUsage(): string {
  const width = Math.max(...USER_COMMANDS.map((c) => c.name.length));
  return [
    'usage: sekey user U <command> [arguments] [options]',
    '',
    'commands (U is the user ID, e.g. U1):',
    ...USER_COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'sekey user U <command> --help shows one command.',
    '',
    globalOptionsHelp('user'),
  ].join('\n');
}

/** The help of one user command. */
export function userCommandHelp(name: string): string | null {
  const c = USER_COMMANDS.find((x) => x.name === name);
  if (!c) return null;
  const lines = [`usage: ${synopsis(c)} [options]`, '', c.summary];
  if (c.help !== undefined) lines.push(c.help);
  if (c.lists) lines.push('  --json  machine-readable output');
  lines.push('', globalOptionsHelp('user'));
  return lines.join('\n');
}

/** Runs `sekey user …` (argv after `user`); returns the exit code. */
export async function runUser(argv: readonly string[], io: CliIo): Promise<number> {
  const [userId, name, ...rest] = argv;
  if (userId === undefined || userId === '--help' || userId === '-h') {
    io.out(userUsage());
    return userId === undefined ? 2 : 0;
  }
  if (name === undefined || name === '--help' || name === '-h') {
    if (name === undefined)
      throw new UsageError(`missing command after 'user ${userId}' (sekey user --help lists them)`);
    io.out(userUsage());
    return 0;
  }
  const command = USER_COMMANDS.find((c) => c.name === name);
  if (rest.includes('--help') || rest.includes('-h')) {
    const help = userCommandHelp(name);
    if (help === null) throw new UsageError(`unknown user command '${name}'`);
    io.out(help);
    return 0;
  }
  if (!command) throw new UsageError(`unknown user command '${name}' (sekey user --help lists them)`);
  if (checkId('user', userId) !== null)
    throw new UsageError(`'${userId}' is not a user ID (U followed by a number): sekey user U <command>`);
  const args = new Args(rest);
  const global = takeGlobalOptions(args, io);
  const asJson = command.lists === true && args.flag('--json');
  const work = command.prepare(args, { json: asJson, cwd: io.cwd });
  args.done();
  const pin = requirePin(global, io, 'user');
  return installationFor(global, io).withUser(userId, pin, async (session) => (await work({ io, session })) ?? 0);
}
