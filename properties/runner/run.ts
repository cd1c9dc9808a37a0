/**
 * The entry point of `npm run properties`. The runner is a researchers' tool over the test suites,
 * so it lives in properties/; it is compiled with the rest (`tsconfig.build.json` includes
 * `properties/runner`, not the suites) because Node 20 cannot run TypeScript itself, and the
 * compiled runner starts vitest, which loads the suites from their TypeScript sources.
 * @module
 */
import { main } from './main.ts';
import { ignoreClosedPipes } from '../../impl/cli/ignoreClosedPipes.ts';

ignoreClosedPipes(process.stdout, process.stderr);
process.exitCode = await main(process.argv.slice(2));
