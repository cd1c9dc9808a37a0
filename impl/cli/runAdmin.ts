/**
 * `sekey admin <command>`: the administrator's commands on a persistent installation.
 *
 * Every mutating command ends the same way: one line per key it changed (including consequences it
 * did not name: a rekey, a replacement, an expiry), read from the change report of the operation
 * (`kms/adminChanges.ts`), then — unless `--no-publish` — a publish, so
 * that users' HSMs learn of it at their next sync. Publishing after each change is the default
 * because the changes that matter most for security (a member leaving, a key compromised or
 * destroyed) only take effect on a user's HSM when it receives the erase order; a forgotten
 * `publish` would leave keys where they should not be. `--no-publish` batches several changes into
 * one file per user; `sekey admin publish` sends them.
 * @module
 */
import type { AdminChanges } from '../kms/adminChanges.ts';
import type { AdminCommand } from './adminCommand.ts';
import { ADMIN_DISTRIBUTION_COMMANDS, describePublish } from './adminDistributionCommands.ts';
import { ADMIN_GROUP_COMMANDS } from './adminGroupCommands.ts';
import { ADMIN_INIT_ARGS, ADMIN_INIT_HELP, runAdminInit } from './adminInit.ts';
import { ADMIN_KEY_COMMANDS } from './adminKeyCommands.ts';
import { ADMIN_USER_COMMANDS } from './adminUserCommands.ts';
import { Args, UsageError } from './args.ts';
import type { CliIo } from './cliIo.ts';
import { globalOptionsHelp, installationFor, requirePin, takeGlobalOptions } from './globalOptions.ts';
import { describeExpiries, describeKeyChanges } from './keyChanges.ts';

/** Every admin command but `init`, in help order. */
export const ADMIN_COMMANDS: readonly AdminCommand[] = [
  ...ADMIN_USER_COMMANDS,
  ...ADMIN_GROUP_COMMANDS,
  ...ADMIN_KEY_COMMANDS,
  ...ADMIN_DISTRIBUTION_COMMANDS,
];

function synopsis(c: AdminCommand): string {
  const extra = [c.mutates ? '[--no-publish]' : '', c.lists ? '[--json]' : ''].filter((s) => s !== '').join(' ');
  return [`sekey admin ${c.name}`, c.args, extra].filter((s) => s !== '').join(' ');
}

/** The list of admin commands. */
export function adminUsage(): string {
  const names = ['init', ...ADMIN_COMMANDS.map((c) => c.name)];
  const width = Math.max(...names.map((n) => n.length));
  return [
    'usage: sekey admin <command> [arguments] [options]',
    '',
    'commands:',
    `  ${'init'.padEnd(width)}  create an installation: factory-initialise the admin HSM`,
    ...ADMIN_COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'Mutating commands publish update files afterwards unless --no-publish.',
    'sekey admin <command> --help shows one command.',
    '',
    globalOptionsHelp('admin'),
  ].join('\n');
}

/** The help of one admin command. */
export function adminCommandHelp(name: string): string | null {
  if (name === 'init') return `usage: sekey admin init ${ADMIN_INIT_ARGS}\n\n${ADMIN_INIT_HELP}`;
  const c = ADMIN_COMMANDS.find((x) => x.name === name);
  if (!c) return null;
  const lines = [`usage: ${synopsis(c)} [options]`, '', c.summary];
  if (c.help !== undefined) lines.push(c.help);
  if (c.mutates)
    lines.push('  --no-publish            do not publish update files afterwards (batch; `sekey admin publish` later)');
  if (c.lists) lines.push('  --json                  machine-readable output');
  lines.push('', globalOptionsHelp('admin'));
  return lines.join('\n');
}

/** Runs `sekey admin …` (argv after `admin`); returns the exit code. */
export async function runAdmin(argv: readonly string[], io: CliIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h') {
    io.out(adminUsage());
    return name === undefined ? 2 : 0;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    const help = adminCommandHelp(name);
    if (help === null) throw new UsageError(`unknown admin command '${name}'`);
    io.out(help);
    return 0;
  }
  const args = new Args(rest);
  if (name === 'init') return runAdminInit(args, io);
  const command = ADMIN_COMMANDS.find((c) => c.name === name);
  if (!command) throw new UsageError(`unknown admin command '${name}' (sekey admin --help lists them)`);
  const global = takeGlobalOptions(args, io);
  const asJson = command.lists === true && args.flag('--json');
  const noPublish = command.mutates && args.flag('--no-publish');
  const work = command.prepare(args, { json: asJson, cwd: io.cwd, env: io.env });
  args.done();
  const pin = requirePin(global, io, 'admin');
  const installation = installationFor(global, io);
  return installation.withAdmin(pin, async (session) => {
    const reports: AdminChanges[] = [];
    const report = (changes: AdminChanges): void => void reports.push(changes);
    if (!command.mutates) return (await work({ io, session, installation, expiredBeforeRun: [], report })) ?? 0;
    // The expiry every operation starts with, committed first so that it is reported before the
    // command's own lines (and so that `sweep` knows whether there was anything to do).
    const swept = session.admin.sweep();
    describeExpiries(swept).forEach((l) => io.out(l));
    const expiredBeforeRun = swept.transitions.map((t) => t.keyId);
    const code = await work({ io, session, installation, expiredBeforeRun, report });
    for (const changes of reports)
      [...describeExpiries(changes), ...describeKeyChanges(changes)].forEach((l) => io.out(l));
    if (!noPublish) io.out(describePublish(await session.publisher.publish()));
    return code ?? 0;
  });
}
