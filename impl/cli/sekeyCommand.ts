/**
 * The `sekey` command line: commands, their options and help. `impl/cli.ts` is the executable.
 *
 * `admin …` and `user …` work on a persistent installation (`installation.ts`; commands in
 * `impl/cli/`); `demo` runs a scripted story on a temporary installation; `model-demo`, `machines`
 * and `spec` are about the specification in `model/`; `errors` writes the table of error codes.
 * @module
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { CliError } from './cliError.ts';
import { renderSpec } from '../../model/specDocument.ts';
import { renderErrorCatalogue } from './errorCatalogue.ts';
import { Args } from './args.ts';
import type { CliIo } from './cliIo.ts';
import { processIo } from './cliIo.ts';
import { reportError } from './reportError.ts';
import { runAdmin } from './runAdmin.ts';
import { runUser } from './runUser.ts';
import { runDemo } from './demo.ts';
import { FACTORY_HELP, FACTORY_USAGE, runFactory } from './factoryCommand.ts';
import { machineSummary, runModelDemo } from './modelDemo.ts';

interface Command {
  readonly summary: string;
  readonly usage: string;
  /** Null for commands that print their own help (`admin`, `user`). */
  readonly help: string | null;
  readonly run: (args: readonly string[], io: CliIo) => Promise<number>;
}

const COMMANDS: Readonly<Record<string, Command>> = {
  admin: {
    summary: 'the administrator: users, groups, keys, HSM provisioning, publishing (sekey admin --help)',
    usage: 'sekey admin <command> [arguments] [options]',
    help: null,
    run: runAdmin,
  },
  user: {
    summary: "a user's HSM: sync, keys, encrypt, decrypt, re-protect (sekey user --help)",
    usage: 'sekey user U <command> [arguments] [options]',
    help: null,
    run: runUser,
  },
  demo: {
    summary: 'a scripted story on a real, temporary installation (what `npm start` runs)',
    usage: 'sekey demo [--keep DIR]',
    help: [
      'Builds an installation in a temporary directory and runs the real implementation: an admin and',
      'four users with provisioned HSMs, groups, keys, update files on the share, syncs, messages, a',
      'member leaving (rekey), a compromise and re-protection, a withheld update caught as stale and',
      'fixed by a resync; with update sizes, modelled HSM cycles and flash erase counts.',
      '  --keep DIR  build it in DIR (new or empty) and keep it, to explore with --home DIR',
    ].join('\n'),
    run: async (argv, io) => {
      const args = new Args(argv);
      const keep = args.option('--keep');
      args.done();
      return runDemo(io, keep === undefined ? {} : { keep: resolve(io.cwd, keep) });
    },
  },
  'model-demo': {
    summary: 'walk through the KMS model (the specification) on built-in data',
    usage: 'sekey model-demo',
    help:
      'Prints the machines at a glance, then runs a small organisation through the KMS model:\nsmallest-group ' +
      'selection, a member leaving (rekey), a compromise and the expiry sweep.',
    run: async (argv, io) => {
      new Args(argv).done();
      runModelDemo((line) => io.out(line));
      return 0;
    },
  },
  machines: {
    summary: 'list the state machines of the specification',
    usage: 'sekey machines',
    help: 'One line per machine: its states and how many transitions it declares.',
    run: async (argv, io) => {
      new Args(argv).done();
      machineSummary().forEach((l) => io.out(l.trimStart()));
      return 0;
    },
  },
  spec: {
    summary: 'write docs/spec.md from the machine definitions (--check: fail if stale)',
    usage: 'sekey spec [--check] [--out FILE]',
    help:
      'Renders the Mermaid diagrams and transition tables of every machine.\n  --out FILE  where to write ' +
      '(default: docs/spec.md under the current directory)\n  --check     write nothing; exit 1 if FILE differs ' +
      'from what would be written',
    run: async (argv, io) => generatedDocument(argv, io, 'docs/spec.md', 'spec', renderSpec),
  },
  errors: {
    summary: "write docs/errors.md from the error codes' doc comments (--check: fail if stale)",
    usage: 'sekey errors [--check] [--out FILE]',
    help: [
      'Renders one table of every error code (class, code, meaning, what to do) from the doc comments of',
      'the error code lists and error classes, read from the SEkey-TS sources under the current directory.',
      '  --out FILE  where to write (default: docs/errors.md under the current directory)',
      '  --check     write nothing; exit 1 if FILE differs from what would be written',
    ].join('\n'),
    run: async (argv, io) =>
      generatedDocument(argv, io, 'docs/errors.md', 'errors', () =>
        renderErrorCatalogue((path) => readFileSync(resolve(io.cwd, path), 'utf8')),
      ),
  },
  factory: {
    summary: "create a simulated HSM factory (the manufacturer's key), outside every installation",
    usage: FACTORY_USAGE,
    help: FACTORY_HELP,
    run: runFactory,
  },
};

/** Whether `dir` is the root of a clone of SEkey-TS (its package and its sources). */
function inClone(dir: string): boolean {
  try {
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: unknown };
    return pkg.name === 'sekey' && existsSync(join(dir, 'model')) && existsSync(join(dir, 'docs'));
  } catch {
    return false;
  }
}

/** Writes a generated document, or with `--check` fails (exit 1) when the file differs from it. */
function generatedDocument(
  argv: readonly string[],
  io: CliIo,
  defaultOut: string,
  script: string,
  render: () => string,
): number {
  const args = new Args(argv);
  const check = args.flag('--check');
  const outOption = args.option('--out');
  args.done();
  // The document is of a clone's sources: its default place, and for errors its input, is the clone.
  if ((outOption === undefined || script === 'errors') && !inClone(io.cwd)) {
    throw new CliError(
      'NotInRepository',
      `${io.cwd} is not the root of an SEkey-TS clone: \`sekey ${script}\` ${script === 'errors' ? 'reads its sources' : 'writes its docs/ (or give --out FILE)'}`,
    );
  }
  const out = resolve(io.cwd, outOption ?? defaultOut);
  const text = render();
  if (check) {
    let current: string | null = null;
    try {
      current = readFileSync(out, 'utf8');
    } catch {
      current = null;
    }
    if (current !== text) {
      io.err(`${out} is ${current === null ? 'missing' : 'stale'}: run \`npm run ${script}\` and commit it.`);
      return 1;
    }
    io.out(`${out} is current.`);
    return 0;
  }
  writeFileSync(out, text);
  io.out(`wrote ${out}`);
  return 0;
}

/** The top-level help text. */
export function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length));
  return [
    'usage: sekey <command> [options]',
    '',
    'commands:',
    ...Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`),
    '',
    'sekey <command> --help shows the options of one command.',
    'Exit codes: 0 done, 1 refused (the error code and message are printed), 2 wrong command line.',
  ].join('\n');
}

/** The name a failing command is reported under: `sekey admin add-user`, `sekey user U1 sync`. */
function commandPrefix(argv: readonly string[]): string {
  const words =
    argv[0] === 'admin' || argv[0] === 'factory'
      ? argv.slice(0, 2)
      : argv[0] === 'user'
        ? argv.slice(0, 3)
        : argv.slice(0, 1);
  return ['sekey', ...words.filter((w) => !w.startsWith('-'))].join(' ');
}

/** Runs the CLI on `argv` (without node and script); returns the exit code. */
export async function main(argv: readonly string[], io: CliIo = processIo()): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.out(usage());
    return name === undefined ? 2 : 0;
  }
  const command = COMMANDS[name];
  if (!command) {
    io.err(`sekey: unknown command '${name}'\n\n${usage()}`);
    return 2;
  }
  if (command.help !== null && (rest.includes('--help') || rest.includes('-h'))) {
    io.out(`usage: ${command.usage}\n\n${command.help}`);
    return 0;
  }
  try {
    return await command.run(rest, io);
  } catch (error) {
    return reportError(commandPrefix(argv), error, io);
  }
}
