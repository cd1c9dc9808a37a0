import { describe, expect, test } from 'vitest';
import { DeferredTransport } from './deferredTransport.ts';
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
});
