/**
 * The `sekey` command line: commands, their help, global options, exit codes. `sekey.ts` is the
 * executable.
 *
 * `admin …` and `user …` work on a persistent installation (`installation.ts`; commands in
 * `impl/cli/`); `simulate` lives a deployment over simulated months and writes its report (what
 * `npm start` runs); `demo` runs a scripted story on a temporary installation; `model-demo`, `machines`
 * and `spec` are about the specification in `model/`; `errors` writes the table of error codes.
 *
 * Start-up is kept short: this module loads only the argument parser and the error report; each
 * command's code (sql.js, the simulator, the KMS, the model) is imported when that command runs, so
 * `sekey --help` and `sekey --version` load none of it.
 * @module
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Args, INSTALLATION_OPTIONS, UsageError } from './args.ts';
import type { CliIo } from './cliIo.ts';
import { processIo, withOut } from './cliIo.ts';
import type { GlobalFlags } from './commandLine.ts';
import { GLOBAL_OPTION_NAMES, splitGlobals } from './commandLine.ts';
import { didYouMean } from './didYouMean.ts';
import { json } from './format.ts';
import { SIGNAL_EXIT } from './interrupts.ts';
import type { CaughtSignal } from './interrupts.ts';
import { EXIT, reportError } from './reportError.ts';
import { DEMO_PINS, SETUP_EXAMPLES, SETUP_HEADING, examplesHelp } from './commandExamples.ts';
import { fitHelp } from './helpText.ts';
import { packageRoot } from './packageRoot.ts';

interface Command {
  readonly summary: string;
  readonly usage: string;
  /** Null for commands that print their own help (`admin`, `user`). */
  readonly help: string | null;
  readonly run: (args: readonly string[], io: CliIo, flags: GlobalFlags) => Promise<number>;
  /** Works on an installation (`admin`, `user`): the only commands the installation options mean anything to. */
  readonly installation?: true;
}

/**
 * The global options given that only an installation's commands read (`--home`, `--pin`, `--at`,
 * `--wait`, `--last-try`): refused by the others (a `simulate` or a `demo` makes its own), rather
 * than ignored, so that nobody believes they took effect.
 */
function installationOptionsGiven(flags: GlobalFlags): string[] {
  const value = {
    home: flags.home,
    pin: flags.pin,
    at: flags.at,
    wait: flags.wait,
    'last-try': flags.lastTry || undefined,
  };
  return INSTALLATION_OPTIONS.filter((k) => value[k as keyof typeof value] !== undefined).map((k) => `--${k}`);
}

const COMMANDS: Readonly<Record<string, Command>> = {
  admin: {
    summary: 'the administrator: users, groups, keys, HSMs, publishing (sekey admin --help)',
    usage: 'sekey admin <command> [arguments] [options]',
    help: null,
    run: async (argv, io, flags) => (await import('./runAdmin.ts')).runAdmin(argv, io, flags),
    installation: true,
  },
  user: {
    summary: "a user's HSM: sync, keys, encrypt, decrypt, re-protect (sekey user --help)",
    usage: 'sekey user U <command> [arguments] [options]',
    help: null,
    run: async (argv, io, flags) => (await import('./runUser.ts')).runUser(argv, io, flags),
    installation: true,
  },
  demo: {
    summary: 'a scripted story on a real, temporary installation: a guided tour of the commands',
    usage: 'sekey demo [--keep DIR]',
    help: [
      'Builds an installation in a temporary directory and runs the real implementation: an admin and',
      'four users with provisioned HSMs, groups, keys, update files on the share, syncs, messages, a',
      'member leaving (rekey), a compromise and re-protection, a withheld update caught as stale and',
      'fixed by a resync; with update sizes, modelled HSM cycles and flash erase counts.',
      // One line, wrapped by the help printer (helpText.ts) under its description.
      '  --keep DIR  build it in DIR (new or empty) and keep it, to explore with --home DIR, with its simulated ' +
        `factory beside it in DIR-factory (--factory, to provision more HSMs): the PINs are ${DEMO_PINS.admin} ` +
        `(admin HSM) and ${DEMO_PINS.user} (users' HSMs); every admin and user command's help ends with examples ` +
        'that run on it',
      examplesHelp(['sekey demo --keep ./sekey-demo'], 'example:'),
    ].join('\n'),
    run: async (argv, io, flags) => {
      const args = new Args(argv);
      const keep = args.option('--keep');
      args.done();
      const { resolve } = await import('node:path');
      const { runDemo } = await import('./demo.ts');
      return linesAsJson(io, flags, (out) => runDemo(out, keep === undefined ? {} : { keep: resolve(io.cwd, keep) }));
    },
  },
  'model-demo': {
    summary: 'walk through the KMS model (the specification) on built-in data',
    usage: 'sekey model-demo',
    help:
      'Prints the machines at a glance, then runs a small organisation through the KMS model:\nsmallest-group ' +
      'selection, a member leaving (rekey), a compromise and the expiry sweep.\n' +
      examplesHelp(['sekey model-demo', 'sekey model-demo --json > model-demo.json'], 'examples:'),
    run: async (argv, io, flags) => {
      new Args(argv).done();
      const { runModelDemo } = await import('./modelDemo.ts');
      return linesAsJson(io, flags, async (out) => {
        runModelDemo((line) => out.out(line));
        return 0;
      });
    },
  },
  machines: {
    summary: 'list the state machines of the specification',
    usage: 'sekey machines',
    help: [
      'One line per machine: its states and how many transitions it declares.',
      examplesHelp(
        ['sekey machines', 'sekey spec --out /tmp/spec/spec.md'],
        'examples (the second draws each one in full):',
      ),
    ].join('\n'),
    run: async (argv, io, flags) => {
      new Args(argv).done();
      const { machineSummary } = await import('./modelDemo.ts');
      return linesAsJson(io, flags, async (out) => {
        machineSummary().forEach((l) => out.out(l.trimStart()));
        return 0;
      });
    },
  },
  spec: {
    summary: 'write docs/spec.md and docs/machines/*.json from model/ (--check: fail if stale)',
    usage: 'sekey spec [--check] [--out FILE]',
    help: [
      'Renders the specification: every machine (diagram, transitions, guards, actions, parameters), the',
      'KMS rules, the worked examples and the differences from the original; and each machine as JSON for',
      'XState tools in machines/NAME.json beside FILE.',
      '  --out FILE  where to write (default: docs/spec.md under the current directory)',
      '  --check     write nothing; exit 1 if a file differs from what would be written',
      examplesHelp(['sekey spec --check', 'sekey spec --out /tmp/spec/spec.md'], 'examples (in a clone of SEkey-TS):'),
    ].join('\n'),
    run: async (argv, io, flags) => {
      const { runGeneratedDocument } = await import('./generatedDocument.ts');
      const { renderSpecFiles } = await import('../../model/specDocument.ts');
      return runGeneratedDocument(argv, io, flags, {
        script: 'spec',
        defaultOut: 'docs/spec.md',
        readsSources: false,
        render: (_cwd, out) =>
          Object.entries(renderSpecFiles()).map(
            ([path, text]) => [path === 'spec.md' ? out : join(dirname(out), path), text] as const,
          ),
      });
    },
  },
  errors: {
    summary: "write docs/errors.md (and .json) from the error codes' doc comments (--check: fail if stale)",
    usage: 'sekey errors [--check] [--out FILE]',
    help: [
      'Renders one table of every error code (class, code, meaning, what to do) from the doc comments of',
      'the error code lists and error classes, read from the SEkey-TS sources under the current directory;',
      'beside it, the same rows as JSON (errors.md -> errors.json), which sekey reads to print what to do.',
      '  --out FILE  where to write (default: docs/errors.md under the current directory)',
      '  --check     write nothing; exit 1 if a file differs from what would be written',
      examplesHelp(['sekey errors --check', 'sekey errors --out /tmp/errors.md'], 'examples (in a clone of SEkey-TS):'),
    ].join('\n'),
    run: async (argv, io, flags) => {
      const { runGeneratedDocument } = await import('./generatedDocument.ts');
      const { catalogueJsonPath, renderErrorCatalogue, renderErrorCatalogueJson } = await import('./errorCatalogue.ts');
      const { resolve } = await import('node:path');
      return runGeneratedDocument(argv, io, flags, {
        script: 'errors',
        defaultOut: 'docs/errors.md',
        readsSources: true,
        render: (cwd, out) => {
          const read = (path: string): string => readFileSync(resolve(cwd, path), 'utf8');
          return [
            [out, renderErrorCatalogue(read)],
            [catalogueJsonPath(out), renderErrorCatalogueJson(read)],
          ];
        },
      });
    },
  },
  factory: {
    summary: "create a simulated HSM factory (the manufacturer's key), outside every installation",
    usage: 'sekey factory init [--dir DIR]',
    help: [
      'Creates a simulated HSM factory in DIR (new or without a factory): DIR/manufacturer.json holds the',
      "manufacturer's signing key, which certifies the identity of every HSM `admin init` and `admin",
      'provision` create. SIMULATION ONLY: keep DIR outside every installation (one in the home or the',
      'share of one is refused); a real admin host never holds this key.',
      '  --dir DIR   where (default $SEKEY_FACTORY)',
      examplesHelp(SETUP_EXAMPLES, SETUP_HEADING),
    ].join('\n'),
    run: async (argv, io, flags) => (await import('./factoryCommand.ts')).runFactory(argv, io, flags),
  },
  simulate: {
    summary: 'a deployment over simulated months: report.json, report.html (what `npm start` runs)',
    usage: 'sekey simulate [options] (sekey simulate --help)',
    // Its help names the engine's defaults, so it is printed by the command, loaded only then.
    help: null,
    run: async (argv, io, flags) => (await import('./simulateCommand.ts')).runSimulate(argv, io, flags, version()),
  },
};

/**
 * Runs a command that only prints lines; with `--json`, prints them as one JSON object instead
 * (`{"command": …, "lines": […]}`), so that every command answers `--json`.
 */
async function linesAsJson(io: CliIo, flags: GlobalFlags, run: (io: CliIo) => Promise<number>): Promise<number> {
  if (!flags.json) return run(io);
  const lines: string[] = [];
  const code = await run(withOut(io, (line) => void lines.push(line)));
  io.out(json({ lines }));
  return code;
}

/** The top-level help text. */
export function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length));
  return fitHelp(
    [
      'usage: sekey <command> [options]',
      '',
      'commands:',
      ...Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`),
      '',
      'sekey <command> --help shows the options of one command. Options anywhere on the line: of the',
      'admin and user commands, --home DIR, --pin PIN, --last-try, --at TIME, --wait SECONDS (sekey admin',
      '--help says what they do); of every command, --json, --debug, --version',
      "  --  ends the options: what follows is an argument even if it starts with '-'",
      'Exit codes: 0 done, 1 refused (the error code and message are printed, and under them what to do),',
      '2 wrong command line, 3 internal error (a bug: --debug shows its stack), 4 done but not all of it',
      'reached the share (ShareNotWritten: fix the share; the next publish or sync writes them) or the',
      'disk (ImagesNotSaved: a checkpoint holds the change; free space, and the next command completes',
      'the save; CheckpointNotSaved: the disk refused a checkpoint after steps that changed something,',
      'which are done, the rest not; or its own output could not all be written, as standard error',
      'says), 130/143/129 Ctrl-C, SIGTERM or SIGHUP (Interrupted: nothing changed; or the change in',
      'progress was finished and saved first, as standard error says; a hang-up only while the command',
      'uses the terminal: under nohup it goes on).',
      examplesHelp(
        [
          'sekey demo --keep ./sekey-demo     # an installation to explore, as its last lines say',
          "sekey admin --help                 # the administrator's commands",
          'sekey simulate --days 30           # a month of a simulated deployment: report.html',
        ],
        'examples:',
      ),
    ].join('\n'),
  );
}

/** This package's version, from its package.json (found above this file, in the sources or in dist/). */
export function version(): string {
  return packageRoot()?.version ?? 'unknown';
}

/** The name a failing command is reported under: `sekey admin add-user`, `sekey user U1 sync`. */
function commandPrefix(words: readonly string[]): string {
  const n = words[0] === 'admin' || words[0] === 'factory' ? 2 : words[0] === 'user' ? 3 : 1;
  return ['sekey', ...words.slice(0, n).filter((w) => !w.startsWith('-'))].join(' ');
}

/**
 * `sekey admin help [CMD]` and `sekey user [U] help [CMD]` as `sekey help admin [CMD]` and `sekey help user
 * [U] [CMD]`: `help` one level down is asked as readily as at the top (`sekey admin help` used to be
 * "unknown admin command 'help'"), and no admin or user command, nor any user ID, is named `help`.
 */
function helpFirst(rest: readonly string[]): readonly string[] {
  const [command, second, third] = rest;
  if ((command === 'admin' || command === 'user') && second === 'help') return ['help', command, ...rest.slice(2)];
  if (command === 'user' && second !== undefined && third === 'help') return ['help', 'user', second, ...rest.slice(3)];
  return rest;
}

/** Runs the CLI on `argv` (without node and script); returns the exit code, decided once at the end. */
export async function main(argv: readonly string[], io: CliIo = processIo()): Promise<number> {
  // Before the options are parsed, so that a wrong one (`--home` without its folder, `--json` twice)
  // is the error object under --json too, as every other wrong command line is.
  const ended = argv.indexOf('--');
  let flags: GlobalFlags = {
    json: (ended === -1 ? argv : argv.slice(0, ended)).includes('--json'),
    lastTry: false,
    debug: argv.includes('--debug'),
    help: false,
    version: false,
  };
  let rest: readonly string[] = argv;
  let code: number;
  let failed = false;
  try {
    ({ flags, rest } = splitGlobals(argv));
    rest = helpFirst(rest);
    // Standard output under --json holds one object, also when an interruption abandons the command.
    if (flags.json) io.onAbandon?.((signal) => io.out(json({ error: interruptedBeforeChanges(signal) })));
    // --version wins over --help (runCommand): its own object, not one of help text.
    const help = (flags.help || rest[0] === 'help') && !flags.version;
    code = help && flags.json ? await helpAsJson(rest, io, flags) : await runCommand(rest, io, flags);
  } catch (error) {
    failed = true;
    code = reportError(commandPrefix(rest), error, io, flags);
  }
  return exitCode(io, code, failed);
}

/**
 * `--help` with `--json`: standard output under `--json` is one JSON object, so the help text goes
 * into one, `{"command": "sekey admin add-user", "help": "usage: …"}`, for a program (an editor's
 * completion, a wrapper) to read. A wrong command line is the usual error object.
 */
async function helpAsJson(rest: readonly string[], io: CliIo, flags: GlobalFlags): Promise<number> {
  const lines: string[] = [];
  const code = await runCommand(
    rest,
    withOut(io, (line) => void lines.push(line)),
    { ...flags, json: false },
  );
  io.out(json({ command: commandPrefix(rest[0] === 'help' ? rest.slice(1) : rest), help: lines.join('\n') }));
  return code;
}

/** The `--json` error object of a command an interruption abandoned: it had changed nothing. */
function interruptedBeforeChanges(signal: CaughtSignal): { code: string; message: string; exit: number } {
  return {
    code: 'Interrupted',
    message: `interrupted (${signal}) before anything was changed`,
    exit: SIGNAL_EXIT[signal],
  };
}

/** A word that names no command: `sekey --help` shows the usage, not `sekey WORD --help`. */
const UNKNOWN = { usage: 'sekey' } as const;

/** Runs the command named by `rest[0]`; returns its exit code. */
async function runCommand(rest: readonly string[], io: CliIo, flags: GlobalFlags): Promise<number> {
  const [name, ...args] = rest;
  if (flags.version) {
    io.out(flags.json ? JSON.stringify({ version: version() }) : `sekey ${version()}`);
    return EXIT.ok;
  }
  // `sekey help simulate` is `sekey simulate --help` (`sekey help admin add-user` too).
  if (name === 'help' && args.length > 0) return runCommand(args, io, { ...flags, help: true });
  if (name === undefined || name === 'help') {
    // With --json, standard output is one JSON object: the usage error's, not the help text.
    if (name === undefined && !flags.help && flags.json) throw new UsageError('missing command', UNKNOWN);
    io.out(usage());
    return name === undefined && !flags.help ? EXIT.usage : EXIT.ok;
  }
  if (name.startsWith('-') && name !== '--') {
    throw new UsageError(`unknown option '${name}'${didYouMean(name, GLOBAL_OPTION_NAMES)}`, UNKNOWN);
  }
  const command = COMMANDS[name];
  // Thrown like every other usage error, so that --json prints its error object on standard output.
  if (!command) throw new UsageError(`unknown command '${name}'${didYouMean(name, Object.keys(COMMANDS))}`, UNKNOWN);
  if (command.help !== null && flags.help) {
    io.out(fitHelp(`usage: ${command.usage}\n\n${command.help}`));
    return EXIT.ok;
  }
  const ignored = command.installation ? [] : installationOptionsGiven(flags);
  if (ignored.length > 0 && !flags.help) {
    throw new UsageError(`${ignored.join(', ')}: ${name} uses no installation (only admin and user commands do)`, {
      usage: `sekey ${name}`,
    });
  }
  return await command.run(args, io, flags);
}

/**
 * The exit code, decided once, after the command ended (its changes saved, its lines printed): a
 * command interrupted while changing something finished that change first, says so, and exits as
 * the signal would have ended it (130 for SIGINT, 143 for SIGTERM), whatever its own code was. So
 * does a command a signal stopped early (`onStopRequest`), once it has saved what it did; `failed`:
 * the command ended with an error (`CannotWrite`, exit 1 as violations are), so it saved nothing more.
 */
async function exitCode(io: CliIo, code: number, failed: boolean): Promise<number> {
  const signal = (await io.finishInterrupts?.()) ?? null;
  if (signal === null) return code;
  io.err(
    io.stoppedEarly?.() === true && !failed && (code === EXIT.ok || code === EXIT.refused)
      ? `sekey: interrupted (${signal}): stopped as asked, once the work under way was done; what was done is ` +
          'saved and reported above'
      : code !== EXIT.ok
        ? `sekey: interrupted (${signal}): the command ended with the error above; what it saved is whole`
        : io.changesBegun?.() === false
          ? `sekey: interrupted (${signal}) as it ended: its work was done and printed first`
          : `sekey: interrupted (${signal}): the change in progress was finished and saved first; stopped after it`,
  );
  return SIGNAL_EXIT[signal];
}
