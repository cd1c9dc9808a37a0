/**
 * The base of every typed error in SEkey-TS: a stable, machine-readable `code` that callers branch
 * on (never on the message, which is for people). The original SEkey returned bare integers that
 * named neither the argument nor the rule at fault.
 * @module
 */

/**
 * An error with a stable code and, where the place that throws it knows the situation, the way out
 * of that situation (`remedy`): the `sekey` command prints it under the error instead of the code's
 * general remedy in `docs/errors.md`, which must cover every situation of the code.
 */
export class CodedError<Code extends string> extends Error {
  readonly code: Code;
  /** What to do in this error's situation, in one or two short sentences naming an action; or none. */
  declare readonly remedy?: string;

  constructor(name: string, code: Code, message: string, remedy?: string) {
    super(message);
    this.name = name;
    this.code = code;
    // Set only when given: an error without one equals (toStrictEqual) one made before remedies.
    if (remedy !== undefined) this.remedy = remedy;
  }
}

/**
 * What went wrong, in words, for anything a `catch` receives: an Error's message, or the thrown
 * value itself as text (JavaScript lets code throw anything; a host callback or a library may).
 */
export function messageOf(thrown: unknown): string {
  return thrown instanceof Error ? thrown.message : String(thrown);
}
