/**
 * StrykerJS over the two scopes of issue 12's mutation score (`npm run mutation`; docs/mutation.md):
 * `SEKEY_MUTATION_SCOPE=model` mutates every production file of model/ against model/'s unit tests;
 * `SEKEY_MUTATION_SCOPE=impl` mutates the rule-bearing parts of impl/ against impl/kms's unit tests.
 * Each scope has its own reports and incremental file under reports/mutation/<scope>/, which
 * bench/mutationScore.ts reads into bench/results/latest.json.
 *
 * Property suites are left out on purpose: they are slow, and a mutant only they kill is a gap in
 * the unit tests that docs/mutation.md should show.
 */
const scope = process.env.SEKEY_MUTATION_SCOPE;

/** model/'s documentation renderers and data, left out of the model scope (docs/mutation.md). */
const DOCUMENTATION = [
  'markdown.ts',
  'machineDescription.ts',
  'machineTables.ts',
  'originalDifferences.ts',
  'specDocument.ts',
  'specExampleRunner.ts',
  'specExamples.ts',
  'specMachines.ts',
  'specRules.ts',
];

/** What each scope mutates, and the test files that may kill its mutants (docs/mutation.md says why). */
const SCOPES = {
  model: {
    mutate: [
      'model/**/*.ts',
      '!model/**/*.test.ts',
      '!model/**/*.testkit.ts',
      // The documentation renderers and their data (docs/spec.md, docs/machines/, the differences
      // from the original): their output is compared byte for byte with the committed documents by
      // model/specDocument.test.ts; docs/mutation.md says why they are outside the score.
      ...DOCUMENTATION.map((f) => `!model/${f}`),
    ],
    testFiles: ['model/**/*.test.ts'],
  },
  impl: {
    mutate: [
      // Group key policy, life-cycle use, need-to-know projection, smallest-group key selection.
      'impl/kms/rules/*.ts',
      '!impl/kms/rules/*.test.ts',
    ],
    // The tests that drive those rules: the worked examples (the model's expected runs, replayed on
    // the Admin and the devices), the Admin's refusals, and the rules' own tests (impl/kms/rules/:
    // key selection, refusal messages, the group key policy's causes and edge cases, need-to-know
    // reads such as `knows`, which otherwise only the publisher's and the CLI's slower suites reach).
    testFiles: ['impl/kms/specExamples.test.ts', 'impl/kms/admin.test.ts', 'impl/kms/rules/*.test.ts'],
  },
};

const chosen = SCOPES[scope];
if (chosen === undefined) {
  throw new Error(`SEKEY_MUTATION_SCOPE must be one of ${Object.keys(SCOPES).join(', ')}; got '${scope}'`);
}

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'vitest',
  vitest: { configFile: 'vitest.mutation.config.ts', related: false },
  mutate: chosen.mutate,
  testFiles: chosen.testFiles,
  // Each mutant runs only the tests that reached it in the initial run.
  coverageAnalysis: 'perTest',
  // The machine is shared: two workers at most.
  concurrency: 2,
  // A static mutant (module-load-time code: machine configurations, tables, documentation text)
  // reloads the module and runs every test of the scope: 799 of model/'s 1,838 mutants at the last run
  // (2,376 of 3,828 before the documentation renderers left the scope), estimated at 12 hours on this
  // machine. They are left out of the score and counted apart in
  // docs/mutation.md; the machines' transitions are killed by their own test files instead.
  ignoreStatic: true,
  // Reruns test only the mutants whose code or covering tests changed.
  incremental: true,
  incrementalFile: `reports/mutation/${scope}/incremental.json`,
  reporters: ['html', 'json', 'progress', 'clear-text'],
  htmlReporter: { fileName: `reports/mutation/${scope}/index.html` },
  jsonReporter: { fileName: `reports/mutation/${scope}/mutation.json` },
  clearTextReporter: { reportMutants: false, reportScoreTable: true },
  // One per scope: a run deletes its temporary directory when it ends, so the scopes can run at once.
  tempDirName: `.stryker-tmp/${scope}`,
  // Stryker rewrites `extends` and `references` paths of this tsconfig that leave its sandbox,
  // through TypeScript's JavaScript API; the native tsc of TypeScript 7 has none, and this tsconfig
  // names no path outside the project. A file that does not exist turns the rewrite off.
  tsconfigFile: 'no-tsconfig-to-rewrite.json',
  // A loaded machine stretches test times: a mutant is a timeout only well past its normal time.
  timeoutMS: 30_000,
  timeoutFactor: 3,
  dryRunTimeoutMinutes: 30,
  thresholds: { high: scope === 'model' ? 90 : 80, low: 60, break: null },
};
