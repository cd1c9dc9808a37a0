/**
 * A delivery of update files under other names, in words, for the counterexamples of the
 * updateAttacks suite: `file 3 as 000000000009.update` rather than `{"count":3,"sequences":[1,8,2],…}`,
 * whose sequences count from a last applied file the reader cannot see. Display only: a
 * counterexample is replayed by its seed and path, never parsed from this text. Test support only.
 * @module
 */
import { updateFileName } from '../impl/protocol/streams.ts';

/**
 * The admin's next `count` files, the i-th (from 0) delivered under the name of sequence
 * `sequences[i]` past the last applied one, named a resync when `resync[i]`.
 */
export interface Delivery {
  readonly count: number;
  readonly sequences: readonly number[];
  readonly resync: readonly boolean[];
}

/**
 * `delivery` as the names each file lies under, after the last file the user applied (`last`; null
 * when no run got that far, and the names are then written as offsets from it).
 */
export function deliveryText(delivery: Delivery, last: number | null): string {
  const from = last === null ? 'the last file applied' : `file ${last}`;
  const lines = Array.from({ length: delivery.count }, (_, i) => {
    const offset = delivery.sequences[i] ?? 0;
    const kind = delivery.resync[i] === true ? 'resync' : 'incremental';
    const name = last === null ? `the ${kind} name of sequence last + ${offset}` : updateFileName(last + offset, kind);
    return `  file ${last === null ? `last + ${i + 1}` : last + 1 + i} as ${name}`;
  });
  return [`after ${from}, the admin's next ${delivery.count} files, each under the name given:`, ...lines].join('\n');
}

/** A sync's refused files, `name (reason)` each, or `none`: what a failed check of them prints. */
export function refusedText(refused: ReadonlyArray<{ readonly name: string; readonly reason: string }>): string {
  return refused.length === 0 ? 'none' : refused.map((r) => `${r.name} (${r.reason})`).join(', ');
}
