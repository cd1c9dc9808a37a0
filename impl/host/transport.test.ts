import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { MemoryTransport } from '../protocol/transport.ts';
import { DirectoryTransport } from './directoryTransport.ts';
import type { Transport } from '../protocol/transport.ts';

const bytes = (s: string) => new TextEncoder().encode(s);

describe.each([
  ['DirectoryTransport', () => new DirectoryTransport(mkdtempSync(join(tmpdir(), 'sekey-share-')))],
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
    for (const [stream, name] of [['../etc', 'x'], ['updates/U1', '../x'], ['updates/U1', '.hidden'], ['/abs', 'x'], ['updates/U1', 'a/b']]) {
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
