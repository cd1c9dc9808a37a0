import { afterAll, expect, test, vi } from 'vitest';
import { manualInstallation, removeTempDirs, sekey } from './sekeyRun.testkit.ts';

// The last save of the HSM images fails (a full disk, a read-only image file) once the command's
// change is durable in a checkpoint (every database commit and PIN change is a durable point).
const fault = vi.hoisted(() => ({ failSave: false }));
vi.mock('../host/deviceImages.ts', async (importOriginal) => {
  const real = await importOriginal<typeof import('../host/deviceImages.ts')>();
  return {
    ...real,
    saveDeviceImages: (dir: string, images: Parameters<typeof real.saveDeviceImages>[1]) => {
      if (fault.failSave) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
      real.saveDeviceImages(dir, images);
    },
  };
});

afterAll(removeTempDirs);

test('a change in effect whose last save failed is said as done (exit 4, ImagesNotSaved), not refused', async () => {
  const { run } = await manualInstallation();
  expect((await run('admin', 'add-group', 'G1', 'team', '--max-keys', '5', '--cryptoperiod', '30d')).code).toBe(0);
  fault.failSave = true;
  const added = await run('admin', 'add-key', 'G1', 'payroll', '--no-publish');
  fault.failSave = false;
  // Before: exit 1 with the raw errno and no line, so a script ran it again and made a second key.
  expect(added.code).toBe(4);
  expect(added.err).toMatch(/^sekey admin add-key: ImagesNotSaved: the change is made and in effect .*ENOSPC/);
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
  expect(change.err).toContain('a changed PIN is the new one');
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
  fault.failSave = false;
  expect(added.code).toBe(4);
  expect(JSON.parse(added.out)).toMatchObject({ command: 'admin add-key' });
});
