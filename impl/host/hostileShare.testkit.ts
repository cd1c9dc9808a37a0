/**
 * Hostile entries for a share folder, as anyone with write access to the share could plant them:
 * a FIFO, a directory, symbolic links to `/dev/zero` and to a large file, odd names, a file over
 * the transport's cap. For tests of the directory transport and of the commands that read it.
 *
 * A FIFO blocks a reader that opens it without `O_NONBLOCK` until a writer comes, and such an open
 * blocks the whole Node process (a test timeout cannot fire). So each FIFO gets a safety net: a
 * child process that opens it for writing after `ms` ({@link plantFifo}) and closes it at once, which frees
 * a blocked reader (and makes the test fail on its assertions instead of hanging). `cleanup` kills
 * the child, which otherwise waits for ever for a reader that, with the fix, never comes.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { mkdirSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MAX_SHARE_FILE_BYTES } from './directoryTransport.ts';

/** What was planted, and how to remove the safety nets. */
export interface HostileEntries {
  /** The names planted, each with the reason the transport should give when it skips it. */
  readonly names: ReadonlyArray<{ readonly name: string; readonly reason: string }>;
  cleanup(): void;
}

const children: ChildProcess[] = [];

/** Creates a FIFO at `path` with a safety-net writer that frees a blocked reader after `ms`. */
export function plantFifo(path: string, ms = 15_000): void {
  execFileSync('mkfifo', [path]);
  const child = spawn(
    process.execPath,
    [
      '-e',
      `setTimeout(() => { const fs = require('fs'); fs.closeSync(fs.openSync(${JSON.stringify(path)}, 'w')); }, ` +
        `${ms});`,
    ],
    { stdio: 'ignore' },
  );
  children.push(child);
}

/** Kills every safety-net child still running. */
export function killSafetyNets(): void {
  for (const child of children.splice(0)) child.kill('SIGKILL');
}

/**
 * Plants every kind of hostile entry in `dir` (created if need be). `next` is a name the reader
 * would want (e.g. the next update file's, `000000000004.update`): the FIFO takes it, so a reader
 * that opens it blocks; the others take names like it with a first digit of 1 to 4 (sequences far
 * ahead, so a reader would open them too), or odd names around it. `bigFile` is a path outside the
 * share for the large file a symbolic link points to.
 */
export function plantHostileEntries(dir: string, next: string, bigFile: string): HostileEntries {
  mkdirSync(dir, { recursive: true });
  plantFifo(join(dir, next));
  mkdirSync(join(dir, `1${next.slice(1)}`));
  symlinkSync('/dev/zero', join(dir, `2${next.slice(1)}`));
  // A sparse file one byte over the cap: costs no disk.
  writeFileSync(bigFile, '');
  truncateSync(bigFile, MAX_SHARE_FILE_BYTES + 1);
  symlinkSync(bigFile, join(dir, `3${next.slice(1)}`));
  const oversize = join(dir, `4${next.slice(1)}`);
  writeFileSync(oversize, '');
  truncateSync(oversize, MAX_SHARE_FILE_BYTES + 1);
  for (const odd of [`with space ${next}`, `ünïcödé-${next}`, `.${next}`]) writeFileSync(join(dir, odd), 'junk');
  return {
    names: [
      { name: next, reason: 'notRegularFile' },
      { name: `1${next.slice(1)}`, reason: 'notRegularFile' },
      { name: `2${next.slice(1)}`, reason: 'notRegularFile' },
      { name: `3${next.slice(1)}`, reason: 'notRegularFile' },
      { name: `4${next.slice(1)}`, reason: 'tooLarge' },
      { name: `with space ${next}`, reason: 'unsafeName' },
      { name: `ünïcödé-${next}`, reason: 'unsafeName' },
      { name: `.${next}`, reason: 'unsafeName' },
    ],
    cleanup: killSafetyNets,
  };
}
