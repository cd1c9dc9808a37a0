/**
 * Where update files and acknowledgements travel: a set of named streams of named files. Small on
 * purpose, so that an object store (S3-style put/get/list/delete) fits it as well as a directory.
 * Files are written whole and atomically: a reader sees the old file, the new file, or no file,
 * never half of one. Nothing here is trusted: every file is authenticated by the HSMs.
 * @module
 */
/** A place where update streams live. */
export interface Transport {
  /** File names in `stream`, sorted; an unknown stream is empty. */
  list(stream: string): Promise<string[]>;
  /** A file's bytes, or null if it is gone. */
  read(stream: string, name: string): Promise<Uint8Array | null>;
  /** Writes a file atomically, replacing any file of the same name. */
  write(stream: string, name: string, bytes: Uint8Array): Promise<void>;
  /** Removes a file; no error if it is already gone. */
  remove(stream: string, name: string): Promise<void>;
  /**
   * Throws when the transport cannot be used at all (a share that is not there), before a caller
   * commits anything that must reach it (a publication). Optional: a transport that is always there
   * has nothing to check.
   */
  check?(): Promise<void>;
}

const SAFE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** Throws unless `part` is a safe single path segment (no traversal, no separators). */
export function checkSegment(kind: 'stream' | 'file', part: string): void {
  for (const segment of kind === 'stream' ? part.split('/') : [part]) {
    if (!SAFE.test(segment) || segment === '.' || segment === '..') {
      throw new RangeError(`unsafe ${kind} name '${part}'`);
    }
  }
}

/** A transport in memory: tests, simulations, and the attacker's playground in property suites. */
export class MemoryTransport implements Transport {
  readonly streams = new Map<string, Map<string, Uint8Array>>();

  #stream(stream: string): Map<string, Uint8Array> {
    checkSegment('stream', stream);
    let s = this.streams.get(stream);
    if (!s) {
      s = new Map();
      this.streams.set(stream, s);
    }
    return s;
  }

  async list(stream: string): Promise<string[]> {
    return [...this.#stream(stream).keys()].sort();
  }

  async read(stream: string, name: string): Promise<Uint8Array | null> {
    checkSegment('file', name);
    return this.#stream(stream).get(name)?.slice() ?? null;
  }

  async write(stream: string, name: string, bytes: Uint8Array): Promise<void> {
    checkSegment('file', name);
    this.#stream(stream).set(name, bytes.slice());
  }

  async remove(stream: string, name: string): Promise<void> {
    checkSegment('file', name);
    this.#stream(stream).delete(name);
  }
}
