/**
 * Ending the `sekey` process once its terminal may be gone. Node 20 aborts at exit when a standard
 * stream that was a terminal at start-up no longer is one: restoring the terminal's mode
 * (`node::ResetStdio`) fails with EIO on a terminal that hung up, and an assertion ends the process
 * with SIGABRT and a native stack trace (nodejs/node#51519), where the command meant to exit 129 as
 * a hang-up does (`interrupts.ts`). A process ended by the signal itself does not take that path:
 * once the terminal is gone, the process runs its exit listeners (the home lock's release among
 * them: `impl/host/homeLock.ts`) and ends by SIGHUP, which a shell reports as 129.
 * @module
 */
import { isatty } from 'node:tty';

/** Which of standard input, output and error were terminals when this module was loaded (at start-up). */
const startedOnTerminal = [0, 1, 2].map((fd) => isatty(fd));

/**
 * Whether a standard stream that was a terminal at start-up (`started`, by descriptor) is one no
 * longer (`isTerminal`): the terminal hung up. A terminal that hung up fails `isatty`'s query of its
 * mode, as it fails Node's restoring of it.
 */
export function terminalGone(
  started: readonly boolean[] = startedOnTerminal,
  isTerminal: (fd: number) => boolean = isatty,
): boolean {
  return started.some((was, fd) => was && !isTerminal(fd));
}

/**
 * Ends the process with `code`; once the terminal is gone ({@link terminalGone}), by SIGHUP after
 * the exit listeners ran, as `process.exit` runs them.
 */
export function endProcess(code: number): never {
  if (terminalGone()) {
    process.exitCode = code;
    process.emit('exit', code);
    process.removeAllListeners('SIGHUP');
    process.kill(process.pid, 'SIGHUP');
  }
  return process.exit(code);
}
