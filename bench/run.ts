/**
 * Bench entry point (`npm run bench`): runs every registered bench, merges each one's section into
 * `bench/results/latest.json` (a `--quick` run's into `reports/bench-quick.json`) and prints its
 * headline table.
 *
 * Every section gets a `provenance` record per bench that wrote it (commit, date, machine, run
 * size; see provenance.ts).
 *
 * Usage: `npm run bench -- [--quick] [NAME ...]` (`--help` lists the benches; `benchArgs.ts`).
 * @module
 */
import { UsageError } from '../impl/cli/args.ts';
import { ignoreClosedPipes } from '../impl/cli/ignoreClosedPipes.ts';
import { benchUsage, parseBenchArgs } from './benchArgs.ts';
import type { BenchOutput } from './benchModule.ts';
import { BENCHES } from './benches.ts';
import { provenance } from './provenance.ts';
import { defaultResultsPath, mergeResults, repositoryRoot } from './results.ts';

function printTable(output: BenchOutput): void {
  const rows = [output.columns, ...output.table];
  const widths = output.columns.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  const line = (r: readonly string[]): string =>
    r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c] ?? 0) : cell.padStart(widths[c] ?? 0))).join('  ');
  console.log(line(output.columns));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of output.table) console.log(line(r));
}

async function main(argv: readonly string[]): Promise<void> {
  const request = parseBenchArgs(argv, BENCHES);
  if (request.help) {
    console.log(benchUsage(BENCHES));
    return;
  }
  const { quick } = request;
  const path = defaultResultsPath(quick);
  const root = repositoryRoot();
  for (const bench of request.benches) {
    const started = Date.now();
    console.error(`[bench] ${bench.name}${quick ? ' (quick)' : ''}`);
    const output = await bench.run({
      quick,
      progress: (message) => console.error(`[bench] ${bench.name}: ${message}`),
    });
    // One provenance record per bench: benches sharing a section may have run at different times.
    mergeResults(bench.section, { ...output.data, provenance: { [bench.name]: provenance(root, quick) } }, path);
    console.log(
      `\n${bench.name} -> ${path} (section "${bench.section}", ${((Date.now() - started) / 1000).toFixed(1)} s)\n`,
    );
    printTable(output);
  }
}

ignoreClosedPipes(process.stdout, process.stderr);
main(process.argv.slice(2)).catch((error: unknown) => {
  if (error instanceof UsageError) {
    console.error(`npm run bench: ${error.message}\n(npm run bench -- --help lists the benches and options)`);
    process.exitCode = 2;
    return;
  }
  console.error(error);
  process.exitCode = 1;
});
