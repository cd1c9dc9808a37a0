import { describe, expect, test } from 'vitest';
import { DeferredTransport, ShareOperationsFailed } from './deferredTransport.ts';
import { MemoryTransport } from '../protocol/transport.ts';

describe('DeferredTransport', () => {
  test('writes and removals reach the share only on commit, in order', async () => {
    const share = new MemoryTransport();
    await share.write('acks/U1', 'old', Uint8Array.of(1));
    const t = new DeferredTransport(share);
    await t.write('updates/U1', 'a', Uint8Array.of(2));
    await t.remove('acks/U1', 'old');
    expect(await share.list('updates/U1')).toEqual([]);
    expect(await t.read('acks/U1', 'old')).toEqual(Uint8Array.of(1));
    expect(t.pending).toBe(2);
    await t.commit();
    expect(await share.read('updates/U1', 'a')).toEqual(Uint8Array.of(2));
    expect(await share.list('acks/U1')).toEqual([]);
  });

  test('one failing operation does not keep the others from the share; every failure is named after', async () => {
    const share = new MemoryTransport();
    const failing = {
      ...share,
      list: share.list.bind(share),
      read: share.read.bind(share),
      remove: share.remove.bind(share),
      write: async (stream: string, name: string, bytes: Uint8Array) => {
        if (stream === 'updates/U1') throw new Error('junk in the way');
        await share.write(stream, name, bytes);
      },
    };
    const t = new DeferredTransport(failing);
    await t.write('updates/U1', 'a', Uint8Array.of(1));
    await t.write('updates/U2', 'b', Uint8Array.of(2));
    await t.write('updates/U1', 'c', Uint8Array.of(3));
    const error = await t.commit().then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ShareOperationsFailed);
    expect((error as ShareOperationsFailed).message).toBe('junk in the way');
    expect((error as ShareOperationsFailed).failed).toEqual(['write updates/U1/a', 'write updates/U1/c']);
    expect(await share.read('updates/U2', 'b')).toEqual(Uint8Array.of(2));
    expect(t.pending).toBe(0);
  });
});
