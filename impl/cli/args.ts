/**
 * Command-line arguments of one `sekey` command: options (`--name value`), flags (`--name`) and
 * positionals, taken one by one by the command that knows them; whatever is left is an error. A
 * wrong command line is a {@link UsageError} (exit code 2), never a half-run command.
 * @module
 */

/** A wrong command line: printed with the command's usage, exit code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** The arguments of one command, consumed as the command reads them. */
export class Args {
  readonly #args: string[];

  constructor(argv: readonly string[]) {
    this.#args = [...argv];
  }

  /** The value of `--name value`, removed from the arguments; undefined when absent. */
  option(name: string): string | undefined {
    const i = this.#args.indexOf(name);
    if (i === -1) return undefined;
    const value = this.#args[i + 1];
    if (value === undefined || value.startsWith('--')) throw new UsageError(`${name} needs a value`);
    this.#args.splice(i, 2);
    if (this.#args.includes(name)) throw new UsageError(`${name} given twice`);
    return value;
  }

  /** Whether `--name` is present (removed from the arguments). */
  flag(name: string): boolean {
    const i = this.#args.indexOf(name);
    if (i === -1) return false;
    this.#args.splice(i, 1);
    return true;
  }

  /** The next positional argument; `label` names it in the error when it is missing. */
  positional(label: string): string {
    const value = this.optionalPositional();
    if (value === undefined) throw new UsageError(`missing ${label}`);
    return value;
  }

  /** The next positional argument, if any. */
  optionalPositional(): string | undefined {
    const i = this.#args.findIndex((a) => !a.startsWith('--'));
    if (i === -1) return undefined;
    return this.#args.splice(i, 1)[0];
  }

  /** Every remaining positional argument (at least one when `label` is given). */
  rest(label?: string): string[] {
    const values: string[] = [];
    for (let v = this.optionalPositional(); v !== undefined; v = this.optionalPositional()) values.push(v);
    if (label !== undefined && values.length === 0) throw new UsageError(`missing ${label}`);
    return values;
  }

  /** Refuses anything not consumed. */
  done(): void {
    const first = this.#args[0];
    if (first === undefined) return;
    throw new UsageError(first.startsWith('--') ? `unknown option '${first}'` : `unexpected argument '${first}'`);
  }
}
