import { spawn, spawnSync } from 'node:child_process';
import {
  closeSync,
  constants,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { propertyParams } from '../../testing/runConfig.ts';
import { sequenceOfName, updateStream } from '../protocol/streams.ts';
import { Flash } from '../../device/flash.ts';
import { SdCard } from '../../device/sdcard.ts';
import { SecubeDevice } from '../../device/secube.ts';
import { ADMIN_PIN, DEVICE_ADMIN_PIN, USER_PIN, sekey as sekeyRun } from './sekeyRun.testkit.ts';
import type { Run } from './sekeyRun.testkit.ts';
import { DATABASE_GENERATION_COUNTER } from '../db/secubeDatabaseDevice.ts';
import { UPDATE_SEQUENCE_COUNTER } from '../../device/acknowledgement.ts';
import { runChild, runPausedChild, transpileForChild } from './childProcess.testkit.ts';
import { SIGNAL_EXIT } from './interrupts.ts';
import { UNSAVED_ADMIN_CHANGE } from './globalOptions.ts';
import { loadDeviceImages } from '../host/deviceImages.ts';
import { watchDurablePoints } from '../host/durablePoints.ts';
import { Installation } from '../host/installation.ts';

const KILL_SWITCH = 'impl/cli/killSwitch.testkit.js';

const scratch = mkdtempSync(join(tmpdir(), 'sekey-durable-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
let homes = 0;
/** The simulated manufacturer, outside every home (as `sekey factory init` makes it). */
const FACTORY = join(scratch, 'factory');

/** `sekey argv` in-process on `home`. */
function sekey(home: string, ...argv: string[]): Promise<Run> {
  return sekeyRun(argv, {
    env: { SEKEY_HOME: home, SEKEY_ADMIN_PIN: ADMIN_PIN, SEKEY_FACTORY: FACTORY },
    cwd: scratch,
  });
}

/** A copy of `home`, as if its directory had been copied. */
function copyHome(home: string): string {
  const copy = join(scratch, `home-${++homes}`);
  cpSync(home, copy, { recursive: true });
  return copy;
}

/** The device of `dir` as its images on disk hold it (what the next command would boot). */
function deviceOnDisk(dir: string): SecubeDevice {
  const images = loadDeviceImages(dir);
  return new SecubeDevice({ flash: Flash.fromImage(images.flash), sdcard: SdCard.fromImage(images.sd) });
}

/** Counter `name` of the device on disk (read in a user session of that in-memory copy). */
function counterOnDisk(dir: string, name: string): number {
  const device = deviceOnDisk(dir);
  device.login('user', USER_PIN);
  return device.counterRead(name);
}

describe('durable points: a killed command never gives back what the device made durable', () => {
  let out: string;
  let home: string;
  const userDir = (h: string) => join(h, 'users', 'U1');

  beforeAll(async () => {
    out = await transpileForChild(join(scratch, 'child'));
    home = join(scratch, 'home');
    expect((await sekey(home, 'factory', 'init', '--dir', FACTORY)).code).toBe(0);
    expect(
      (
        await sekey(
          home,
          'admin',
          'init',
          '--admin-pin',
          ADMIN_PIN,
          '--user-pin',
          USER_PIN,
          '--at',
          '2026-01-05T09:00Z',
        )
      ).code,
    ).toBe(0);
    expect((await sekey(home, 'admin', 'add-user', 'U1', 'alice', '--no-publish')).code).toBe(0);
    const provisioned = await sekey(
      home,
      'admin',
      'provision',
      'U1',
      '--user-pin',
      USER_PIN,
      '--device-admin-pin',
      DEVICE_ADMIN_PIN,
    );
    expect(provisioned.err).toBe('');
  });

  /** Runs `sekey argv` in a child that SIGKILLs itself at point `killAt` (0: never); returns the trace. */
  function child(
    h: string,
    killAt: number,
    argv: readonly string[],
  ): { points: string[]; signal: string | null; stderr: string } {
    const trace = join(scratch, `trace-${++homes}`);
    const run = runChild(out, KILL_SWITCH, argv, {
      SEKEY_HOME: h,
      SEKEY_TEST_KILL_AT: String(killAt),
      SEKEY_TEST_TRACE: trace,
    });
    let points: string[] = [];
    try {
      points = readFileSync(trace, 'utf8').trim().split('\n');
    } catch {
      // no point reached
    }
    return { points, signal: run.signal, stderr: run.stderr };
  }

  test('a wrong PIN: killed at any point after its try is spent in flash, the next boot still sees it spent', () => {
    const wrong = ['user', 'U1', 'keys', '--pin', 'wrong-pin'];
    const start = deviceOnDisk(userDir(home)).retriesLeft.user;
    expect(start).toBe(3);
    // A first run without a kill lists the points of a wrong-PIN command.
    const probe = copyHome(home);
    const listed = child(probe, 0, wrong);
    expect(listed.signal).toBeNull();
    expect(listed.stderr).toContain('WrongPin');
    const { points } = listed;
    // The try is spent by a flash program; the durable save runs inside it, before it returns.
    const spent = points.findIndex((p) => p.includes('after program')) + 1;
    expect(spent).toBeGreaterThan(0);
    for (let k = 1; k <= points.length; k++) {
      const h = copyHome(home);
      const run = child(h, k, wrong);
      expect(run.signal, `point ${k}`).toBe('SIGKILL');
      const left = deviceOnDisk(userDir(h)).retriesLeft.user;
      // Before the spend is durable the PIN has not been compared yet; from then on, the try is gone.
      if (k >= spent) expect(left, `killed at ${points[k - 1]}`).toBe(start - 1);
      else expect([start, start - 1]).toContain(left);
    }
    expect(points.slice(0, spent).map((p) => p.replace(/^\d+ /, '').replace(/ 0x.*/, ''))).toEqual([
      'before program',
      'save',
      'after program',
    ]);
    expect(points.at(-1)).toMatch(/save$/); // the session's own save, at the end
  });

  test('three wrong PINs, each killed right after its try was spent, lock the user level', async () => {
    const h = copyHome(home);
    for (let i = 1; i <= 3; i++) {
      // Point 3 is the first after the spent try's program (see above): before the PIN is compared.
      // --last-try: the third wrong PIN comes from --pin, not a prompt (pinCommands.ts: LastPinTry).
      expect(child(h, 3, ['user', 'U1', 'keys', '--pin', `wrong-${i}`, '--last-try']).signal).toBe('SIGKILL');
      expect(deviceOnDisk(userDir(h)).retriesLeft.user).toBe(3 - i);
    }
    const locked = await sekey(h, 'user', 'U1', 'keys', '--pin', USER_PIN);
    expect(locked.code).toBe(1);
    expect(locked.err).toContain('PinLocked');
  });

  test('reset-user-pin killed anywhere: the user HSM holds the old PIN state or the new; a rerun works', async () => {
    const locked = copyHome(home);
    for (let i = 1; i <= 3; i++) await sekey(locked, 'user', 'U1', 'keys', '--pin', `wrong-${i}`, '--last-try');
    expect(deviceOnDisk(userDir(locked)).retriesLeft.user).toBe(0);
    const reset = ['admin', 'reset-user-pin', 'U1', '--new-pin', 'reset-pin-1', '--pin', ADMIN_PIN];
    const listed = child(copyHome(locked), 0, reset);
    expect(listed.signal).toBeNull();
    expect(listed.stderr).toBe('');
    // Every point but 'before …' ones, which leave the disk as the point before them did.
    const ks = listed.points.flatMap((p, i) => (/^\d+ before /.test(p) ? [] : [i + 1]));
    for (const k of ks) {
      const h = copyHome(locked);
      expect(child(h, k, reset).signal, `point ${k}`).toBe('SIGKILL');
      const where = `killed at ${listed.points[k - 1]}`;
      const device = deviceOnDisk(userDir(h));
      const tries = device.retriesLeft.user;
      expect([0, 3], where).toContain(tries);
      // New state: the new PIN opens it. Old state: still locked, the new PIN not set.
      if (tries === 3) device.login('user', 'reset-pin-1');
      else expect(() => device.login('user', 'reset-pin-1'), where).toThrow(/no tries left/);
      // Whatever the cut left on the admin HSM, the next order is newer than any the user HSM took.
      const again = await sekey(h, 'admin', 'reset-user-pin', 'U1', '--new-pin', 'reset-pin-2');
      // Nothing on stderr but, when the cut kept the order's commit in a checkpoint only, the warning that says so.
      expect(again.err.replace(UNSAVED_ADMIN_CHANGE, '').trim(), where).toBe('');
      deviceOnDisk(userDir(h)).login('user', 'reset-pin-2');
    }
  }, 600_000); // one child and one command per point (17 points), on a shared machine

  test('the update sequence and the database generation are on disk as soon as the device advanced them', async () => {
    const h = copyHome(home);
    expect(counterOnDisk(userDir(h), UPDATE_SEQUENCE_COUNTER)).toBe(0);
    const generation = counterOnDisk(userDir(h), DATABASE_GENERATION_COUNTER);
    const installation = new Installation(h);
    await installation.withUser('U1', USER_PIN, async ({ user, transport }) => {
      await user.sync(transport);
      // The session has not saved its images yet: what the disk holds is what a kill -9 now leaves.
      expect(counterOnDisk(userDir(h), UPDATE_SEQUENCE_COUNTER)).toBe(1);
      expect(counterOnDisk(userDir(h), DATABASE_GENERATION_COUNTER)).toBeGreaterThan(generation);
    });
  });

  test('a sync killed at any flash operation leaves a pair that opens, with counters that only go forward', () => {
    const sync = ['user', 'U1', 'sync', '--pin', USER_PIN];
    const listed = child(copyHome(home), 0, sync);
    expect(listed.signal).toBeNull();
    const programs = listed.points
      .map((p, i) => ({ p, k: i + 1 }))
      .filter(({ p }) => /^\d+ after (program|erase)/.test(p));
    let sequence = 0;
    for (const { k, p } of programs) {
      const h = copyHome(home);
      expect(child(h, k, sync).signal).toBe('SIGKILL');
      const seq = counterOnDisk(userDir(h), UPDATE_SEQUENCE_COUNTER);
      expect(seq, `killed ${p}`).toBeGreaterThanOrEqual(sequence);
      sequence = seq;
      // And the user opens on what was left: the pair is consistent (no RolledBack, no Tampered).
      const keys = child(h, 0, ['user', 'U1', 'keys', '--pin', USER_PIN]);
      expect(keys.stderr, `killed ${p}`).toBe('');
    }
    expect(sequence).toBe(1);
  });
});

describe('watchDurablePoints', () => {
  test('saves after each program of a state sector, not of other sectors; holds defer and release saves', () => {
    const flash = new Flash({ geometry: [64, 64, 64] });
    let saved = 0;
    const points = watchDurablePoints(flash, [1], () => {
      saved += 1;
    });
    flash.program(flash.sector(0).address, new Uint8Array(16).fill(0));
    flash.eraseSector(1);
    expect(saved).toBe(0);
    flash.program(flash.sector(1).address, new Uint8Array(16).fill(0));
    expect(saved).toBe(1);
    const release = points.hold();
    const inner = points.hold();
    flash.program(flash.sector(1).address + 16, new Uint8Array(16).fill(0));
    expect(saved).toBe(1);
    inner();
    expect(saved).toBe(1);
    release();
    release();
    expect(saved).toBe(2);
    expect(points.saves).toBe(2);
    points.hold()();
    expect(saved).toBe(2);
    points.detach();
    flash.program(flash.sector(1).address + 32, new Uint8Array(16).fill(0));
    expect(saved).toBe(2);
  });

  test('a failing save fails the flash operation that reached the point', () => {
    const flash = new Flash({ geometry: [64, 64] });
    watchDurablePoints(flash, [0], () => {
      throw new Error('ENOSPC');
    });
    expect(() => flash.program(flash.sector(0).address, new Uint8Array(16).fill(0))).toThrow('ENOSPC');
  });
});

describe('nothing announced is lost: add-key killed or interrupted at random points', () => {
  const scratchHome = join(scratch, 'announce');
  let out: string;

  beforeAll(async () => {
    out = await transpileForChild(join(scratch, 'child-announce'));
    const run = (...argv: string[]) => sekey(scratchHome, ...argv);
    if (!existsSync(FACTORY)) expect((await run('factory', 'init', '--dir', FACTORY)).code).toBe(0);
    expect(
      (await run('admin', 'init', '--admin-pin', ADMIN_PIN, '--user-pin', USER_PIN, '--at', '2026-01-05')).code,
    ).toBe(0);
    for (const argv of [
      ['admin', 'add-user', 'U1', 'alice', '--no-publish'],
      ['admin', 'add-group', 'G1', 'team', '--max-keys', '50', '--cryptoperiod', '30d', '--no-publish'],
      ['admin', 'add-member', 'G1', 'U1', '--no-publish'],
      ['admin', 'provision', 'U1', '--user-pin', USER_PIN, '--device-admin-pin', DEVICE_ADMIN_PIN],
    ])
      expect((await run(...argv)).err, argv.join(' ')).toBe('');
  });

  /** Runs add-key in a child on a copy of the home, `signal` at point `k`; what it printed and left. */
  async function addKeyStopped(k: number, signal: 'SIGKILL' | 'SIGINT' | 'SIGTERM') {
    const h = copyHome(scratchHome);
    const trace = join(scratch, `trace-${++homes}`);
    const run = runChild(out, KILL_SWITCH, ['admin', 'add-key', 'G1', 'team'], {
      SEKEY_HOME: h,
      SEKEY_ADMIN_PIN: ADMIN_PIN,
      SEKEY_TEST_KILL_AT: String(k),
      SEKEY_TEST_SIGNAL: signal,
      SEKEY_TEST_TRACE: trace,
    });
    const listing = await sekey(h, 'admin', 'keys', '--json');
    const keys = JSON.parse(listing.out) as Array<{ id: string }>;
    const share = join(h, 'share', updateStream('U1'));
    const files = existsSync(share) ? readdirSync(share) : [];
    return { run, home: h, keys: keys.map((key) => key.id), files, nextErr: listing.err };
  }

  test("the next command clears what a killed command's atomic writes left behind, and nothing else", async () => {
    const h = copyHome(scratchHome);
    // A kill between an atomic write and its rename leaves the temporary file (installation.json's, a save's marker).
    const dirs = [h, join(h, 'admin'), join(h, 'users', 'U1')];
    for (const [i, dir] of dirs.entries()) writeFileSync(join(dir, `.tmp-COMMIT-${'ab'.repeat(5)}0${i}`), 'cut short');
    writeFileSync(join(h, '.tmp-notes'), 'not one of ours');
    const listing = await sekey(h, 'admin', 'keys');
    expect(listing.code).toBe(0);
    expect(dirs.flatMap((dir) => readdirSync(dir).filter((name) => name.startsWith('.tmp-')))).toEqual(['.tmp-notes']);
  });

  test('a user folder the sweep cannot clean does not stop a command that does not use it', async (context) => {
    const h = copyHome(scratchHome);
    const other = join(h, 'users', 'U9');
    mkdirSync(other, { mode: 0o700 });
    // A temporary file that cannot be removed (immutable: even root's unlink fails), where chattr works.
    const stuck = join(other, `.tmp-COMMIT-${'cd'.repeat(6)}`);
    writeFileSync(stuck, 'cut short');
    if (spawnSync('chattr', ['+i', stuck]).status !== 0) context.skip();
    try {
      const listing = await sekey(h, 'admin', 'keys');
      expect({ code: listing.code, err: listing.err }).toEqual({ code: 0, err: '' });
    } finally {
      spawnSync('chattr', ['-i', stuck]);
    }
  });

  /** The points an add-key run passes (a run not killed), the one where it prints and its last save's. */
  async function addKeyPoints(): Promise<{ points: string[]; printed: number; lastSave: number }> {
    const probe = await addKeyStopped(0, 'SIGKILL');
    expect(probe.nextErr).toBe('');
    expect(probe.run.status).toBe(0);
    expect(probe.run.stdout).toMatch(/^K2000: new key of G1 'team'/m);
    const points = readFileSync(join(scratch, `trace-${homes}`), 'utf8')
      .trim()
      .split('\n');
    const printed = points.findIndex((p) => p.endsWith('printed')) + 1;
    const lastSave = points.length - [...points].reverse().findIndex((p) => p.endsWith(' save'));
    return { points, printed, lastSave };
  }

  test('a change a kill kept unprinted is warned of by every admin command until admin audit', async () => {
    const { lastSave } = await addKeyPoints();
    // Killed just before the last save: the key is in a checkpoint only, and nothing was printed.
    const { run, home: h, keys, nextErr } = await addKeyStopped(lastSave - 1, 'SIGKILL');
    expect(run.stdout).toBe('');
    expect(keys).toEqual(['K2000']);
    expect(nextErr).toContain(UNSAVED_ADMIN_CHANGE);
    // A cron job's publish does not use the warning up: the next command still warns, until the audit.
    expect((await sekey(h, 'admin', 'publish')).err).toContain(UNSAVED_ADMIN_CHANGE);
    expect((await sekey(h, 'admin', 'keys')).err).toContain(UNSAVED_ADMIN_CHANGE);
    const audit = await sekey(h, 'admin', 'audit', '--last', '5');
    expect(audit.out).toMatch(/addKey/);
    expect(audit.err).toContain(UNSAVED_ADMIN_CHANGE);
    expect((await sekey(h, 'admin', 'keys')).err).toBe('');
  });

  test('every key ID and file announced is on disk, and the next add-key never reuses an announced ID', async () => {
    let warnings = 0;
    const { points, printed, lastSave } = await addKeyPoints();
    expect(printed).toBeGreaterThan(lastSave); // lines come out only after the session's last save
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: points.length }),
        fc.constantFrom('SIGKILL' as const, 'SIGINT' as const, 'SIGTERM' as const),
        async (k, signal) => {
          const { run, home: h, keys, files, nextErr } = await addKeyStopped(k, signal);
          // SIGINT and SIGTERM finish the change in progress, say so, and exit 130 / 143 (128 + the
          // signal number); SIGKILL stops the process.
          if (signal === 'SIGKILL') expect(run.signal, `point ${k}`).toBe('SIGKILL');
          else {
            expect({ status: run.status, signal: run.signal }, `${signal} at ${points[k - 1]}`).toEqual({
              status: SIGNAL_EXIT[signal],
              signal: null,
            });
            expect(run.stderr, `${signal} at ${points[k - 1]}`).toContain(
              `sekey: interrupted (${signal}): the change in progress was finished and saved first`,
            );
          }
          const announced = [...run.stdout.matchAll(/^(K\d+): new key/gm)].map(([, id]) => id as string);
          for (const id of announced) expect(keys, `killed at ${points[k - 1]}`).toContain(id);
          // A key the killed command made and never printed: the next admin command says so when the
          // change came from a checkpoint (killed before the session's last save), and never otherwise.
          const unannounced = keys.filter((id) => !announced.includes(id));
          const warned = nextErr.includes(UNSAVED_ADMIN_CHANGE);
          if (warned)
            expect({ signal, unannounced }, `warned after ${points[k - 1]}`).toMatchObject({ signal: 'SIGKILL' });
          if (warned) expect(unannounced.length, `warned after ${points[k - 1]}`).toBeGreaterThan(0);
          if (signal === 'SIGKILL' && unannounced.length > 0 && k < lastSave)
            expect(nextErr, `killed at ${points[k - 1]}`).toContain(UNSAVED_ADMIN_CHANGE);
          if (warned) warnings += 1;
          for (const [, sequence] of run.stdout.matchAll(/U1 #(\d+)/g))
            expect(
              files.map((f) => sequenceOfName(f)?.sequence),
              `killed at ${points[k - 1]}`,
            ).toContain(Number(sequence));
          const next = await sekey(h, 'admin', 'add-key', 'G1', 'next');
          const fresh = /^(K\d+): new key/m.exec(next.out)?.[1];
          expect(fresh).toBeDefined();
          expect(run.stdout).not.toContain(`${fresh}:`);
        },
      ),
      // The points right after the first line printed and around the share writes come first.
      {
        ...propertyParams<[number, 'SIGKILL' | 'SIGINT' | 'SIGTERM']>(6),
        examples: [
          [printed, 'SIGKILL'],
          [lastSave, 'SIGKILL'],
          [lastSave, 'SIGINT'],
          [lastSave - 1, 'SIGKILL'],
        ],
      },
    );
    // Killed just before the last save, the key is in a checkpoint only: the warning is not vacuous.
    expect(warnings).toBeGreaterThan(0);
  });

  test('Ctrl-C while waiting for the lock: abandoned, nothing changed, and said in JSON', async () => {
    const h = copyHome(scratchHome);
    // Another sekey process holds the home: this one (a live process ID) stands in for it.
    writeFileSync(join(h, '.lock'), String(process.pid));
    const child = spawn(
      process.execPath,
      [join(out, 'impl/cli/sekey.js'), 'admin', 'add-user', 'U9', 'eve', '--wait', '60', '--json'],
      {
        env: { PATH: process.env['PATH'] ?? '', SEKEY_HOME: h, SEKEY_ADMIN_PIN: ADMIN_PIN },
      },
    );
    let stderr = '';
    let stdout = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    const ended = new Promise<{ code: number | null; at: number }>((resolve) =>
      child.on('close', (code) => resolve({ code, at: Date.now() })),
    );
    // Sent once the child says it waits (the wait itself would last a minute).
    while (!stderr.includes('sekey: waiting (--wait): another sekey process')) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const sent = Date.now();
    child.kill('SIGINT');
    const { code, at } = await ended;
    expect(code).toBe(SIGNAL_EXIT.SIGINT);
    expect(stderr).toContain('sekey: interrupted (SIGINT) before anything was changed');
    // --json: standard output holds the one error object, as for any other failure.
    expect(JSON.parse(stdout)).toEqual({
      error: { code: 'Interrupted', message: 'interrupted (SIGINT) before anything was changed', exit: 130 },
    });
    expect(at - sent).toBeLessThan(30_000); // at once, not when the wait ends
    rmSync(join(h, '.lock'));
    const users = JSON.parse((await sekey(h, 'admin', 'users', '--json')).out) as Array<{ id: string }>;
    expect(users.map((u) => u.id)).toEqual(['U1']);
  });

  // Linux: /proc says when the child catches SIGINT (its guard is installed), so the signal is not
  // sent before, when it would end the child as an uncaught one does.
  test.skipIf(process.platform !== 'linux')(
    'Ctrl-C while a command reads standard input: abandoned at once, not when the input ends',
    async () => {
      const h = copyHome(scratchHome);
      // Standard input a named pipe, as `… | sekey` gives (a socket, as spawn's pipes are, ends a
      // read with EINTR on a signal anyway): half an update file, and the writer stays open.
      const fifo = join(scratch, `input-${++homes}`);
      await new Promise((resolve) => spawn('mkfifo', [fifo]).on('close', resolve));
      const input = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
      const writer = openSync(fifo, constants.O_WRONLY);
      writeSync(writer, 'SKUP');
      const child = spawn(process.execPath, [join(out, 'impl/cli/sekey.js'), 'user', 'U1', 'check-update', '-'], {
        env: { PATH: process.env['PATH'] ?? '', SEKEY_HOME: h, SEKEY_USER_PIN: USER_PIN },
        stdio: [input, 'pipe', 'pipe'],
      });
      closeSync(input);
      let stderr = '';
      child.stderr?.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
      });
      const ended = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
      // SIGHUP, SIGINT and SIGTERM (bits 0, 1 and 14 of the mask of caught signals): the guard's.
      const guarded = () => {
        const caught = /^SigCgt:\s*([0-9a-f]+)$/m.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1];
        return caught !== undefined && (BigInt(`0x${caught}`) & 0x4003n) === 0x4003n;
      };
      while (!guarded()) await new Promise((resolve) => setTimeout(resolve, 20));
      // Then it reads standard input: a second to get there (sent earlier, the signal abandons the
      // command before its read, which passes whatever the read does).
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      child.kill('SIGINT');
      // The input stays open until the command has ended (or a minute has passed: then it did not).
      const code = await Promise.race([
        ended,
        new Promise<'still reading'>((r) => setTimeout(r, 60_000, 'still reading')),
      ]);
      closeSync(writer);
      await ended;
      expect(code).toBe(SIGNAL_EXIT.SIGINT);
      expect(stderr).toContain('sekey: interrupted (SIGINT) before anything was changed');
      expect(readdirSync(h).filter((name) => name.startsWith('.lock'))).toEqual([]);
    },
  );

  // The terminal is a pseudo-terminal python3 opens (its pty module), and closes once the prompt shows.
  const PYTHON = spawnSync('python3', ['--version']).status === 0;
  test.skipIf(process.platform !== 'linux' || !PYTHON)(
    "a hang-up at a PIN prompt ends the command by SIGHUP (a shell's 129), not by Node's abort at exit",
    async () => {
      const h = copyHome(scratchHome);
      const pty = [
        'import os, pty, sys, json',
        'pid, fd = pty.fork()',
        'if pid == 0:',
        '    os.execv(sys.argv[1], sys.argv[1:])',
        "shown = b''",
        "while b'PIN' not in shown:",
        '    shown += os.read(fd, 4096)',
        'os.close(fd)',
        '_, status = os.waitpid(pid, 0)',
        "print(json.dumps({'signal': os.WTERMSIG(status) if os.WIFSIGNALED(status) else None}))",
      ].join('\n');
      const run = spawn('python3', ['-c', pty, process.execPath, join(out, 'impl/cli/sekey.js'), 'admin', 'users'], {
        env: { PATH: process.env['PATH'] ?? '', SEKEY_HOME: h },
      });
      let said = '';
      run.stdout.on('data', (chunk: Buffer) => {
        said += chunk.toString();
      });
      await new Promise((resolve) => run.on('close', resolve));
      // SIGHUP is 1; the abort of nodejs/node#51519 was SIGABRT (6).
      expect(JSON.parse(said)).toEqual({ signal: 1 });
      expect(readdirSync(h).filter((name) => name.startsWith('.lock'))).toEqual([]);
    },
  );

  test('a process that exits holding the home lock (an abandon skips every finally) releases it', async () => {
    const h = copyHome(scratchHome);
    const script =
      `import(${JSON.stringify(join(out, 'impl/host/homeLock.js'))}).then(async (m) => {` +
      `await m.lockHome(${JSON.stringify(h)}); process.stdout.write('locked'); process.exit(130); })`;
    const run = spawn(process.execPath, ['-e', script]);
    let said = '';
    run.stdout.on('data', (chunk: Buffer) => {
      said += chunk.toString();
    });
    const code = await new Promise<number | null>((resolve) => run.on('close', resolve));
    expect([code, said]).toEqual([130, 'locked']);
    expect(readdirSync(h).filter((name) => name.startsWith('.lock'))).toEqual([]);
  });

  test('a real SIGINT or SIGTERM at a controlled point: the change is finished, said, exits 130 or 143', async () => {
    const trace = join(scratch, `trace-${++homes}`);
    const argv = ['admin', 'add-key', 'G1', 'team', '--json'];
    const probe = runChild(out, KILL_SWITCH, argv, {
      SEKEY_HOME: copyHome(scratchHome),
      SEKEY_ADMIN_PIN: ADMIN_PIN,
      SEKEY_TEST_TRACE: trace,
    });
    expect(probe.status).toBe(0);
    const points = readFileSync(trace, 'utf8').trim().split('\n');
    // The first durable point (the spent login try is saved inside its flash program), and the point
    // right after the session's last save: the change is durable, nothing is printed yet.
    const firstDurable = points.findIndex((p) => p.includes('after program')) + 1;
    const afterLastSave = points.length - [...points].reverse().findIndex((p) => p.endsWith(' save')) + 1;
    expect(points[afterLastSave - 1]).not.toMatch(/save$/);
    // And the very last point, after the output: nothing asynchronous follows it, so only the guard's
    // wait for the loop's poll phase (interrupts.ts) lets the signal's listener run before the exit
    // code is decided.
    expect(points.at(-1)).toMatch(/printed$/);
    for (const [at, signal] of [
      [firstDurable, 'SIGINT'],
      [afterLastSave, 'SIGINT'],
      [afterLastSave, 'SIGTERM'],
      [points.length, 'SIGINT'],
    ] as const) {
      const h = copyHome(scratchHome);
      const run = await runPausedChild(
        out,
        KILL_SWITCH,
        argv,
        { SEKEY_HOME: h, SEKEY_ADMIN_PIN: ADMIN_PIN },
        at,
        signal,
      );
      const where = `${signal} at ${points[at - 1]}`;
      expect(run.paused, where).toBe(points[at - 1]?.replace(/^\d+ /, ''));
      expect({ status: run.status, signal: run.signal }, where).toEqual({ status: SIGNAL_EXIT[signal], signal: null });
      expect(run.stderr, where).toContain(`sekey: ${signal} received: finishing the change in progress first`);
      expect(run.stderr, where).toContain(
        `sekey: interrupted (${signal}): the change in progress was finished and saved first`,
      );
      // What it announced (in JSON) is what is on disk.
      const announced = JSON.parse(run.stdout) as { keys: { created: Array<{ key: { id: string } }> } };
      const created = announced.keys.created.map((c) => c.key.id);
      expect(created, where).toHaveLength(1);
      const keys = JSON.parse((await sekey(h, 'admin', 'keys', '--json')).out) as Array<{ id: string }>;
      expect(
        keys.map((k) => k.id),
        where,
      ).toEqual(created);
    }
  });
});
