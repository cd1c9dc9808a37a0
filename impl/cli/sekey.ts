#!/usr/bin/env node
/**
 * The `sekey` executable: `npm run sekey -- <command>` in a clone, `sekey <command>` when installed.
 * @module
 */
// First: from here on SIGUSR1 cannot open a debugger in a process holding PINs (`inspectorSignal.ts`).
import './inspectorSignal.ts';
import { main } from './sekeyCommand.ts';
import { ignoreClosedPipes, outputFailure } from './ignoreClosedPipes.ts';
import { EXIT } from './reportError.ts';
import { endProcess, terminalGone } from './endProcess.ts';

ignoreClosedPipes(process.stdout, process.stderr);
const code = await main(process.argv.slice(2));
// Output lost on the way (a full disk): the command's work stands, but what it printed is not whole.
const lost = outputFailure();
if (lost !== null) {
  process.stderr.write(
    `sekey: its output could not all be written (${lost.code ?? lost.message}): what it printed is incomplete\n`,
  );
}
const exit = lost !== null && code === EXIT.ok ? EXIT.notPublished : code;
// Once the terminal hung up, Node's own exit would abort (`endProcess.ts`); otherwise the process
// ends by itself, its output flushed.
if (terminalGone()) endProcess(exit);
process.exitCode = exit;
