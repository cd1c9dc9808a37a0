/**
 * readability, forward and backward secrecy over the ledger: every user with an open replica tries
 * every message, judged against the model (a user whose HSM lacks keys for want of room as a synced
 * one that must refuse them).
 * @module
 */
import { keyUsage } from '../../model/keyLifecycle.ts';
import { keyStateOf } from '../../model/kms.ts';
import type { User } from '../kms/user.ts';
import type { Deployment, UserSlot } from './deployment.ts';
import type { DeploymentModel } from './referenceModel.ts';
import type { CheckTally } from './invariantError.ts';
import { violated } from './invariantError.ts';
import { isSynced, replicaView, usable } from './modelViews.ts';

/**
 * readability, forward and backward secrecy over the ledger: every user with an open replica tries
 * every message. A synced user decrypts iff the model says it holds the key in a state that allows
 * processing; whoever decrypts gets the plaintext that was sent; a message sent by a synced sender is
 * read only by members of its group at sending time, or by later joiners of a group sharing its
 * history. Forward secrecy: nobody who had left reads it (`removeMemberAndRekey`); backward
 * secrecy: nobody who joined (or rejoined) after it reads it, unless the group shares its history
 * (`addMemberAndRekey`). Checked after every command, so a leaver's read is caught before any later
 * rejoin could blur which rule failed. A sender that is not synced may still use a key the model
 * has retired (its replica is behind): the freshness window bounds that, and `encrypt` is checked
 * against it separately.
 */
export function checkLedger(m: DeploymentModel, r: Deployment, stats: CheckTally): void {
  const swept = m.swept();
  for (const slot of r.users.values()) {
    if (!usable(slot)) continue;
    const synced = isSynced(m, slot);
    const lacking = synced ? null : lackingForRoom(m, r, slot);
    // The key's state as the reader's host sees it, by its own clock.
    const seen = m.clockOf(slot.userId) === m.now ? swept : m.sweptFor(slot.userId);
    for (const entry of m.ledger) {
      let plain: Uint8Array | null = null;
      let code = 'ok';
      try {
        plain = r.decrypt(slot.userId, entry.message);
      } catch (error) {
        code = stats.error(error);
        r.output(error);
      }
      const label =
        `${slot.userId} decrypting message #${entry.id} ` +
        `(sent by ${entry.sender} under ${entry.keyId} of ${entry.groupId} at step ${entry.step})`;
      if (plain !== null && Buffer.compare(Buffer.from(plain), Buffer.from(entry.plaintext)) !== 0) {
        violated('readability', `${label}: got a plaintext other than the one sent`);
      }
      if (synced || lacking !== null) {
        const key = seen.keys[entry.keyId];
        // A retired device holds nothing, even once its user is added again (a re-added user gets a new
        // device by provisioning; the model's holders name users, not devices).
        const holds = m.inService(slot.userId) && key?.holders.includes(slot.userId) === true;
        const may = key !== undefined && keyUsage(keyStateOf(key)).process;
        if (holds && may && lacking?.has(entry.keyId) === true) {
          // Listed by its replica, never imported: no state it has not fully applied may be used.
          if (plain !== null || code !== 'KeyUnavailable')
            violated(
              'readability',
              `${label}: ${plain !== null ? 'succeeded' : `failed (${code})`}, but ${slot.userId}'s HSM lacks the ` +
                'key (its import owed: the key store is full), so it must be refused KeyUnavailable',
            );
          stats.count('invariantChecks', 'readability:refused, the HSM lacks the key (StoreFull)');
          continue;
        }
        if ((plain !== null) !== (holds && may)) {
          violated(
            'readability',
            `${label}: ${plain !== null ? 'succeeded' : `failed (${code})`}, but the model says the user ` +
              `${holds ? 'holds' : 'does not hold'} the key, which is ${key ? keyStateOf(key) : 'unknown'}` +
              (m.inService(slot.userId) ? '' : ' (the device is retired: its user was deleted)'),
          );
        }
        stats.count('invariantChecks', `readability:${plain !== null ? 'reads' : 'refused'}`);
      }
      if (plain === null || !entry.senderSynced) continue;
      stats.count('invariantChecks', 'forward/backward secrecy:reads checked');
      if (m.memberAt(entry.groupId, slot.userId, entry.step)) continue;
      // Not a member when it was sent. Joined (again) since: only a group sharing its history gives
      // it that message; otherwise the join should have kept it out.
      if (m.joinedAfter(entry.groupId, slot.userId, entry.step)) {
        if (m.joinedSharingAfter(entry.groupId, slot.userId, entry.step)) continue;
        violated(
          'backward-secrecy',
          `${label}: read by a user who joined ${entry.groupId} only after the message was sent, and the group ` +
            'does not share its history',
        );
      }
      if (m.everMember(entry.groupId, slot.userId, entry.step)) {
        violated(
          'forward-secrecy',
          `${label}: read by a user who had left ${entry.groupId} before the message was sent, and has not rejoined`,
        );
      }
      violated('need-to-know', `${label}: read by a user who was never a member of ${entry.groupId}`);
    }
  }
}

/**
 * The keys of the model's view now that `slot`'s HSM lacks for want of room, when its replica is at
 * that view and its key store cannot hold it all (its sync stalled: `StoreFull`); null otherwise.
 * Such a user is judged as a synced one, except that it must refuse the keys its HSM lacks.
 */
function lackingForRoom(m: DeploymentModel, r: Deployment, slot: UserSlot & { user: User }): Set<string> | null {
  const expected = m.currentView(slot.userId);
  if (expected.keys.length <= r.kmsRoom(slot.userId)) return null;
  if (JSON.stringify(replicaView(slot.user)) !== JSON.stringify(expected)) return null;
  const held = new Set(r.heldKeys(slot.userId));
  return new Set(expected.keys.map((k) => k.id).filter((k) => !held.has(k)));
}
