import { describe, expect, test } from 'vitest';
import { DeferredTransport, ShareOperationsFailed } from './deferredTransport.ts';
import { MemoryTransport } from '../protocol/transport.ts';
import { updateStream } from '../protocol/streams.ts';
import { Publisher } from '../kms/publisher.ts';
import { newTeam } from '../kms/world.testkit.ts';

describe('DeferredTransport', () => {
  test('writes and removals reach the share only on commit, in order', async () => {
    const share = new MemoryTransport();
    await share.write('acks/U1', 'old', Uint8Array.of(1));
    const t = new DeferredTransport(share);
    await t.write('updates/U1', 'a', Uint8Array.of(2));
    await t.remove('acks/U1', 'old');
    expect(await share.list('updates/U1')).toEqual([]);
    expect(await share.read('acks/U1', 'old')).toEqual(Uint8Array.of(1));
    expect(t.pending).toBe(2);
    await t.commit();
    expect(await share.read('updates/U1', 'a')).toEqual(Uint8Array.of(2));
    expect(await share.list('acks/U1')).toEqual([]);
  });

  test('reads see the queued operations, the last on a file deciding, and the share for the rest', async () => {
    const share = new MemoryTransport();
    await share.write('s', 'b', Uint8Array.of(1));
    await share.write('s', 'd', Uint8Array.of(2));
    const t = new DeferredTransport(share);
    await t.write('s', 'c', Uint8Array.of(3));
    await t.remove('s', 'b');
    await t.write('s', 'a', Uint8Array.of(4));
    await t.remove('s', 'a');
    await t.write('s', 'a', Uint8Array.of(5));
    await t.remove('s', 'c');
    expect(await t.list('s')).toEqual(['a', 'd']);
    expect(await t.list('other')).toEqual([]);
    expect([await t.read('s', 'a'), await t.read('s', 'b'), await t.read('s', 'c'), await t.read('s', 'd')]).toEqual([
      Uint8Array.of(5),
      null,
      null,
      Uint8Array.of(2),
    ]);
    // A copy: what a reader does to it does not change what is written.
    (await t.read('s', 'a'))?.fill(0);
    await t.commit();
    expect(await share.list('s')).toEqual(['a', 'd']);
    expect(await share.read('s', 'a')).toEqual(Uint8Array.of(5));
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

  test("a publication's resync removes the file its flush queued for writing back, as on a plain share", async () => {
    const w = await newTeam();
    w.admin.activateKey(w.admin.addKey('G1', 'k'));
    await w.syncByFiles();
    const deferred = new DeferredTransport(w.transport);
    const publisher = new Publisher(w.admin, deferred);
    w.admin.renameGroup('G1', 'a');
    await publisher.publish();
    await deferred.commit();
    // Carol's file is lost from the share (a write that failed, say), and a resync of carol is asked for.
    const [lost] = await w.transport.list(updateStream('U3'));
    await w.transport.remove(updateStream('U3'), lost!);
    publisher.requestResync('U3');
    const report = await publisher.publish();
    await deferred.commit();
    const resync = report.published.find((p) => p.userId === 'U3');
    expect(resync?.kind).toBe('resync');
    expect(await w.transport.list(updateStream('U3'))).toEqual([
      `${String(resync?.sequence).padStart(12, '0')}.resync`,
    ]);
    expect((await w.users.get('U3')!.sync(w.transport)).applied).toEqual([resync?.sequence]);
    w.close();
  });
});
