/**
 * The encrypted database suite's transactions and events in words, for counterexamples a person
 * reads: `1. insert row 0 (1 byte), interrupted: …, then the card put back` rather than
 * `{"step":{"kind":"insert","id":0,"size":1},"interrupted":true,"putBack":true}`. Display only: a
 * counterexample is replayed by its seed and path, never parsed from this text. Test support only.
 * @module
 */

/** A transaction of the suite's workload: rows of varying size, so some commits touch many pages. */
export type Step =
  | { readonly kind: 'insert'; readonly id: number; readonly size: number }
  | { readonly kind: 'update'; readonly id: number; readonly size: number }
  | { readonly kind: 'delete'; readonly id: number };

/**
 * A step of the card-image property: a commit, or one whose power is lost between its manifest
 * reaching the card and the device's counter moving, the card imaged in that window and then kept
 * (the reopen completes the commit) or put back as it was before (the attempt abandoned).
 */
export interface CommitEvent {
  readonly step: Step;
  readonly interrupted: boolean;
  readonly putBack: boolean;
}

/** One transaction: `insert row 3 (600 bytes)`, `delete row 3`. */
export function stepText(s: Step): string {
  if (s.kind === 'delete') return `delete row ${s.id}`;
  return `${s.kind} row ${s.id} (${s.size} byte${s.size === 1 ? '' : 's'})`;
}

/** Lines numbered from 1, padded to one width. */
function numbered(lines: readonly string[]): string {
  if (lines.length === 0) return '(no transaction)';
  const width = String(lines.length).length;
  return lines.map((l, i) => `${String(i + 1).padStart(width)}. ${l}`).join('\n');
}

/** Transactions, each committed alone, numbered from 1. */
export function stepsText(steps: readonly Step[]): string {
  return numbered(steps.map(stepText));
}

/**
 * The rows there after `steps`, each committed alone on an empty table: an insert or an update
 * (`INSERT OR REPLACE`) puts its row there, a delete takes it away.
 */
function rowsAfter(steps: readonly Step[]): Set<number> {
  const rows = new Set<number>();
  for (const s of steps) {
    if (s.kind === 'delete') rows.delete(s.id);
    else rows.add(s.id);
  }
  return rows;
}

/**
 * The last step of a power-cut property, after `steps`: `then update row 3 (600 bytes), its commit cut
 * at each SD write and sync in turn`, the cuts being `cuts` (and `how`, a note on them, after). A
 * delete of a row that is not there changes no page and commits nothing (`PageStore.commit`): the
 * property then has nothing to cut and cuts nothing (it checks that nothing was written, and draws
 * again), and says so, where "its commit cut at each SD write" would tell of a commit and cuts that
 * never were.
 */
export function cutStepText(steps: readonly Step[], last: Step, cuts: string, how = ''): string {
  if (last.kind === 'delete' && !rowsAfter(steps).has(last.id)) {
    const nothing = `row ${last.id} is not there: it changes nothing and commits nothing, so no commit to cut`;
    return `then ${stepText(last)} (${nothing})`;
  }
  return `then ${stepText(last)}, its commit cut at each ${cuts} in turn${how}`;
}

/**
 * The card-image property's events, numbered from 1 as its messages number them. A delete of a row
 * that is not there (never inserted, deleted already, or its insert abandoned) changes no page, and
 * a transaction that changes no page commits nothing (`PageStore.commit`): no manifest, no counter,
 * so the property has no window to cut power in, takes no image and puts no card back. Said so,
 * where "interrupted …, imaged then" would tell of a cut and an image that never were. Every other
 * step changes its row (each event writes bytes of its own number).
 */
export function eventsText(events: readonly CommitEvent[]): string {
  // The rows there before each event: those of the events that committed, as the property's plain SQLite has them.
  const rows = new Set<number>();
  return numbered(
    events.map(({ step, interrupted, putBack }) => {
      if (step.kind === 'delete' && !rows.has(step.id)) {
        const nothing = `row ${step.id} is not there: it changes nothing and commits nothing`;
        return `${stepText(step)} (${nothing}${interrupted ? ', so no commit to interrupt and no image' : ''})`;
      }
      if (!(interrupted && putBack)) {
        if (step.kind === 'delete') rows.delete(step.id);
        else rows.add(step.id);
      }
      if (!interrupted) return stepText(step);
      const then = putBack ? 'the card then put back as it was before (the attempt abandoned)' : 'the card kept';
      return `${stepText(step)}, interrupted between its manifest and the device's counter, imaged then; ${then}`;
    }),
  );
}

/**
 * A transaction of the no-space property: a step of the workload above, or `count` rows inserted (or
 * replaced) in one transaction from row `id` on: many rows at once, so that one commit grows the
 * database by many pages.
 */
export type SpaceStep =
  | Step
  | { readonly kind: 'fill'; readonly id: number; readonly count: number; readonly size: number };

/**
 * An event of the no-space property: a transaction, with the card's power cut at its `cutAtWrite`-th
 * SD write if it is not null (and the commit writes that many: a commit refused for want of space
 * writes nothing, so its cut never comes).
 */
export interface SpaceEvent {
  readonly step: SpaceStep;
  readonly cutAtWrite: number | null;
}

/** One transaction of the no-space property: `insert rows 3 to 9 (600 bytes each)`, or as {@link stepText}. */
export function spaceStepText(s: SpaceStep): string {
  if (s.kind !== 'fill') return stepText(s);
  const each = `${s.size} byte${s.size === 1 ? '' : 's'}${s.count === 1 ? '' : ' each'}`;
  const which = s.count === 1 ? `row ${s.id}` : `rows ${s.id} to ${s.id + s.count - 1}`;
  return `insert ${which} (${each}) in one transaction`;
}

/**
 * The no-space property's run: the card (`maxPages` pages, `slack` more than the new database
 * holds), then its events, numbered from 1.
 */
export function spaceEventsText(maxPages: number, slack: number, events: readonly SpaceEvent[]): string {
  const card = `on a card of ${maxPages} pages, ${slack} more than the new database with its table`;
  const lines = events.map(({ step, cutAtWrite }) =>
    cutAtWrite === null
      ? spaceStepText(step)
      : `${spaceStepText(step)}, the power cut at its SD write #${cutAtWrite} (if it writes that many)`,
  );
  return `${card}:\n${numbered(lines)}`;
}
