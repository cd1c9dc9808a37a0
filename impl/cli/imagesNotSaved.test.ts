import { afterAll, describe, expect, test, vi } from 'vitest';
import { join } from 'node:path';
import {
  DEVICE_ADMIN_PIN,
  USER_PIN,
  manualInstallation,
  provisionedUsers,
  removeTempDirs,
  sekey,
} from './sekeyRun.testkit.ts';

// The last save of the HSM images fails (a full disk, a read-only image file) once the command's
// change is durable in a checkpoint (every database commit and PIN change is a durable point).
// Or one checkpoint fails (`failCheckpoint`: the n-th of the next command, counted from 1) while every
// other save succeeds: a disk full for a moment, or `ulimit -f` below a checkpoint's size (a checkpoint
// holds both images, so it is bigger than either final file).
const fault = vi.hoisted(() => ({ failSave: false, failCheckpoint: 0, checkpoints: 0, failSaveOf: '' }));
const enospc = () => Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
vi.mock('../host/deviceImages.ts', async (importOriginal) => {
  const real = await importOriginal<typeof import('../host/deviceImages.ts')>();
  return {
    ...real,
    saveDeviceImages: (dir: string, images: Parameters<typeof real.saveDeviceImages>[1]) => {
      if (fault.failSave || (fault.failSaveOf !== '' && dir.endsWith(fault.failSaveOf))) throw enospc();
      real.saveDeviceImages(dir, images);
    },
    saveDeviceCheckpoint: (dir: string, images: Parameters<typeof real.saveDeviceCheckpoint>[1]) => {
      fault.checkpoints += 1;
      if (fault.checkpoints === fault.failCheckpoint) throw enospc();
      real.saveDeviceCheckpoint(dir, images);
    },
  };
});

/** Runs `argv` with its `n`-th checkpoint failing. */
async function withCheckpointFailing<T>(n: number, run: () => Promise<T>): Promise<T> {
  Object.assign(fault, { failCheckpoint: n, checkpoints: 0 });
  try {
    return await run();
  } finally {
    fault.failCheckpoint = 0;
  }
}

afterAll(removeTempDirs);

test('a change in effect whose last save failed is said as done (exit 4, ImagesNotSaved), not refused', async () => {
  const { run } = await manualInstallation();
  expect((await run('admin', 'add-group', 'G1', 'team', '--max-keys', '5', '--cryptoperiod', '30d')).code).toBe(0);
  fault.failSave = true;
  const added = await run('admin', 'add-key', 'G1', 'payroll', '--no-publish');
  fault.failSave = false;
  // Before: exit 1 with the raw errno and no line, so a script ran it again and made a second key.
  expect(added.code).toBe(4);
  expect(added.err).toMatch(
    /^sekey admin add-key: ImagesNotSaved: what the command printed is done and in effect .*ENOSPC/,
  );
  // --no-publish: no file was held for the share, so none is said to be missing.
  expect(added.err).not.toContain('share');
  expect(added.out).toContain('K2000: new key of G1');
  // The next command completes the save; the key is there once.
  expect(JSON.parse((await run('admin', 'keys', '--json')).out)).toHaveLength(1);
  expect(JSON.parse((await run('admin', 'keys', '--json')).out)).toHaveLength(1);
});

test('a changed PIN whose last save failed is said as changed: the new PIN is the one in force', async () => {
  const { run, env, desk } = await manualInstallation();
  fault.failSave = true;
  const change = await run('admin', 'change-pin', '--new-pin', 'brand-new-pin-1');
  fault.failSave = false;
  // Before: exit 1, so the admin kept trying the old PIN and locked the HSM.
  expect(change.code).toBe(4);
  expect(change.err).toContain('ImagesNotSaved');
  expect(change.err).toContain('a PIN it changed is the new one');
  expect((await sekey(['admin', 'users', '--pin', 'brand-new-pin-1'], { env, cwd: desk })).code).toBe(0);
  expect((await run('admin', 'users')).err).toContain('WrongPin');
});

test('a refusal whose last save failed is still the refusal (exit 1), with its JSON error object', async () => {
  const { run, env, desk } = await manualInstallation();
  fault.failSave = true;
  // A wrong PIN spends a try (kept in a checkpoint) but changes nothing: it must not read as changed.
  const wrong = await sekey(['admin', 'change-pin', '--pin', 'not-the-pin-1', '--new-pin', 'brand-new-pin-1'], {
    env,
    cwd: desk,
  });
  const refused = await run('admin', 'add-key', 'G9', 'payroll', '--no-publish', '--json');
  fault.failSave = false;
  expect(wrong.code).toBe(1);
  expect(wrong.err).toContain('WrongPin');
  expect(wrong.err).not.toContain('ImagesNotSaved');
  expect(refused.code).toBe(1);
  expect(JSON.parse(refused.out)).toMatchObject({ error: { code: 'UnknownGroup', exit: 1 } });
  expect((await run('admin', 'users')).code).toBe(0);
});

test('with --json, a change in effect whose last save failed prints its one object', async () => {
  const { run } = await manualInstallation();
  expect((await run('admin', 'add-group', 'G1', 'team', '--max-keys', '5', '--cryptoperiod', '30d')).code).toBe(0);
  fault.failSave = true;
  const added = await run('admin', 'add-key', 'G1', 'payroll', '--no-publish', '--json');
  // A listing printed as an array keeps its shape: the exit code and standard error say it.
  const listed = await run('admin', 'keys', '--json');
  fault.failSave = false;
  expect(added.code).toBe(4);
  // The object says why it exits 4 (it said so on standard error only), its fields as ever.
  expect(JSON.parse(added.out)).toMatchObject({
    command: 'admin add-key',
    keys: { created: [{ key: expect.objectContaining({ id: 'K2000' }) }] },
    warning: { code: 'ImagesNotSaved', message: expect.stringMatching(/^what the command printed is done .*ENOSPC/) },
  });
  expect(listed.code).toBe(4);
  expect(JSON.parse(listed.out)).toHaveLength(1);
});

test('a publish whose last save failed says its files are not on the share (none went)', async () => {
  const { run } = await manualInstallation();
  await provisionedUsers(run, [['U1', 'alice']]);
  expect((await run('admin', 'add-group', 'G1', 'team', '--max-keys', '5', '--cryptoperiod', '30d')).code).toBe(0);
  expect((await run('admin', 'add-member', 'G1', 'U1')).code).toBe(0);
  fault.failSave = true;
  const added = await run('admin', 'add-key', 'G1', 'payroll');
  const asJson = await run('admin', 'add-key', 'G1', 'audit', '--json');
  fault.failSave = false;
  expect(added.code).toBe(4);
  expect(added.err).toContain('its files were not written to the share');
  // It said 'published: U1 #n (… B)'.
  expect(added.out).toMatch(/^published: nothing on the share; not on the share \(committed; .*\): U1 #\d+$/m);
  // The file before it, written again by this publish, did not go either.
  const { published } = JSON.parse(asJson.out) as {
    published: { published: { sequence: number }[]; rewritten: { sequence: number }[]; notWritten: unknown[] };
  };
  expect(published.notWritten).toEqual(
    [...published.published, ...published.rewritten].map((f) =>
      expect.objectContaining({ userId: 'U1', sequence: f.sequence }),
    ),
  );
  expect(published.rewritten).toHaveLength(1);
});

test('a listing whose last save failed does not claim a change or files', async () => {
  const { run } = await manualInstallation();
  fault.failSave = true;
  const listed = await run('admin', 'users');
  fault.failSave = false;
  expect(listed.code).toBe(4);
  expect(listed.out).toBe('(none)');
  expect(listed.err).toContain('what the command printed is done');
  expect(listed.err).not.toContain('not written to the share');
});

describe('a checkpoint that cannot be saved stops the command there, and nothing after it is saved', () => {
  test('the PIN try whose checkpoint failed is not spent: three runs do not lock the admin HSM', async () => {
    const { run } = await manualInstallation();
    for (let i = 0; i < 3; i++) {
      // The first checkpoint is the try spent before the comparison.
      const users = await withCheckpointFailing(1, () => run('admin', 'users'));
      expect(users.code).toBe(1);
      expect(users.err).toMatch(
        /^sekey admin users: CheckpointNotSaved: saving the HSM images .* at a durable point failed \(ENOSPC/,
      );
    }
    // Before: each run saved the spent try at its end; the third locked the HSM.
    const after = await run('admin', 'users', '--json');
    expect(after.code).toBe(0);
    expect(JSON.parse(after.out)).toEqual([]);
  });

  test("a commit whose generation's checkpoint failed is not made: nothing printed, one key on the rerun", async () => {
    const { run } = await manualInstallation();
    expect((await run('admin', 'add-group', 'G1', 'team', '--max-keys', '5', '--cryptoperiod', '30d')).code).toBe(0);
    // Checkpoints: the try spent, the try restored, the commit's intent, the generation it advances.
    const added = await withCheckpointFailing(4, () => run('admin', 'add-key', 'G1', 'payroll', '--no-publish'));
    expect(added.code).toBe(1);
    expect(added.out).toBe('');
    expect(added.err).toContain('CheckpointNotSaved');
    // Before: the last save put the commit on disk after all: a second key came with the rerun.
    expect(JSON.parse((await run('admin', 'keys', '--json')).out)).toEqual([]);
    expect((await run('admin', 'add-key', 'G1', 'payroll', '--no-publish')).code).toBe(0);
    expect(JSON.parse((await run('admin', 'keys', '--json')).out)).toHaveLength(1);
    expect((await run('admin', 'audit', '--verify')).code).toBe(0);
  });

  test('a step done before the failed checkpoint is printed and stands; the one after it is not made', async () => {
    const { run } = await manualInstallation();
    // add-user commits (checkpoints 3 and 4), then publishes (5: its intent fails).
    const added = await withCheckpointFailing(5, () => run('admin', 'add-user', 'U1', 'alice'));
    // Not a refusal: it did something (exit 4, as for a change not all saved), and says what.
    expect(added.code).toBe(4);
    expect(added.out).toMatch(/^added user U1 'alice'/);
    expect(added.err).toContain('CheckpointNotSaved');
    expect(added.err).toContain('do not run again a command that created something');
    const users = JSON.parse((await run('admin', 'users', '--json')).out) as Array<{ id: string }>;
    expect(users.map((u) => u.id)).toEqual(['U1']);
    // With --json the error object is the one document on standard output.
    const json = await withCheckpointFailing(4, () => run('admin', 'add-user', 'U2', 'bob', '--json'));
    expect(json.code).toBe(1);
    expect(JSON.parse(json.out)).toMatchObject({ error: { code: 'CheckpointNotSaved', exit: 1 } });
    // A step saved before the failure: the error object says exit 4 (the command printed none of its own).
    const group = ['admin', 'add-group', 'G1', 'team', '--max-keys', '5', '--cryptoperiod', '30d', '--json'];
    const key = await withCheckpointFailing(5, () => run(...group));
    expect(key.code).toBe(4);
    expect(JSON.parse(key.out)).toMatchObject({ error: { code: 'CheckpointNotSaved', exit: 4 } });
    expect(JSON.parse((await run('admin', 'groups', '--json')).out)).toHaveLength(1);
    expect((await run('admin', 'audit', '--verify')).code).toBe(0);
  });

  test('a correct PIN whose tries given back could not be checkpointed does not cost a try', async () => {
    const { run } = await manualInstallation();
    for (let i = 0; i < 4; i++) {
      // The second checkpoint: the tries given back after the comparison.
      const users = await withCheckpointFailing(2, () => run('admin', 'users'));
      expect(users.code).toBe(1);
      expect(users.err).toContain('CheckpointNotSaved');
    }
    // Before, each run left a try spent: LastPinTry after two runs, a locked HSM after three.
    expect((await run('admin', 'users')).code).toBe(0);
  });

  test('a provisioning stopped after the new HSM was saved says so; run again, it pairs', async () => {
    const { run } = await manualInstallation();
    await provisionedUsers(run, [['U1', 'alice']]);
    const provision = ['admin', 'provision', 'U1', '--user-pin', USER_PIN, '--device-admin-pin', DEVICE_ADMIN_PIN];
    // Checkpoints: the try spent, the tries given back, then the admin's held one, after the new HSM's save.
    const failed = await withCheckpointFailing(3, () => run(...provision, '--yes', '--no-publish'));
    expect(failed.code).toBe(1);
    expect(failed.err).toMatch(/U1's folder now holds the new HSM \w+, which the admin's images do not pair with U1/);
    expect((await run(...provision, '--yes')).code).toBe(0);
    expect((await run('user', 'U1', 'sync')).code).toBe(0);
  });

  test("a user's command stopped by a failed checkpoint says what to do with the user's commands", async () => {
    const { run } = await manualInstallation();
    await provisionedUsers(run, [['U1', 'alice']]);
    expect((await run('admin', 'publish')).code).toBe(0);
    // Checkpoints: the try spent, the tries given back, then the sync's first commit.
    const failed = await withCheckpointFailing(3, () => run('user', 'U1', 'sync'));
    expect(failed.err).toMatch(/^sekey user U1 sync: CheckpointNotSaved: /);
    expect(failed.err).toContain('what to do: Free space, lift the file-size limit');
    expect(failed.err).toContain('sekey user U1 status, keys');
    expect(failed.err).not.toContain('sekey admin');
    expect((await run('user', 'U1', 'sync')).code).toBe(0);
  });

  test("a new user HSM whose images could not be saved: the admin's images do not show it either", async () => {
    const { run } = await manualInstallation();
    expect((await run('admin', 'add-user', 'U1', 'alice', '--no-publish')).code).toBe(0);
    const provision = ['admin', 'provision', 'U1', '--user-pin', USER_PIN, '--device-admin-pin', DEVICE_ADMIN_PIN];
    fault.failSaveOf = join('users', 'U1');
    const failed = await run(...provision, '--no-publish');
    fault.failSaveOf = '';
    expect(failed.code).toBe(1);
    expect(failed.err).toContain('CheckpointNotSaved');
    // Before: the admin saved the provisioning anyway, for an HSM that was never saved (a retired
    // phantom, stale for good, once U1 was provisioned again).
    const info = JSON.parse((await run('admin', 'user-info', 'U1', '--json')).out) as { serial: unknown };
    expect(info.serial).toBeNull();
    expect((await run(...provision)).code).toBe(0);
    expect((await run('user', 'U1', 'sync')).code).toBe(0);
    expect((await run('admin', 'stale', '--at', '+30d')).out).toBe('no stale user');
  });
});
