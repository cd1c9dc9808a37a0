/**
 * Bench entry point (`npm run bench`): runs every registered bench, merges each one's section into
 * `bench/results/latest.json` and prints its headline table.
 *
 * Every section gets a `provenance` record per bench that wrote it (commit, date, machine, run
 * size; see provenance.ts).
 *
 * Usage: `node dist/bench/run.js [--quick] [name ...]` — names select benches (default: all).
 * @module
 */
import type { BenchModule, BenchOutput } from './benchModule.ts';
import { dbCommitBench } from './dbCommit.ts';
import { deviceWearBench } from './deviceWear.ts';
import { dbRealisticBench } from './dbRealistic.ts';
import { keyStoreWearBench } from './keyStoreWear.ts';
import { throughputBench } from './throughput.ts';
import { updateDistributionBench } from './updateDistribution.ts';
import { provenance } from './provenance.ts';
import { defaultResultsPath, mergeResults, repositoryRoot } from './results.ts';

/** Every bench; a new bench module adds itself here. */
const BENCHES: readonly BenchModule[] = [
  keyStoreWearBench,
  deviceWearBench,
  dbCommitBench,
  dbRealisticBench,
  updateDistributionBench,
  throughputBench,
];

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
  const quick = argv.includes('--quick');
  const names = argv.filter((a) => !a.startsWith('--'));
  const unknown = names.filter((n) => !BENCHES.some((b) => b.name === n));
  if (unknown.length > 0)
    throw new Error(`unknown bench(es): ${unknown.join(', ')}; known: ${BENCHES.map((b) => b.name).join(', ')}`);
  const selected = names.length > 0 ? BENCHES.filter((b) => names.includes(b.name)) : BENCHES;
  const path = defaultResultsPath();
  const root = repositoryRoot();
  for (const bench of selected) {
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

main(process.argv.slice(2)).catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
