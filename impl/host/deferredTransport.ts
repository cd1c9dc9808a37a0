/**
 * A transport whose writes and removals wait until the caller has made its own state durable.
 *
 * A command run loads device images, works, and saves them. Whatever it tells the share (an update
 * file, an acknowledgement, the removal of an acknowledged file) must not get ahead of what it
 * saved: an acknowledgement for an update the saved user image never applied, or an update file the
 * saved admin database does not know it published (the next publish would reuse its sequence and
 * fork the user's chain), would each be a lie. So the share is told only after the save. A crash in
 * between can only lose messages, never contradict a device: a lost update file or acknowledgement
 * leaves its user pending, then stale, which `sekey admin stale` shows and a resync repairs (and
 * `Publisher.flush` rewrites any committed file whose bytes the outbox still holds).
 * @module
 */
import type { Transport } from '../protocol/transport.ts';
import { messageOf } from '../../model/codedError.ts';

type Operation =
  | { readonly kind: 'write'; readonly stream: string; readonly name: string; readonly bytes: Uint8Array }
  | { readonly kind: 'remove'; readonly stream: string; readonly name: string };

/**
 * What {@link DeferredTransport.commit} throws when operations failed: the first failure's message,
 * and every operation that did not happen (`write updates/U1/000000000006.update`), so that the
 * command can say which of the files it announced did not reach the share.
 */
export class ShareOperationsFailed extends Error {
  /** The operations that failed, in the order they were tried: `write STREAM/NAME` or `remove STREAM/NAME`. */
  readonly failed: readonly string[];

  constructor(failed: readonly string[], first: unknown) {
    super(messageOf(first), { cause: first });
    this.name = 'ShareOperationsFailed';
    this.failed = failed;
  }
}

/**
 * Writes and removals are queued until {@link commit}; reads see them, as the share will once they
 * are carried out (the last operation queued on a file decides), and the share for the rest. A
 * command reads its own writes as code run on a plain transport does, which is what the tests and
 * property suites check: reading through to the share alone, a resync's clean-up, which lists the
 * stream, did not see a file the same publication's `flush` had queued for writing back, and the
 * superseded file reached the share after the resync.
 */
export class DeferredTransport implements Transport {
  readonly #inner: Transport;
  #queue: Operation[] = [];
  /**
   * The last operation queued on each file, by stream then name: what reads see. Kept beside the
   * queue, so that a read or a listing costs what its stream holds, not the whole queue (a publish
   * to a thousand users queues a thousand files, then lists streams one by one).
   */
  #last = new Map<string, Map<string, Operation>>();

  constructor(inner: Transport) {
    this.#inner = inner;
  }

  /** Operations queued so far. */
  get pending(): number {
    return this.#queue.length;
  }

  async list(stream: string): Promise<string[]> {
    const names = await this.#inner.list(stream);
    const queued = this.#last.get(stream);
    if (queued === undefined) return names;
    const present = new Set(names);
    for (const [name, op] of queued) {
      if (op.kind === 'write') present.add(name);
      else present.delete(name);
    }
    return [...present].sort();
  }

  async read(stream: string, name: string): Promise<Uint8Array | null> {
    const op = this.#last.get(stream)?.get(name);
    if (op === undefined) return this.#inner.read(stream, name);
    return op.kind === 'write' ? op.bytes.slice() : null;
  }

  #enqueue(op: Operation): void {
    this.#queue.push(op);
    let stream = this.#last.get(op.stream);
    if (stream === undefined) {
      stream = new Map();
      this.#last.set(op.stream, stream);
    }
    stream.set(op.name, op);
  }

  async check(): Promise<void> {
    await this.#inner.check?.();
  }

  async write(stream: string, name: string, bytes: Uint8Array): Promise<void> {
    this.#enqueue({ kind: 'write', stream, name, bytes: bytes.slice() });
  }

  async remove(stream: string, name: string): Promise<void> {
    this.#enqueue({ kind: 'remove', stream, name });
  }

  /**
   * Carries out the queued operations in order. One that fails does not stop the others (a junk
   * entry in one user's stream must not keep every other user's file from the share); once all
   * were tried, {@link ShareOperationsFailed} names those that failed, with the first error's message.
   */
  async commit(): Promise<void> {
    const queue = this.#queue;
    this.#queue = [];
    this.#last = new Map();
    const errors: unknown[] = [];
    const failed: string[] = [];
    for (const op of queue) {
      try {
        if (op.kind === 'write') await this.#inner.write(op.stream, op.name, op.bytes);
        else await this.#inner.remove(op.stream, op.name);
      } catch (error) {
        errors.push(error);
        failed.push(`${op.kind} ${op.stream}/${op.name}`);
      }
    }
    if (errors.length > 0) throw new ShareOperationsFailed(failed, errors[0]);
  }
}
