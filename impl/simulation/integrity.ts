/**
 * integrity: every open replica holds a state the administrator published to it, never goes back on
 * the same HSM, and applied a file the system wrote; the admin never counts an acknowledgement beyond
 * what a device applied; and what an attack must not change on a device.
 * @module
 */
import type { UserId } from '../../model/kms.ts';
import type { AheadDevice } from '../kms/acknowledgementCollector.ts';
import type { Deployment } from './deployment.ts';
import { openUser } from './deployment.ts';
import type { DeploymentModel } from './referenceModel.ts';
import { query } from '../db/statementCache.ts';
import { same, violated } from './invariantError.ts';
import { replicaView, usable } from './modelViews.ts';
import { roomForUpdate } from './heldKeys.ts';

/**
 * What an `integrity` violation says of HSMs a collection found ahead of the admin's database
 * (`AcknowledgementCollector.collectAcknowledgements`): where no admin HSM is ever restored from a backup, each is
 * a healthy device taken for one that applied files the database lost.
 */
export function aheadAlarm(ahead: readonly AheadDevice[]): string {
  const each = ahead.map((a) => `${a.userId} (acknowledged #${a.acknowledged}, published #${a.published})`);
  return `the admin found HSMs ahead of its database, whose HSM was never restored: ${each.join(', ')}`;
}

/**
 * integrity: every open replica holds a state the administrator published to it (a prefix of its
 * published history) and never goes back to an earlier one on the same HSM, the last file it applied
 * is byte for byte one the system wrote (an authentic file with bytes appended, say, is not: its
 * header and seal alone must not carry it), and the admin never counts an acknowledgement beyond
 * what a device applied.
 */
export function checkIntegrity(m: DeploymentModel, r: Deployment): void {
  let written: Set<string> | null = null;
  for (const slot of r.users.values()) {
    if (!usable(slot)) continue;
    const fileHash = slot.user.appliedFileHash;
    if (fileHash !== '') {
      written ??= new Set(r.genuine.values());
      if (!written.has(fileHash))
        violated(
          'integrity',
          `${slot.userId}'s replica applied update ${slot.user.appliedSequence} from a file the system never wrote ` +
            `(SHA-256 ${fileHash.slice(0, 16)}…, the hash of no file it wrote to the share)`,
        );
    }
    const sequence = slot.user.appliedSequence;
    m.maxApplied.set(slot.userId, Math.max(m.maxApplied.get(slot.userId) ?? 0, sequence));
    // Never back: an old authentic file (a resync above all, which replaces the whole replica) applied
    // over a newer one leaves a state the administrator did publish, so the prefix check below passes.
    const device = m.deviceKey(slot.userId);
    const highest = m.appliedByDevice.get(device) ?? 0;
    // When it applied that file, by its host's clock, if no sync noted it yet: freshness counts from it.
    m.noteApplied(slot.userId, sequence);
    if (sequence < highest)
      violated(
        'integrity',
        `${slot.userId}'s replica went back from update ${highest} to ${sequence} on the same HSM: an older file ` +
          'applied over a newer one (a rollback)',
      );
    m.appliedByDevice.set(device, Math.max(highest, sequence));
    const expected = m.viewAtSequence(slot.userId, sequence);
    if (expected === null)
      violated(
        'integrity',
        `${slot.userId}'s replica applied sequence ${sequence}, which the administrator never published to this ` +
          'device (to none, or to an earlier HSM of the same user ID)',
      );
    same(
      'integrity',
      `${slot.userId}'s replica at sequence ${sequence} is not what the administrator published`,
      replicaView(slot.user),
      expected,
    );
  }
  const acks = r.admin.readDatabase(
    (db) => query(db, 'SELECT user_id, acknowledged_sequence FROM publication') as Array<[string, number]>,
  );
  for (const [userId, acknowledged] of acks) {
    const applied = m.maxApplied.get(userId) ?? 0;
    if (Number(acknowledged) > applied) {
      violated(
        'integrity',
        `the admin counts ${userId} as acknowledging ${acknowledged}, but its devices applied only up to ${applied}`,
      );
    }
    // Applied is not done: an acknowledgement says the HSM carried out the file's work too, which an
    // HSM without room for that update's keys cannot have (its sync stalled there, StoreFull).
    if (r.users.has(userId) && !roomForUpdate(m, r, userId, Number(acknowledged))) {
      const listed = m.viewAtSequence(userId, Number(acknowledged))?.keys.length;
      violated(
        'integrity',
        `the admin counts ${userId} as acknowledging update ${acknowledged}, whose HSM work ${userId}'s HSM ` +
          `cannot have carried out: the update lists ${listed} keys, ` +
          `its key store has room for ${r.kmsRoom(userId)} (StoreFull: the work is owed, the file not done)`,
      );
    }
  }
}

/** A user's device as one string (replica, HSM keys, applied sequence): what an attack must not change. */
export function deviceState(r: Deployment, userId: UserId): string {
  const slot = r.slot(userId);
  const user = openUser(slot);
  return JSON.stringify({ view: replicaView(user), held: r.heldKeys(userId), sequence: user.appliedSequence });
}
