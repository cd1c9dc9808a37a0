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
import type { AdminCommand, AdminWork } from './adminCommand.ts';
import { ADMIN_DISTRIBUTION_COMMANDS, describePublish, publishJson } from './adminDistributionCommands.ts';
import { ADMIN_GROUP_COMMANDS } from './adminGroupCommands.ts';
import { ADMIN_INIT_ARGS, ADMIN_INIT_HELP, runAdminInit } from './adminInit.ts';
import { ADMIN_KEY_COMMANDS } from './adminKeyCommands.ts';
import { ADMIN_USER_COMMANDS } from './adminUserCommands.ts';
import { join } from 'node:path';
import { Installation } from '../host/installation.ts';
import type { AdminSession } from '../host/installation.ts';
import { announceAfterSaving } from './announce.ts';
import { Args, UsageError } from './args.ts';
import type { CliIo } from './cliIo.ts';
import type { GlobalFlags } from './commandLine.ts';
import { confirmStep, notOnTerminal } from './confirm.ts';
import { examplesHelp } from './commandExamples.ts';
import { didYouMean } from './didYouMean.ts';
import { json } from './format.ts';
import { globalOptions, globalOptionsHelp, installationFor } from './globalOptions.ts';
import { describeExpiries, describeKeyChanges, keyChangesJson } from './keyChanges.ts';
import {
  ADMIN_CHANGE_PIN,
  ADMIN_RESET_USER_PIN,
  adminPinHolder,
  lastTryGuard,
  pinAdvice,
  requirePin,
} from './pinCommands.ts';
import { fitHelp } from './helpText.ts';

/** Every admin command but `init`, in help order. */
export const ADMIN_COMMANDS: readonly AdminCommand[] = [
  ...ADMIN_USER_COMMANDS,
  ADMIN_CHANGE_PIN,
  ADMIN_RESET_USER_PIN,
  ...ADMIN_GROUP_COMMANDS,
  ...ADMIN_KEY_COMMANDS,
  ...ADMIN_DISTRIBUTION_COMMANDS,
];

function synopsis(c: AdminCommand): string {
  const extra = [c.destructive ? '[--yes]' : '', c.mutates ? '[--no-publish]' : ''].filter((s) => s !== '').join(' ');
  return [`sekey admin ${c.name}`, c.args, extra].filter((s) => s !== '').join(' ');
}

/** The list of admin commands. */
function adminUsage(): string {
  const names = ['init', ...ADMIN_COMMANDS.map((c) => c.name)];
  const width = Math.max(...names.map((n) => n.length));
  return fitHelp(
    [
      'usage: sekey admin <command> [arguments] [options]',
      '',
      'commands:',
      `  ${'init'.padEnd(width)}  create an installation: factory-initialise the admin HSM`,
      ...ADMIN_COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
      '',
      'Mutating commands publish update files afterwards unless --no-publish.',
      'sekey admin <command> --help shows one command.',
      examplesHelp(['sekey admin users', 'sekey admin add-user U5 eve', 'sekey admin stale']),
      '',
      globalOptionsHelp('admin'),
    ].join('\n'),
  );
}

/** The help of one admin command. */
export function adminCommandHelp(name: string): string | null {
  if (name === 'init') return fitHelp(`usage: sekey admin init ${ADMIN_INIT_ARGS}\n\n${ADMIN_INIT_HELP}`);
  const c = ADMIN_COMMANDS.find((x) => x.name === name);
  if (!c) return null;
  const lines = [`usage: ${synopsis(c)} [options]`, '', c.summary];
  if (c.help !== undefined) lines.push(c.help);
  if (c.destructive) lines.push('  --yes                   confirm (asked on a terminal; needed otherwise)');
  if (c.mutates)
    lines.push('  --no-publish            do not publish update files afterwards (batch; `sekey admin publish` later)');
  lines.push(examplesHelp(c.examples), '', globalOptionsHelp('admin'));
  return fitHelp(lines.join('\n'));
}

/** Runs `sekey admin …` (argv after `admin`, global options taken out); returns the exit code. */
export async function runAdmin(argv: readonly string[], io: CliIo, flags: GlobalFlags): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined) {
    // With --json, standard output is one JSON object: the usage error's, not the help text.
    if (!flags.help && flags.json) throw new UsageError('missing admin command', { usage: 'sekey admin' });
    io.out(adminUsage());
    return flags.help ? 0 : 2;
  }
  const names = ['init', ...ADMIN_COMMANDS.map((c) => c.name)];
  const unknown = (): UsageError =>
    new UsageError(`unknown admin command '${name}'${didYouMean(name, names)}`, { usage: 'sekey admin' });
  if (flags.help) {
    const help = adminCommandHelp(name);
    if (help === null) throw unknown();
    io.out(help);
    return 0;
  }
  const args = new Args(rest, { installation: true });
  if (name === 'init') return runAdminInit(args, io, flags);
  const command = ADMIN_COMMANDS.find((c) => c.name === name);
  if (!command) throw unknown();
  const noPublish = command.mutates && args.flag('--no-publish');
  const yes = command.destructive === true && args.flag('--yes');
  const global = globalOptions(flags, io);
  // The working folder read only by a command that needs it (`NoWorkingFolder` where it is gone).
  const work = command.prepare(args, {
    json: flags.json,
    get cwd() {
      return io.cwd;
    },
    env: io.env,
    terminal: io.prompt !== undefined,
  });
  args.done();
  // Without a terminal a confirmation can only be --yes: refused now, before the PIN is asked for or
  // the session opened (and its lock taken), not once the admin has typed it.
  if (!yes && io.prompt === undefined) {
    const question = work.confirmation?.(new Installation(global.home)) ?? null;
    if (question !== null) throw notOnTerminal(question);
  }
  const holder = adminPinHolder(join(global.home, 'admin'));
  const given = await requirePin(global, io, holder);
  const installation = installationFor(global, io, lastTryGuard(global, holder, given));
  try {
    return await adminSession(installation, given.pin, command, work, io, flags, { noPublish, yes });
  } catch (error) {
    const advice = pinAdvice(error, holder);
    if (advice !== null) io.err(advice);
    throw error;
  }
}

/** Runs a prepared admin command in an admin session; its lines are printed once the session is saved. */
async function adminSession(
  installation: Installation,
  pin: string,
  command: AdminCommand,
  work: AdminWork,
  io: CliIo,
  flags: GlobalFlags,
  options: { readonly noPublish: boolean; readonly yes: boolean },
): Promise<number> {
  const { noPublish, yes } = options;
  const name = command.name;
  return announceAfterSaving(
    io,
    (inner: (session: AdminSession) => Promise<number>) => installation.withAdmin(pin, inner),
    async (session, held, late) => {
      // With --json, a command without a JSON form of its own prints one object saying what it did.
      const ownJson = command.lists === true;
      const human: CliIo = flags.json && !ownJson ? { ...held, out: () => undefined } : held;
      const afterShare = human === held ? late : () => undefined;
      const reports: AdminChanges[] = [];
      const did: Record<string, unknown> = {};
      const context = {
        io: human,
        session,
        installation,
        pin,
        report: (changes: AdminChanges): void => void reports.push(changes),
        did: (fields: Readonly<Record<string, unknown>>): void => void Object.assign(did, fields),
        confirm: (question: string) => confirmStep(io, yes, question),
        afterShare,
      };
      if (!command.mutates) {
        const code = (await work(context)) ?? 0;
        if (flags.json && !ownJson) held.out(json({ command: `admin ${name}`, ...did }));
        return code;
      }
      // No expiry sweep before the work: every KMS operation expires due keys in its own transaction
      // (`Admin.#mutate`), so a refused one, or a question answered no, changes nothing, not even the
      // expiries and the time (the spec's "Expiry first"). A command of distribution transactions only
      // (resync, provision), which keep keys as of their time, has its expiries committed after it,
      // before the publication, as they would have been before it.
      const code = await work(context);
      const swept = session.admin.sweep();
      if (swept.transitions.length > 0) reports.push(swept);
      for (const changes of reports)
        [...describeExpiries(changes), ...describeKeyChanges(changes)].forEach((l) => human.out(l));
      // A publication that fails (the share gone, say) comes after the change: what the command did is
      // still said, --json included, before the failure (the session tells a saved change from a refusal).
      let published: Awaited<ReturnType<typeof session.publisher.publish>> | null = null;
      let publishFailure: { readonly error: unknown } | null = null;
      if (!noPublish) {
        try {
          published = await session.publisher.publish();
        } catch (error) {
          publishFailure = { error };
        }
      }
      const report = published;
      if (report !== null) afterShare((share) => describePublish(report, share));
      if (flags.json && !ownJson) {
        const keys = keyChangesJson(reports);
        late((share) =>
          json({
            command: `admin ${name}`,
            ...did,
            keys,
            published: report === null ? null : publishJson(report, share),
          }),
        );
      }
      if (publishFailure !== null) throw publishFailure.error;
      return code ?? 0;
    },
    { json: flags.json },
  );
}
