/**
 * TEST KIT: runs `sekey` in-process with its own io (output captured line by line, environment,
 * working directory, host clock, terminal answers), and sets up installations to run it on.
 * @module
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CliIo } from './cliIo.ts';
import { main } from './sekeyCommand.ts';

export const ADMIN_PIN = 'admin-pin-5678';
export const USER_PIN = 'user-pin-1234';
export const DEVICE_ADMIN_PIN = 'device-admin-9876';

/** What one run printed and returned. */
export interface Run {
  readonly code: number;
  readonly out: string;
  readonly err: string;
  /** Bytes written to standard output as data (`-` as OUT). */
  readonly data: Uint8Array;
}

/** The world of a run: everything defaults to nothing, a temp dir or no terminal. */
export interface World {
  readonly env?: Record<string, string>;
  readonly cwd?: string;
  readonly clock?: CliIo['clock'];
  /** Standard input as data (`-` as IN). */
  readonly stdin?: Uint8Array;
  /** When given, the run is on a terminal and these are the answers typed, in order. */
  readonly answers?: readonly string[];
  /** When given, standard error is a terminal and this receives its status lines (`CliIo.status`). */
  readonly status?: (line: string | null) => void;
  /** Receives what the command registers to undo if an interruption abandoned it (`CliIo.onAbandon`). */
  readonly onAbandon?: CliIo['onAbandon'];
  /** Standard output's reader leaves at once (`… | head -c 0`): data written to it is dropped. */
  readonly readerLeaves?: boolean;
}

const dirs: string[] = [];

/** A fresh temporary directory, removed by {@link removeTempDirs}. */
export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'sekey-cli-'));
  dirs.push(dir);
  return dir;
}

/** Removes every directory {@link tempDir} (or {@link demoInstallation}) made (call in `afterAll`). */
export function removeTempDirs(): void {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}

/**
 * The installation `sekey demo --keep` leaves (users U1–U4, groups G1 and G2, keys K2000–K2004,
 * files on its desk), in a fresh temporary directory, with the factory the demo keeps beside it:
 * the environment and working directory are read from the shell line the demo prints for the
 * examples (`demoShellSetup`), so that the tests run them as a reader would.
 */
export async function demoInstallation(): Promise<{
  home: string;
  factory: string;
  env: Record<string, string>;
  desk: string;
}> {
  const home = join(tempDir(), 'demo');
  const built = await sekey(['demo', '--keep', home]);
  if (built.code !== 0) throw new Error(`sekey demo --keep failed: ${built.err}`);
  const setup = /^ {2}export (.*); cd (\S+)$/m.exec(built.out);
  if (setup === null) throw new Error(`sekey demo --keep printed no shell setup:\n${built.out}`);
  const env = Object.fromEntries((setup[1] as string).split(' ').map((pair) => pair.split('=') as [string, string]));
  const factory = env['SEKEY_FACTORY'];
  if (factory === undefined) throw new Error(`the demo's shell setup names no factory: ${setup[0]}`);
  dirs.push(factory);
  return { home, factory, env, desk: setup[2] as string };
}

/** Runs `sekey argv` in-process in `world`. */
export async function sekey(argv: readonly string[], world: World = {}): Promise<Run> {
  const out: string[] = [];
  const err: string[] = [];
  const data: Uint8Array[] = [];
  const answers = world.answers === undefined ? undefined : [...world.answers];
  const io: CliIo = {
    out: (l) => out.push(l),
    err: (l) => err.push(l),
    env: world.env ?? {},
    cwd: world.cwd ?? tmpdir(),
    ...(world.clock === undefined ? {} : { clock: world.clock }),
    readInput: async () => world.stdin ?? new Uint8Array(),
    writeOutput: (bytes) => (world.readerLeaves === true ? false : void data.push(bytes)),
    ...(world.status === undefined ? {} : { status: world.status }),
    ...(world.onAbandon === undefined ? {} : { onAbandon: world.onAbandon }),
    ...(answers === undefined
      ? {}
      : {
          prompt: async (question: string) => {
            err.push(question);
            return answers.shift() ?? '';
          },
        }),
  };
  const code = await main(argv, io);
  return { code, out: out.join('\n'), err: err.join('\n'), data: Buffer.concat(data) };
}

/** A new installation on a manual clock at 2026-01-05 09:00Z, and a runner on it. */
export async function manualInstallation(): Promise<{
  home: string;
  desk: string;
  factory: string;
  env: Record<string, string>;
  run: (...argv: string[]) => Promise<Run>;
  /** What `sekey admin init` printed. */
  init: Run;
}> {
  const home = join(tempDir(), 'home');
  const desk = tempDir();
  const factory = join(tempDir(), 'factory');
  const env = { SEKEY_HOME: home, SEKEY_FACTORY: factory, SEKEY_ADMIN_PIN: ADMIN_PIN, SEKEY_USER_PIN: USER_PIN };
  const run = (...argv: string[]) => sekey(argv, { env, cwd: desk });
  if ((await run('factory', 'init')).code !== 0) throw new Error('factory init failed');
  const init = await run(
    'admin',
    'init',
    '--admin-pin',
    ADMIN_PIN,
    '--user-pin',
    USER_PIN,
    '--at',
    '2026-01-05T09:00Z',
  );
  if (init.code !== 0) throw new Error(`admin init failed: ${init.err}`);
  return { home, desk, factory, env, run, init };
}

/** Adds and provisions each user (`U1 alice`, …) of `people` on the installation `run` works on. */
export async function provisionedUsers(
  run: (...argv: string[]) => Promise<Run>,
  people: ReadonlyArray<readonly [string, string]>,
): Promise<void> {
  for (const [id, name] of people) {
    const steps = [
      ['admin', 'add-user', id, name, '--no-publish'],
      ['admin', 'provision', id, '--user-pin', USER_PIN, '--device-admin-pin', DEVICE_ADMIN_PIN, '--no-publish'],
    ];
    for (const argv of steps) {
      const r = await run(...argv);
      if (r.code !== 0) throw new Error(`${argv.join(' ')}: ${r.err}`);
    }
  }
}

/**
 * A manual-clock installation with alice (U1) provisioned, in group G1 (at most 4 keys, 30-day
 * cryptoperiod) with its key K2000 active, unpublished; `answering` runs a command on a terminal that
 * answers `answers`, in order (the prompt's question goes to standard error).
 */
export async function aliceWithActiveKey(): Promise<
  Awaited<ReturnType<typeof manualInstallation>> & {
    answering: (answers: readonly string[], ...argv: string[]) => Promise<Run>;
  }
> {
  const installation = await manualInstallation();
  const { env, desk, run } = installation;
  await provisionedUsers(run, [['U1', 'alice']]);
  for (const argv of [
    ['add-group', 'G1', 'team', '--max-keys', '4', '--cryptoperiod', '30d', '--no-publish'],
    ['add-member', 'G1', 'U1', '--no-publish'],
    ['add-key', 'G1', 'k', '--no-publish'],
    ['activate-key', 'K2000', '--no-publish'],
  ]) {
    const r = await run('admin', ...argv);
    if (r.code !== 0) throw new Error(`${argv.join(' ')}: ${r.err}`);
  }
  return { ...installation, answering: (answers, ...argv) => sekey(argv, { env, cwd: desk, answers }) };
}
