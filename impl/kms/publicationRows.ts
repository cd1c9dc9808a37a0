/**
 * A user's publication state as the admin database keeps it (the `publication` table): the snapshot
 * of `model/publication.ts`'s machine (upToDate, pending, acknowledged, stale), driven through
 * xstate's pure `transition()` by publication (`PUBLISH`, `publisher.ts`) and by the collection of
 * acknowledgements (`ACK`, `acknowledgementCollector.ts`).
 * @module
 */
import { initialTransition, transition } from '../../model/pureTransition.ts';
import { persistSnapshot, restoreSnapshot } from '../../model/persistedSnapshot.ts';
import { publicationMachine } from '../../model/publication.ts';
import type { PublicationEvent, PublicationSnapshot } from '../../model/publication.ts';
import type { UserId } from '../../model/kms.ts';
import type { Database } from '../db/sqlite.ts';
import { column } from './kmsRows.ts';
import { execute } from '../db/statementCache.ts';

/** `userId`'s publication state as last committed; the machine's start before its first file. */
export function readPublication(db: Database, userId: UserId, staleAfterMs: number): PublicationSnapshot {
  const text = column(db, 'SELECT snapshot FROM publication WHERE user_id = ?', [userId])[0];
  if (text === undefined) return initialTransition(publicationMachine, { userId, staleAfterMs })[0];
  return restoreSnapshot(publicationMachine, String(text), { staleAfterMs });
}

function writePublication(db: Database, userId: UserId, snapshot: PublicationSnapshot): void {
  const c = snapshot.context;
  execute(
    db,
    `INSERT INTO publication (user_id, state, published_sequence, acknowledged_sequence, snapshot)
     VALUES (?, ?, ?, ?, ?)
     ON CONFLICT(user_id) DO UPDATE SET state = excluded.state, published_sequence = excluded.published_sequence,
       acknowledged_sequence = excluded.acknowledged_sequence, snapshot = excluded.snapshot`,
    [userId, String(snapshot.value), c.publishedSequence, c.acknowledgedSequence, persistSnapshot(snapshot)],
  );
}

/**
 * Applies a publication event through the machine; refused events change nothing. Time passes
 * first (`TICK` at the event's time): a user that became stale since the last commit is stale when
 * the publication or acknowledgement reaches it, as the machine says, although reads compute
 * staleness without committing it.
 */
export function publicationEvent(
  db: Database,
  userId: UserId,
  staleAfterMs: number,
  event: PublicationEvent,
  stored: PublicationSnapshot = readPublication(db, userId, staleAfterMs),
): boolean {
  let snapshot = stored;
  const tick = { type: 'TICK', now: event.now } as const;
  if (event.type !== 'TICK' && snapshot.can(tick)) [snapshot] = transition(publicationMachine, snapshot, tick);
  if (!snapshot.can(event)) return false;
  writePublication(db, userId, transition(publicationMachine, snapshot, event)[0]);
  return true;
}
