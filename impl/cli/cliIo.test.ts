import { spawn } from 'node:child_process';
import { closeSync, constants, existsSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { EventEmitter } from 'node:events';
import { PassThrough } from 'node:stream';
import { askOn, processIo, readAll, writeAll, writeStandardOutput } from './cliIo.ts';
import { CliError } from './cliError.ts';
import { removeTempDirs, tempDir } from './sekeyRun.testkit.ts';

afterAll(removeTempDirs);

describe("the process's own io", () => {
  test('environment, directory, no prompt off a terminal, and data written whole', () => {
    const io = processIo();
    expect(io.env).toBe(process.env);
    expect(io.cwd).toBe(process.cwd());
    // Tests run with standard input off a terminal: confirmations and PINs need --yes and --pin.
    expect(io.prompt === undefined).toBe(process.stdin.isTTY !== true || process.stderr.isTTY !== true);
    const path = join(tempDir(), 'out.bin');
    const fd = openSync(path, 'w');
    const bytes = new Uint8Array(200_000).map((_, i) => i % 251);
    writeAll(fd, bytes);
    closeSync(fd);
    expect(new Uint8Array(readFileSync(path))).toEqual(bytes);
  });
});

describe('standard output as data (OUT given as -)', () => {
  // `… decrypt m - | head -c 10`: the reader takes what it wants and leaves; the rest is dropped, as
  // for printed lines, instead of the command failing on EPIPE after its work was done.
  test.skipIf(process.platform === 'win32')('a reader that left takes no more, and that is no failure', async () => {
    const fifo = join(tempDir(), 'reader-left');
    await new Promise((resolve) => spawn('mkfifo', [fifo]).on('close', resolve));
    const reader = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
    const fd = openSync(fifo, constants.O_WRONLY);
    expect(writeStandardOutput(new Uint8Array(10), fd), 'taken whole while the reader is there').toBe(true);
    closeSync(reader);
    try {
      expect(() => writeAll(fd, new Uint8Array(10)), 'the pipe has no reader').toThrow(/EPIPE/);
      expect(writeStandardOutput(new Uint8Array(100_000), fd), 'the reader left before the end').toBe(false);
    } finally {
      closeSync(fd);
    }
  });

  test.skipIf(!existsSync('/dev/full'))('a full disk is the command failing, named as standard output', () => {
    const fd = openSync('/dev/full', 'w');
    try {
      let caught: unknown;
      try {
        writeStandardOutput(new Uint8Array(10), fd);
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(CliError);
      expect(caught).toMatchObject({ code: 'CannotWrite' });
      expect((caught as Error).message).toMatch(/^cannot write standard output \(ENOSPC/);
    } finally {
      closeSync(fd);
    }
  });
});

describe('readAll', () => {
  // A pipe whose writer writes late: the read waits (EAGAIN) with the event loop turning, so that a
  // signal's listener (run from the loop) abandons the command at once, not when the input ends.
  test.skipIf(process.platform === 'win32')('waits for a late writer without holding the event loop', async () => {
    const fifo = join(tempDir(), 'input');
    const made = spawn('mkfifo', [fifo]);
    await new Promise((resolve) => made.on('close', resolve));
    // Opened non-blocking, as Node leaves standard input once process.stdin is touched.
    const fd = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
    // The writer says when it holds the pipe open (before that, the read would find its end).
    const writer = spawn('sh', ['-c', `exec 3>"$0"; echo open; sleep 0.4; printf 'late input' >&3`, fifo]);
    try {
      await new Promise((resolve) => writer.stdout.once('data', resolve));
      let turns = 0;
      const ticking = setInterval(() => turns++, 10);
      const data = await readAll(fd);
      clearInterval(ticking);
      expect(new TextDecoder().decode(data)).toBe('late input');
      expect(turns, 'timer turns while the input was awaited').toBeGreaterThan(5);
    } finally {
      closeSync(fd);
      writer.kill();
    }
  });
});

/** A terminal in memory: what is typed goes in, and everything shown on it is kept. */
function fakeTerminal(): { input: PassThrough; output: PassThrough; shown: () => string } {
  const input = new PassThrough();
  const output = new PassThrough();
  const chunks: Buffer[] = [];
  output.on('data', (chunk: Buffer) => chunks.push(chunk));
  return { input, output, shown: () => Buffer.concat(chunks).toString('utf8') };
}

describe('the terminal prompt', () => {
  test('a PIN (hidden) is returned but never shown: the question, then only a new line', async () => {
    const terminal = fakeTerminal();
    const answer = askOn(terminal, 'admin PIN: ', true);
    terminal.input.write('s3cret-pin\r');
    expect(await answer).toBe('s3cret-pin');
    expect(terminal.shown()).not.toContain('s3cret');
    expect(terminal.shown()).toBe('admin PIN: \n');
  });

  test('a confirmation (not hidden) is echoed as it is typed', async () => {
    const terminal = fakeTerminal();
    const answer = askOn(terminal, 'destroy key K2000? [y/N] ', false);
    terminal.input.write('yes\r');
    expect(await answer).toBe('yes');
    expect(terminal.shown()).toContain('destroy key K2000? [y/N] ');
    expect(terminal.shown()).toContain('yes');
  });

  test('the end of input (Ctrl-D) at the prompt is no answer: NotConfirmed, and the promise settles', async () => {
    const terminal = fakeTerminal();
    const answer = askOn(terminal, 'destroy key K2000? [y/N] ', false);
    terminal.input.end();
    await expect(answer).rejects.toMatchObject({
      code: 'NotConfirmed',
      message: expect.stringContaining('end of input'),
    });
  });

  // SIGINT and SIGHUP from a CLI review: only SIGTERM gave the prompt up, so `kill -INT` (or the
  // window closing) at a confirmation after the session opened left the command waiting for good,
  // holding the home's lock.
  test.each(['SIGTERM', 'SIGINT', 'SIGHUP'])(
    '%s at the prompt is no answer: NotConfirmed, and the prompt stops listening for it',
    async (signal) => {
      const signals = new EventEmitter();
      const answer = askOn({ ...fakeTerminal(), signals }, 'destroy key K2000? [y/N] ', false);
      await new Promise((resolve) => setImmediate(resolve));
      for (const s of ['SIGTERM', 'SIGINT', 'SIGHUP']) expect(signals.listenerCount(s)).toBe(1);
      signals.emit(signal, signal);
      await expect(answer).rejects.toMatchObject({ code: 'NotConfirmed', message: expect.stringContaining(signal) });
      for (const s of ['SIGTERM', 'SIGINT', 'SIGHUP']) expect(signals.listenerCount(s)).toBe(0);
    },
  );

  test('a terminal that goes away at the prompt (EIO) is no answer, not a crash', async () => {
    const terminal = fakeTerminal();
    const answer = askOn(terminal, 'admin PIN: ', true);
    await new Promise((resolve) => setImmediate(resolve));
    terminal.input.emit('error', Object.assign(new Error('read EIO'), { code: 'EIO' }));
    await expect(answer).rejects.toMatchObject({ code: 'NotConfirmed', message: expect.stringContaining('EIO') });
    // A later error of the gone terminal finds a listener still.
    expect(() => terminal.input.emit('error', new Error('read EIO'))).not.toThrow();
  });

  test('Ctrl-C at the prompt is no answer: NotConfirmed, and nothing typed before it is shown', async () => {
    const terminal = fakeTerminal();
    const answer = askOn(terminal, 'admin PIN: ', true);
    terminal.input.write('half-a-pin\u0003');
    const error = await answer.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CliError);
    expect(error).toMatchObject({ code: 'NotConfirmed' });
    expect(terminal.shown()).not.toContain('half-a-pin');
    // What to do fits a PIN prompt: not the general "answer yes, or pass --yes" of confirmations.
    expect((error as CliError).remedy).toMatch(/^Nothing to undo: run the command again and answer the question/);
    expect((error as CliError).remedy).not.toContain('--yes');
  });
});
