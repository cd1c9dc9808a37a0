/**
 * What a `sekey` command may touch besides the installation: its output streams, its environment,
 * its working directory, the host clock, standard input and output as data, the terminal (prompts)
 * and the interruption guard. Passed in rather than taken from `process`, so tests and the demo run
 * commands in-process with their own.
 * @module
 */
import { CliError } from './cliError.ts';
import { readSync, writeSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import type { Clock } from '../kms/clock.ts';
import type { DeviceReport } from '../host/loadedDevice.ts';
import { terminalSafe } from './format.ts';
import { sleepSync } from '../host/sleepSync.ts';
import { guardInterrupts } from './interrupts.ts';
import type { InterruptGuard } from './interrupts.ts';
import type { CaughtSignal } from './interrupts.ts';
import { ProgressView } from './progressView.ts';
import { messageOf } from '../../model/codedError.ts';

/** The world of one command run. */
export interface CliIo {
  /** A line on standard output. */
  out(line: string): void;
  /** A line on standard error. */
  err(line: string): void;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Relative paths (`--home`, files) resolve against this. */
  readonly cwd: string;
  /** The host clock; default the system clock. */
  readonly clock?: Clock;
  /** Receives each device's figures after a session saves it (the demo's numbers). */
  readonly onDeviceReport?: (report: DeviceReport) => void;
  /** Standard input as bytes (a file argument `-`); default none. */
  readonly readInput?: () => Promise<Uint8Array>;
  /**
   * Bytes on standard output (a file argument `-`); default: refused. False when the reader left
   * before taking them all (`… | head -c 10`): the rest was dropped.
   */
  readonly writeOutput?: (bytes: Uint8Array) => boolean | undefined;
  /**
   * Present only on a terminal: asks `question` on it and returns the answer typed; `hidden` echoes
   * nothing (PINs). Confirmations and PIN prompts need it; without one, `--yes` and `--pin` do.
   */
  readonly prompt?: (question: string, options?: { readonly hidden?: boolean }) => Promise<string>;
  /**
   * Awaited when the command starts changing an installation (`announce.ts`): until then an
   * interruption abandons it (nothing was changed), a signal delivered during a synchronous wait
   * before included; from then on, it is finished first.
   */
  readonly beginChanges?: () => Promise<void>;
  /**
   * Called once, at the end of the command: waits until every signal delivered so far was recorded
   * and returns the one that interrupted the command while it was changing something, if any; the
   * exit code is then decided (`interrupts.ts`).
   */
  readonly finishInterrupts?: () => Promise<CaughtSignal | null>;
  /** Whether the command began changing something (the interruption guard's `changesBegun`). */
  readonly changesBegun?: () => boolean;
  /**
   * Registers `cleanup` to run if an interruption abandons the command (before it changed anything):
   * the process then ends at once, past every `finally`, so what the command made for itself only
   * (temporary folders, a demo's factory and its signing key) is removed here, and `--json` prints
   * its error object. Returns the undoing.
   */
  readonly onAbandon?: (cleanup: (signal: CaughtSignal) => void) => () => void;
  /**
   * Registers `stop`, called on a first Ctrl-C (or SIGTERM) before any change instead of abandoning
   * the command, which then ends its work early and keeps what it did; a second one abandons
   * (`interrupts.ts`). Returns the undoing.
   */
  readonly onStopRequest?: (stop: (signal: CaughtSignal) => void) => () => void;
  /** Whether a signal stopped the command early ({@link onStopRequest}). */
  readonly stoppedEarly?: () => boolean;
  /**
   * Shows `line` as the status line: on a terminal redrawn in place of the previous one (a progress
   * bar), elsewhere (a log) written as a line once a minute; null clears it (`progressView.ts`).
   * Absent where nothing shows it (tests, the demo).
   */
  readonly status?: (line: string | null) => void;
}

/** Writes all of `bytes` to file descriptor `fd`, waiting out a full pipe. */
export function writeAll(fd: number, bytes: Uint8Array): void {
  for (let done = 0; done < bytes.length; ) {
    try {
      done += writeSync(fd, bytes, done);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EAGAIN') throw error;
      sleepSync(5);
    }
  }
}

/**
 * Bytes on standard output (`OUT` given as `-`; `fd` for tests). A reader that left takes no more
 * (`sekey user U2 decrypt m - | head -c 10`: EPIPE): the rest is dropped and the command finishes,
 * as its printed lines are (`ignoreClosedPipes.ts`). Any other failure is the command's own, since
 * this output is what it was asked for; and Node's error for a write through a descriptor names no
 * file, so this one names standard output.
 * @returns false when the reader left before the end
 * @throws CliError `CannotWrite` (a full disk under `> file`: ENOSPC)
 */
export function writeStandardOutput(bytes: Uint8Array, fd = 1): boolean {
  try {
    writeAll(fd, bytes);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EPIPE') return false;
    throw new CliError(
      'CannotWrite',
      `cannot write standard output (${messageOf(error)})`,
      'Free space where standard output goes (the file it is redirected to), or give a file as OUT; then run the ' +
        'command again.',
    );
  }
}

/**
 * All of file descriptor `fd`, to its end, waiting out an empty pipe. Node makes standard input
 * non-blocking once `process.stdin` is touched (checking `isTTY` does), and `readFileSync(0)` then
 * failed with EAGAIN whenever the writer had not written yet: `(sleep 1; cat f) | sekey user U1
 * encrypt --to U2 - out`, or one `sekey` piped into another that is still waiting for the HSM.
 *
 * The waits give the event loop its turns: Node runs a signal's listeners from the loop, and a
 * wait that held it (a synchronous sleep) kept Ctrl-C from abandoning the command until the input
 * ended (on a terminal, until Ctrl-D; from a pipe, until its writer closed it). Not the stream API
 * (`process.stdin`): a terminal's stream, once ended by Ctrl-D, cannot be read again, and the PIN
 * may be asked on that terminal next.
 */
export async function readAll(fd: number): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  for (;;) {
    const chunk = Buffer.allocUnsafe(64 * 1024);
    let read: number;
    try {
      read = readSync(fd, chunk, 0, chunk.length, null);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EAGAIN') {
        await new Promise((resolve) => setTimeout(resolve, 5));
        continue;
      }
      // A Windows pipe whose writer has closed reports its end as an error.
      if (code === 'EOF') break;
      throw error;
    }
    if (read === 0) break;
    chunks.push(chunk.subarray(0, read));
  }
  return new Uint8Array(Buffer.concat(chunks));
}

/**
 * What to do about a prompt given up (Ctrl-C, Ctrl-D, a signal, the terminal gone): the code's general
 * remedy speaks of confirmations (answer yes, or --yes), which sent a user interrupted at a PIN
 * prompt looking for a question that was never asked.
 */
const UNANSWERED =
  'Nothing to undo: run the command again and answer the question at the prompt (the PIN asked for, or yes to ' +
  'confirm).';

/** A terminal to ask on: where the answer is typed, and where the question and its echo go. */
export interface Terminal {
  readonly input: NodeJS.ReadableStream;
  readonly output: NodeJS.WritableStream;
  /** Where SIGTERM is heard while asking (the process by default; a test passes its own). */
  readonly signals?: NodeJS.EventEmitter;
}

/**
 * Asks `question` on `terminal` and returns the line typed, echoing nothing of it when `hidden`
 * (PINs): readline echoes what is typed through an output the answer is muted on.
 * @throws CliError `NotConfirmed` on Ctrl-C.
 */
export async function askOn(terminal: Terminal, question: string, hidden: boolean): Promise<string> {
  const { createInterface } = await import('node:readline');
  const { Writable } = await import('node:stream');
  let muted = false;
  const output = new Writable({
    write(chunk: Buffer, _encoding, done) {
      if (!muted) terminal.output.write(chunk);
      done();
    },
  });
  const rl = createInterface({ input: terminal.input, output, terminal: true });
  const signals = terminal.signals ?? process;
  const listening: Array<[PromptSignal, () => void]> = [];
  terminal.output.write(question);
  muted = hidden;
  try {
    return await new Promise<string>((resolve, reject) => {
      // Ctrl-C at a prompt is no answer: the question (a PIN, a confirmation) is abandoned and the
      // command refused. It must not reach the process's signal guard, which, once a session is open,
      // would wait for the change to finish while the prompt still waited for its answer.
      rl.on('SIGINT', () =>
        reject(new CliError('NotConfirmed', 'interrupted at the prompt (Ctrl-C): nothing was answered', UNANSWERED)),
      );
      // The end of input (Ctrl-D) is no answer either. Without this, the question stayed open with
      // nothing left to answer it, and Node ended the process (exit 13) without ending the session.
      // After an answer, the close that follows changes nothing: the promise is settled.
      rl.on('close', () =>
        reject(new CliError('NotConfirmed', 'end of input at the prompt: nothing was answered', UNANSWERED)),
      );
      // A signal sent to the process (SIGTERM from kill or a stopping service, SIGINT from kill -INT,
      // SIGHUP when the terminal closes) is no answer either: the signal guard, once a session is
      // open, only records it and waits for the change to end, which waited for this answer, forever
      // and holding the home's lock. The question is abandoned; the guard still reports the signal.
      for (const signal of PROMPT_SIGNALS) {
        const listener = () =>
          reject(
            new CliError('NotConfirmed', `${signal} at the prompt: nothing was answered, nothing was done`, UNANSWERED),
          );
        listening.push([signal, listener]);
        signals.on(signal, listener);
      }
      // A terminal that went away (its window closed) fails the read with EIO: no answer, not a crash.
      // readline passes its input's errors on as its own (an 'error' nobody hears ends the process).
      const gone = (error: Error) =>
        reject(
          new CliError(
            'NotConfirmed',
            `the terminal went away at the prompt (${error.message}): nothing was answered`,
            UNANSWERED,
          ),
        );
      rl.on('error', gone);
      terminal.input.on('error', gone);
      rl.question('', resolve);
    });
  } finally {
    for (const [signal, listener] of listening) signals.off(signal, listener);
    try {
      rl.close();
      if (hidden) terminal.output.write('\n');
    } catch {
      // The terminal is gone (EIO restoring its mode): nothing left to restore or to write to.
    }
    // The input's error listener stays: a terminal that goes away after the answer fails its next
    // read too, and an error nobody listens for ends the process (the promise is settled: a no-op).
  }
}

/** The signals a prompt gives up on (`guardInterrupts` reports them). */
const PROMPT_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
type PromptSignal = (typeof PROMPT_SIGNALS)[number];

/**
 * The process's working directory, for a command that needs it (a relative path, the default home
 * `./.sekey`): asked only then, so that a command that needs none (`--version`, `--help`) runs in a
 * folder deleted since it was entered, where `process.cwd()` fails.
 * @throws CliError `NoWorkingFolder` when it is gone or cannot be read
 */
function workingFolder(): string {
  try {
    return process.cwd();
  } catch (error) {
    throw new CliError(
      'NoWorkingFolder',
      `the folder this command was started in cannot be read (${(error as NodeJS.ErrnoException).code ?? 'gone'}: ` +
        'deleted or moved since), and relative paths, the default home ./.sekey among them, are relative to it',
    );
  }
}

/**
 * `path` resolved against the working folder of `from` (a command's io or its prepare options), which is
 * read only for a relative path: an absolute one needs no working folder, which may be gone (its
 * `cwd` then throws `NoWorkingFolder`).
 */
export function resolveFrom(from: { readonly cwd: string }, path: string): string {
  return isAbsolute(path) ? resolve(path) : resolve(from.cwd, path);
}

/**
 * `io` with its standard output replaced by `out`. Its other members are copied as they are, accessors
 * as accessors: `processIo`'s working folder is asked only where a command needs it (a spread would
 * ask at once, and fail in a deleted folder where the command needs none).
 */
export function withOut(io: CliIo, out: CliIo['out']): CliIo {
  const members = { ...Object.getOwnPropertyDescriptors(io), out: { value: out, enumerable: true } };
  return Object.defineProperties({}, members) as CliIo;
}

/** What a command's io takes from the interruption guard: its signals, as `interrupts.ts` handles them. */
export function guardedIo(
  guard: InterruptGuard,
): Pick<CliIo, 'beginChanges' | 'finishInterrupts' | 'changesBegun' | 'onAbandon' | 'onStopRequest' | 'stoppedEarly'> {
  return {
    beginChanges: guard.beginChanges,
    finishInterrupts: guard.finish,
    changesBegun: guard.changesBegun,
    onAbandon: guard.onAbandon,
    onStopRequest: guard.onStopRequest,
    stoppedEarly: guard.stoppedEarly,
  };
}

/** The process's own console, environment, directory, terminal and signals. */
export function processIo(): CliIo {
  const view = new ProgressView(process.stderr);
  // A line on standard error first clears the status line, so that the two never share a line.
  const err = (line: string): void => {
    view.clear();
    console.error(terminalSafe(line));
  };
  const guard = guardInterrupts(err);
  const terminal = process.stdin.isTTY === true && process.stderr.isTTY === true;
  return {
    out: (line) => console.log(terminalSafe(line)),
    err,
    env: process.env,
    get cwd() {
      return workingFolder();
    },
    readInput: () => readAll(0),
    writeOutput: (bytes) => writeStandardOutput(bytes),
    ...(terminal
      ? {
          prompt: (question, options) =>
            askOn({ input: process.stdin, output: process.stderr }, question, options?.hidden === true),
        }
      : {}),
    ...guardedIo(guard),
    status: (line) => (line === null ? view.clear() : view.show(terminalSafe(line))),
  };
}
