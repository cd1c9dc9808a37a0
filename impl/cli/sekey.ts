#!/usr/bin/env node
/**
 * The `sekey` executable: `npm run sekey -- <command>` in a clone, `sekey <command>` when installed.
 * @module
 */
import { main } from './sekeyCommand.ts';
import { ignoreClosedPipes } from './ignoreClosedPipes.ts';

ignoreClosedPipes(process.stdout, process.stderr);
process.exitCode = await main(process.argv.slice(2));
