/**
 * The options every `sekey` command takes, wherever they stand on the line (`sekey --home H admin
 * users`, `sekey admin --json users`, `sekey admin users --home H`), taken out before the command's
 * own arguments are parsed; `--` ends them like every option. Tokenised by `node:util` `parseArgs`.
 * Light on purpose: `sekey --help` and `--version` load this and nothing of the KMS.
 * @module
 */
import { parseArgs } from 'node:util';
import { GLOBAL_OPTIONS, UsageError } from './args.ts';

/** The options of every command. */
export interface GlobalFlags {
  readonly home?: string;
  readonly pin?: string;
  readonly at?: string;
  readonly wait?: string;
  readonly json: boolean;
  /** Spend the last PIN try with a PIN from `--pin` or the environment (`pinCommands.ts`). */
  readonly lastTry: boolean;
  readonly debug: boolean;
  readonly help: boolean;
  readonly version: boolean;
}

/** The names of the global options, for "did you mean". */
export const GLOBAL_OPTION_NAMES: readonly string[] = Object.keys(GLOBAL_OPTIONS).map((n) => `--${n}`);

/** Splits `argv` into the global options and the rest (command words, their options, `--` and after). */
export function splitGlobals(argv: readonly string[]): { flags: GlobalFlags; rest: string[] } {
  const { tokens } = parseArgs({
    args: [...argv],
    options: GLOBAL_OPTIONS,
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  const taken = new Set<number>();
  const values: Record<string, string | boolean> = {};
  for (const token of tokens) {
    if (token.kind === 'option-terminator') break;
    if (token.kind !== 'option' || !(token.name in GLOBAL_OPTIONS)) continue;
    const type = GLOBAL_OPTIONS[token.name as keyof typeof GLOBAL_OPTIONS].type;
    if (token.name in values) throw new UsageError(`${token.rawName} given twice`);
    taken.add(token.index);
    if (type === 'boolean') {
      if (token.value !== undefined) throw new UsageError(`${token.rawName} takes no value`);
      values[token.name] = true;
      continue;
    }
    if (token.value === undefined) throw new UsageError(`${token.rawName} needs a value`);
    // As for every option (`Args.option`): `--home ""` would be the working directory.
    if (token.value === '') throw new UsageError(`${token.rawName} needs a value, got ''`);
    if (!token.inlineValue) taken.add(token.index + 1);
    values[token.name] = token.value;
  }
  const str = (name: string): { [k: string]: string } => {
    const v = values[name];
    return typeof v === 'string' ? { [name]: v } : {};
  };
  return {
    flags: {
      ...str('home'),
      ...str('pin'),
      ...str('at'),
      ...str('wait'),
      json: values['json'] === true,
      lastTry: values['last-try'] === true,
      debug: values['debug'] === true,
      help: values['help'] === true,
      version: values['version'] === true,
    },
    rest: argv.filter((_, i) => !taken.has(i)),
  };
}
