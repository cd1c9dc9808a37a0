import { execFileSync, spawn } from 'node:child_process';
import type * as fs from 'node:fs';
import { lstatSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { expect, test, vi } from 'vitest';

/** Whether the attacker below is at work (only in this file's test). */
const attack = { on: false };

// The attacker, watching the stream folder (the process's folder while it writes there), renames a
// FIFO over the transport's temporary file as soon as it holds its bytes. A reopen by name would
// wait for a writer for ever, synchronously (deaf to Ctrl-C): a writer is sent after 2 s, so that a
// regression fails this test instead of hanging the suite.
vi.mock('node:fs', async (importOriginal) => {
  const real = await importOriginal<typeof fs>();
  return {
    ...real,
    writeFileSync: (...args: Parameters<typeof real.writeFileSync>) => {
      real.writeFileSync(...args);
      if (!attack.on) return;
      for (const tmp of real.readdirSync('.').filter((n) => /^\.tmp-[0-9a-f]+$/.test(n))) {
        execFileSync('mkfifo', ['planted']);
        real.renameSync('planted', tmp);
        spawn('sh', ['-c', 'sleep 2; : > "$0"', resolve(tmp)], { stdio: 'ignore' }).unref();
      }
    },
  };
});

test.skipIf(process.platform === 'win32')(
  'a FIFO renamed over the temporary file once written: the write neither waits nor reopens it',
  async () => {
    const { DirectoryTransport } = await import('./directoryTransport.ts');
    const root = mkdtempSync(join(tmpdir(), 'sekey-share-tmp-'));
    try {
      const t = new DirectoryTransport(root);
      attack.on = true;
      const start = Date.now();
      await t.write('updates/U1', '000000000001.update', new Uint8Array([1]));
      expect(Date.now() - start).toBeLessThan(1500);
      // What stands under the name is the attacker's entry (readers skip it): they could have put it
      // there after the write anyway.
      expect(lstatSync(join(root, 'updates', 'U1', '000000000001.update')).isFIFO()).toBe(true);
    } finally {
      attack.on = false;
      rmSync(root, { recursive: true, force: true });
    }
  },
);
