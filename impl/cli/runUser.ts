/**
 * `sekey user U <command>`: a user's commands, run on that user's HSM (`users/U/` in the
 * installation) logged in at user level.
 * @module
 */
import { checkId, idForm } from '../../model/kms.ts';
import { Installation } from '../host/installation.ts';
import type { UserSession } from '../host/installation.ts';
import { announceAfterSaving } from './announce.ts';
import { Args, UsageError } from './args.ts';
import type { CliIo } from './cliIo.ts';
import type { GlobalFlags } from './commandLine.ts';
import { didYouMean } from './didYouMean.ts';
import { json } from './format.ts';
import { globalOptions, globalOptionsHelp, installationFor } from './globalOptions.ts';
import { USER_COMMANDS } from './userCommands.ts';
import type { UserCommand, UserWork } from './userCommands.ts';
import { lastTryGuard, pinAdvice, requirePin, userPinHolder } from './pinCommands.ts';
import { examplesHelp } from './commandExamples.ts';
import { fitHelp } from './helpText.ts';

function synopsis(c: UserCommand): string {
  return [`sekey user U ${c.name}`, c.args].filter((s) => s !== '').join(' ');
}

/** The list of user commands. */
function userUsage(): string {
  const width = Math.max(...USER_COMMANDS.map((c) => c.name.length));
  return fitHelp(
    [
      'usage: sekey user U <command> [arguments] [options]',
      '',
      'commands (U is the user ID, e.g. U1):',
      ...USER_COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
      '',
      'sekey user U <command> --help shows one command.',
      examplesHelp(['sekey user U1 sync', 'sekey user U1 keys', 'sekey user U1 find-key U2']),
      '',
      globalOptionsHelp('user'),
    ].join('\n'),
  );
}

/** The help of one user command. */
export function userCommandHelp(name: string): string | null {
  const c = USER_COMMANDS.find((x) => x.name === name);
  if (!c) return null;
  const lines = [`usage: ${synopsis(c)} [options]`, '', c.summary];
  if (c.help !== undefined) lines.push(c.help);
  lines.push(examplesHelp(c.examples), '', globalOptionsHelp('user'));
  return fitHelp(lines.join('\n'));
}

/** Runs `sekey user …` (argv after `user`, global options taken out); returns the exit code. */
export async function runUser(argv: readonly string[], io: CliIo, flags: GlobalFlags): Promise<number> {
  const [userId, name, ...rest] = argv;
  if (userId === undefined || (name === undefined && flags.help)) {
    // With --json, standard output is one JSON object: the usage error's, not the help text.
    if (!flags.help && flags.json) throw new UsageError('missing user ID and command', { usage: 'sekey user' });
    io.out(userUsage());
    return flags.help ? 0 : 2;
  }
  if (!/^U\d+$/.test(userId) && USER_COMMANDS.some((c) => c.name === userId)) {
    throw new UsageError(
      `'${userId}' is a command, not a user ID: sekey user U ${userId} (U is the user ID, e.g. U1)`,
      {
        usage: 'sekey user',
      },
    );
  }
  if (name === undefined) throw new UsageError(`missing command after 'user ${userId}'`, { usage: 'sekey user' });
  const command = USER_COMMANDS.find((c) => c.name === name);
  const unknown = (): UsageError =>
    new UsageError(
      `unknown user command '${name}'${didYouMean(
        name,
        USER_COMMANDS.map((c) => c.name),
      )}`,
      { usage: 'sekey user' },
    );
  if (flags.help) {
    const help = userCommandHelp(name);
    if (help === null) throw unknown();
    io.out(help);
    return 0;
  }
  if (!command) throw unknown();
  if (checkId('user', userId) !== null)
    throw new UsageError(`'${userId}' is not a user ID (${idForm('user')}): sekey user U <command>`);
  const args = new Args(rest, { installation: true });
  const global = globalOptions(flags, io);
  // The working folder read only by a command that needs it (`NoWorkingFolder` where it is gone).
  const work = await command.prepare(args, {
    json: flags.json,
    get cwd() {
      return io.cwd;
    },
    io,
  });
  args.done();
  const holder = userPinHolder(userId, new Installation(global.home).userDir(userId));
  const given = await requirePin(global, io, holder);
  const installation = installationFor(global, io, lastTryGuard(global, holder, given));
  try {
    return await userSession(installation, userId, given.pin, command, work, io, flags);
  } catch (error) {
    const advice = pinAdvice(error, holder);
    if (advice !== null) io.err(advice);
    throw error;
  }
}

/** Runs a prepared user command in a session; its lines are printed once the session is saved. */
async function userSession(
  installation: Installation,
  userId: string,
  pin: string,
  command: UserCommand,
  work: UserWork,
  io: CliIo,
  flags: GlobalFlags,
): Promise<number> {
  const name = command.name;
  return announceAfterSaving(
    io,
    (inner: (session: UserSession) => Promise<number>) => installation.withUser(userId, pin, inner),
    async (session, held) => {
      // With --json, a command without a JSON form of its own prints one object saying what it did.
      const ownJson = command.lists === true;
      const human: CliIo = flags.json && !ownJson ? { ...held, out: () => undefined } : held;
      const did: Record<string, unknown> = {};
      const code = (await work({ io: human, session, pin, did: (f) => void Object.assign(did, f) })) ?? 0;
      if (flags.json && !ownJson) held.out(json({ command: `user ${userId} ${name}`, ...did }));
      return code;
    },
    { json: flags.json },
  );
}
