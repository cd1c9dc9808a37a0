/**
 * The `sekey` command line: commands, their options and help. `impl/cli.ts` is the executable.
 *
 * `admin …` and `user …` work on a persistent installation (`installation.ts`; commands in
 * `impl/cli/`); `demo` runs a scripted story on a temporary installation; `model-demo`, `machines`
 * and `spec` are about the specification in `model/`; `errors` writes the table of error codes.
 * @module
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { renderSpecFiles } from '../../model/specDocument.ts';
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
    summary: 'write docs/spec.md and docs/machines/*.json from model/ (--check: fail if stale)',
    usage: 'sekey spec [--check] [--out FILE]',
    help: [
      'Renders the specification: every machine (diagram, transitions, guards, actions, parameters), the KMS',
      'rules, the worked examples and the differences from the original; and each machine as JSON for XState',
      'tools in machines/NAME.json beside FILE.',
      '  --out FILE  where to write (default: docs/spec.md under the current directory)',
      '  --check     write nothing; exit 1 if a file differs from what would be written',
    ].join('\n'),
    run: async (argv, io) =>
      generatedDocument(argv, io, 'docs/spec.md', 'spec', (out) =>
        Object.entries(renderSpecFiles()).map(([path, text]) => [
          path === 'spec.md' ? out : join(dirname(out), path),
          text,
        ]),
      ),
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
      generatedDocument(argv, io, 'docs/errors.md', 'errors', (out) => [
        [out, renderErrorCatalogue((path) => readFileSync(resolve(io.cwd, path), 'utf8'))],
      ]),
  },
  factory: {
    summary: "create a simulated HSM factory (the manufacturer's key), outside every installation",
    usage: FACTORY_USAGE,
    help: FACTORY_HELP,
    run: runFactory,
  },
};

/**
 * Writes a generated document and its companion files (`render` maps the document's path to every
 * file's path and text), or with `--check` fails (exit 1) when any file differs from what it would be.
 */
function generatedDocument(
  argv: readonly string[],
  io: CliIo,
  defaultOut: string,
  script: string,
  render: (out: string) => Array<[string, string]>,
): number {
  const args = new Args(argv);
  const check = args.flag('--check');
  const out = resolve(io.cwd, args.option('--out') ?? defaultOut);
  args.done();
  const files = render(out);
  if (check) {
    let failed = false;
    for (const [path, text] of files) {
      let current: string | null = null;
      try {
        current = readFileSync(path, 'utf8');
      } catch {
        current = null;
      }
      if (current !== text) {
        io.err(`${path} is ${current === null ? 'missing' : 'stale'}: run \`npm run ${script}\` and commit it.`);
        failed = true;
      }
    }
    if (failed) return 1;
    io.out(`${out} is current${files.length > 1 ? `, with ${files.length - 1} companion files` : ''}.`);
    return 0;
  }
  for (const [path, text] of files) {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, text);
    io.out(`wrote ${path}`);
  }
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
