/**
 * An SEkey user: its HSM (user-level session) and the partial replica of the metadata on that HSM's
 * SD card. A user changes nothing in the KMS: it reads its views, picks keys, encrypts and decrypts,
 * and applies what the administrator sends (that side, the sync, is {@link UserSync}: `userSync.ts`).
 *
 * Key usage follows the model's usage table (`keyUsage` / `keyUsageAt`, NIST SP 800-57 Pt 1 §7):
 * encrypt only under an active key inside its cryptoperiod; decrypt under active, suspended or
 * deactivated keys; a compromised key only re-protects, inside the HSM; a destroyed key is gone.
 *
 * Freshness: encryption also needs a recent word from the administrator. Every update file carries
 * a sealed heartbeat (when it was issued, and the installation's freshness window); the latest
 * applied one is kept in the update state ({@link UserSync.freshness}), and {@link User.encrypt}
 * refuses with `NotFresh` once it is older than its window (`stalenessAt` of `model/updateProcessing.ts`):
 * files withheld from the share — a rekey after a member left — no longer let the user encrypt under
 * keys the removed member still holds. Decrypting stays possible, and so does re-protecting data under a compromised
 * key (the rescue path); re-protecting from any other key is refused `NotFresh`, as encrypting is.
 * @module
 */
import type { SdCard } from '../../device/sdcard.ts';
import type { SecubeDevice } from '../../device/secube.ts';
import { isDeviceError } from '../../device/deviceError.ts';
import { UPDATE_SEQUENCE_COUNTER } from '../../device/acknowledgement.ts';
import { keyUsage } from '../../model/keyLifecycle.ts';
import type { FreshnessStatement, RefusalReason, Staleness } from '../../model/updateProcessing.ts';
import type { Transport } from '../protocol/transport.ts';
import { KmsError } from '../../model/kms.ts';
import type { GroupId, KeyId, UserId, UserRecord } from '../../model/kms.ts';
import type { GroupView, KeyView } from '../../model/projection.ts';
import { keyAsOf } from './rules/expiry.ts';
import { preferredKey, selectKeyInDatabase } from './rules/keySelection.ts';
import type { Clock } from './clock.ts';
import { systemClock } from './clock.ts';
import { DatabaseError } from '../db/databaseError.ts';
import { EncryptedDatabase } from '../db/encryptedDatabase.ts';
import { secubeDatabaseDevice } from '../db/secubeDatabaseDevice.ts';
import type { Database } from '../db/sqlite.ts';
import { deviceKeyNumber } from '../protocol/deviceKeyIds.ts';
import type { ProvisioningRecord } from './distribution.ts';
import { keyView, readGroups, readKey, readKeys, readUser, readUsers, stateOf } from './kmsRows.ts';
import type { KeyRow } from './kmsRows.ts';
import { decodeMessage, encodeMessage, messageAad } from '../protocol/message.ts';
import { SekeyError } from '../protocol/sekeyError.ts';
import { execute, query } from '../db/statementCache.ts';
import { UserSync } from './userSync.ts';
import type { InterruptedSync, SyncReport, UserDeviceParts } from './userSync.ts';

/** The key chosen for a message. */
export interface KeyChoice {
  readonly keyId: KeyId;
  readonly groupId: GroupId;
}

/** An SEkey user. */
export class User {
  readonly #device: SecubeDevice;
  readonly #db: EncryptedDatabase;
  readonly #clock: Clock;
  readonly #userId: UserId;
  readonly #keyIds: ProvisioningRecord['keyIds'];
  readonly #sync: UserSync;

  private constructor(parts: UserDeviceParts) {
    ({ device: this.#device, db: this.#db, clock: this.#clock, userId: this.#userId, keyIds: this.#keyIds } = parts);
    this.#sync = new UserSync(parts);
  }

  /** Sets up a provisioned user device's database. */
  static async create(options: {
    provisioning: ProvisioningRecord;
    device: SecubeDevice;
    sd: SdCard;
    clock?: Clock;
  }): Promise<User> {
    const { provisioning: p, device } = options;
    const db = await EncryptedDatabase.create(secubeDatabaseDevice(device), options.sd, (d) =>
      execute(d, 'INSERT INTO identity (id, role, user_id, peer_serial, key_base) VALUES (1, ?, ?, ?, ?)', [
        'user',
        p.userId,
        p.adminSerial,
        p.keyIds.adminToUserKeyId,
      ]),
    );
    return new User({ device, db, clock: options.clock ?? systemClock, userId: p.userId, keyIds: p.keyIds });
  }

  /**
   * Opens a user device's database and finishes whatever an interrupted update left to do on the
   * HSM (imports and erase orders committed but not yet carried out).
   */
  static async open(options: { device: SecubeDevice; sd: SdCard; clock?: Clock }): Promise<User> {
    const db = await EncryptedDatabase.open(secubeDatabaseDevice(options.device), options.sd);
    return db.closeIfThrows(() => {
      const row = db.read((d) => query(d, "SELECT user_id, key_base FROM identity WHERE role = 'user'")[0]);
      if (!row) throw new SekeyError('NotProvisioned', 'this device holds no user identity');
      const base = Number(row[1]);
      const user = new User({
        device: options.device,
        db,
        clock: options.clock ?? systemClock,
        userId: String(row[0]),
        keyIds: { adminToUserKeyId: base, userToAdminKeyId: base + 1, wrappingKeyId: base + 2 },
      });
      // The HSM's counter is the floor: a replica that applied less than the HSM recorded is old.
      const counter = options.device.counterRead(UPDATE_SEQUENCE_COUNTER);
      if (counter > user.appliedSequence) {
        throw new DatabaseError(
          'RolledBack',
          `the replica applied update ${user.appliedSequence}, but the HSM recorded ${counter}`,
        );
      }
      try {
        user.#sync.finishDeviceWork();
      } catch (error) {
        // An HSM refusal (a full key store, say) must not make the replica unopenable: the work stays
        // pending, is retried by the next sync, and is reported by `pendingDeviceWork`.
        if (!isDeviceError(error)) throw error;
      }
      return user;
    });
  }

  /**
   * HSM work applied updates still owe, and why it is stuck, if it is ({@link UserSync.pendingDeviceWork}).
   * Encrypting or decrypting under a key in `imports` is refused with `KeyUnavailable` until a sync
   * carries it out.
   */
  pendingDeviceWork(): {
    readonly operations: number;
    readonly imports: readonly KeyId[];
    readonly error: string | null;
  } {
    return this.#sync.pendingDeviceWork();
  }
  /** This user's ID. */
  get id(): UserId {
    return this.#userId;
  }

  /** The user's HSM. */
  get device(): SecubeDevice {
    return this.#device;
  }

  /** The provisioned key IDs of this device. */
  get keyIds(): ProvisioningRecord['keyIds'] {
    return this.#keyIds;
  }

  /**
   * Reads at the clock's time. Never commits: a read costs no database generation (an HSM flash
   * counter) and no card write. Keys whose cryptoperiod has ended are shown as the expiry at `now`
   * leaves them ({@link keyAsOf}: the machine's `EXPIRE`, stamped with the end of the cryptoperiod,
   * exactly as the admin records it), and key selection and usage judge at `now` too; the replica
   * itself learns of the expiry from the administrator's next update, which carries the same state.
   */
  #read<T>(fn: (db: Database, now: number) => T): T {
    const now = this.#clock.now();
    return this.#db.read((db) => fn(db, now));
  }

  /** The held key `keyId` as of `now`. */
  #heldKeyAt(db: Database, keyId: KeyId, now: number): KeyRow {
    return keyAsOf(this.#heldKey(db, keyId), now);
  }

  // ---- views ----------------------------------------------------------------------------------

  /**
   * The user itself; with the name '' when this replica holds no record of it (before its first
   * sync, or once the administrator deleted it): a real name is never empty (the model's `InvalidName`).
   */
  me(): UserRecord {
    return this.#read((db) => readUsers(db).find((u) => u.id === this.#userId) ?? { id: this.#userId, name: '' });
  }

  /** The user's groups with their members. */
  groups(): GroupView[] {
    return this.#read((db) => readGroups(db).map(({ id, name, policy, members }) => ({ id, name, policy, members })));
  }

  /** The user and everyone sharing a group with it. */
  users(): UserRecord[] {
    return this.#read(readUsers);
  }

  /** The keys this user's device holds (metadata only). */
  keys(): KeyView[] {
    return this.#read((db, now) => readKeys(db).map((k) => keyView(keyAsOf(k, now))));
  }

  /** One held key's metadata. */
  keyInfo(keyId: KeyId): KeyView {
    return this.#read((db, now) => keyView(this.#heldKeyAt(db, keyId, now)));
  }

  #heldKey(db: Database, keyId: KeyId): KeyRow {
    const key = readKey(db, keyId);
    if (!key)
      throw new SekeyError(
        'KeyUnavailable',
        `this device holds no key ${keyId}: it was never given to ${this.#userId}, or taken away since ` +
          `(${this.#userId} left its group, or it was destroyed), or it has not arrived yet ` +
          `(\`sekey user ${this.#userId} sync\` brings what the administrator gave since)`,
      );
    return key;
  }

  // ---- key selection and use ------------------------------------------------------------------

  /**
   * The key for a message to `recipients` (the original's `sekey_find_key_v1`/`v3`): a usable key of
   * the smallest group containing this user and every recipient; the most recently activated key
   * wins, then the latest end of cryptoperiod, then the highest key number
   * (`rules/keySelection.ts`, which mirrors the model's `selectKey`).
   */
  findKey(recipients: readonly UserId[]): KeyChoice {
    return this.#read((db, now) => this.#choose(db, recipients, now));
  }

  #choose(db: Database, recipients: readonly UserId[], now: number): KeyChoice {
    // A replica that applied a file yet holds no record of its own user: the administrator deleted
    // the user, or retired this HSM (a replacement's), and its last file emptied the replica. The
    // model refuses a sender that does not exist with `UnknownUser`, which the empty replica alone
    // would say as `NoCommonGroup`. A replica that has applied nothing yet is not judged so: its user
    // exists, it has not heard of its groups.
    if (this.appliedSequence > 0 && readUser(db, this.#userId) === null)
      throw new KmsError(
        'UnknownUser',
        `this HSM holds no user ${this.#userId} any more: the administrator deleted the user, or retired this HSM`,
      );
    return selectKeyInDatabase(db, this.#userId, recipients, now);
  }

  /**
   * The preferred usable key of one of this user's groups (the original's `sekey_find_key_v2`, which
   * did not even check membership; here the replica only holds the user's own groups anyway).
   */
  findKeyInGroup(groupId: GroupId): KeyChoice {
    return this.#read((db, now) => {
      const group = readGroups(db).find((g) => g.id === groupId);
      if (!group) throw new KmsError('UnknownGroup', `${this.#userId} is not in ${groupId}`);
      const best = preferredKey(db, [groupId], now);
      if (!best) throw new KmsError('NoUsableKey', `no active key in ${groupId}`);
      return { keyId: best.id, groupId };
    });
  }

  /**
   * Encrypts `data` for `recipients` inside the HSM; the message names the key, never holds it.
   * @throws SekeyError `NotFresh` when the latest update applied from the administrator is older
   *   than the freshness window it carried (files may be withheld: sync first).
   */
  encrypt(recipients: readonly UserId[], data: Uint8Array): Uint8Array {
    // Freshness first: a view that may be old must not choose the key either.
    this.#requireFresh();
    const choice = this.findKey(recipients);
    const aad = messageAad(choice.keyId);
    const { nonce, ciphertext } = this.#withMaterial([choice.keyId], () =>
      this.#device.encrypt(deviceKeyNumber(choice.keyId), data, { aad }),
    );
    return encodeMessage(choice.keyId, nonce, ciphertext);
  }

  /**
   * Decrypts a message inside the HSM, if the key's state allows processing: active, suspended or
   * deactivated. A compromised key refuses (use {@link reprotect}); a destroyed key is gone.
   */
  decrypt(message: Uint8Array): Uint8Array {
    const { keyId, rescuedFrom, nonce, ciphertext } = decodeMessage(message);
    return this.#read((db, now) => {
      const key = this.#heldKeyAt(db, keyId, now);
      const state = stateOf(key);
      const usage = keyUsage(state);
      if (!usage.process) {
        const hint = usage.rescue ? ' (re-protect it under a fresh key instead)' : '';
        throw new SekeyError('UsageNotAllowed', `key ${keyId} is ${state}: it may not decrypt${hint}`);
      }
      return this.#withMaterial([keyId], () =>
        this.#device.decrypt(deviceKeyNumber(keyId), nonce, ciphertext, messageAad(keyId, rescuedFrom)),
      );
    });
  }

  /**
   * Runs HSM work under keys the replica lists: if the HSM has one of them not, its import is still
   * owed (the HSM refused it, a full key store say: {@link pendingDeviceWork}), and the caller hears
   * `KeyUnavailable`, as for a key never delivered, not the HSM's bare `UnknownKey`.
   */
  #withMaterial<T>(keyIds: readonly KeyId[], work: () => T): T {
    try {
      return work();
    } catch (error) {
      if (!isDeviceError(error, 'UnknownKey')) throw error;
      const held = new Set(this.#device.listKeyIds());
      const missing = keyIds.filter((k) => !held.has(deviceKeyNumber(k))).join(', ') || keyIds.join(', ');
      const refused = this.#sync.deviceWorkError;
      const why = refused === null ? '' : ` (the HSM refused it: ${refused.message})`;
      throw new SekeyError(
        'KeyUnavailable',
        `key ${missing} has not reached this device's HSM yet${why}; sync again once the cause is fixed`,
      );
    }
  }

  /**
   * Re-protects a message under the best usable key of the same group, inside the HSM: the plaintext
   * never leaves the device. The way to rescue data under a compromised key (the original's
   * `secure_recrypt`); the result then names that key (an `SKM2` message, `message.ts`), since whoever
   * learnt it could have written the input (any mark the input had included), and keeps the mark through
   * later re-protections from keys not compromised.
   *
   * It protects, so a stale view ({@link freshness}) is refused with `NotFresh` as {@link encrypt}
   * is, with one exception: a message under a compromised key, the rescue path. That input is
   * already where the attacker can read it, so moving it under the best key this device knows is
   * not worse than leaving it, even if a withheld update would have named a newer key; refusing
   * would hold the data hostage to the same withholding. Once synced, the user can re-protect again
   * from the result if its key turns out to be superseded. From any other key a stale view could
   * move the data somewhere worse: under a key that a withheld rekey retired, which a removed member
   * still holds.
   * A message already under the best key is returned as it is, once the HSM has authenticated it.
   *
   * It re-encrypts for the key's group as this replica sees it (on a stale view, from a compromised
   * key, as of the last update applied: a withheld one may have changed the group since, so the CLI
   * says the readers are as of that update): the key chosen is the one {@link encrypt} would
   * choose for the group's other members, so it may be readable by more people than the message was.
   * In a group that does not share its history, a member who joined since the message was protected
   * (and never held its key) can read the result; and when the group has no key that can protect
   * (its key was suspended, then compromised: no replacement comes for a key that was not active),
   * the message moves to the smallest group holding the group's members, as encrypt falls back; so
   * it does to a group of the same members whose key was activated later (the tie-break).
   * A device cannot do better on its own: it knows its groups' members, not who held which key (a
   * device's view carries no key holders). `sekey user reprotect` says who can read the result.
   * @throws SekeyError `KeyUnavailable`, `UsageNotAllowed`, `NotFresh` (in that order of checks);
   *   the device's error for a message that fails authentication, as {@link decrypt} does.
   */
  reprotect(message: Uint8Array): Uint8Array {
    const { keyId, rescuedFrom, nonce, ciphertext } = decodeMessage(message);
    return this.#read((db, now) => {
      const key = this.#heldKeyAt(db, keyId, now);
      const state = stateOf(key);
      const usage = keyUsage(state);
      if (!usage.reprotect) {
        throw new SekeyError('UsageNotAllowed', `key ${keyId} is ${state}: it may not re-protect`);
      }
      // Before the key is chosen: a view that may be old must not choose it (as for encrypt), unless
      // this is a rescue (the usage table's: from a compromised key).
      if (!usage.rescue) this.#requireFresh();
      const members = readGroups(db).find((g) => g.id === key.owner)?.members ?? [this.#userId];
      const fresh = this.#choose(
        db,
        members.filter((m) => m !== this.#userId),
        now,
      );
      // Re-protection inside the HSM, which authenticates the message first (the plaintext never
      // leaves it). A message already under the best key is returned as it is, but only once that
      // check passed: returned unchecked, a corrupted one was reported as re-protected and fine.
      // From a compromised key, the result is marked with it (`SKM2`, message.ts): whoever learnt the
      // key could have written the input, and the fresh key must not vouch for it unmarked. That input's
      // own mark, if any, vouches for nothing either (whoever learnt the key could have written any), so
      // it is replaced. From a key not compromised, a mark already there stays.
      const mark = usage.rescue ? keyId : rescuedFrom;
      const out = this.#withMaterial([keyId, fresh.keyId], () =>
        this.#device.reencrypt(
          deviceKeyNumber(keyId),
          nonce,
          ciphertext,
          messageAad(keyId, rescuedFrom),
          deviceKeyNumber(fresh.keyId),
          messageAad(fresh.keyId, mark),
        ),
      );
      if (fresh.keyId === keyId) return message;
      return encodeMessage(fresh.keyId, out.nonce, out.ciphertext, mark);
    });
  }

  /**
   * How fresh this user's view is: the latest heartbeat applied (null before any), and why the view
   * is too old to encrypt under now (null when it is not).
   */
  freshness(): { readonly statement: FreshnessStatement | null; readonly staleness: Staleness | null } {
    return this.#sync.freshness();
  }

  /** Refuses with `NotFresh` when the view is too old to protect new data under. */
  #requireFresh(): void {
    const { staleness } = this.freshness();
    if (staleness === null) return;
    const sync =
      `sync (\`sekey user ${this.#userId} sync\`) to get the administrator's latest updates; if that ` +
      `brings nothing, the share may be withholding them: ask the administrator`;
    if (staleness.reason === 'noStatement') {
      throw new SekeyError(
        'NotFresh',
        `no update applied on this device says when it was issued, so its view may be old: ${sync}`,
      );
    }
    if (staleness.reason === 'datedAhead') {
      throw new SekeyError(
        'NotFresh',
        `the last authentic update from the administrator is dated ${isoTime(staleness.issuedAt)}, more than ` +
          `the ${hours(staleness.windowMs)} freshness window ahead of this device's clock when it came ` +
          `(${isoTime(staleness.appliedAt)}): the administrator's clock, or this one, is wrong, and so far ahead ` +
          'a date could let the share withhold updates unnoticed; ask the administrator to check the clocks',
      );
    }
    // Dated ahead of this device's clock when it came: the window counted from its arrival.
    const issued =
      staleness.since === staleness.issuedAt
        ? `was issued ${isoTime(staleness.issuedAt)}, ${hours(staleness.ageMs)} ago`
        : `is dated ${isoTime(staleness.issuedAt)} but came ${isoTime(staleness.since)}, ` +
          `${hours(staleness.ageMs)} ago (the administrator's clock was ahead)`;
    throw new SekeyError(
      'NotFresh',
      `the last authentic update from the administrator ${issued}; ` +
        `this installation allows encrypting for ${hours(staleness.windowMs)} after it: ${sync}`,
    );
  }

  /** Closes the replica (the original's `sekey_stop`). */
  close(): void {
    this.#db.close();
  }

  // ---- applying what the administrator sends: update files (userSync.ts) ------------------------

  /** Whether this user refused too many files in a row and waits for a resync. */
  get blocked(): boolean {
    return this.#sync.blocked;
  }

  /** The replica in plaintext as this host holds it (EncryptedDatabase.hostImage). */
  get hostDatabaseImage(): Uint8Array {
    return this.#db.hostImage;
  }
  /** The sequence of the last applied update file. */
  get appliedSequence(): number {
    return this.#sync.appliedSequence;
  }

  /**
   * The SHA-256 (hex) of the last applied update file, whole, '' before the first: what its
   * acknowledgement carries and what the next incremental file must name as its predecessor.
   */
  get appliedFileHash(): string {
    return this.#sync.appliedFileHash;
  }

  /**
   * Reads this user's update stream and applies every new file in order (the original's
   * `sekey_update_userdata`): {@link UserSync.sync}.
   * @throws SyncStalledError when the key store stays full after every file (or an owed import stays refused).
   */
  sync(transport: Transport): Promise<SyncReport> {
    return this.#sync.sync(transport);
  }

  /** The last sync of this replica that power cut short ({@link UserSync.interruptedSync}); null if none was. */
  get interruptedSync(): InterruptedSync | null {
    return this.#sync.interruptedSync;
  }

  /**
   * Judges an update file without applying it or counting a refusal ({@link UserSync.check}): `null` if
   * this device would apply it next, otherwise the reason it would refuse it. For inspecting files by hand.
   */
  check(bytes: Uint8Array, claimsResync = false): RefusalReason | null {
    return this.#sync.check(bytes, claimsResync);
  }
}

/** A time for a message: ISO 8601 to the minute, UTC. */
function isoTime(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 16)}Z`;
}

/** A duration for a message, in hours (and days when it is long). */
function hours(ms: number): string {
  const h = Math.floor(ms / 3_600_000);
  return h >= 48 && h % 24 === 0 ? `${h / 24} days` : h >= 48 ? `${Math.floor(h / 24)} days ${h % 24} h` : `${h} h`;
}
