/**
 * The entry point of `npm run properties`. The runner is a researchers' tool over the test suites,
 * so it lives in properties/; it is compiled with the rest (`tsconfig.build.json` includes
 * `properties/runner`, not the suites) because Node 20 cannot run TypeScript itself, and the
 * compiled runner starts vitest, which loads the suites from their TypeScript sources.
 * @module
 */
import { fileURLToPath } from 'node:url';
import { DETACHED_ENV, runDetached, shouldDetach, stopWithoutStandIn } from './detach.ts';
import { hangupStops } from './interrupt.ts';
import { main } from './main.ts';
import { ignoreClosedPipes } from '../../impl/cli/ignoreClosedPipes.ts';

ignoreClosedPipes(process.stdout, process.stderr);
const args = process.argv.slice(2);
// Output to files: the run goes on in a process group of its own, out of reach of the terminal's
// hang-up, this process standing in for it in the shell's job (`detach.ts`).
if (shouldDetach(process.env, hangupStops())) {
  process.exitCode = await runDetached(fileURLToPath(import.meta.url), args);
} else {
  // The stand-in's process id (`runDetached`); anything else, as a hand-set 1, names no stand-in to watch.
  const standIn = Number(process.env[DETACHED_ENV]);
  if (Number.isInteger(standIn) && standIn > 1) stopWithoutStandIn(standIn);
  process.exitCode = await main(args);
}
