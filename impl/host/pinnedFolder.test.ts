import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, test, vi } from 'vitest';
import { DirectoryTransport, SHARE_MARKER, writeShareMarker } from './directoryTransport.ts';
import { inPinnedFolder } from './pinnedFolder.ts';

const made: string[] = [];
function folder(): string {
  const dir = mkdtempSync(join(tmpdir(), 'sekey-pinned-'));
  made.push(dir);
  return dir;
}
afterEach(() => {
  vi.restoreAllMocks();
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const realChdir = process.chdir.bind(process);

/**
 * Has `attack` run when the process is about to enter (`before`) or has just entered (`after`) the
 * folder named `segment`: an attacker on the share winning the race at that moment.
 */
function raceAt(segment: string, when: 'before' | 'after', attack: () => void): void {
  let done = false;
  vi.spyOn(process, 'chdir').mockImplementation((to: string) => {
    const now = !done && to === segment;
    if (now && when === 'before') attack();
    realChdir(to);
    if (now && when === 'after') attack();
    if (now) done = true;
  });
}

describe('a stream folder swapped for a link while a write enters it', () => {
  function setUp(): { root: string; outside: string; u1: string; t: DirectoryTransport } {
    const root = folder();
    const outside = folder(); // a folder of the administrator's, which the share's writers cannot write
    writeFileSync(join(outside, '000000000002.update'), 'the admin’s own file');
    const u1 = join(root, 'updates', 'U1');
    mkdirSync(u1, { recursive: true });
    return { root, outside, u1, t: new DirectoryTransport(root) };
  }
  const swap = (u1: string, outside: string) => () => {
    renameSync(u1, `${u1}.moved`);
    symlinkSync(outside, u1);
  };

  test('swapped after its check, before it is entered: refused, and nothing lands in the link’s target', async () => {
    const { outside, u1, t } = setUp();
    const cwd = process.cwd();
    raceAt('U1', 'before', swap(u1, outside));
    await expect(t.write('updates/U1', '000000000002.update', new Uint8Array([1]))).rejects.toMatchObject({
      code: 'UnsafeShare',
      message: expect.stringContaining(`${u1} was swapped for another entry while it was entered`),
      remedy: expect.stringMatching(/^Someone with write access to the share is tampering with it/),
    });
    expect(readFileSync(join(outside, '000000000002.update'), 'utf8')).toBe('the admin’s own file');
    expect(readdirSync(outside)).toEqual(['000000000002.update']);
    expect(t.skipped.map((s) => s.detail)).toEqual([`${u1} was swapped for another entry while it was entered`]);
    // Now a link for good: refused as one, by its check.
    await expect(t.write('updates/U1', '000000000003.update', new Uint8Array([1]))).rejects.toMatchObject({
      message: expect.stringMatching(/updates\/U1 in .*: \S+U1 is a symbolic link, not a directory$/),
      remedy: expect.stringMatching(/^Remove updates\/U1 from the share /),
    });
    expect(process.cwd()).toBe(cwd);
  });

  test('swapped there and back (a link when entered, a folder again when checked): refused all the same', async () => {
    const { outside, u1, t } = setUp();
    let attack = 0;
    vi.spyOn(process, 'chdir').mockImplementation((to: string) => {
      if (to === 'U1' && attack++ === 0) {
        swap(u1, outside)();
        realChdir(to);
        rmSync(u1);
        renameSync(`${u1}.moved`, u1);
        return;
      }
      realChdir(to);
    });
    await expect(t.write('updates/U1', '000000000002.update', new Uint8Array([1]))).rejects.toMatchObject({
      code: 'UnsafeShare',
    });
    expect(readdirSync(outside)).toEqual(['000000000002.update']);
    expect(lstatSync(u1).isDirectory()).toBe(true);
  });

  test('swapped once entered: the write lands in the folder entered, which the link does not reach', async () => {
    const { outside, u1, t } = setUp();
    raceAt('U1', 'after', swap(u1, outside));
    await t.write('updates/U1', '000000000002.update', new Uint8Array([7]));
    expect(readFileSync(join(outside, '000000000002.update'), 'utf8')).toBe('the admin’s own file');
    expect([...readFileSync(join(`${u1}.moved`, '000000000002.update'))]).toEqual([7]);
  });

  test('a removal from a share that is not there: nothing to remove, nothing to report', async () => {
    const t = new DirectoryTransport(join(folder(), 'no-share'));
    await t.remove('updates/U1', '000000000002.update');
    expect(t.skipped).toEqual([]);
  });

  test('a removal swapped before it enters removes nothing where the link points', async () => {
    const { outside, u1, t } = setUp();
    raceAt('U1', 'before', swap(u1, outside));
    await t.remove('updates/U1', '000000000002.update');
    expect(existsSync(join(outside, '000000000002.update'))).toBe(true);
  });
});

describe('inPinnedFolder', () => {
  test('a folder gone, or made a file, between its check and entering it: swapped', () => {
    for (const plant of [() => undefined, (path: string) => writeFileSync(path, 'now a file')]) {
      const root = folder();
      mkdirSync(join(root, 'a'));
      raceAt('a', 'before', () => {
        rmSync(join(root, 'a'), { recursive: true });
        plant(join(root, 'a'));
      });
      expect(inPinnedFolder(root, ['a'], true, () => 1)).toEqual({
        ok: false,
        refusal: { kind: 'swapped', path: join(root, 'a') },
      });
      vi.restoreAllMocks();
    }
  });

  test('a folder that cannot be entered (EIO, EACCES): the error, and the process’s folder back', async () => {
    const root = folder();
    mkdirSync(join(root, 'updates', 'U1'), { recursive: true });
    const cwd = process.cwd();
    vi.spyOn(process, 'chdir').mockImplementation((to: string) => {
      if (to === 'U1') throw Object.assign(new Error('EIO: i/o error, chdir'), { code: 'EIO' });
      realChdir(to);
    });
    expect(() => inPinnedFolder(root, ['updates', 'U1'], false, () => 1)).toThrow('EIO');
    expect(process.cwd()).toBe(cwd);
    // A removal reports it, as a read does, and goes on; a write fails with it.
    const t = new DirectoryTransport(root);
    await t.remove('updates/U1', '000000000001.update');
    expect(t.skipped.map((e) => [e.stream, e.reason, e.detail])).toEqual([['updates/U1', 'unreadable', 'EIO']]);
    await expect(t.write('updates/U1', '000000000001.update', new Uint8Array([1]))).rejects.toMatchObject({
      code: 'EIO',
    });
    expect(readdirSync(join(root, 'updates', 'U1'))).toEqual([]);
  });

  test('makes missing folders when told, and always gives the process its folder back', () => {
    const root = folder();
    const cwd = process.cwd();
    expect(inPinnedFolder(root, ['a', 'b'], false, () => 1)).toEqual({
      ok: false,
      refusal: { kind: 'missing', path: join(root, 'a') },
    });
    expect(inPinnedFolder(root, ['a', 'b'], true, () => process.cwd())).toEqual({
      ok: true,
      value: join(root, 'a', 'b'),
    });
    expect(() =>
      inPinnedFolder(root, ['a'], false, () => {
        throw new Error('the work failed');
      }),
    ).toThrow('the work failed');
    expect(process.cwd()).toBe(cwd);
    writeFileSync(join(root, 'f'), '');
    expect(inPinnedFolder(root, ['f'], true, () => 1)).toEqual({
      ok: false,
      refusal: { kind: 'notDirectory', path: join(root, 'f'), what: 'a regular file' },
    });
  });

  test('the process’s folder removed meanwhile: a write done stands, the process not left in the share', async () => {
    const root = folder();
    const gone = folder();
    const cwd = process.cwd();
    try {
      realChdir(gone);
      expect(process.cwd()).toBe(gone); // read, as the CLI reads it when it starts
      rmSync(gone, { recursive: true });
      const t = new DirectoryTransport(root);
      await t.write('updates/U1', '000000000001.update', new Uint8Array([1]));
      expect(readdirSync(join(root, 'updates', 'U1'))).toEqual(['000000000001.update']);
      expect(process.cwd().startsWith(root)).toBe(false);
      // Again, now that getcwd itself fails: the write is done all the same.
      realChdir(join(gone, '..'));
      mkdirSync(gone);
      realChdir(gone);
      rmSync(gone, { recursive: true });
      await t.write('updates/U1', '000000000002.update', new Uint8Array([2]));
      expect(readdirSync(join(root, 'updates', 'U1')).sort()).toEqual(['000000000001.update', '000000000002.update']);
      expect(process.cwd().startsWith(root)).toBe(false);
    } finally {
      realChdir(cwd);
    }
  });
});

describe('junk under a name a write needs', () => {
  test('a folder of entries is moved aside, not walked: a link inside it is never followed', async () => {
    const root = folder();
    const precious = folder();
    writeFileSync(join(precious, 'keep'), 'x');
    const stream = join(root, 'acks', 'U1');
    mkdirSync(join(stream, '000000000001.ack'), { recursive: true });
    symlinkSync(precious, join(stream, '000000000001.ack', 'inside'));
    const t = new DirectoryTransport(root);
    await t.write('acks/U1', '000000000001.ack', new Uint8Array([1]));
    expect(await t.list('acks/U1')).toEqual(['000000000001.ack']);
    expect(readdirSync(precious)).toEqual(['keep']);
    expect(readdirSync(stream).filter((n) => n.startsWith('.tmp-junk-'))).toHaveLength(1);
    // A link of that name is unlinked itself; an empty folder removed.
    symlinkSync(precious, join(stream, '000000000002.ack'));
    mkdirSync(join(stream, '000000000003.ack'));
    await t.write('acks/U1', '000000000002.ack', new Uint8Array([2]));
    await t.write('acks/U1', '000000000003.ack', new Uint8Array([3]));
    expect(readdirSync(precious)).toEqual(['keep']);
    expect(await t.list('acks/U1')).toEqual(['000000000001.ack', '000000000002.ack', '000000000003.ack']);
    expect(readdirSync(stream).filter((n) => n.startsWith('.tmp-junk-'))).toHaveLength(1);
  });

  test('the share marker over a planted folder holding a link: the link’s target is untouched', () => {
    const root = folder();
    const precious = folder();
    writeFileSync(join(precious, 'keep'), 'x');
    mkdirSync(join(root, SHARE_MARKER));
    symlinkSync(precious, join(root, SHARE_MARKER, 'inside'));
    writeShareMarker(root, 'SERIAL-A');
    expect(readFileSync(join(root, SHARE_MARKER), 'utf8')).toBe('SERIAL-A\n');
    expect(readdirSync(precious)).toEqual(['keep']);
  });
});
