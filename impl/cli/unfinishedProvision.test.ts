/**
 * A provisioning killed (SIGKILL) between the new HSM's save and the admin's pairing (the save order
 * of `Installation.#provision`, kept: the user's images first) leaves an HSM the admin never paired.
 * Its user's sync says so and fails (`NotProvisioned`), rather than "nothing new" for ever; its
 * status warns; provisioning it again does not call it in service. A provisioning that finished
 * (with `--no-publish`: no file for it yet either) still syncs to "nothing new".
 */
import { cpSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { runChild, transpileForChild } from './childProcess.testkit.ts';
import { DEVICE_ADMIN_PIN, USER_PIN, manualInstallation, removeTempDirs, sekey, tempDir } from './sekeyRun.testkit.ts';
import type { Run } from './sekeyRun.testkit.ts';

afterAll(removeTempDirs);

const PROVISION = ['admin', 'provision', 'U5', '--user-pin', USER_PIN, '--device-admin-pin', DEVICE_ADMIN_PIN];

let base: Awaited<ReturnType<typeof manualInstallation>>;
/** A copy of the installation in which provisioning U5 was killed once U5's images were saved. */
let home: string;
let run: (...argv: string[]) => Promise<Run>;

beforeAll(async () => {
  base = await manualInstallation();
  expect((await base.run('admin', 'add-user', 'U5', 'erin')).code).toBe(0);
  const out = await transpileForChild(join(tempDir(), 'child'));
  const child = (h: string, k: number, trace?: string) =>
    runChild(out, 'impl/cli/killSwitch.testkit.js', PROVISION, {
      ...base.env,
      SEKEY_HOME: h,
      SEKEY_TEST_KILL_AT: String(k),
      ...(trace === undefined ? {} : { SEKEY_TEST_TRACE: trace }),
    });
  const trace = join(tempDir(), 'trace');
  const probe = join(tempDir(), 'probe');
  cpSync(base.home, probe, { recursive: true });
  expect(child(probe, 0, trace).status).toBe(0);
  const points = readFileSync(trace, 'utf8').trim().split('\n');
  // Killed at the point after each save in turn: the first that leaves U5's images is right after
  // the new HSM's save, before the admin's images pair it.
  const saves = points.flatMap((p, i) => (p.endsWith(' save') ? [i + 1] : []));
  for (const save of saves) {
    const h = join(tempDir(), `home-${save}`);
    cpSync(base.home, h, { recursive: true });
    expect(child(h, save + 1).signal).toBe('SIGKILL');
    if (existsSync(join(h, 'users', 'U5', 'sd.img'))) {
      home = h;
      break;
    }
  }
  expect(home).toBeDefined();
  run = (...argv) => sekey(argv, { env: { ...base.env, SEKEY_HOME: home }, cwd: base.desk });
}, 120_000);

describe('a provisioning killed after the new HSM was saved, before the admin paired it', () => {
  test('the admin has no HSM for U5; its user sync says the provisioning did not finish, every time', async () => {
    expect((await run('admin', 'user-info', 'U5')).out).toMatch(/^HSM: +not provisioned$/m);
    for (let i = 0; i < 2; i++) {
      const sync = await run('user', 'U5', 'sync');
      expect(sync.code).toBe(1);
      expect(sync.out).toBe('');
      expect(sync.err).toMatch(/^sekey user U5 sync: NotProvisioned: U5.s HSM \S+ never received its first update/);
      expect(sync.err).toContain("the command that provisioned it did not finish: it stopped before the admin's HSM");
      expect(sync.err.replace(/HSM \S+, /, 'HSM S, ')).toContain(
        'what to do: The administrator runs sekey admin user-info U5: if it shows HSM S, sekey admin publish ' +
          'sends its first file; if not, sekey admin provision U5 … --yes again; then U5 syncs.',
      );
    }
    const json = JSON.parse((await run('user', 'U5', 'sync', '--json')).out);
    expect(json.error.code).toBe('NotProvisioned');
    const status = await run('user', 'U5', 'status');
    expect(status.code).toBe(0);
    expect(status.out).toMatch(/warning: U5's HSM \S+ never received its first update file/);
    // Having applied nothing, it may not have synced yet: said as both.
    expect(status.out).toMatch(/^U5 \(not in this replica: not synced yet, or deleted by the administrator\)/);
  });

  test('provisioning again asks about an HSM that never served, not one in service; with --yes it syncs', async () => {
    const again = await run(...PROVISION);
    expect(again.code).toBe(2);
    expect(again.err).toContain(
      'whose provisioning did not finish (if `sekey admin user-info U5` shows that HSM, the admin paired it',
    );
    expect(again.err).not.toContain('in service');
    expect((await run(...PROVISION, '--yes')).code).toBe(0);
    expect(JSON.parse(readFileSync(join(home, 'installation.json'), 'utf8')).unpairedHsms).toBeUndefined();
    expect(await run('user', 'U5', 'sync')).toMatchObject({ code: 0, out: 'applied #1; now at update #1' });
  });
});

test('a provisioning that finished, unpublished: nothing new for its HSM yet, and no warning', async () => {
  const done = join(tempDir(), 'done');
  cpSync(base.home, done, { recursive: true });
  const world = { env: { ...base.env, SEKEY_HOME: done }, cwd: base.desk };
  expect((await sekey([...PROVISION, '--no-publish'], world)).code).toBe(0);
  expect(JSON.parse(readFileSync(join(done, 'installation.json'), 'utf8')).unpairedHsms).toBeUndefined();
  expect(await sekey(['user', 'U5', 'sync'], world)).toMatchObject({ code: 0, out: 'nothing new (at update #0)' });
  expect((await sekey(['user', 'U5', 'status'], world)).out).not.toContain('warning');
});

test("a re-provisioning killed between the new HSM's save and its record: NotProvisioned", async () => {
  // U5 provisioned and in service; then provisioned again (--yes), killed once the new HSM is saved.
  const served = join(tempDir(), 'served');
  cpSync(base.home, served, { recursive: true });
  const world = { env: { ...base.env, SEKEY_HOME: served }, cwd: base.desk };
  expect((await sekey(PROVISION, world)).code).toBe(0);
  expect((await sekey(['user', 'U5', 'sync'], world)).code).toBe(0);
  const out = await transpileForChild(join(tempDir(), 'child-again'));
  const again = [...PROVISION, '--yes'];
  const trace = join(tempDir(), 'trace-again');
  const probe = join(tempDir(), 'probe-again');
  cpSync(served, probe, { recursive: true });
  expect(
    runChild(out, 'impl/cli/killSwitch.testkit.js', again, { ...world.env, SEKEY_HOME: probe, SEKEY_TEST_TRACE: trace })
      .status,
  ).toBe(0);
  const points = readFileSync(trace, 'utf8').trim().split('\n');
  const saves = points.flatMap((p, i) => (p.endsWith(' save') ? [i + 1] : []));
  let cut: string | undefined;
  for (const save of saves) {
    const h = join(tempDir(), `again-${save}`);
    cpSync(served, h, { recursive: true });
    const child = runChild(out, 'impl/cli/killSwitch.testkit.js', again, {
      ...world.env,
      SEKEY_HOME: h,
      SEKEY_TEST_KILL_AT: String(save + 1),
    });
    expect(child.signal).toBe('SIGKILL');
    // The first cut that leaves the new HSM's images in U5's folder (the old one's never change here).
    const flash = (home: string) => readFileSync(join(home, 'users', 'U5', 'flash.img'));
    if (!flash(h).equals(flash(served))) {
      cut = h;
      break;
    }
  }
  expect(cut).toBeDefined();
  // The state a kill leaves between the new HSM's save (its COMMIT) and installation.json's record
  // of it (a window no point of the kill switch falls in): the record still names the old HSM.
  const config = (home: string) => JSON.parse(readFileSync(join(home, 'installation.json'), 'utf8'));
  const left = config(cut as string);
  expect(left.unpairedHsms?.U5).toBeDefined();
  left.userHsms.U5 = config(served).userHsms.U5;
  expect(left.userHsms.U5).not.toBe(left.unpairedHsms.U5);
  writeFileSync(join(cut as string, 'installation.json'), JSON.stringify(left, null, 2));
  const env = { ...world.env, SEKEY_HOME: cut as string };
  const sync = await sekey(['user', 'U5', 'sync'], { env, cwd: base.desk });
  expect(sync.code).toBe(1);
  expect(sync.err).toMatch(/^sekey user U5 sync: NotProvisioned: U5.s HSM \S+ never received its first update/);
  const status = await sekey(['user', 'U5', 'status'], { env, cwd: base.desk });
  expect(status.code).toBe(0);
  expect(status.out).toMatch(/warning: U5's HSM \S+ never received its first update file/);
}, 120_000);
