/**
 * An array arbitrary whose counterexamples shrink below its minimum length.
 *
 * Why: a suite that wants depth draws long sequences (`minLength: 30`), and fast-check's array
 * shrinker keeps every constraint of the arbitrary that drew the value, the minimum length among
 * them (https://fast-check.dev/docs/core-blocks/arbitraries/combiners/array/): its counterexamples
 * never get shorter than 30 operations, of which a handful matter. The minimum is a statement
 * about what to *draw*, not about what can fail, so here it binds generation only:
 *
 * 1. Generation is the inner arbitrary's, value for value (same seed, same runs): CI size, seeds of
 *    earlier failures and what a suite covered do not change.
 * 2. Shrinking first tries the inner arbitrary's own shrinks (shorter down to the minimum, simpler
 *    elements), then removes elements: halves first, then quarters, down to single elements, the
 *    chunk schedule of delta debugging's `ddmin` (Zeller and Hildebrandt, "Simplifying and
 *    isolating failure-inducing input", IEEE TSE 28(2), 2002, §3; its complements only, not its
 *    subsets). A value found by removal has no context the inner shrinker understands, so from
 *    there on only removals are offered: elements are no longer simplified (a time keeps the gaps
 *    of the operations removed before it).
 *
 * Removal keeps the order of what remains, so a sequence of operations with monotonic times stays
 * monotonic. Every shrink stream is a pure function of the value and its context: a replay by
 * `path` (fast-check's `path` parameter) walks the same tree. Test support only.
 * @module
 */
import fc from 'fast-check';

/** The context of a value: the inner arbitrary's, or none once a removal made the value. */
interface ShrinkContext {
  readonly inner: unknown;
  readonly fromInner: boolean;
}

/**
 * Every way of removing one run of `size` consecutive elements, for `size` = ⌊n/2⌋, ⌊n/4⌋, …, 1,
 * largest first (each size once): `ddmin`'s complements, lazily, as fast-check asks for them.
 */
function* removals<T>(value: readonly T[]): Generator<T[]> {
  const sizes: number[] = [];
  for (let size = Math.floor(value.length / 2); size >= 1; size = Math.floor(size / 2)) sizes.push(size);
  if (value.length === 1) sizes.push(1);
  for (const size of sizes) {
    for (let start = 0; start < value.length; start += size) {
      yield [...value.slice(0, start), ...value.slice(start + size)];
    }
  }
}

/**
 * `elements`, cloned when one has fast-check's clone method (`fc.context()`, …; `fc.cloneMethod` is
 * public API), and given one that clones them again: the run that first reads the value gets fresh
 * elements, not those of the value they were removed from (which its own run used), and every later
 * read (fast-check clones a value on each but the first) fresh ones again, as fast-check's own array.
 */
function cloneable<T>(elements: T[]): T[] {
  if (!elements.some((e) => fc.hasCloneMethod(e))) return elements;
  const fresh = elements.map((e) => (fc.hasCloneMethod(e) ? e[fc.cloneMethod]() : e));
  Object.defineProperty(fresh, fc.cloneMethod, { value: () => cloneable(fresh), enumerable: false });
  return fresh;
}

/** A value that a removal made. */
function removedValue<T>(elements: T[]): fc.Value<T[]> {
  return new fc.Value(cloneable(elements), { inner: undefined, fromInner: false } satisfies ShrinkContext);
}

class ShrinkBelowMinimum<T> extends fc.Arbitrary<T[]> {
  readonly #inner: fc.Arbitrary<T[]>;

  constructor(inner: fc.Arbitrary<T[]>) {
    super();
    this.#inner = inner;
  }

  generate(mrng: fc.Random, biasFactor: number | undefined): fc.Value<T[]> {
    const drawn = this.#inner.generate(mrng, biasFactor);
    return new fc.Value(drawn.value_, { inner: drawn.context, fromInner: true } satisfies ShrinkContext);
  }

  /**
   * Any array: one given without a context (an `examples` entry) shrinks by removals alone, as one
   * that a removal made does.
   */
  canShrinkWithoutContext(value: unknown): value is T[] {
    return Array.isArray(value);
  }

  shrink(value: T[], context: unknown): fc.Stream<fc.Value<T[]>> {
    const own = context as ShrinkContext | undefined;
    const fromInner =
      own?.fromInner === true
        ? this.#inner
            .shrink(value, own.inner)
            .map((v) => new fc.Value(v.value_, { inner: v.context, fromInner: true } satisfies ShrinkContext))
        : fc.Stream.nil<fc.Value<T[]>>();
    const removed = new fc.Stream(removals(value)).map((v) => removedValue(v));
    return fromInner.join(removed);
  }
}

/**
 * `inner` (an array arbitrary) with the same values drawn, whose shrinking goes on below its
 * minimum length by removing elements.
 */
export function shrinkBelowMinimum<T>(inner: fc.Arbitrary<T[]>): fc.Arbitrary<T[]> {
  return new ShrinkBelowMinimum(inner);
}
