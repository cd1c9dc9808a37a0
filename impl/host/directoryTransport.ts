/**
 * The directory transport: update streams as folders of a network share or a synced cloud folder.
 * @module
 */
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync, fsyncSync, openSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { checkSegment } from '../protocol/transport.ts';
import type { Transport } from '../protocol/transport.ts';

/**
 * The default transport: a directory, for a network share or a synced cloud folder. A write goes to
 * a temporary file in the same directory, is flushed, then renamed over the target (rename is atomic
 * on POSIX file systems and on SMB/NFS within one directory); readers skip temporary files.
 */
export class DirectoryTransport implements Transport {
  readonly root: string;

  constructor(root: string) {
    this.root = root;
  }

  #dir(stream: string): string {
    checkSegment('stream', stream);
    return join(this.root, ...stream.split('/'));
  }

  async list(stream: string): Promise<string[]> {
    try {
      return readdirSync(this.#dir(stream))
        .filter((n) => !n.startsWith('.tmp-'))
        .sort();
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
  }

  async read(stream: string, name: string): Promise<Uint8Array | null> {
    checkSegment('file', name);
    try {
      return new Uint8Array(readFileSync(join(this.#dir(stream), name)));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
  }

  async write(stream: string, name: string, bytes: Uint8Array): Promise<void> {
    checkSegment('file', name);
    const dir = this.#dir(stream);
    mkdirSync(dir, { recursive: true });
    const tmp = join(dir, `.tmp-${randomBytes(6).toString('hex')}`);
    writeFileSync(tmp, bytes);
    const fd = openSync(tmp, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, join(dir, name));
  }

  async remove(stream: string, name: string): Promise<void> {
    checkSegment('file', name);
    rmSync(join(this.#dir(stream), name), { force: true });
  }
}
