/**
 * TEST KIT: the `sekey` command as a child process that kills itself with SIGKILL at a chosen point,
 * for the tests of durable points (`durablePoints.ts`). No switch of this kind exists in production
 * code: this entry wraps the real `main` and patches the simulator's {@link Flash} from outside.
 *
 * Points are counted in order: before and after each flash program and erase, at each
 * `Flash.toImage` (the start of every save of the images), before and after each file written to
 * the share, and after each line printed on standard output. Environment:
 * - `SEKEY_TEST_KILL_AT=k`: SIGKILL at the k-th point (none when absent or 0);
 * - `SEKEY_TEST_SIGNAL=SIGINT|SIGTERM`: send that signal instead (the process goes on and handles it);
 * - `SEKEY_TEST_PAUSE_AT=k` with `SEKEY_TEST_PAUSE_DIR=dir`: at the k-th point, write `dir/paused`
 *   (the point's name) and block until `dir/resume` exists, so that the test can send a real signal
 *   from outside at exactly that point (`runPausedChild` in `childProcess.testkit.ts`);
 * - `SEKEY_TEST_TRACE=file`: appends one line per point (`k name`), so a first run can list them.
 *
 * Run it with plain node after `transpileForChild` of `childProcess.testkit.ts` (Node 20 cannot run TypeScript itself).
 * @module
 */
import { appendFileSync, existsSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Flash } from '../../device/flash.ts';
import { DirectoryTransport } from '../host/directoryTransport.ts';
import { main } from './sekeyCommand.ts';

const killAt = Number(process.env['SEKEY_TEST_KILL_AT'] ?? '0');
const signal = (process.env['SEKEY_TEST_SIGNAL'] ?? 'SIGKILL') as NodeJS.Signals;
const trace = process.env['SEKEY_TEST_TRACE'];
const pauseAt = Number(process.env['SEKEY_TEST_PAUSE_AT'] ?? '0');
const pauseDir = process.env['SEKEY_TEST_PAUSE_DIR'];
let points = 0;

/** Blocks the whole process (no event loop turn) until the test writes `resume`; 60 s at most. */
function pause(name: string): void {
  if (pauseDir === undefined) throw new Error('SEKEY_TEST_PAUSE_AT needs SEKEY_TEST_PAUSE_DIR');
  // Written aside and renamed: the test polls for the file and must never read it half-written.
  writeFileSync(join(pauseDir, 'paused.tmp'), name);
  renameSync(join(pauseDir, 'paused.tmp'), join(pauseDir, 'paused'));
  const sleeper = new Int32Array(new SharedArrayBuffer(4));
  for (let waited = 0; !existsSync(join(pauseDir, 'resume')); waited += 5) {
    if (waited > 60_000) throw new Error(`paused at '${name}' for a minute: nobody resumed`);
    Atomics.wait(sleeper, 0, 0, 5);
  }
}

function point(name: string): void {
  points += 1;
  if (trace !== undefined) appendFileSync(trace, `${points} ${name}\n`);
  if (points === killAt) process.kill(process.pid, signal);
  if (points === pauseAt) pause(name);
}

const proto = Flash.prototype;
const { program, eraseSector, toImage } = proto;
proto.program = function (this: Flash, ...args: Parameters<Flash['program']>): void {
  point(`before program 0x${args[0].toString(16)}`);
  program.apply(this, args);
  point(`after program 0x${args[0].toString(16)}`);
};
proto.eraseSector = function (this: Flash, ...args: Parameters<Flash['eraseSector']>): void {
  point(`before erase ${args[0]}`);
  eraseSector.apply(this, args);
  point(`after erase ${args[0]}`);
};
proto.toImage = function (this: Flash): Uint8Array {
  point('save');
  return toImage.apply(this);
};

const { write } = DirectoryTransport.prototype;
DirectoryTransport.prototype.write = async function (this: DirectoryTransport, ...args: Parameters<typeof write>) {
  point(`before share write ${args[1]}`);
  await write.apply(this, args);
  point(`after share write ${args[1]}`);
};
const { log } = console;
console.log = (...args: unknown[]): void => {
  log(...args);
  point('printed');
};

process.exitCode = await main(process.argv.slice(2));
