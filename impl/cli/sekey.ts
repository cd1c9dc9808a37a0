#!/usr/bin/env node
/**
 * The `sekey` executable: `npm run sekey -- <command>` in a clone, `sekey <command>` when installed.
 * @module
 */
// First: from here on SIGUSR1 cannot open a debugger in a process holding PINs (`inspectorSignal.ts`).
import './inspectorSignal.ts';
import { main } from './sekeyCommand.ts';
import { ignoreClosedPipes } from './ignoreClosedPipes.ts';

ignoreClosedPipes(process.stdout, process.stderr);
process.exitCode = await main(process.argv.slice(2));
