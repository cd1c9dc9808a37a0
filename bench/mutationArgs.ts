/**
 * The command line of `npm run mutation` (`bench/mutation.ts`), parsed by the same parser as `sekey`
 * (`impl/cli/args.ts`). A wrong command line is a usage error (exit code 2) before Stryker starts:
 * a misspelt `--report-only` must not start an hour of mutation testing.
 * @module
 */
import { Args, UsageError } from '../impl/cli/args.ts';
import { didYouMean } from '../impl/cli/didYouMean.ts';

/** The scopes of stryker.config.mjs, in the order they run. */
export const SCOPES = ['model', 'impl'] as const;
export type Scope = (typeof SCOPES)[number];

/** What `npm run mutation -- …` asks for. */
export type MutationRequest = { readonly help: true } | MutationRun;

/** A run of `npm run mutation`. */
export interface MutationRun {
  readonly help: false;
  /** Read the existing reports; do not run Stryker. */
  readonly reportOnly: boolean;
  /** `--running-seconds`: the running time of a run timed apart (only with `reportOnly`). */
  readonly timedApart: string | undefined;
  readonly selected: readonly Scope[];
}

/** The text of `npm run mutation -- --help`. */
export const MUTATION_USAGE = `npm run mutation -- [--report-only [--running-seconds=S]] [SCOPE ...]

Runs StrykerJS over each scope (default: both) and writes its mutation score into
bench/results/latest.json (verification.mutationScore.<scope>); the HTML and JSON reports go to
reports/mutation/<scope>/, and the survivors are printed. docs/mutation.md explains the scopes.

Scopes
  model   model/: the life cycle, PIN session, update and publication machines, the KMS model
          (update acceptance is the update machine's: it is tested here)
  impl    the rule-bearing parts of impl/ (impl/kms/rules/): key selection, projection,
          life-cycle use, group key policy

Options
  --report-only          read the existing reports without running Stryker
  --running-seconds=S    with --report-only: the running time of a run timed apart
  -h, --help             this text

Examples
  npm run mutation -- model
  npm run mutation -- --report-only
  SEKEY_MUTATION_SCOPE=model npx stryker run stryker.config.mjs   # by hand, then:
  npm run mutation -- --report-only --running-seconds=1200 model

Exit 0 when every selected scope was scored, 1 when Stryker failed or --report-only found no report, 2 on bad
usage.`;

/** What the command line asks for; throws {@link UsageError} on a wrong one. */
export function parseMutationArgs(argv: readonly string[]): MutationRequest {
  if (argv.includes('-h') || argv.includes('--help')) return { help: true };
  const args = new Args(argv);
  const reportOnly = args.flag('--report-only');
  const timedApart = args.option('--running-seconds');
  if (timedApart !== undefined && (!reportOnly || !(Number(timedApart) > 0))) {
    throw new UsageError(
      `--running-seconds takes a positive number of seconds, with --report-only; got '${timedApart}'`,
    );
  }
  const names = args.rest();
  for (const name of names) {
    if (!(SCOPES as readonly string[]).includes(name))
      throw new UsageError(`unknown scope '${name}'${didYouMean(name, SCOPES)}; known: ${SCOPES.join(', ')}`);
  }
  const selected = names.length > 0 ? SCOPES.filter((s) => names.includes(s)) : SCOPES;
  return { help: false, reportOnly, timedApart, selected };
}
