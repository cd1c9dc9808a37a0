/**
 * The commands that replay a counterexample: through `npm run properties`, and under plain vitest.
 * Both name the failing test by a pattern that matches its title exactly, quoted for a shell: its own
 * title escaped and anchored at the end, as vitest matches a pattern against the full name
 * (`describe` titles first), so that a test whose title merely begins with it is not run too. Light
 * on purpose: every property suite's reporter prints them (`../progress.testkit.ts`).
 * @module
 */

/** The last segment of vitest's full test name (`describe > test`). */
export function ownName(test: string): string {
  return test.split(' > ').at(-1) ?? test;
}

/** A regular expression matching exactly the text `s`. */
export function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The pattern that matches `test`'s own title at the end of a full name (the campaign's shrink phase uses it too). */
export function ownNamePattern(test: string): string {
  return `${escapeRegExp(ownName(test))}$`;
}

/** {@link ownNamePattern}, for inside double quotes: a shell still expands $ and ` and ends at ". */
function quotedPattern(test: string): string {
  return ownNamePattern(test).replace(/(["$`\\])/g, '\\$1');
}

/**
 * The command that replays a counterexample of `suite`: the test named, that seed and path, and the
 * `--scale` it was found at (the exhaustive suites draw their sizes from it). A failure with no seed
 * (a fixed scenario) replays by running the test again.
 */
export function replayCommand(
  suite: string,
  test: string,
  seed: number | null,
  path: string,
  scale?: number | undefined,
): string {
  // No path (a failure before any run, e.g. the suite breaking): the seed alone replays it.
  const where = seed === null ? '' : ` --seed=${seed}${path === '' ? '' : ` --path "${path}"`}`;
  const scaled = scale === undefined ? '' : ` --scale ${scale}`;
  return `npm run properties -- --suite ${suite}${where}${scaled} --test "${quotedPattern(test)}"`;
}

/**
 * The command that runs `suite`'s `test` again at `seed`, at the `runs` and `scale` it ran at: what
 * finds again a counterexample lost before it was reported (its property ended by a stop as it
 * shrank: no path to replay), as fast-check draws the same cases from the same seed.
 */
export function rerunCommand(
  suite: string,
  test: string,
  seed: number,
  options: { readonly runs?: number | undefined; readonly scale?: number | undefined },
): string {
  const runs = options.runs === undefined ? '' : ` --runs ${options.runs}`;
  return `${replayCommand(suite, test, seed, '', options.scale)}${runs}`;
}

/** The same under plain vitest: the test's file, its title, and the seed and path as `SEKEY_*` knobs. */
export function vitestReplayCommand(file: string, test: string, seed: number, path: string): string {
  return `SEKEY_SEED=${seed} SEKEY_PATH="${path}" npx vitest run ${file} -t "${quotedPattern(test)}"`;
}

/**
 * The command that runs one saved reproduction of the deployment suite (a `*.repro.test.ts` under
 * `reports/`): its configuration includes every one kept there, old campaigns' too, so it names the file.
 */
export function reproductionCommand(file: string): string {
  return `npx vitest run -c properties/deployment/repro.config.ts ${file}`;
}
