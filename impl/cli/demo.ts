/**
 * `sekey demo`, a guided tour: a short story told by running the real `sekey` commands on a
 * real installation — device images on disk, update files on a share folder — in a temporary
 * directory. Every line under a `$` is the command's own output; the figures come from the devices'
 * cost model (cycles at 168 MHz), their flash erase counters and the files written. The clock is
 * simulated (`--at`), so a week passes in a second.
 *
 * The story: an administrator and four users with provisioned HSMs; groups and keys; update files
 * published and synced; messages between users under the smallest common group's key; a member
 * leaves and the group is rekeyed (the leaver's HSM erases the old key, and it never receives the
 * new one); a key is compromised, replaced, and a message re-protected inside an HSM; a withheld
 * update is noticed as stale and repaired by a resync; the audit chain is verified.
 * @module
 */
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CliIo } from './cliIo.ts';
import { CliError } from './cliError.ts';
import { main } from './sekeyCommand.ts';
import { bytes } from './format.ts';
import type { DeviceReport } from '../host/loadedDevice.ts';
import { updateStream } from '../protocol/streams.ts';
import { DEMO_PINS, demoShellSetup } from './commandExamples.ts';
import { makeFolders } from '../host/makeFolders.ts';

/** Options of {@link runDemo}. */
export interface DemoOptions {
  /** Build the installation here (a new or empty directory) and keep it. */
  readonly keep?: string;
}

const PINS = DEMO_PINS;
const START = '2026-01-05T09:00Z';
const PEOPLE = [
  ['U1', 'alice'],
  ['U2', 'bob'],
  ['U3', 'carol'],
  ['U4', 'dave'],
] as const;

/** Totals of one device over the demo. */
interface DeviceTotals {
  serial: string;
  sessions: number;
  cycles: number;
  busyMs: number;
  lifetimeFlashErases: number;
  sdBytesWritten: number;
  flashImageBytes: number;
  sdImageBytes: number;
}

function millions(cycles: number): string {
  return `${(cycles / 1e6).toFixed(1)} M`;
}

function kib(n: number): string {
  return `${(n / 1024).toFixed(0)} KiB`;
}

/** Runs the demo, printing to `io.out`; returns the exit code. */
export async function runDemo(io: CliIo, options: DemoOptions = {}): Promise<number> {
  const started = performance.now();
  const home = options.keep ?? mkdtempSync(join(tmpdir(), 'sekey-demo-'));
  // The simulated HSM factory lives outside the installation, as the manufacturer's key must: kept,
  // beside it (`DIR-factory`), where the user finds it, not in the temporary folder, where a cleaner
  // would remove it and leave the kept installation unable to provision.
  const factory = options.keep === undefined ? mkdtempSync(join(tmpdir(), 'sekey-demo-factory-')) : `${home}-factory`;
  if (options.keep === undefined) rmSync(factory, { recursive: true });
  else {
    // A file there is refused as a folder with something in it is, not with mkdir's EEXIST.
    if (existsSync(home) && !statSync(home).isDirectory())
      throw new CliError('NotEmpty', `--keep ${home}: a file is there, not a folder`);
    if (existsSync(factory))
      throw new CliError('NotEmpty', `--keep ${home}: ${factory}, where its factory goes, is taken`);
    makeFolders(home);
    if (readdirSync(home).length > 0) throw new CliError('NotEmpty', `--keep ${home}: the directory is not empty`);
  }
  const removeTemporary = (): void => {
    if (options.keep !== undefined) return;
    rmSync(home, { recursive: true, force: true });
    rmSync(factory, { recursive: true, force: true });
  };
  // Ctrl-C ends the demo at once (it never changes anything of the user's), past the finally below:
  // its folders, the factory's signing key among them, must not stay behind in the temporary folder.
  // With --keep, a demo cut short is no installation to keep: the folder (empty before) is emptied
  // again, so that the same --keep works next time, and the factory goes too.
  const forget = io.onAbandon?.(() => {
    if (options.keep !== undefined) {
      for (const entry of readdirSync(home)) rmSync(join(home, entry), { recursive: true, force: true });
      rmSync(factory, { recursive: true, force: true });
    }
    removeTemporary();
  });
  const desk = join(home, 'desk');
  makeFolders(desk);
  const totals = new Map<string, DeviceTotals>();
  const published: number[] = [];
  let figures: DeviceReport[] = [];
  const onDeviceReport = (r: DeviceReport): void => {
    figures.push(r);
    const t = totals.get(r.device) ?? {
      serial: r.serial,
      sessions: 0,
      cycles: 0,
      busyMs: 0,
      lifetimeFlashErases: 0,
      sdBytesWritten: 0,
      flashImageBytes: 0,
      sdImageBytes: 0,
    };
    // A re-provisioned device has a new serial: its figures start again.
    if (t.serial !== r.serial)
      Object.assign(t, { serial: r.serial, sessions: 0, cycles: 0, busyMs: 0, sdBytesWritten: 0 });
    t.sessions += 1;
    t.cycles += r.cycles;
    t.busyMs += r.busyMs;
    t.sdBytesWritten += r.sdBytesWritten;
    t.lifetimeFlashErases = r.lifetimeFlashErases;
    t.flashImageBytes = r.flashImageBytes;
    t.sdImageBytes = r.sdImageBytes;
    totals.set(r.device, t);
  };
  const print = (line = ''): void => io.out(line);
  const env = { SEKEY_HOME: home, SEKEY_FACTORY: factory, SEKEY_ADMIN_PIN: PINS.admin, SEKEY_USER_PIN: PINS.user };

  /**
   * Runs one `sekey` command as a user would type it, printing it and its output. `quiet` prints
   * only the command; `fails` expects a refusal (exit 1); `figures` adds the devices' cost line.
   */
  const sekey = async (
    line: string,
    how: { quiet?: boolean; fails?: boolean; figures?: boolean } = {},
  ): Promise<string[]> => {
    const argv = line.split(' ');
    const output: string[] = [];
    const commandIo: CliIo = { out: (l) => output.push(l), err: (l) => output.push(l), env, cwd: desk, onDeviceReport };
    figures = [];
    print(`  $ sekey ${line}`);
    const code = await main(argv, commandIo);
    if (code !== 0 && how.fails !== true) throw new Error(`demo step failed: sekey ${line}\n${output.join('\n')}`);
    if (code === 0 && how.fails === true) throw new Error(`demo step should have been refused: sekey ${line}`);
    for (const l of output) {
      for (const m of l.matchAll(/U\d+ #\d+(?: resync)? \(([\d,]+) B\)/g))
        published.push(Number((m[1] ?? '0').replaceAll(',', '')));
    }
    if (how.quiet !== true) output.forEach((l) => print(`      ${l}`));
    if (how.figures === true) {
      const parts = figures.map((r) => `${r.device} HSM ${millions(r.cycles)} cycles = ${r.busyMs.toFixed(1)} ms`);
      print(`      [modelled: ${parts.join('; ')}]`);
    }
    return output;
  };
  const desktopFile = (name: string, text: string): void => writeFileSync(join(desk, name), text);

  try {
    print('SEkey-TS demo: the real system on simulated SEcube HSMs');
    print(
      `  installation ${home}${options.keep === undefined ? ' (temporary; `sekey demo --keep DIR` keeps one)' : ''}`,
    );
    print(`  simulated HSM factory ${factory} (outside the installation: it holds the manufacturer's key)`);
    print(
      `  the commands below run with SEKEY_HOME and SEKEY_FACTORY set to them, SEKEY_ADMIN_PIN=${PINS.admin}, ` +
        `SEKEY_USER_PIN=${PINS.user}`,
    );
    print(`  the clock is simulated: it starts at ${START} and moves only with --at`);
    print();

    print('1. The administrator initialises its HSM (certified by the factory) and describes the organisation');
    await sekey('factory init', { quiet: true });
    await sekey(`admin init --admin-pin ${PINS.admin} --user-pin ${PINS.user} --at ${START}`, { figures: true });
    for (const [id, name] of PEOPLE) await sekey(`admin add-user ${id} ${name} --no-publish`, { quiet: true });
    await sekey('admin add-group G1 engineering --max-keys 4 --cryptoperiod 30d --no-publish', { quiet: true });
    await sekey('admin add-group G2 crypto-core --max-keys 4 --cryptoperiod 30d --no-publish', { quiet: true });
    for (const [id] of PEOPLE) await sekey(`admin add-member G1 ${id} --no-publish`, { quiet: true });
    for (const id of ['U1', 'U2']) await sekey(`admin add-member G2 ${id} --no-publish`, { quiet: true });
    await sekey('admin add-key G1 eng-2026 --no-publish');
    await sekey('admin add-key G2 core-2026 --cryptoperiod 7d --no-publish');
    await sekey('admin activate-key K2000 --no-publish');
    await sekey('admin activate-key K2001 --no-publish', { figures: true });
    print();

    print('2. Each user gets an HSM, paired with the admin HSM (no key crosses the host), and syncs');
    for (const [id] of PEOPLE) {
      await sekey(`admin provision ${id} --user-pin ${PINS.user} --device-admin-pin ${PINS.deviceAdmin} --no-publish`, {
        quiet: id !== 'U1',
        figures: id === 'U1',
      });
    }
    await sekey('admin publish', { figures: true });
    for (const [id] of PEOPLE) await sekey(`user ${id} sync`, { figures: id === 'U1' });
    await sekey('user U2 keys');
    await sekey('admin status');
    print();

    print('3. Messages: the key of the smallest group containing sender and recipients');
    desktopFile('memo.txt', 'Q1 crypto-core roadmap: rotate the signing keys, audit the bootloader.\n');
    desktopFile('plan.txt', 'Engineering offsite: Tuesday, room 4.\n');
    await sekey('user U1 encrypt --to U2 memo.txt memo.skm', { figures: true });
    await sekey('user U2 decrypt memo.skm memo-for-bob.txt');
    await sekey('user U1 encrypt --to U3,U4 plan.txt plan.skm');
    await sekey('user U4 decrypt plan.skm plan-for-dave.txt');
    print();

    print('4. Day 1: dave leaves engineering; the group is rekeyed (forward secrecy)');
    await sekey('admin remove-member G1 U4 --at +1d', { figures: true });
    for (const [id] of PEOPLE) await sekey(`user ${id} sync`, { quiet: id !== 'U4' });
    desktopFile('plan2.txt', 'Offsite moved to Thursday.\n');
    await sekey('user U1 encrypt --to U3 plan2.txt plan2.skm');
    await sekey('user U4 decrypt plan2.skm plan2-for-dave.txt', { fails: true });
    await sekey('user U4 decrypt plan.skm plan-again.txt', { fails: true });
    await sekey('user U4 keys');
    print();

    print('5. Day 2: the new key is reported compromised; it is replaced, and data is re-protected inside an HSM');
    await sekey('admin compromise-key K2002 --at +1d');
    for (const [id] of PEOPLE) await sekey(`user ${id} sync`, { quiet: true });
    await sekey('user U3 decrypt plan2.skm plan2-for-carol.txt', { fails: true });
    await sekey('user U3 reprotect plan2.skm plan2-safe.skm', { figures: true });
    await sekey('user U3 decrypt plan2-safe.skm plan2-for-carol.txt');
    print();

    print("6. Day 3: a new crypto-core key; the share withholds bob's update");
    await sekey('admin add-key G2 core-2026b --at +1d --no-publish');
    await sekey('admin activate-key K2004');
    for (const name of readdirSync(join(home, 'share', ...updateStream('U2').split('/')))) {
      if (!name.startsWith('.')) rmSync(join(home, 'share', ...updateStream('U2').split('/'), name));
    }
    print("      (someone deletes bob's update file from the share before he syncs)");
    await sekey('user U1 sync');
    await sekey('user U2 sync');
    // carol and dave sync their heartbeats: a week on, bob is the only one without an acknowledgement.
    for (const id of ['U3', 'U4']) await sekey(`user ${id} sync`, { quiet: true });
    await sekey('admin collect-acks');
    print('   Day 11: a week without an acknowledgement from bob');
    await sekey('admin stale --at +8d', { fails: true });
    await sekey('admin resync U2');
    for (const [id] of PEOPLE) await sekey(`user ${id} sync`, { quiet: id !== 'U2' });
    await sekey('user U2 keys');
    await sekey('admin status');
    print();

    print('7. The audit log: every admin operation, hash-chained');
    await sekey('admin audit --verify');
    print();

    print('Figures (modelled SEcube: STM32F429 at 168 MHz; images as saved in the installation)');
    const rows = [...totals.entries()].map(([device, t]) => {
      const who = PEOPLE.find(([id]) => id === device)?.[1];
      return [
        who === undefined ? device : `${device} ${who}`,
        String(t.sessions),
        millions(t.cycles),
        `${t.busyMs.toFixed(0)} ms`,
        String(t.lifetimeFlashErases),
        kib(t.sdBytesWritten),
        kib(t.flashImageBytes),
        kib(t.sdImageBytes),
      ];
    });
    const header = ['device', 'sessions', 'HSM cycles', 'busy', 'flash erases', 'SD written', 'flash.img', 'sd.img'];
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
    for (const r of [header, ...rows])
      print(`  ${r.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ')}`);
    const sizes = [...published].sort((a, b) => a - b);
    const total = sizes.reduce((a, b) => a + b, 0);
    print(
      `  update files: ${sizes.length} published, ${bytes(sizes[0] ?? 0)} to ${bytes(sizes.at(-1) ?? 0)}, ` +
        `${bytes(total)} in all`,
    );
    print('  flash erases: lifetime sector erases. The key store appends records and zeroises deleted keys');
    print('  in place (NOR flash programs 1 → 0 at any time); only compaction erases, so wear stays low.');
    print('  busy time: each command is one session, and opening the encrypted database (every page');
    print('  decrypted and authenticated with AES-256-GCM in MCU software) dominates it, then the PIN check.');
    print();
    print(`Done in ${((performance.now() - started) / 1000).toFixed(1)} s of host time.`);
    if (options.keep !== undefined) {
      print(`Kept in ${home}: try \`sekey admin status --home ${home} --pin ${PINS.admin}\`.`);
      print(`The factory is kept in ${factory} (--factory ${factory} to provision more HSMs).`);
      print("To run the examples of every admin and user command's --help on it, set up the shell with:");
      print(`  ${demoShellSetup(home, factory)}`);
      print("Each command changes the installation: to run another command's examples on it as it was, keep a copy.");
    }
    return 0;
  } finally {
    forget?.();
    removeTemporary();
  }
}
