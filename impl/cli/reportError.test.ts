import { describe, expect, test } from 'vitest';
import { KmsError } from '../../model/kmsError.ts';
import { DeviceError } from '../../device/deviceError.ts';
import { InstallationError } from '../host/installationError.ts';
import type { CliIo } from './cliIo.ts';
import { SYSTEM_REMEDIES, remedyOf } from './errorRemedy.ts';
import { reportError, situationRemedy } from './reportError.ts';

/** An io that keeps what is printed on each stream. */
function capture(): { io: CliIo; out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  const io = { out: (l: string) => void out.push(l), err: (l: string) => void err.push(l) } as unknown as CliIo;
  return { io, out, err };
}

describe('the remedy of the situation', () => {
  test("an error's own remedy is printed instead of its code's, in text and in --json", () => {
    const { io, out, err } = capture();
    const error = new KmsError('UnknownUser', 'no user U99', 'Check the ID: `sekey admin users` lists the users.');
    expect(reportError('sekey admin reset-user-pin', error, io, { json: true })).toBe(1);
    expect(err).toEqual([
      'sekey admin reset-user-pin: UnknownUser: no user U99',
      '  what to do: Check the ID: sekey admin users lists the users.',
    ]);
    expect(JSON.parse(out.join('\n'))).toEqual({
      error: {
        code: 'UnknownUser',
        message: 'no user U99',
        exit: 1,
        remedy: 'Check the ID: sekey admin users lists the users.',
      },
    });
  });

  test("without one, the code's general remedy of the catalogue is printed", () => {
    const { io, err } = capture();
    const error = new InstallationError('Busy', 'could not lock /x');
    expect(error.remedy).toBeUndefined();
    expect(reportError('sekey admin users', error, io)).toBe(1);
    expect(err[1]).toBe(`  what to do: ${remedyOf('InstallationError', 'Busy')}`);
  });

  test("a file-system error gets its code's line (ENOSPC, EROFS …), in text and in --json; an unknown one none", () => {
    const { io, out, err } = capture();
    const full = Object.assign(new Error("ENOSPC: no space left on device, write '/h/.lock'"), {
      code: 'ENOSPC',
      syscall: 'write',
      path: '/h/.lock',
    });
    expect(reportError('sekey admin status', full, io, { json: true })).toBe(1);
    expect(err).toEqual([
      "sekey admin status: ENOSPC: no space left on device, write '/h/.lock'",
      `  what to do: ${SYSTEM_REMEDIES['ENOSPC']}`,
    ]);
    expect(JSON.parse(out.join('\n'))).toMatchObject({ error: { code: 'ENOSPC', remedy: SYSTEM_REMEDIES['ENOSPC'] } });
    // A decrypt's OUT on a read-only mount: what to do is about that path, not only about a home.
    const readOnly = capture();
    const decrypted = Object.assign(new Error("EROFS: read-only file system, open '/mnt/ro/out.txt'"), {
      code: 'EROFS',
      syscall: 'open',
      path: '/mnt/ro/out.txt',
    });
    expect(reportError('sekey user U2 decrypt', decrypted, readOnly.io)).toBe(1);
    expect(readOnly.err[1]).toBe(
      '  what to do: The file system that holds the path named is mounted read-only: remount it writable, or ' +
        'give a path on another one (for the installation, another --home).',
    );
    const odd = capture();
    reportError(
      'sekey admin status',
      Object.assign(new Error('EXDEV: cross-device link'), { code: 'EXDEV', syscall: 'link' }),
      odd.io,
    );
    expect(odd.err).toHaveLength(1);
    // Not a system call's: a code of ours that no catalogue lists gets no system line either.
    const ours = capture();
    reportError('sekey admin status', Object.assign(new Error('gone'), { code: 'ENOENT' }), ours.io);
    expect(ours.err).toHaveLength(1);
  });

  test('a DeviceError carries one too, its message still printed once without the code', () => {
    const { io, err } = capture();
    const error = new DeviceError('WrongPin', 'wrong admin PIN, 2 tries left', 'Check the admin PIN.');
    expect(reportError('sekey admin users', error, io)).toBe(1);
    expect(err).toEqual([
      'sekey admin users: WrongPin: wrong admin PIN, 2 tries left',
      '  what to do: Check the admin PIN.',
    ]);
  });

  test('a blank or non-string remedy is none; any Error may carry one', () => {
    expect(situationRemedy(new KmsError('UnknownUser', 'no user U9', '  '))).toBeNull();
    expect(situationRemedy(Object.assign(new Error('x'), { remedy: 7 }))).toBeNull();
    expect(situationRemedy('remedy')).toBeNull();
    expect(situationRemedy(Object.assign(new Error('x'), { code: 'ENOENT', remedy: 'Create `d`.' }))).toBe('Create d.');
  });

  test('an error made without a remedy has no remedy property (equal to one made before remedies)', () => {
    expect(Object.keys(new KmsError('UnknownUser', 'no user U9'))).not.toContain('remedy');
  });
});
