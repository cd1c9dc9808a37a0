/**
 * Signals in vitest's test workers under the runner, from the first JavaScript the worker runs: a
 * preload (`node --require`) the batch writes to its own folder and names in vitest's `execArgv`. A
 * signal inside Node's own start-up before it (tens of milliseconds, up to a second on a loaded
 * machine) still ends the worker, and its batch with it, unfinished (at once, `signalSafeForks.ts`;
 * vitest's own pool would wait for ever). That is why a run writing to files, which goes on after a
 * hang-up, runs in a process group of its own, which the terminal's hang-up does not reach
 * (`detach.ts`); the preload covers the rest.
 *
 * A terminal's Ctrl-C (SIGINT) and its hang-up (SIGHUP: the terminal or ssh session closed, the shell
 * passing it on to its jobs) reach every process of the runner's group, its workers too. Either ends a
 * Node process by default, and a worker ended so is a crash in the batch: the counterexample its
 * property is shrinking lost, an "(unfinished)" failure a campaign would save. So the runner decides
 * alone (`interrupt.ts`): it stops, asking the properties through its stop file, then ends its workers;
 * or, for a hang-up sent to it and its workers while its output goes to files, goes on with them. A
 * worker whose runner is gone (its IPC channel closed) ends as it would have. The test files install
 * nothing of this: a worker spends a short batch's time mostly starting up, before any test file
 * loads. SIGTERM stays the suites' own
 * (`progress.testkit.ts`): it is a stop only while a property shrinks, which only they know.
 *
 * A file the batch writes, not a module of the build: the preload must be plain JavaScript that Node
 * runs as it is, whether the runner runs from `dist/` or from its TypeScript source under vitest.
 * @module
 */
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';

/** The preload's source: each signal ends the worker only once its runner is gone. */
export const WORKER_SIGNALS_SOURCE = `'use strict';
// Written by the SEkey properties runner (properties/runner/workerSignals.ts): under the runner, a
// Ctrl-C or a hang-up is the runner's to act on; a worker whose runner is gone ends as by default.
for (const [signal, code] of [['SIGINT', 130], ['SIGHUP', 129]]) {
  process.on(signal, () => {
    if (process.connected === false) process.exit(code);
  });
}
`;

/**
 * Writes the preload into `folder` (the batch's own); returns vitest's `execArgv` that loads it. By its
 * absolute path: `--require` takes a relative one without `./` for a package's name (`TMPDIR=tmp`).
 */
export function workerSignalsExecArgv(folder: string): string[] {
  const file = resolve(folder, 'workerSignals.cjs');
  writeFileSync(file, WORKER_SIGNALS_SOURCE);
  return ['--require', file];
}
