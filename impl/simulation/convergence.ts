/**
 * What a publication must leave and where the deployment must end: nothing sent to a retired HSM
 * after its last file, publication records committed as they read, every committed file on the share
 * (convergence right after a publication), and, once the adversary stopped and every user synced,
 * every replica equal to the model's projection (convergence).
 * @module
 */
import type { UserId } from '../../model/kms.ts';
import { caughtUp } from '../../model/publication.ts';
import type { PublishReport } from '../kms/publisher.ts';
import type { Deployment } from './deployment.ts';
import type { DeploymentModel } from './referenceModel.ts';
import { query } from '../db/statementCache.ts';
import { updateStream } from '../protocol/streams.ts';
import { bytesEqual } from '../../device/binaryCodec.ts';
import { same, violated } from './invariantError.ts';
import { replicaView, usable } from './modelViews.ts';

/**
 * need-to-know, at a publication: the HSM of a deleted user is sent one last file, which empties it
 * (its erase orders), and nothing after it, heartbeats included: it needs nothing more, and a
 * heartbeat would only keep a retired HSM looking fresh and its stream growing. A resync the
 * administrator asked for is the one exception (the emptying state sent again, to an HSM that never
 * acknowledged it): each answers one request (`DeploymentModel.resyncAsked`), which it takes off the
 * list here. Call before the publication is recorded in the model.
 */
export function checkNothingAfterLastFile(
  m: DeploymentModel,
  published: PublishReport['published'],
  label: string,
): void {
  for (const p of published) {
    const asked = p.kind === 'resync' && m.resyncAsked.delete(p.userId);
    const last = m.published.get(p.userId);
    if (asked || last === undefined) continue;
    const point = m.pointAtSequence(p.userId, last);
    if (point === null || point.inService) continue;
    violated(
      'need-to-know',
      `${label}: ${p.userId}'s retired HSM was sent #${p.sequence} (${p.heartbeatOnly ? 'a heartbeat' : p.kind}) ` +
        `after its last file, #${last}, which emptied it`,
    );
  }
}

/**
 * model-agreement of the publication machine (`model/publication.ts`), right after a publication or
 * a collection of acknowledgements: time passes before an event reaches a user's record (`TICK` at
 * the event's time), so the state committed with a file or an acknowledgement is the one the record
 * reads as at that very time (`publicationStates`, which lets time pass first). A user pending past
 * the stale limit is stale when its next file goes out, not pending.
 */
export function checkPublicationRecords(r: Deployment, userIds: readonly UserId[], label: string): void {
  if (userIds.length === 0) return;
  const reads = new Map(r.publisher.publicationStates().map((p) => [p.userId, p.state] as const));
  const stored = new Map(
    r.admin.readDatabase((db) => query(db, 'SELECT user_id, state FROM publication') as Array<[string, string]>),
  );
  for (const userId of new Set(userIds)) {
    const [committed, read] = [stored.get(userId), reads.get(userId)];
    if (committed !== read)
      violated(
        'model-agreement',
        `${label}: ${userId}'s publication record was committed ${String(committed)} with the event, but at the ` +
          `same time reads ${String(read)}: time did not pass before the event (the machine's TICK)`,
      );
  }
}

/**
 * convergence, right after a publication: every committed file that its user has not acknowledged
 * (the admin's outbox) lies on the share byte for byte. The flush each publication starts with
 * writes back a file that is missing, damaged, cut short or lengthened; left as it is, the file
 * stalls its user (the erase orders of a deleted user's last file included) until a resync.
 */
export async function checkOutboxOnShare(r: Deployment, label: string): Promise<void> {
  const outbox = r.admin.readDatabase(
    (db) =>
      query(db, 'SELECT user_id, name, bytes FROM outbox WHERE bytes IS NOT NULL') as Array<
        [string, string, Uint8Array]
      >,
  );
  for (const [userId, name, bytes] of outbox) {
    const onShare = await r.share.read(updateStream(userId), name);
    if (onShare !== null && bytesEqual(onShare, bytes)) continue;
    violated(
      'convergence',
      `${label}: after the publication, ${userId}'s committed file ${name} ` +
        (onShare === null
          ? 'is missing from the share'
          : `differs on the share (${onShare.length} bytes there, ${bytes.length} committed)`),
    );
  }
}

/**
 * convergence, once the adversary stopped and every user synced (and was resynced if it needed it):
 * every replica equals the model's projection, its HSM holds exactly its keys, nobody is blocked,
 * every user in service is fresh, the admin sees every user as acknowledged, and the audit log verifies.
 */
export function checkConverged(m: DeploymentModel, r: Deployment): void {
  for (const userId of m.deviceIds()) {
    const slot = r.slot(userId);
    if (!usable(slot)) violated('convergence', `${userId}'s replica is not open at the end`);
    const expected = m.currentView(userId);
    same(
      'convergence',
      `${userId}'s replica once the adversary stopped (publish, sync, resync)`,
      replicaView(slot.user),
      expected,
    );
    same(
      'convergence',
      `keys in ${userId}'s HSM once the adversary stopped`,
      r.heldKeys(userId),
      expected.keys.map((k) => k.id),
    );
    if (slot.user.blocked) violated('convergence', `${userId} is still blocked after a resync`);
    // Every file carries a heartbeat, and the publication sends one to each user in service whose
    // latest file is at least the heartbeat interval old: once everyone synced, no user in service
    // may be stale. (The reference model learns publications from what the admin publishes, so a
    // publisher that stopped sending heartbeats looked right to every other check: a seeded bug.)
    // With user host clocks off the admin's, this holds as long as each is off by at most one heartbeat
    // interval, the margin the window leaves for clocks (the update format's "Freshness": a window of
    // three intervals): a file less than an interval old is at most two old by a clock ahead, and one
    // dated ahead by at most an interval counts from its arrival. The deployment suite draws no more.
    const { staleness } = slot.user.freshness();
    if (m.inService(userId) && staleness !== null) {
      violated(
        'convergence',
        `${userId}'s view is stale (${staleness.reason}) after the admin published and everyone synced`,
      );
    }
  }
  for (const p of r.publisher.publicationStates()) {
    if (!caughtUp(p.state)) {
      violated(
        'convergence',
        `the admin still sees ${p.userId} as ${p.state} ` +
          `(published ${p.published}, acknowledged ${p.acknowledged}) after everyone synced`,
      );
    }
  }
  r.admin.verifyAuditLog();
}
