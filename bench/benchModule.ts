/**
 * The contract between `bench/run.ts` and each bench: a bench computes one section of
 * `bench/results/latest.json` and a few headline rows to print.
 * @module
 */

/** What a bench gets from the runner. */
export interface BenchContext {
  /** Smaller workloads, for a smoke run (`--quick`); figures are noisier. */
  readonly quick: boolean;
  /** Progress line for long runs (written to stderr). */
  progress(message: string): void;
}

/** What a bench returns. */
export interface BenchOutput {
  /** Merged into the results file under the bench's section. */
  readonly data: Readonly<Record<string, unknown>>;
  /** Headline rows to print: label, then one value per column. */
  readonly table: readonly (readonly string[])[];
  /** Column titles of `table` (first one names the label column). */
  readonly columns: readonly string[];
}

/** A bench module: contributes `section` to the results file. */
export interface BenchModule {
  readonly name: string;
  /** One line for `npm run bench -- --help`: what it measures, against what. */
  readonly summary: string;
  /** Top-level key in the results file; several benches may share one (their data is deep-merged). */
  readonly section: string;
  run(context: BenchContext): Promise<BenchOutput>;
}
