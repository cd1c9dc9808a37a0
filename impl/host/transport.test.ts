import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:net';
import { spawnSync } from 'node:child_process';
import { afterEach, describe, expect, test } from 'vitest';
import { MemoryTransport } from '../protocol/transport.ts';
import { DirectoryTransport, SHARE_MARKER, writeShareMarker } from './directoryTransport.ts';
import type { SkippedShareEntry } from './directoryTransport.ts';
import { killSafetyNets, plantFifo, plantHostileEntries } from './hostileShare.testkit.ts';
import type { Transport } from '../protocol/transport.ts';

const bytes = (s: string) => new TextEncoder().encode(s);

describe.each([
  ['DirectoryTransport', () => new DirectoryTransport(mkdtempSync(join(tmpdir(), 'sekey-share-')))],
  // A simulation's share: the same files and refusals, only not flushed.
  [
    'DirectoryTransport (not durable)',
    () => new DirectoryTransport(mkdtempSync(join(tmpdir(), 'sekey-share-')), { durable: false }),
  ],
  ['MemoryTransport', () => new MemoryTransport()],
] as Array<[string, () => Transport]>)('%s', (_name, make) => {
  test('writes, lists sorted, reads, replaces and removes', async () => {
    const t = make();
    expect(await t.list('updates/U1')).toEqual([]);
    expect(await t.read('updates/U1', 'a')).toBeNull();
    await t.write('updates/U1', '000000000002.update', bytes('two'));
    await t.write('updates/U1', '000000000001.update', bytes('one'));
    await t.write('updates/U1', '000000000001.update', bytes('uno'));
    expect(await t.list('updates/U1')).toEqual(['000000000001.update', '000000000002.update']);
    expect(new TextDecoder().decode((await t.read('updates/U1', '000000000001.update')) as Uint8Array)).toBe('uno');
    await t.remove('updates/U1', '000000000001.update');
    await t.remove('updates/U1', '000000000001.update');
    expect(await t.list('updates/U1')).toEqual(['000000000002.update']);
  });

  test('refuses names that would leave the stream', async () => {
    const t = make();
    for (const [stream, name] of [
      ['../etc', 'x'],
      ['updates/U1', '../x'],
      ['updates/U1', '.hidden'],
      ['/abs', 'x'],
      ['updates/U1', 'a/b'],
    ]) {
      await expect(t.write(stream as string, name as string, bytes('x'))).rejects.toThrow(/unsafe/);
    }
  });
});

test('a directory write leaves no temporary file, and readers skip foreign temporaries', async () => {
  const root = mkdtempSync(join(tmpdir(), 'sekey-share-'));
  const t = new DirectoryTransport(root);
  await t.write('acks/U1', '000000000001.ack', bytes('ack'));
  expect(readdirSync(join(root, 'acks', 'U1'))).toEqual(['000000000001.ack']);
  writeFileSync(join(root, 'acks', 'U1', '.tmp-crashed'), 'half');
  expect(await t.list('acks/U1')).toEqual(['000000000001.ack']);
});

test('the share of an installation: a missing root, an empty folder or another share is ShareMissing', async () => {
  const root = join(mkdtempSync(join(tmpdir(), 'sekey-share-')), 'mount');
  const strict = () => new DirectoryTransport(root, { shareOf: 'SERIAL-A' });
  const missing = (why: RegExp) =>
    expect.objectContaining({ code: 'ShareMissing', message: expect.stringMatching(why) });
  for (const op of [
    (t: DirectoryTransport) => t.list('updates/U1'),
    (t: DirectoryTransport) => t.read('updates/U1', '000000000001.upd'),
    (t: DirectoryTransport) => t.write('acks/U1', '000000000001.ack', bytes('ack')),
    (t: DirectoryTransport) => t.remove('acks/U1', '000000000001.ack'),
  ])
    await expect(op(strict())).rejects.toThrow(missing(/is not there/));
  expect(existsSync(root)).toBe(false);
  // A file where the share should be is no share either.
  writeFileSync(root, 'not a folder');
  await expect(strict().list('updates/U1')).rejects.toThrow(missing(/is not a folder/));
  rmSync(root);
  // An empty folder: a mount point with nothing mounted on it. Nothing is written there.
  mkdirSync(root);
  await expect(strict().write('acks/U1', '000000000001.ack', bytes('ack'))).rejects.toThrow(missing(/not mounted/));
  expect(readdirSync(root)).toEqual([]);
  // Another installation's share.
  writeShareMarker(root, 'SERIAL-B');
  await expect(strict().list('updates/U1')).rejects.toThrow(missing(/another installation .*SERIAL-B/));
  // Its own share: an ordinary one, whose missing streams read as empty and are made on write.
  writeShareMarker(root, 'SERIAL-A');
  const t = strict();
  expect(await t.list('updates/U1')).toEqual([]);
  await t.write('acks/U1', '000000000001.ack', bytes('ack'));
  expect(await t.list('acks/U1')).toEqual(['000000000001.ack']);
  // A share made before markers (it holds acks/) is given one.
  rmSync(join(root, SHARE_MARKER));
  expect(await strict().list('acks/U1')).toEqual(['000000000001.ack']);
  expect(readFileSync(join(root, SHARE_MARKER), 'utf8')).toBe('SERIAL-A\n');
  // Without the option, a missing root reads as empty (a transport made before its folder).
  expect(await new DirectoryTransport(join(root, 'elsewhere')).list('updates/U1')).toEqual([]);
});

test('a planted share marker (a FIFO, a folder, a link, a huge file) never blocks nor fails raw', async () => {
  for (const plant of ['fifo', 'folder', 'link', 'huge', 'empty', 'socket'] as const) {
    const root = mkdtempSync(join(tmpdir(), 'sekey-marker-'));
    mkdirSync(join(root, 'updates'));
    const marker = join(root, SHARE_MARKER);
    const server = createServer();
    if (plant === 'socket') await new Promise<void>((done) => server.listen(marker, done));
    if (plant === 'fifo') plantFifo(marker, 3_000);
    if (plant === 'folder') mkdirSync(marker);
    if (plant === 'link') symlinkSync('/dev/zero', marker);
    if (plant === 'huge') writeFileSync(marker, 'A'.repeat(100_000));
    if (plant === 'empty') writeFileSync(marker, '');
    const started = Date.now();
    const error = await new DirectoryTransport(root, { shareOf: 'SERIAL-A' }).list('updates/U1').catch((e) => e);
    expect(Date.now() - started, plant).toBeLessThan(1_000);
    expect(error, plant).toMatchObject({ name: 'InstallationError', code: 'ShareMissing' });
    // Named for what it is: junk under the marker's name, not another installation's serial.
    expect((error as Error).message, plant).toContain(`holds a ${SHARE_MARKER} that is no marker`);
    expect((error as Error).message, plant).not.toContain('another installation');
    if (plant === 'socket') {
      expect((error as Error).message).toContain('a socket or a device');
      await new Promise((done) => server.close(done));
    }
    killSafetyNets();
    rmSync(root, { recursive: true, force: true });
  }
});

test('a marker is written over junk planted under its name (a folder)', () => {
  const root = mkdtempSync(join(tmpdir(), 'sekey-marker-'));
  mkdirSync(join(root, SHARE_MARKER, 'inside'), { recursive: true });
  writeShareMarker(root, 'SERIAL-A');
  expect(readFileSync(join(root, SHARE_MARKER), 'utf8')).toBe('SERIAL-A\n');
  rmSync(root, { recursive: true, force: true });
});

test.skipIf(process.platform === 'win32')(
  'a share root that cannot be read is ShareMissing, not a raw errno',
  async () => {
    // A link to itself: stat fails with ELOOP, as a dead network mount fails with EIO or ESTALE.
    const root = join(mkdtempSync(join(tmpdir(), 'sekey-share-')), 'mount');
    symlinkSync(root, root);
    const error = await new DirectoryTransport(root, { shareOf: 'SERIAL-A' }).list('updates/U1').catch((e) => e);
    expect(error).toMatchObject({
      code: 'ShareMissing',
      message: expect.stringContaining('cannot be read or written (ELOOP)'),
    });
  },
);

/** Whether `chattr +i` works here (root on ext4 and the like): an immutable folder refuses even root's writes. */
const canMakeImmutable = (() => {
  if (process.platform !== 'linux') return false;
  const dir = mkdtempSync(join(tmpdir(), 'sekey-chattr-'));
  const made = spawnSync('chattr', ['+i', dir]).status === 0;
  let refused = false;
  if (made) {
    try {
      writeFileSync(join(dir, 'probe'), '');
    } catch {
      refused = true;
    }
    spawnSync('chattr', ['-i', dir]);
  }
  rmSync(dir, { recursive: true, force: true });
  return refused;
})();

test.skipIf(!canMakeImmutable)(
  'a share made before markers that cannot take its marker is ShareMissing, not a raw errno',
  async () => {
    const root = mkdtempSync(join(tmpdir(), 'sekey-share-'));
    mkdirSync(join(root, 'acks'));
    spawnSync('chattr', ['+i', root]);
    try {
      const error = await new DirectoryTransport(root, { shareOf: 'SERIAL-A' }).list('acks/U1').catch((e) => e);
      expect(error).toMatchObject({
        code: 'ShareMissing',
        message: expect.stringMatching(/cannot be read or written \(E/),
      });
    } finally {
      spawnSync('chattr', ['-i', root]);
      rmSync(root, { recursive: true, force: true });
    }
  },
);

describe('DirectoryTransport on a hostile share', () => {
  const roots: string[] = [];
  afterEach(() => {
    killSafetyNets();
    for (const dir of roots.splice(0)) rmSync(dir, { recursive: true, force: true });
  });
  function share(): string {
    const root = mkdtempSync(join(tmpdir(), 'sekey-hostile-'));
    roots.push(root);
    return root;
  }

  test.each(['updates/U1', 'acks/U1'])(
    'in %s: FIFOs, directories, links, odd names and oversize files are skipped and reported, never read',
    async (stream) => {
      const root = share();
      const next = stream.startsWith('acks') ? '000000000004.ack' : '000000000004.update';
      const skipped: SkippedShareEntry[] = [];
      const t = new DirectoryTransport(root, { onSkip: (e) => skipped.push(e) });
      await t.write(stream, '000000000003.update', bytes('real'));
      const planted = plantHostileEntries(join(root, ...stream.split('/')), next, join(root, 'big-outside-the-stream'));
      expect(await t.list(stream)).toEqual(['000000000003.update']);
      expect(skipped.map((e) => [e.name, e.reason]).sort()).toEqual(
        planted.names.map((e) => [e.name, e.reason]).sort(),
      );
      expect(skipped.every((e) => e.stream === stream)).toBe(true);
      // Read directly by name (as a caller that guessed it would): null, never a hang or a throw.
      for (const { name } of planted.names.filter((e) => /^[0-9]/.test(e.name)))
        expect(await t.read(stream, name), name).toBeNull();
      expect(new TextDecoder().decode((await t.read(stream, '000000000003.update')) as Uint8Array)).toBe('real');
      expect(await t.read(stream, '000000000009.update')).toBeNull(); // gone: not reported
      // Each entry is reported once per transport, however often it is met.
      await t.list(stream);
      expect(t.skipped).toHaveLength(planted.names.length);
      // The administrator can still write over a junk entry that took the name it needs.
      await t.write(stream, next, bytes('authentic'));
      expect(new TextDecoder().decode((await t.read(stream, next)) as Uint8Array)).toBe('authentic');
      // Removing never touches what is not a regular file.
      await t.remove(stream, `1${next.slice(1)}`);
      expect(lstatSync(join(root, ...stream.split('/'), `1${next.slice(1)}`)).isDirectory()).toBe(true);
    },
  );

  test('reads at most the cap: a file over it is skipped whether listed or read by name', async () => {
    const root = share();
    const skipped: SkippedShareEntry[] = [];
    const t = new DirectoryTransport(root, { maxFileBytes: 10, onSkip: (e) => skipped.push(e) });
    await t.write('updates/U1', 'a', bytes('0123456789'));
    await t.write('updates/U1', 'b', bytes('0123456789X'));
    expect(await t.list('updates/U1')).toEqual(['a']);
    expect(await t.read('updates/U1', 'a')).toHaveLength(10);
    expect(await t.read('updates/U1', 'b')).toBeNull();
    expect(skipped.map((e) => [e.name, e.reason])).toEqual([['b', 'tooLarge']]);
  });

  test(
    'a stream folder that is a link, a file or a FIFO reads as empty and is reported; writes into it are ' + 'refused',
    async () => {
      const root = share();
      const outside = share();
      writeFileSync(join(outside, '000000000001.update'), 'elsewhere');
      const skipped: SkippedShareEntry[] = [];
      const t = new DirectoryTransport(root, { onSkip: (e) => skipped.push(e) });
      mkdirSync(join(root, 'updates'));
      symlinkSync(outside, join(root, 'updates', 'U1'));
      writeFileSync(join(root, 'updates', 'U2'), 'a file');
      plantFifo(join(root, 'updates', 'U3'));
      for (const u of ['U1', 'U2', 'U3']) {
        expect(await t.list(`updates/${u}`)).toEqual([]);
        expect(await t.read(`updates/${u}`, '000000000001.update')).toBeNull();
        await t.remove(`updates/${u}`, '000000000001.update');
        await expect(t.write(`updates/${u}`, '000000000002.update', bytes('x'))).rejects.toMatchObject({
          code: 'UnsafeShare',
          remedy: expect.stringMatching(
            new RegExp(`^Remove updates/${u} from the share .* then run the command again\\.$`),
          ),
        });
      }
      expect(skipped.map((e) => [e.stream, e.name, e.reason])).toEqual([
        ['updates/U1', '', 'notRegularFile'],
        ['updates/U2', '', 'notRegularFile'],
        ['updates/U3', '', 'notRegularFile'],
      ]);
      expect(readdirSync(outside)).toEqual(['000000000001.update']);
    },
  );

  test('a socket is skipped when listed, and unreadable when read by name', async () => {
    const root = share();
    const skipped: SkippedShareEntry[] = [];
    const t = new DirectoryTransport(root, { onSkip: (e) => skipped.push(e) });
    await t.write('acks/U1', '000000000001.ack', bytes('a'));
    const server = createServer();
    await new Promise<void>((done) => server.listen(join(root, 'acks', 'U1', '000000000002.ack'), done));
    try {
      expect(await t.list('acks/U1')).toEqual(['000000000001.ack']);
      expect(await t.read('acks/U1', '000000000002.ack')).toBeNull();
      expect(skipped.map((e) => [e.name, e.reason, e.detail])).toEqual([
        ['000000000002.ack', 'notRegularFile', 'a socket'],
      ]);
      const fresh: SkippedShareEntry[] = [];
      expect(
        await new DirectoryTransport(root, { onSkip: (e) => fresh.push(e) }).read('acks/U1', '000000000002.ack'),
      ).toBeNull();
      expect(fresh.map((e) => [e.reason, e.detail])).toEqual([['unreadable', 'ENXIO']]);
    } finally {
      server.close();
    }
  });

  test.skipIf(process.getuid?.() === 0)(
    'an unreadable stream or file is reported, not thrown (not as root: root reads everything)',
    async () => {
      const root = share();
      const skipped: SkippedShareEntry[] = [];
      const t = new DirectoryTransport(root, { onSkip: (e) => skipped.push(e) });
      await t.write('acks/U1', '000000000001.ack', bytes('a'));
      await t.write('acks/U2', '000000000001.ack', bytes('b'));
      chmodSync(join(root, 'acks', 'U1', '000000000001.ack'), 0o000);
      chmodSync(join(root, 'acks', 'U2'), 0o000);
      try {
        expect(await t.read('acks/U1', '000000000001.ack')).toBeNull();
        expect(await t.list('acks/U2')).toEqual([]);
        expect(skipped.map((e) => [e.stream, e.name, e.reason, e.detail])).toEqual([
          ['acks/U1', '000000000001.ack', 'unreadable', 'EACCES'],
          ['acks/U2', '', 'unreadable', 'EACCES'],
        ]);
      } finally {
        chmodSync(join(root, 'acks', 'U2'), 0o700);
      }
    },
  );
});
