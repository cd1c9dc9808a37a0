/**
 * The `sekey` command line: commands, their options and help. `impl/cli.ts` is the executable.
 * @module
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { renderSpec } from '../model/specDocument.ts';
import { machineSummary, runDemo } from './demo.ts';

interface Command {
  readonly summary: string;
  readonly usage: string;
  readonly help: string;
  readonly run: (args: readonly string[]) => number;
}

/** A wrong command line: printed with the usage, exit code 2. */
class UsageError extends Error {}

function takeOption(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  if (i === -1) return undefined;
  const value = args[i + 1];
  if (value === undefined || value.startsWith('--')) throw new UsageError(`${name} needs a value`);
  args.splice(i, 2);
  return value;
}

function takeFlag(args: string[], name: string): boolean {
  const i = args.indexOf(name);
  if (i === -1) return false;
  args.splice(i, 1);
  return true;
}

function rejectRest(args: readonly string[]): void {
  if (args.length > 0) throw new UsageError(`unexpected argument '${args[0]}'`);
}

const COMMANDS: Readonly<Record<string, Command>> = {
  demo: {
    summary: 'walk through the KMS model on built-in data (what `npm start` runs)',
    usage: 'sekey demo',
    help: 'Prints the machines at a glance, then runs a small organisation through the KMS model:\nsmallest-group selection, a member leaving (rekey), a compromise and the expiry sweep.',
    run: (argv) => {
      rejectRest(argv);
      runDemo((line) => console.log(line));
      return 0;
    },
  },
  machines: {
    summary: 'list the state machines of the specification',
    usage: 'sekey machines',
    help: 'One line per machine: its states and how many transitions it declares.',
    run: (argv) => {
      rejectRest(argv);
      machineSummary().forEach((l) => console.log(l.trimStart()));
      return 0;
    },
  },
  spec: {
    summary: 'write docs/spec.md from the machine definitions (--check: fail if stale)',
    usage: 'sekey spec [--check] [--out FILE]',
    help: 'Renders the Mermaid diagrams and transition tables of every machine.\n  --out FILE  where to write (default: docs/spec.md under the current directory)\n  --check     write nothing; exit 1 if FILE differs from what would be written',
    run: (argv) => {
      const args = [...argv];
      const check = takeFlag(args, '--check');
      const out = resolve(takeOption(args, '--out') ?? 'docs/spec.md');
      rejectRest(args);
      const text = renderSpec();
      if (check) {
        let current: string | null = null;
        try {
          current = readFileSync(out, 'utf8');
        } catch {
          current = null;
        }
        if (current !== text) {
          console.error(`${out} is ${current === null ? 'missing' : 'stale'}: run \`npm run spec\` and commit it.`);
          return 1;
        }
        console.log(`${out} is current.`);
        return 0;
      }
      writeFileSync(out, text);
      console.log(`wrote ${out}`);
      return 0;
    },
  },
};

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
  ].join('\n');
}

/** Runs the CLI on `argv` (without node and script); returns the exit code. */
export function main(argv: readonly string[]): number {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    console.log(usage());
    return name === undefined ? 2 : 0;
  }
  const command = COMMANDS[name];
  if (!command) {
    console.error(`sekey: unknown command '${name}'\n\n${usage()}`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    console.log(`usage: ${command.usage}\n\n${command.help}`);
    return 0;
  }
  try {
    return command.run(rest);
  } catch (error) {
    if (error instanceof UsageError) {
      console.error(`sekey ${name}: ${error.message}\nusage: ${command.usage}`);
      return 2;
    }
    throw error;
  }
}
