/**
 * The command line of `npm run bench`: bench names (default: all) and `--quick`, parsed by the same
 * parser as `sekey` (`impl/cli/args.ts`). A wrong command line is a usage error (exit code 2) before
 * anything runs: a misspelt option must not start hours of benchmarks that ignore it.
 * @module
 */
import { Args, UsageError } from '../impl/cli/args.ts';
import { didYouMean } from '../impl/cli/didYouMean.ts';
import type { BenchModule } from './benchModule.ts';

/** What `npm run bench -- …` asks for. */
export type BenchRequest =
  | { readonly help: true }
  | { readonly help: false; readonly quick: boolean; readonly benches: readonly BenchModule[] };

/** The text of `npm run bench -- --help`. */
export function benchUsage(benches: readonly BenchModule[]): string {
  const width = Math.max(...benches.map((b) => b.name.length));
  return `npm run bench -- [--quick] [NAME ...]

Runs the benchmarks (default: all, in this order) and merges each one's figures into
bench/results/latest.json with the commit, date and machine they come from, then prints its table.
Figures stand beside a baseline doing the same work in the same run, where one exists (db-realistic,
the 90%-full rotation latency and the 7-sector key store have none: the original has no such case).

Benches
${benches.map((b) => `  ${b.name.padEnd(width)}  ${b.summary}`).join('\n')}

Options
  --quick     smaller workloads, for a smoke run: minutes, figures marked quick (not to quote) and
              written to reports/bench-quick.json, never over bench/results/latest.json
  -h, --help  this text

Examples
  npm run bench -- throughput
  npm run bench -- --quick
  npm run bench -- key-store-wear device-wear

Exit 0 when every selected bench ran, 1 when one failed, 2 on bad usage.`;
}

/** Parses the arguments after `npm run bench --`; throws {@link UsageError} on a wrong command line. */
export function parseBenchArgs(argv: readonly string[], benches: readonly BenchModule[]): BenchRequest {
  if (argv.includes('-h') || argv.includes('--help')) return { help: true };
  const args = new Args(argv);
  const quick = args.flag('--quick');
  const names = args.rest();
  const known = benches.map((b) => b.name);
  for (const name of names) {
    if (!known.includes(name)) throw new UsageError(`unknown bench '${name}'${didYouMean(name, known)}`);
  }
  return { help: false, quick, benches: names.length > 0 ? benches.filter((b) => names.includes(b.name)) : benches };
}
