/**
 * `npm run mutation` (issue 12): runs StrykerJS over each scope of stryker.config.mjs (model/, then
 * the rule-bearing parts of impl/), times it, and writes each scope's score into
 * `bench/results/latest.json` as `verification.mutationScore.<scope>`, with the run's provenance
 * under `verification.provenance['mutation-<scope>']`. Reports (HTML, JSON) stay under
 * `reports/mutation/<scope>/`; docs/mutation.md explains the scopes and lists the survivors.
 *
 * Usage: {@link MUTATION_USAGE}. `--report-only` reads the existing reports without running Stryker:
 * the running time then stays what the last run recorded, or is `S` when the run was timed apart.
 * @module
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError } from '../impl/cli/args.ts';
import { MUTATION_USAGE, parseMutationArgs } from './mutationArgs.ts';
import type { Scope } from './mutationArgs.ts';
import { asMutationReport, mutationScore, survivors } from './mutationScore.ts';
import { provenance } from './provenance.ts';
import { defaultResultsPath, mergeResults, repositoryRoot } from './results.ts';
import { ignoreClosedPipes } from '../impl/cli/ignoreClosedPipes.ts';

/** A run that could not score a scope (Stryker failed, no report to read): said in one line, exit 1. */
class MutationFailure extends Error {}

/** The goal of issue 12 per scope, in percent. */
const GOALS: Readonly<Record<Scope, number>> = { model: 90, impl: 80 };

function reportPath(root: string, scope: Scope): string {
  return join(root, 'reports', 'mutation', scope, 'mutation.json');
}

/** Runs Stryker on `scope`; returns its wall time in seconds. */
function runStryker(root: string, scope: Scope): number {
  const started = process.hrtime.bigint();
  const result = spawnSync(join(root, 'node_modules', '.bin', 'stryker'), ['run', 'stryker.config.mjs'], {
    cwd: root,
    env: { ...process.env, SEKEY_MUTATION_SCOPE: scope },
    stdio: 'inherit',
  });
  if (result.error) throw result.error;
  if (result.status !== 0)
    throw new MutationFailure(`stryker (${scope}) exited with ${result.status ?? result.signal}`);
  return Math.round(Number(process.hrtime.bigint() - started) / 1e8) / 10;
}

function main(argv: readonly string[]): void {
  const request = parseMutationArgs(argv);
  if (request.help) {
    console.log(MUTATION_USAGE);
    return;
  }
  const { reportOnly, timedApart, selected } = request;
  const root = repositoryRoot();
  for (const scope of selected) {
    // A rerun with Stryker's incremental file runs only the mutants whose code or tests changed: its
    // time is not the scope's running time, which stays that of the last full run (docs/mutation.md).
    const incremental = !reportOnly && existsSync(join(root, 'reports', 'mutation', scope, 'incremental.json'));
    const ran = reportOnly ? undefined : runStryker(root, scope);
    const runningSeconds = reportOnly
      ? timedApart === undefined
        ? undefined
        : Number(timedApart)
      : incremental
        ? undefined
        : ran;
    const path = reportPath(root, scope);
    if (!existsSync(path)) throw new MutationFailure(`no report at ${path}: run without --report-only first`);
    const report = asMutationReport(JSON.parse(readFileSync(path, 'utf8')));
    const score = mutationScore(report);
    // The running time names the commit it was measured on when this command measured it (an
    // incremental rerun later moves the scope's provenance on and keeps the full run's time); a time
    // measured apart (--report-only with a time) names none: this command cannot know it.
    const timed =
      runningSeconds === undefined
        ? {}
        : reportOnly
          ? { runningSeconds, runningSecondsCommit: null }
          : { runningSeconds, runningSecondsCommit: provenance(root, false).commit };
    mergeResults('verification', {
      mutationScore: {
        [scope]: { ...score, goal: GOALS[scope], ...timed },
      },
      ...(runningSeconds === undefined && !incremental
        ? {}
        : { provenance: { [`mutation-${scope}`]: provenance(root, false) } }),
    });
    const left = survivors(report);
    console.log(
      `\nmutation ${scope}: ${score.percent} % (goal ${GOALS[scope]} %) — ${score.killed} killed, ` +
        `${score.timeout} timed out, ${score.survived} survived, ${score.noCoverage} not covered, ` +
        `${score.ignored} ignored (static)` +
        `${runningSeconds === undefined ? '' : `, ${runningSeconds} s`}` +
        `${incremental ? `, an incremental rerun in ${ran} s (the full run's time stays)` : ''}` +
        ` -> ${defaultResultsPath()}`,
    );
    for (const s of left) {
      const replacement = s.replacement.split('\n')[0]?.slice(0, 60) ?? '';
      console.log(`  ${s.file}:${s.line}:${s.column}  ${s.mutator}  ${s.status}  ${replacement}`);
    }
  }
}

ignoreClosedPipes(process.stdout, process.stderr);
try {
  main(process.argv.slice(2));
} catch (error: unknown) {
  if (error instanceof UsageError) {
    console.error(`npm run mutation: ${error.message}\n(npm run mutation -- --help lists the scopes and options)`);
    process.exitCode = 2;
  } else if (error instanceof MutationFailure) {
    console.error(`npm run mutation: ${error.message}`);
    process.exitCode = 1;
  } else {
    console.error(error);
    process.exitCode = 1;
  }
}
