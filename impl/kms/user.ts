/**
 * An SEkey user: its HSM (user-level session) and the partial replica of the metadata on that HSM's
 * SD card. A user changes nothing in the KMS: it reads its views, picks keys, encrypts and decrypts,
 * and applies what the administrator sends.
 *
 * Key usage follows the model's usage table (`keyUsage` / `keyUsageAt`, NIST SP 800-57 Pt 1 §7):
 * encrypt only under an active key inside its cryptoperiod; decrypt under active, suspended or
 * deactivated keys; a compromised key only re-protects, inside the HSM; a destroyed key is gone.
 *
 * Freshness: encryption also needs a recent word from the administrator. Every update file carries
 * a sealed heartbeat (when it was issued, and the installation's freshness window); the latest
 * applied one is kept in the update state, and {@link User.encrypt} refuses with `NotFresh` once it
 * is older than its window (`stalenessAt` of `model/updateProcessing.ts`): files withheld from the
 * share — a rekey after a member left — no longer let the user encrypt under keys the removed
 * member still holds. Decrypting stays possible, and so does re-protecting data under a compromised
 * key (the rescue path); re-protecting from any other key is refused `NotFresh`, as encrypting is.
 * @module
 */
import type { SdCard } from '../../device/sdcard.ts';
import type { SecubeDevice } from '../../device/secube.ts';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { initialTransition, transition } from '../../model/pureTransition.ts';
import { isDeviceError } from '../../device/deviceError.ts';
import { isSerial } from '../../device/deviceState.ts';
import type { DeviceError } from '../../device/deviceError.ts';
import { PowerLossError } from '../../device/powerLossError.ts';
import { UPDATE_SEQUENCE_COUNTER } from '../../device/acknowledgement.ts';
import { keyUsage } from '../../model/keyLifecycle.ts';
import { persistSnapshot, restoreSnapshot } from '../../model/persistedSnapshot.ts';
import { openingRefusal, refusedBefore, stalenessAt, updateProcessingMachine } from '../../model/updateProcessing.ts';
import type {
  FreshnessStatement,
  RefusalReason,
  Staleness,
  UpdateEvent,
  UpdateProcessingSnapshot,
} from '../../model/updateProcessing.ts';
import { encodeAckHeader, parseAck } from '../protocol/ackFile.ts';
import { ackFileName, ackStream, sequenceOfAckName, sequenceOfName, updateStream } from '../protocol/streams.ts';
import type { Transport } from '../protocol/transport.ts';
import {
  NO_PREVIOUS_FILE,
  UpdateFormatError,
  decodeRecords,
  fileHash,
  parseUpdateFile,
} from '../protocol/updateFile.ts';
import type { ParsedUpdateFile, UpdateHeader, UpdateRecord } from '../protocol/updateFile.ts';
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
import { SyncStalledError } from './syncStalledError.ts';
import {
  column,
  keyView,
  readGroups,
  readKey,
  readKeys,
  readUser,
  readUsers,
  restoreLifecycle,
  stateOf,
  writeGroup,
  writeKey,
} from './kmsRows.ts';
import type { KeyRow } from './kmsRows.ts';
import { decodeMessage, encodeMessage, messageAad } from '../protocol/message.ts';
import { SekeyError } from '../protocol/sekeyError.ts';
import { execute, query } from '../db/statementCache.ts';
import { messageOf } from '../../model/codedError.ts';

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

  private constructor(
    device: SecubeDevice,
    db: EncryptedDatabase,
    clock: Clock,
    userId: UserId,
    keyIds: ProvisioningRecord['keyIds'],
  ) {
    this.#device = device;
    this.#db = db;
    this.#clock = clock;
    this.#userId = userId;
    this.#keyIds = keyIds;
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
    return new User(device, db, options.clock ?? systemClock, p.userId, p.keyIds);
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
      const user = new User(options.device, db, options.clock ?? systemClock, String(row[0]), {
        adminToUserKeyId: base,
        userToAdminKeyId: base + 1,
        wrappingKeyId: base + 2,
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
        user.#finishDeviceWork();
      } catch (error) {
        // An HSM refusal (a full key store, say) must not make the replica unopenable: the work stays
        // pending, is retried by the next sync, and is reported by `pendingDeviceWork`.
        if (!isDeviceError(error)) throw error;
      }
      return user;
    });
  }

  #deviceWorkError: Error | null = null;

  /**
   * HSM work applied updates still owe (imports, erase orders), and why it is stuck, if it is. One
   * operation per key: when several files' work is owed, the last order for a key is the one
   * carried out ({@link #carryOutDeviceWork}). `imports` names the keys whose owed order is an
   * import: keys the replica lists that the HSM does not hold yet (encrypting or decrypting under
   * one is refused with `KeyUnavailable` until a sync carries it out).
   */
  pendingDeviceWork(): {
    readonly operations: number;
    readonly imports: readonly KeyId[];
    readonly error: string | null;
  } {
    return this.#db.read((db) => {
      const operations = Number(column(db, 'SELECT count(DISTINCT key_number) FROM pending_device_ops')[0]);
      const imports = column(
        db,
        "SELECT key_number FROM pending_device_ops p WHERE kind = 'import' AND seq = " +
          '(SELECT max(seq) FROM pending_device_ops q WHERE q.key_number = p.key_number) ORDER BY key_number',
      ).map((n) => `K${Number(n)}`);
      return { operations, imports, error: this.#deviceWorkError?.message ?? null };
    });
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
      if (!keyUsage(state).process) {
        const hint = state === 'compromised' ? ' (re-protect it under a fresh key instead)' : '';
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
      const why = this.#deviceWorkError === null ? '' : ` (the HSM refused it: ${this.#deviceWorkError.message})`;
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
      if (!keyUsage(state).reprotect) {
        throw new SekeyError('UsageNotAllowed', `key ${keyId} is ${state}: it may not re-protect`);
      }
      // Before the key is chosen: a view that may be old must not choose it (as for encrypt).
      if (state !== 'compromised') this.#requireFresh();
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
      const mark = state === 'compromised' ? keyId : rescuedFrom;
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
    const context = this.#processing().context;
    return { statement: context.freshness ?? null, staleness: stalenessAt(context, this.#clock.now()) };
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

  // ---- applying what the administrator sends: update files -------------------------------------

  /**
   * The update-processing snapshot committed at a database generation: what {@link #processing}
   * returns while the generation is unchanged, without reading and parsing the row again (a sync
   * asks several times per file). Safe because the row changes only through a commit, and every
   * commit moves the generation (a failed one restores the committed state, row included); a
   * reader never sees a transaction's uncommitted rows here, as #processing reads outside any.
   */
  #committed: { readonly generation: number; readonly snapshot: UpdateProcessingSnapshot } | null = null;

  /**
   * Where update processing stands: the machine's committed snapshot, or its start before any file.
   * Read outside any transaction.
   */
  #processing(): UpdateProcessingSnapshot {
    // Through read() even when remembered: a database broken by a failed commit refuses every read.
    return this.#db.read((db) => {
      const generation = this.#db.generation;
      if (this.#committed?.generation === generation) return this.#committed.snapshot;
      const text = column(db, 'SELECT snapshot FROM update_state WHERE id = 1')[0] ?? null;
      const snapshot =
        text === null
          ? initialTransition(updateProcessingMachine, {})[0]
          : restoreSnapshot(updateProcessingMachine, String(text));
      this.#committed = { generation, snapshot };
      return snapshot;
    });
  }

  /**
   * Commits `fn` with the machine's snapshot `p` saved in the same transaction (or, with `p` null, a
   * transaction that leaves update_state alone), and remembers the committed snapshot for
   * {@link #processing}. Carrying `p` is what restoring the saved row would give: the machine's
   * behaviour depends on its state value and context only, which is what the row holds
   * (`model/persistedSnapshot.ts`: no history states, no children, no delays).
   */
  #commit(p: UpdateProcessingSnapshot | null, fn: (db: Database) => void): void {
    const unchanged = p === null && this.#committed?.generation === this.#db.generation ? this.#committed : null;
    this.#db.transaction((db) => {
      fn(db);
      if (p !== null) this.#saveProcessing(db, p);
    });
    const snapshot = p ?? unchanged?.snapshot;
    this.#committed = snapshot === undefined ? null : { generation: this.#db.generation, snapshot };
  }

  /** Saves the machine's snapshot (inside the caller's transaction); the columns repeat it for readers. */
  #saveProcessing(db: Database, p: UpdateProcessingSnapshot): void {
    const c = p.context;
    execute(
      db,
      'UPDATE update_state SET last_sequence = ?, last_file_hash = ?, consecutive_refusals = ?, snapshot = ? WHERE ' +
        'id = 1',
      [c.lastSequence, c.lastFileHash, c.consecutiveRefusals, persistSnapshot(p)],
    );
  }

  /** Whether this user refused too many files in a row and waits for a resync. */
  get blocked(): boolean {
    return this.#processing().value === 'blocked';
  }

  /** The replica in plaintext as this host holds it (EncryptedDatabase.hostImage). */
  get hostDatabaseImage(): Uint8Array {
    return this.#db.hostImage;
  }

  /** The sequence of the last applied update file. */
  get appliedSequence(): number {
    return this.#processing().context.lastSequence;
  }

  /**
   * The SHA-256 (hex) of the last applied update file, whole, '' before the first: what its
   * acknowledgement carries and what the next incremental file must name as its predecessor.
   */
  get appliedFileHash(): string {
    return this.#processing().context.lastFileHash;
  }

  /**
   * Reads this user's update stream and applies every new file in order (the original's
   * `sekey_update_userdata`). Each file is checked by the HSM (seal under the admin→user channel
   * key, header as AAD) and judged by `model/updateProcessing`: forged, wrong-recipient, replayed,
   * rolled-back, out-of-order, truncated or corrupt files are refused with a reason and change
   * nothing; after too many refusals in a row of authentic files that claim news (junk anyone can
   * drop into the share and replayed old files do not count) the user is blocked until a resync
   * applies. Applying is atomic and idempotent; every applied file is acknowledged to the
   * administrator once the HSM carried out the work it orders.
   * @throws SyncStalledError (a `DeviceError` `StoreFull`, with the sync's report) when the key store
   *   stays full after every file: what was applied stays applied, its HSM work owed.
   */
  async sync(transport: Transport): Promise<SyncReport> {
    this.#live = this.#processing();
    try {
      return await this.#syncStream(transport);
    } catch (error) {
      const at = this.#live;
      // Power went away mid-sync (the device stops: every later call fails too). The machine is
      // told, as the device tells its PIN machine (device/secubeCore.ts), and decides: the file in
      // hand is dropped (an apply or a refusal whose commit did not complete never happened), and a
      // user blocked before the file is blocked again. Nothing can be saved without power: the
      // reboot restores the last commit (impl/db/pageStore.ts), before or after the interrupted one.
      if (error instanceof PowerLossError && at !== null) {
        const [answer] = transition(updateProcessingMachine, at, { type: 'POWER_LOSS' });
        this.#interrupted = { at, answer };
      }
      throw error;
    } finally {
      this.#live = null;
    }
  }

  /**
   * The update-processing machine as the running sync holds it in RAM, between commits (null outside
   * a sync): what the model's `POWER_LOSS` is sent to when the device loses power mid-sync.
   */
  #live: UpdateProcessingSnapshot | null = null;
  #interrupted: InterruptedSync | null = null;

  /**
   * The last sync of this replica that power cut short: where the update-processing machine was,
   * and its answer to `POWER_LOSS`; null if none was. For the host to say what was lost (the
   * replica must be reopened before anything else): a reboot restores the answer's sequence, or
   * the sequence of the file being applied if the cut fell after its commit point.
   */
  get interruptedSync(): InterruptedSync | null {
    return this.#interrupted;
  }

  /** One step of the machine; during a sync, it is the live one (see {@link sync}). */
  #step(p: UpdateProcessingSnapshot, event: UpdateEvent): UpdateProcessingSnapshot {
    const [next] = transition(updateProcessingMachine, p, event);
    if (this.#live !== null) this.#live = next;
    return next;
  }

  async #syncStream(transport: Transport): Promise<SyncReport> {
    // First the HSM work an earlier apply still owes. Nothing new is applied on top of it, unless
    // the key store is full: then only later files can help (their erase orders free room), so they
    // are applied, their work added to the owed work, and nothing is recorded in the HSM or
    // acknowledged until all of it is done (an acknowledgement tells the admin that the device
    // carried out what the files up to it ordered: `Publisher.collectAcknowledgements`).
    let full = this.#finishDeviceWorkUnlessFull();
    const news = await this.#news(transport);
    // A resync replaces the replica whatever this HSM applied before it; its last file's acknowledgement
    // goes first, so that an admin whose database never published that file learns it (#acknowledgeAgain).
    const resyncComing = news.some((f) => f.claimed.resync || f.header?.kind === 'resync');
    // The acknowledgement last attempted, if the share refused it (a later one that lands covers it).
    const after =
      full === null ? await this.#recordAfterReboot(transport, resyncComing) : { failure: null, writtenSince: [] };
    let unacknowledged: AckFailure | null = after.failure;
    const applied: number[] = [];
    const refused: SyncRefusal[] = [];
    const held: Array<{ name: string; reason: RefusalReason }> = [];
    // Whether this sync refused a file as a gap: the incremental files after it wait for the next sync.
    let gapRefused = false;
    const stream = updateStream(this.#userId);
    for (const { name, claimed } of news) {
      let p = this.#processing();
      this.#live = p;
      // Read again: #news keeps no file's bytes, so a sync holds one file at a time whatever the
      // number of files planted in the stream (each may be up to the transport's size limit).
      const bytes = await transport.read(stream, name);
      if (bytes === null) continue;
      // After a gap, an incremental file whose header claims a later sequence still cannot apply
      // (the missing file comes first), and judged, it would count towards a block too: five files
      // behind one that is late (a synced folder delivers in any order) blocked the user in a single
      // sync. It waits for the next sync, so a missing file adds at most one refusal a sync (and a file
      // refused once is not counted again): it blocks once five files behind it have been refused, sync
      // after sync. Anything else is judged: a resync may apply, junk is refused without counting.
      // The header of the bytes judged decides, not #news's: a file still being written in place
      // when #news read it (or a share that serves other bytes on a second read) has no header
      // there, and five such files behind a late one blocked the user in one sync.
      if (gapRefused) {
        const now = claimedHeader(bytes);
        if (now?.kind === 'incremental' && now.sequence > p.context.lastSequence + 1) continue;
      }
      const hash = fileHash(bytes);
      const open = { type: 'OPEN', resync: claimed.resync, fileHash: bytesToHex(hash) } as const;
      // The machine does not open a file it refused before, nor, when blocked, one not named a resync.
      // One refused before still claims news: the report names it, so that a sync behind it does not
      // read as up to date (the remedy, a missing file restored or a resync, is the administrator's).
      // One left unopened while blocked is not named: `blocked` says why.
      if (!p.can(open)) {
        const before = refusedBefore(p.context, open.fileHash);
        if (before !== null) held.push({ name, reason: before });
        continue;
      }
      p = this.#step(p, open);
      const outcome = this.#judge(p, bytes);
      p = outcome.snapshot;
      if (p.value !== 'applying') {
        const reason = p.context.lastRefusal as RefusalReason;
        const namesHsm = reason === 'forged' ? outcome.namesHsm : null;
        refused.push(namesHsm === null ? { name, reason } : { name, reason, namesHsm });
        if (p.context.lastRefusal === 'gap') gapRefused = true;
        // Only a refusal that counts towards a block is committed. Junk anybody can drop into the
        // share costs a read and a failed open per sync, never a database commit (each of which
        // advances counters in the HSM's flash): a thousand junk files must not wear the device.
        const counted = p.context.consecutiveRefusals !== this.#processing().context.consecutiveRefusals;
        if (counted) this.#commit(p, () => {});
        continue;
      }
      // The file's heartbeat, if it has one, becomes the latest freshness statement (same commit).
      const heartbeat = outcome.records
        .filter((r): r is Extract<UpdateRecord, { type: 'heartbeat' }> => r.type === 'heartbeat')
        .at(-1);
      // With when it came, by this host's clock: a heartbeat dated ahead of it buys no time (freshSince).
      const freshness = heartbeat
        ? { issuedAt: heartbeat.issuedAt, windowMs: heartbeat.freshnessWindowMs, appliedAt: this.#clock.now() }
        : undefined;
      // APPLIED names the snapshot committed with the file; the machine is there once the commit is.
      const [next] = transition(
        updateProcessingMachine,
        p,
        freshness ? { type: 'APPLIED', freshness } : { type: 'APPLIED' },
      );
      this.#apply(outcome.records, next);
      this.#live = p = next;
      full = this.#finishDeviceWorkUnlessFull();
      applied.push(p.context.lastSequence);
      // Acknowledged once its work (and all owed before it) is done; the acknowledgement covers
      // the files before it too.
      if (full === null) unacknowledged = await this.#acknowledge(transport, p.context.lastSequence, hash);
    }
    const report = {
      applied,
      refused,
      held,
      blocked: this.blocked,
      sequence: this.appliedSequence,
      unacknowledged,
      writtenSince: after.writtenSince,
    };
    // Still full after every file: the sync fails as the HSM did (pendingDeviceWork says why), and
    // says what it applied: those files are committed, their work owed.
    if (full !== null) throw new SyncStalledError(full, report);
    return report;
  }

  /**
   * The files of this user's stream that claim news, in the order of the sequence their header
   * claims (each read once for its header; the bytes are not kept). Files named at or below the
   * last applied sequence are skipped unread (the admin removes them once acknowledged). The header
   * is not authenticated yet (the HSM does that in `#judge`), but it is the only order an authentic
   * file can apply in: judged in name order, two files delivered under each other's names were a
   * gap and then the older file, and one file renamed to sort last put every file after it behind a
   * gap. A header that does not parse orders its file by its name (junk, refused wherever it is).
   */
  async #news(transport: Transport): Promise<NewFile[]> {
    const stream = updateStream(this.#userId);
    const last = this.#processing().context.lastSequence;
    const files: NewFile[] = [];
    for (const name of await transport.list(stream)) {
      const claimed = sequenceOfName(name);
      if (claimed === null || claimed.sequence <= last) continue;
      const bytes = await transport.read(stream, name);
      if (bytes === null) continue;
      files.push({ name, claimed, header: claimedHeader(bytes) });
    }
    // Stable: files claiming the same sequence keep their name order.
    const order = (f: NewFile) => f.header?.sequence ?? f.claimed.sequence;
    return files.sort((a, b) => order(a) - order(b));
  }

  /**
   * Judges an update file without applying it or counting a refusal: `null` if this device would
   * apply it next, otherwise the reason it would refuse it (for a file refused before, the reason it
   * was refused for). For inspecting files by hand.
   */
  check(bytes: Uint8Array, claimsResync = false): RefusalReason | null {
    let p = this.#processing();
    const open = { type: 'OPEN', resync: claimsResync, fileHash: bytesToHex(fileHash(bytes)) } as const;
    const unopened = openingRefusal(p.context, open);
    if (unopened !== null) return unopened;
    p = this.#step(p, open);
    const judged = this.#judge(p, bytes).snapshot;
    return judged.value === 'applying' ? null : (judged.context.lastRefusal as RefusalReason);
  }

  /**
   * Parses and verifies one file; the machine decides. Returns the machine after OPENED/VERIFIED,
   * the records of an authentic file, and, for one whose seal failed, the other HSM of this user its
   * header names, if it does ({@link SyncRefusal.namesHsm}).
   */
  #judge(
    p0: UpdateProcessingSnapshot,
    bytes: Uint8Array,
  ): { snapshot: UpdateProcessingSnapshot; records: UpdateRecord[]; namesHsm: string | null } {
    let p = p0;
    let parsed: ParsedUpdateFile | null = null;
    let truncated = false;
    try {
      parsed = parseUpdateFile(bytes);
    } catch (error) {
      if (!(error instanceof UpdateFormatError)) throw error;
      truncated = error.truncated;
    }
    p = this.#step(p, {
      type: 'OPENED',
      truncated,
      malformed: parsed === null && !truncated,
    });
    if (parsed === null) return { snapshot: p, records: [], namesHsm: null };
    let records: UpdateRecord[] = [];
    let authentic = true;
    try {
      // The HSM authenticates the file itself (and remembers its sequence for recordUpdateApplied).
      records = decodeRecords(
        this.#device.openUpdate(this.#keyIds.adminToUserKeyId, parsed.headerBytes, parsed.sealedBody),
      );
    } catch (error) {
      // A seal that fails, or an authentic body that does not parse (only a broken or forked
      // admin could make one): either way the file is not the administrator's word. An authentic
      // file naming another device is refused below as addressed to someone else.
      if (!(error instanceof UpdateFormatError) && !isDeviceError(error)) throw error;
      authentic = isDeviceError(error, 'NotForThisDevice');
    }
    const h = parsed.header;
    p = this.#step(p, {
      type: 'VERIFIED',
      authentic,
      forThisRecipient: h.userId === this.#userId && h.serial === this.#device.serial,
      sequence: h.sequence,
      resync: h.kind === 'resync',
      extendsAppliedChain: bytesToHex(h.previousHash) === (p.context.lastFileHash || bytesToHex(NO_PREVIOUS_FILE)),
    });
    // Only a serial of the proper form: a damaged header (a flipped byte in it) names no HSM at all.
    const namesHsm =
      !authentic && h.userId === this.#userId && h.serial !== this.#device.serial && isSerial(h.serial)
        ? h.serial
        : null;
    return { snapshot: p, records, namesHsm };
  }

  /**
   * Applies one verified file atomically: the replica's changes, the machine's snapshot after
   * `APPLIED` (new sequence and hash, refusals cleared), and the HSM work to do (imports, erase
   * orders) commit in one transaction; the caller then carries out the HSM work
   * ({@link #finishDeviceWork}). A power cut before the commit leaves the state before; after it,
   * reopening finishes the HSM work, giving the state after. The HSM's update counter follows the
   * database.
   */
  #apply(records: readonly UpdateRecord[], p: UpdateProcessingSnapshot): void {
    this.#commit(p, (db) => {
      for (const rec of records) applyRecord(db, rec);
    });
  }

  /**
   * Carries out the HSM work committed by an applied file, then forgets it. Idempotent. Remembers
   * why the HSM refused it, if it did, for {@link pendingDeviceWork} (on opening and in a sync
   * alike), and forgets that once the work is done.
   */
  #finishDeviceWork(): void {
    try {
      this.#carryOutDeviceWork();
      this.#deviceWorkError = null;
    } catch (error) {
      if (isDeviceError(error)) this.#deviceWorkError = error;
      throw error;
    }
  }

  /**
   * {@link #finishDeviceWork}, except that a full key store is returned instead of thrown: the one
   * refusal of owed work that files still to come can cure. Every other failure is thrown.
   */
  #finishDeviceWorkUnlessFull(): DeviceError | null {
    try {
      this.#finishDeviceWork();
      return null;
    } catch (error) {
      if (isDeviceError(error, 'StoreFull')) return error;
      throw error;
    }
  }

  /**
   * Carries out one erase order. A spent one (its file recorded as applied: `SpentOrder`) was carried
   * out when that file was, so it is done with; the key it names came back with a later file. No
   * genuine order is owed once spent (the HSM records a file only after its work), but should one
   * ever be, refusing it would stop every sync before its first file, a resync's included.
   */
  #eraseByOrder(keyNumber: number, order: Uint8Array): void {
    try {
      this.#device.deleteKeyByOrder(keyNumber, order, this.#keyIds.adminToUserKeyId);
    } catch (error) {
      if (!isDeviceError(error, 'SpentOrder')) throw error;
    }
  }

  #carryOutDeviceWork(): void {
    const work = this.#db.read(
      (db) =>
        query(db, 'SELECT seq, kind, key_number, data FROM pending_device_ops ORDER BY seq') as Array<
          [number, string, number, Uint8Array]
        >,
    );
    if (work.length > 0) {
      // The last order for a key decides: work of several files may be owed at once (a full key
      // store holds it back while later files apply), and a key erased by one can be delivered
      // again by a later one (rejoining a group that shares its history).
      const last = new Map<number, { readonly kind: string; readonly data: Uint8Array }>();
      for (const [, kind, keyNumber, data] of work) last.set(keyNumber, { kind, data });
      // Erase orders first: they free key-store space that the imports may need.
      for (const [keyNumber, { kind, data }] of last) {
        if (kind === 'erase') this.#eraseByOrder(keyNumber, data);
      }
      const present = new Set(this.#device.listKeyIds());
      for (const [keyNumber, { kind, data }] of last) {
        if (kind === 'import' && !present.has(keyNumber)) {
          this.#device.importWrapped(keyNumber, data, this.#keyIds.wrappingKeyId);
        }
      }
      this.#commit(null, (db) => execute(db, 'DELETE FROM pending_device_ops'));
    }
    const sequence = this.#processing().context.lastSequence;
    if (this.#device.counterRead(UPDATE_SEQUENCE_COUNTER) >= sequence) return;
    try {
      // The HSM moves its counter only to the update it authenticated last, in this session.
      this.#device.recordUpdateApplied(sequence);
    } catch (error) {
      // Rebooted (or logged in again) since it authenticated this update: the next sync shows it
      // the applied file again (#recordAfterReboot); until then the HSM acknowledges only what it recorded.
      if (!isDeviceError(error, 'UpdateNotAuthenticated')) throw error;
    }
  }

  /**
   * After a power cut between applying update N and recording it in the HSM, the HSM's counter is
   * behind the replica and the HSM has forgotten that it authenticated N. The file is still in the
   * stream (the admin removes it only once acknowledged): shows the HSM that very file again (same
   * hash as the one applied), records it and acknowledges it. If the file is gone (a resync
   * superseded it), nothing is recorded here: the next applied file moves the counter past N.
   */
  async #recordAfterReboot(transport: Transport, resyncComing: boolean): Promise<AcknowledgedAgain> {
    const { lastSequence, lastFileHash } = this.#processing().context;
    if (this.#device.counterRead(UPDATE_SEQUENCE_COUNTER) >= lastSequence)
      return this.#acknowledgeAgain(transport, lastSequence, lastFileHash, resyncComing);
    const stream = updateStream(this.#userId);
    for (const name of await transport.list(stream)) {
      if (sequenceOfName(name)?.sequence !== lastSequence) continue;
      const bytes = await transport.read(stream, name);
      if (bytes === null || bytesToHex(fileHash(bytes)) !== lastFileHash) continue;
      const parsed = parseUpdateFile(bytes);
      this.#device.openUpdate(this.#keyIds.adminToUserKeyId, parsed.headerBytes, parsed.sealedBody);
      this.#device.recordUpdateApplied(lastSequence);
      return { failure: await this.#acknowledge(transport, lastSequence, fileHash(bytes)), writtenSince: [] };
    }
    return { failure: null, writtenSince: [] };
  }

  /**
   * Sends the acknowledgement of the last applied update again when it was lost: the process
   * stopped after the apply was durable but before the acknowledgement reached the share, or the
   * share lost it. While the admin has not collected it, the update file is still in the stream and
   * no acknowledgement of it is; the HSM seals it again (it has recorded that sequence). A file of
   * the acknowledgement's name that is not this device's acknowledgement of that very file (junk, or
   * one left by an earlier HSM of the same user ID) is replaced: the admin ignores it, and leaving
   * it would stall the stream until the next file. Only the header can be checked here: the seal
   * is under a key this HSM can seal with but not open. A spoiled seal behind the right header is
   * for the admin to find: its next collection sets the file aside (`Publisher.collectAcknowledgements`),
   * and the sync after that finds the acknowledgement missing and sends it again.
   *
   * Sent too when the stream holds a file numbered below the last applied one and no acknowledgement
   * of that one is on the share. The admin removes the files an acknowledgement covers before the
   * acknowledgement itself, so such a file was written after the admin collected it: an admin HSM
   * restored from a backup, publishing again numbers this device applied (it passes over them
   * unread, as files it applied), or old files put back by someone who can write the share. The
   * acknowledgement tells the admin either way: a restored one finds it ahead of its database and
   * says so (`Publisher.collectAcknowledgements`, `ahead`); any other takes it for one it collected
   * and removes the files it covers. One write per sync at most, and no commit.
   *
   * And sent when a resync is in the stream (`resyncComing`): a restored admin that published past
   * this device's numbers and then a resync (`sekey admin stale` advises one for a user who
   * acknowledges nothing) removed every file below the resync from the share, so nothing above
   * would tell it. The resync applies all the same (nothing in it says whose chain it follows), but
   * the admin keeps the hashes of the files it superseded, finds this one not among them, and holds
   * the device from its next collection on. A resync is rare: one acknowledgement more each time,
   * which an admin that did publish the file takes for one it collected.
   */
  async #acknowledgeAgain(
    transport: Transport,
    lastSequence: number,
    lastFileHash: string,
    resyncComing: boolean,
  ): Promise<AcknowledgedAgain> {
    const none = { failure: null, writtenSince: [] };
    if (lastSequence === 0) return none;
    const acks = await transport.list(ackStream(this.#userId));
    if (acks.includes(ackFileName(lastSequence)) && (await this.#ackOnShare(transport, lastSequence, lastFileHash)))
      return none;
    const stream = updateStream(this.#userId);
    const atOrBelow = (await transport.list(stream)).filter(
      (name) => (sequenceOfName(name)?.sequence ?? Number.POSITIVE_INFINITY) <= lastSequence,
    );
    if (atOrBelow.length === 0 && !resyncComing) return none;
    // Named for the report: those no acknowledgement on the share covers (the admin removes the files
    // an acknowledgement covers before it), other than the applied file itself.
    const covered = Math.max(0, ...acks.map((name) => sequenceOfAckName(name) ?? 0));
    const writtenSince: string[] = [];
    for (const name of atOrBelow) {
      const sequence = sequenceOfName(name)?.sequence as number;
      if (sequence <= covered) continue;
      if (sequence === lastSequence) {
        const bytes = await transport.read(stream, name);
        if (bytes === null || bytesToHex(fileHash(bytes)) === lastFileHash) continue;
      }
      writtenSince.push(name);
    }
    return { failure: await this.#acknowledge(transport, lastSequence, hexToBytes(lastFileHash)), writtenSince };
  }

  /** Whether the share's acknowledgement of `sequence` is this device's, of the file applied. */
  async #ackOnShare(transport: Transport, sequence: number, hash: string): Promise<boolean> {
    const bytes = await transport.read(ackStream(this.#userId), ackFileName(sequence));
    if (bytes === null) return false;
    try {
      const { ack } = parseAck(bytes);
      return (
        ack.userId === this.#userId &&
        ack.serial === this.#device.serial &&
        ack.sequence === sequence &&
        bytesToHex(ack.fileHash) === hash
      );
    } catch (error) {
      if (error instanceof UpdateFormatError) return false;
      throw error;
    }
  }

  /**
   * Seals the acknowledgement of `sequence` and writes it to the share. A write the share refuses
   * (an entry planted where the stream's folder should be, a full or read-only share) is returned,
   * not thrown: the file is applied and its work done whether or not the admin hears of it, and the
   * next sync sends the acknowledgement again (`#acknowledgeAgain`). Thrown, it ended the sync
   * before any later file, sync after sync: one planted entry under `acks/` held the user at its
   * current update for good, resyncs included, since the admin never clears that folder.
   */
  async #acknowledge(transport: Transport, sequence: number, hash: Uint8Array): Promise<AckFailure | null> {
    const header = encodeAckHeader({ userId: this.#userId, serial: this.#device.serial, sequence, fileHash: hash });
    // The HSM seals it only if its applied-update counter has reached `sequence`.
    const seal = this.#device.acknowledge(this.#keyIds.userToAdminKeyId, header);
    const file = new Uint8Array(header.length + seal.length);
    file.set(header);
    file.set(seal, header.length);
    try {
      await transport.write(ackStream(this.#userId), ackFileName(sequence), file);
      return null;
    } catch (error) {
      if (error instanceof PowerLossError) throw error;
      return { sequence, error: messageOf(error) };
    }
  }
}

/** A file of the user's stream that claims news, as {@link User.sync} reads it. */
interface NewFile {
  readonly name: string;
  /** The sequence and kind its name claims. */
  readonly claimed: NonNullable<ReturnType<typeof sequenceOfName>>;
  /** Its header when it was listed, not authenticated (the HSM does that); null if it did not parse. */
  readonly header: UpdateHeader | null;
}

/** A sync that power cut short (see {@link User.interruptedSync}). */
export interface InterruptedSync {
  /** The machine when power went. */
  readonly at: UpdateProcessingSnapshot;
  /** The machine after `POWER_LOSS`: nothing in hand; idle, or blocked if it was before the file. */
  readonly answer: UpdateProcessingSnapshot;
}

/** A file a sync judged and refused. */
export interface SyncRefusal {
  readonly name: string;
  readonly reason: RefusalReason;
  /**
   * For a file refused as `forged` whose header (not authenticated) names this user and another HSM
   * (a well-formed serial): that HSM's serial. The administrator's database seals a user's files for
   * the HSM it records as the user's, so this is the likely story: files for this user's previous
   * HSM, still on the share right after this one was provisioned (the next publish sends this one its
   * own), or a database that never provisioned this HSM (an admin HSM restored from a backup taken
   * before it). Nothing vouches for it: anyone who can write the share can write such a header, so
   * it is a hint to check against the administrator's records, never a reason to act on alone.
   */
  readonly namesHsm?: string;
}

/** What one {@link User.sync} did. */
export interface SyncReport {
  readonly applied: readonly number[];
  /** Files judged and refused by this sync. */
  readonly refused: readonly SyncRefusal[];
  /**
   * Files on the share that claim news but were refused by an earlier sync, with the reason: not
   * judged again, and still in the way.
   */
  readonly held: ReadonlyArray<{ readonly name: string; readonly reason: RefusalReason }>;
  readonly blocked: boolean;
  readonly sequence: number;
  /**
   * The acknowledgement this sync last tried to write, if the share refused it (null when it
   * landed, or none was due): the updates stay applied, the admin does not know yet, and the next
   * sync sends it again.
   */
  readonly unacknowledged: AckFailure | null;
  /**
   * Update files numbered at or below the last applied one, other than that file, that no
   * acknowledgement on the share covers: written after the admin collected the acknowledgement of
   * their number (it removes the files an acknowledgement covers before the acknowledgement). An
   * admin HSM restored from a backup writes them, publishing again numbers this HSM applied (it
   * passes over them); so do old files put back by someone who can write the share. This sync then
   * acknowledged its last file again, which tells a restored admin (`Publisher.collectAcknowledgements`,
   * `ahead`) and lets any other clear them.
   */
  readonly writtenSince: readonly string[];
}

/** What {@link User.sync} does first about the last applied file: its acknowledgement sent again, or not. */
interface AcknowledgedAgain {
  /** The acknowledgement the share refused, if one was sent and refused. */
  readonly failure: AckFailure | null;
  /** {@link SyncReport.writtenSince}. */
  readonly writtenSince: readonly string[];
}

/** An acknowledgement the share did not take: of which update, and the share's error. */
export interface AckFailure {
  readonly sequence: number;
  readonly error: string;
}

/**
 * The header an update file claims, unauthenticated (the HSM authenticates the file when it is
 * judged); null for bytes that do not parse as an update file.
 */
function claimedHeader(bytes: Uint8Array): UpdateHeader | null {
  try {
    return parseUpdateFile(bytes).header;
  } catch (error) {
    if (!(error instanceof UpdateFormatError)) throw error;
    return null;
  }
}

/** Applies one record to the replica (inside the caller's transaction). */
function applyRecord(db: Database, rec: UpdateRecord): void {
  switch (rec.type) {
    case 'reset':
      for (const table of ['key_holders', 'keys', 'memberships', 'kms_groups', 'users'])
        execute(db, `DELETE FROM ${table}`);
      return;
    case 'userUpsert':
      execute(db, 'INSERT INTO users (id, name) VALUES (?, ?) ON CONFLICT(id) DO UPDATE SET name = excluded.name', [
        rec.id,
        rec.name,
      ]);
      return;
    case 'userDelete':
      execute(db, 'DELETE FROM users WHERE id = ?', [rec.id]);
      return;
    case 'groupUpsert':
      writeGroup(db, rec);
      execute(db, 'DELETE FROM memberships WHERE group_id = ?', [rec.id]);
      for (const m of rec.members)
        execute(db, 'INSERT INTO memberships (group_id, user_id) VALUES (?, ?)', [rec.id, m]);
      return;
    case 'groupDelete':
      execute(db, 'DELETE FROM kms_groups WHERE id = ?', [rec.id]);
      return;
    case 'keyUpsert':
      writeKey(db, {
        id: rec.id,
        name: rec.name,
        owner: rec.owner,
        algorithm: rec.algorithm,
        lifecycle: restoreLifecycle(rec.lifecycle),
      });
      return;
    case 'keyDelete':
      execute(db, 'DELETE FROM keys WHERE id = ?', [rec.id]);
      return;
    case 'keyMaterial':
      execute(db, "INSERT INTO pending_device_ops (kind, key_number, data) VALUES ('import', ?, ?)", [
        rec.keyNumber,
        rec.blob,
      ]);
      return;
    case 'eraseOrder':
      execute(db, "INSERT INTO pending_device_ops (kind, key_number, data) VALUES ('erase', ?, ?)", [
        rec.keyNumber,
        rec.order,
      ]);
      return;
    case 'heartbeat':
      // Not replica content: the machine's snapshot, saved in this same transaction, records it.
      return;
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
