import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isAbsolute, join, relative } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { workerSignalsExecArgv } from './workerSignals.ts';

const folder = mkdtempSync(join(tmpdir(), 'sekey-worker-signals-'));
afterAll(() => rmSync(folder, { recursive: true, force: true }));

/**
 * A worker as vitest forks one (an IPC channel to its parent) with the preload, sent `signal` once it
 * is ready; the runner's side closes the channel (it is gone) when `orphan` is set. Resolves with how
 * it ended: its exit code, or the signal that ended it.
 */
function worker(signal: NodeJS.Signals, orphan: boolean): Promise<string> {
  const code =
    "process.on('disconnect', () => console.log('gone')); process.send('ready');" +
    'setTimeout(() => process.exit(0), 1500);';
  const child = spawn(process.execPath, [...workerSignalsExecArgv(folder), '-e', code], {
    stdio: ['ignore', 'pipe', 'ignore', 'ipc'],
  });
  return new Promise((resolve) => {
    child.on('message', () => {
      if (!orphan) {
        child.kill(signal);
        return;
      }
      // Once the worker has seen its channel close, not before: it would still count its runner there.
      child.stdout?.once('data', () => child.kill(signal));
      child.disconnect();
    });
    child.on('exit', (exitCode, by) => resolve(by ?? `exit ${exitCode}`));
  });
}

describe("the workers' preload: Ctrl-C and hang-ups are the runner's to act on", () => {
  test('a worker whose runner is there outlives SIGINT and SIGHUP', async () => {
    expect(await Promise.all([worker('SIGINT', false), worker('SIGHUP', false)])).toEqual(['exit 0', 'exit 0']);
  });

  test('a worker whose runner is gone ends on either, with the code a shell gives the signal', async () => {
    expect(await Promise.all([worker('SIGINT', true), worker('SIGHUP', true)])).toEqual(['exit 130', 'exit 129']);
  });

  test('the preload is named by its absolute path: --require takes a relative one for a package (TMPDIR=tmp)', () => {
    const [flag, file] = workerSignalsExecArgv(relative(process.cwd(), folder));
    expect([flag, isAbsolute(file as string), file]).toEqual(['--require', true, join(folder, 'workerSignals.cjs')]);
  });

  test('without the preload, a hang-up ends a worker at once (what the preload is for)', async () => {
    const child = spawn(process.execPath, ['-e', "process.send('ready'); setTimeout(() => {}, 1500);"], {
      stdio: ['ignore', 'ignore', 'ignore', 'ipc'],
    });
    child.on('message', () => child.kill('SIGHUP'));
    expect(await new Promise((resolve) => child.on('exit', (_code, by) => resolve(by)))).toBe('SIGHUP');
  });
});
