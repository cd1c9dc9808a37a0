/**
 * The base of every typed error in SEkey-TS: a stable, machine-readable `code` that callers branch
 * on (never on the message, which is for people). The original SEkey returned bare integers that
 * named neither the argument nor the rule at fault.
 * @module
 */

/** An error with a stable code. */
export class CodedError<Code extends string> extends Error {
  readonly code: Code;

  constructor(name: string, code: Code, message: string) {
    super(message);
    this.name = name;
    this.code = code;
  }
}

/**
 * What went wrong, in words, for anything a `catch` receives: an Error's message, or the thrown
 * value itself as text (JavaScript lets code throw anything; a host callback or a library may).
 */
export function messageOf(thrown: unknown): string {
  return thrown instanceof Error ? thrown.message : String(thrown);
}
