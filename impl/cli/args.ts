/**
 * Command-line arguments of one `sekey` command, parsed by Node's own parser (`node:util`
 * `parseArgs`): `--name value` and `--name=value`, flags, positionals, and `--`, after which
 * everything is a positional (a name may then start with a dash). A command takes its options
 * first, by name (each option it asks for is declared to the parser then), then its positionals;
 * whatever is left is an error. A wrong command line is a {@link UsageError} (exit code 2), never a
 * half-run command.
 * @module
 */
import { parseArgs } from 'node:util';
import { didYouMean } from './didYouMean.ts';
import { messageOf } from '../../model/codedError.ts';

/** A wrong command line: printed with the command's usage, exit code 2. */
export class UsageError extends Error {
  /**
   * The command whose `--help` shows the usage (`sekey admin`), when it is not the one the line
   * names: for an unknown subcommand, `sekey admin add-usr --help` would only fail again.
   */
  readonly usage: string | undefined;

  constructor(message: string, options: { readonly usage?: string } = {}) {
    super(message);
    this.name = 'UsageError';
    this.usage = options.usage;
  }
}

/**
 * The options of every command (`commandLine.ts` takes them out before a command's own are parsed),
 * here so that a mistyped one left among a command's options is suggested too (`--jsn`: `--json`).
 */
export const GLOBAL_OPTIONS = {
  home: { type: 'string' },
  pin: { type: 'string' },
  at: { type: 'string' },
  wait: { type: 'string' },
  json: { type: 'boolean' },
  'last-try': { type: 'boolean' },
  debug: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean' },
} as const;

/** The global options that only commands on an installation take (admin and user); the others refuse them. */
export const INSTALLATION_OPTIONS: readonly string[] = ['home', 'pin', 'at', 'wait', 'last-try'];

type Spec = Record<string, { type: 'string' | 'boolean'; multiple: true }>;

/** `parseArgs`'s refusals, said as usage errors (its own messages suggest quoting tricks). */
function usageErrorOf(error: unknown, spec: Spec, installation: boolean): UsageError {
  const code = (error as { code?: unknown }).code;
  const message = messageOf(error);
  const option = /'(-[^' ]*)/.exec(message)?.[1] ?? '';
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    const globalNames = Object.keys(GLOBAL_OPTIONS).filter(
      (name) => installation || !INSTALLATION_OPTIONS.includes(name),
    );
    const known = [...Object.keys(spec), ...globalNames].map((name) => `--${name}`);
    // '--frobnicate' was meant as an option; '-1' or '-notes' more likely as a positional value.
    const hint = option.startsWith('--') ? '' : " (a value starting with '-' goes after '--')";
    return new UsageError(`unknown option '${option}'${didYouMean(option, known)}${hint}`);
  }
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    if (/does not take an argument/.test(message)) return new UsageError(`${option} takes no value`);
    if (/ambiguous/.test(message))
      return new UsageError(`${option} needs a value (one starting with '-': ${option}=-…)`);
    return new UsageError(`${option} needs a value`);
  }
  return new UsageError(message.split('\n')[0] ?? message);
}

/** The arguments of one command, consumed as the command reads them. */
export class Args {
  readonly #argv: readonly string[];
  readonly #spec: Spec = {};
  readonly #installation: boolean;
  #positionals: string[] | null = null;

  /**
   * @param options.installation whether the command works on an installation (an admin or user
   *   command): only then is a mistyped option suggested as one of {@link INSTALLATION_OPTIONS}
   *   (`simulate --hom` must not suggest a `--home` that simulate refuses); the other global options
   *   (`--json`, `--debug`) every command takes.
   */
  constructor(argv: readonly string[], options: { readonly installation?: boolean } = {}) {
    this.#argv = [...argv];
    this.#installation = options.installation ?? false;
  }

  /** Parses with the options declared so far; `strict` refuses unknown options. */
  #parse(
    strict: boolean,
  ): ReturnType<typeof parseArgs<{ options: Spec; allowPositionals: true; strict: boolean; tokens: true }>> {
    try {
      return parseArgs({ args: [...this.#argv], options: this.#spec, strict, allowPositionals: true, tokens: true });
    } catch (error) {
      throw usageErrorOf(error, this.#spec, this.#installation);
    }
  }

  #declare(name: string, type: 'string' | 'boolean'): string[] | boolean[] | undefined {
    if (this.#positionals !== null) throw new Error(`option ${name} asked for after the positionals`);
    const key = name.replace(/^--/, '');
    this.#spec[key] = { type, multiple: true };
    const parsed = this.#parse(false);
    // Options are declared one at a time, so this parse is not strict, and a lenient parseArgs hands
    // `--users --out x` the value '--out': refused here as the strict parse refuses it, alike for
    // every option (a value starting with '-' is written --users=-…); a lone '-' is a value, as there.
    const ambiguous = parsed.tokens.find(
      (t) =>
        t.kind === 'option' &&
        t.name === key &&
        t.inlineValue === false &&
        t.value !== undefined &&
        t.value.length > 1 &&
        t.value.startsWith('-'),
    );
    // Not said with the value given: it may be a PIN.
    if (ambiguous) throw new UsageError(`${name} needs a value (one starting with '-': ${name}=-…)`);
    const values = parsed.values[key] as string[] | boolean[] | undefined;
    if (values !== undefined && values.length > 1) throw new UsageError(`${name} given twice`);
    return values;
  }

  /** The value of `--name value` or `--name=value`; undefined when absent. */
  option(name: string): string | undefined {
    const values = this.#declare(name, 'string');
    const value = values?.[0];
    if (value === undefined) return undefined;
    if (typeof value !== 'string') throw new UsageError(`${name} needs a value`);
    // An empty value is a variable that was not set (`--out "$DIR"`), never a choice: a folder of ''
    // would be the working directory, a name of '' nothing.
    if (value === '') throw new UsageError(`${name} needs a value, got ''`);
    return value;
  }

  /** Whether `--name` is present. */
  flag(name: string): boolean {
    const value = this.#declare(name, 'boolean')?.[0];
    if (typeof value === 'string') throw new UsageError(`${name} takes no value`);
    return value === true;
  }

  /** The positionals, parsed once every option is declared: unknown options are refused here. */
  #remaining(): string[] {
    if (this.#positionals === null) this.#positionals = [...this.#parse(true).positionals];
    return this.#positionals;
  }

  /** The next positional argument; `label` names it in the error when it is missing. */
  positional(label: string): string {
    const value = this.optionalPositional();
    if (value === undefined) throw new UsageError(`missing ${label}`);
    return value;
  }

  /** The next positional argument, if any. */
  optionalPositional(): string | undefined {
    return this.#remaining().shift();
  }

  /** Every remaining positional argument (at least one when `label` is given). */
  rest(label?: string): string[] {
    const values = this.#remaining().splice(0);
    if (label !== undefined && values.length === 0) throw new UsageError(`missing ${label}`);
    return values;
  }

  /** Refuses anything not consumed. */
  done(): void {
    const first = this.#remaining()[0];
    if (first !== undefined) throw new UsageError(`unexpected argument '${first}'`);
  }
}
