/**
 * Where a figure came from: every section of `bench/results/latest.json` says which commit, which
 * machine and which run produced it, and host times carry their spread, so a reader can tell a
 * measured figure from a stale one and a steady one from noise.
 * @module
 */
import { execFileSync } from 'node:child_process';
import { availableParallelism, cpus } from 'node:os';

/**
 * What produced a bench's figures: commit, date, machine, run size. A section holds one per bench
 * that writes into it (`section.provenance[benchName]`), since benches sharing a section may run
 * at different times.
 */
export interface Provenance {
  /** `git rev-parse HEAD` of the measured tree, or `unknown` outside a git checkout. */
  readonly commit: string;
  /** True when the working tree (results aside) had uncommitted changes: the figure belongs to no commit. */
  readonly dirty: boolean;
  /** ISO 8601 time the bench finished. */
  readonly date: string;
  /** Cores available to this process (`os.availableParallelism`). */
  readonly cores: number;
  readonly cpuModel: string;
  readonly node: string;
  /** `--quick` smoke run (smaller workloads, noisier figures). */
  readonly quick: boolean;
}

function git(args: readonly string[], cwd: string): string | undefined {
  try {
    return execFileSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return undefined;
  }
}

/** Provenance of a bench run in the repository at `root`. */
export function provenance(root: string, quick: boolean): Provenance {
  const commit = git(['rev-parse', 'HEAD'], root);
  // The results file itself is left out: a run writes it section by section, so a second bench of
  // the same run would otherwise always see a dirty tree.
  const status = git(['status', '--porcelain', '--untracked-files=no', '--', '.', ':(exclude)bench/results'], root);
  return {
    commit: commit ?? 'unknown',
    dirty: status === undefined ? true : status.length > 0,
    date: new Date().toISOString(),
    cores: availableParallelism(),
    cpuModel: cpus()[0]?.model ?? 'unknown',
    node: process.version,
    quick,
  };
}

/** Host-time spread over repetitions: never a lone figure, so noise is visible. */
export interface Spread {
  readonly min: number;
  readonly median: number;
  readonly max: number;
  readonly repetitions: number;
}

/**
 * Min, median and max of `samples` (the median of an even count is the mean of the middle two).
 * @throws RangeError on no samples: a figure without a measurement must not be invented.
 */
export function spread(samples: readonly number[]): Spread {
  if (samples.length === 0) throw new RangeError('spread of no samples');
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median =
    sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
  return { min: sorted[0] as number, median, max: sorted[sorted.length - 1] as number, repetitions: sorted.length };
}
