/**
 * A share marker that cannot be read at all (a dead network mount answers EIO or ESTALE): not
 * judged by, and reported as the share that cannot be read, never as another installation's.
 * node:fs is wrapped so that opening the marker fails as such a mount fails.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, test, vi } from 'vitest';

const failing = vi.hoisted(() => ({ code: null as string | null }));
vi.mock('node:fs', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs')>();
  const openSync = ((path: Parameters<typeof fs.openSync>[0], ...rest: unknown[]) => {
    if (failing.code !== null && String(path).endsWith('.sekey-share')) {
      throw Object.assign(new Error(`${failing.code}: open ${String(path)}`), { code: failing.code });
    }
    return (fs.openSync as (...a: unknown[]) => number)(path, ...rest);
  }) as typeof fs.openSync;
  return { ...fs, default: { ...fs, openSync }, openSync };
});

const { DirectoryTransport, readShareMarker, writeShareMarker } = await import('./directoryTransport.ts');

const roots: string[] = [];
afterEach(() => {
  failing.code = null;
  for (const root of roots.splice(0)) rmSync(root, { recursive: true, force: true });
});

test.each(['EIO', 'ESTALE', 'EACCES'])(
  'a marker whose open fails with %s is a share that cannot be read',
  async (code) => {
    const root = mkdtempSync(join(tmpdir(), 'sekey-marker-io-'));
    roots.push(root);
    mkdirSync(join(root, 'updates'));
    writeShareMarker(root, 'SERIAL-A');
    expect(readShareMarker(root)).toEqual({ kind: 'serial', serial: 'SERIAL-A' });
    failing.code = code;
    expect(() => readShareMarker(root)).toThrow(code);
    const error = await new DirectoryTransport(root, { shareOf: 'SERIAL-A' }).list('updates/U1').catch((e) => e);
    expect(error).toMatchObject({ name: 'InstallationError', code: 'ShareMissing' });
    expect((error as Error).message).toContain(`cannot be read or written (${code})`);
    expect((error as Error).message).not.toContain('another installation');
  },
);
