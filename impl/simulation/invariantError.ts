/**
 * The named invariants of a deployment (`deployment.ts`) against its reference model
 * (`referenceModel.ts`): the deployment property suite checks them after every command, `sekey
 * simulate` at the end of every simulated day. Each failure throws an {@link InvariantError} whose
 * message starts with `invariant <name>:`: the property suite fails on it (and a bite test reads
 * which rule broke), the simulation catches it, records it and goes on. The checkers stand beside
 * this file, a concern each; where two values differ, the failure says where ({@link same}).
 * @module
 */

/**
 * Where the checkers count what they checked and the refusals they met: the property suite's
 * statistics, or the simulation's counters.
 */
export interface CheckTally {
  /** Counts one check (`name` is `<invariant>:<what>`). */
  count(category: 'invariantChecks', name: string): void;
  /** Counts a refusal met while checking; returns its code. */
  error(error: unknown): string;
}

/** The invariants, by name. */
const INVARIANTS = [
  'model-agreement',
  'key-secrecy',
  'need-to-know',
  'readability',
  'forward-secrecy',
  'backward-secrecy',
  'smallest-group',
  'integrity',
  'durability',
  'convergence',
] as const;
/** An invariant's name. */
export type InvariantName = (typeof INVARIANTS)[number];

/** A broken invariant. */
export class InvariantError extends Error {
  readonly invariant: InvariantName;
  constructor(invariant: InvariantName, detail: string) {
    super(`invariant ${invariant}: ${detail}`);
    this.name = 'InvariantError';
    this.invariant = invariant;
  }
}

/** Throws an {@link InvariantError}. */
export function violated(invariant: InvariantName, detail: string): never {
  throw new InvariantError(invariant, detail);
}

/** An array's elements by the `id` they carry (users, groups, keys), or null if some carries none. */
function byId(list: readonly unknown[]): Map<string, unknown> | null {
  const map = new Map<string, unknown>();
  for (const item of list) {
    const id = (item as { id?: unknown } | null)?.id;
    if (typeof id !== 'string') return null;
    map.set(id, item);
  }
  return map;
}

/**
 * Where two JSON values differ, as paths (`keys[K2003].holders`) with both sides, at most `limit`:
 * elements of arrays whose elements all carry an `id` are matched by it, so one extra key is one
 * difference, not one per key after it.
 */
export function differences(actual: unknown, expected: unknown, limit = 5): string[] {
  const out: string[] = [];
  const walk = (a: unknown, e: unknown, path: string): void => {
    if (out.length >= limit || JSON.stringify(a) === JSON.stringify(e)) return;
    if (Array.isArray(a) && Array.isArray(e)) {
      const [ma, me] = [byId(a), byId(e)];
      const found = out.length;
      if (ma !== null && me !== null && ma.size === a.length && me.size === e.length) {
        for (const id of new Set([...ma.keys(), ...me.keys()])) walk(ma.get(id), me.get(id), `${path}[${id}]`);
      } else if (a.length === e.length) {
        a.forEach((x, i) => walk(x, e[i], `${path}[${i}]`));
      }
      // Nothing found element by element (the same elements in another order, an ID twice, other
      // lengths): the array itself differs.
      if (out.length > found) return;
    } else if (a !== null && e !== null && typeof a === 'object' && typeof e === 'object' && !Array.isArray(a)) {
      const keys = new Set([...Object.keys(a), ...Object.keys(e as object)]);
      for (const k of keys) walk((a as Record<string, unknown>)[k], (e as Record<string, unknown>)[k], `${path}.${k}`);
      return;
    }
    const shown = (v: unknown) => JSON.stringify(v) ?? 'nothing';
    out.push(`${path || '(the whole value)'}: actual ${shown(a)}, expected ${shown(e)}`);
  };
  walk(actual, expected, '');
  return out.map((d) => (d.startsWith('.') ? d.slice(1) : d));
}

/** Fails `invariant` unless the two values are structurally equal; says first where they differ. */
export function same(invariant: InvariantName, what: string, actual: unknown, expected: unknown): void {
  const a = JSON.stringify(actual);
  const e = JSON.stringify(expected);
  if (a === e) return;
  const where = differences(actual, expected).map((d) => `\n  differs at ${d}`);
  violated(invariant, `${what}${where.join('')}\n  actual:   ${a}\n  expected: ${e}`);
}
