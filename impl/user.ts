/**
 * An SEkey user: its HSM (user-level session) and the partial replica of the metadata on that HSM's
 * SD card. A user changes nothing in the KMS: it reads its views, picks keys, encrypts and decrypts,
 * and applies what the administrator sends.
 *
 * Key usage follows the model's usage table (`keyUsage` / `keyUsageAt`, NIST SP 800-57 Pt 1 §7):
 * encrypt only under an active key inside its cryptoperiod; decrypt under active, suspended or
 * deactivated keys; a compromised key only re-protects, inside the HSM; a destroyed key is gone.
 * @module
 */
import type { SdCard } from '../device/sdcard.ts';
import type { SecubeDevice } from '../device/secube.ts';
import { keyUsage, keyUsageAt } from '../model/keyLifecycle.ts';
import { KmsError, compareIds } from '../model/kms.ts';
import type { GroupId, KeyId, UserId, UserRecord } from '../model/kms.ts';
import type { GroupView, KeyView } from '../model/projection.ts';
import { expireDueKeys } from './admin.ts';
import type { Clock } from './clock.ts';
import { systemClock } from './clock.ts';
import { EncryptedDatabase } from './db/encryptedDatabase.ts';
import { secubeDatabaseDevice } from './db/secubeDatabaseDevice.ts';
import type { Database } from './db/sqlite.ts';
import { deviceKeyNumber } from './deviceKeyIds.ts';
import type { ProvisioningRecord, UserSnapshot } from './distribution.ts';
import { column, keyView, readGroups, readKey, readKeys, readUsers, restoreLifecycle, stateOf, writeGroup, writeKey } from './kmsRows.ts';
import type { KeyRow } from './kmsRows.ts';
import { decodeMessage, encodeMessage, messageAad } from './message.ts';
import { SekeyError } from './sekeyError.ts';

/**
 * Key preference among usable keys: latest activation, then latest end of cryptoperiod, then highest
 * key number (usable keys are active, so both times are set).
 */
function preference(a: KeyRow, b: KeyRow): number {
  const ca = a.lifecycle.context as { activatedAt: number; expiresAt: number };
  const cb = b.lifecycle.context as { activatedAt: number; expiresAt: number };
  return cb.activatedAt - ca.activatedAt || cb.expiresAt - ca.expiresAt || compareIds(b.id, a.id);
}

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

  private constructor(device: SecubeDevice, db: EncryptedDatabase, clock: Clock, userId: UserId, keyIds: ProvisioningRecord['keyIds']) {
    this.#device = device;
    this.#db = db;
    this.#clock = clock;
    this.#userId = userId;
    this.#keyIds = keyIds;
  }

  /** Sets up a provisioned user device's database. */
  static async create(options: { provisioning: ProvisioningRecord; device: SecubeDevice; sd: SdCard; clock?: Clock }): Promise<User> {
    const { provisioning: p, device } = options;
    const db = await EncryptedDatabase.create(secubeDatabaseDevice(device), options.sd);
    db.transaction((d) =>
      d.run('INSERT INTO identity (id, role, user_id, peer_serial, key_base) VALUES (1, ?, ?, ?, ?)', [
        'user',
        p.userId,
        p.adminSerial,
        p.keyIds.adminToUserKeyId,
      ]),
    );
    return new User(device, db, options.clock ?? systemClock, p.userId, p.keyIds);
  }

  /** Opens a user device's database. */
  static async open(options: { device: SecubeDevice; sd: SdCard; clock?: Clock }): Promise<User> {
    const db = await EncryptedDatabase.open(secubeDatabaseDevice(options.device), options.sd);
    const row = db.read((d) => d.exec("SELECT user_id, key_base FROM identity WHERE role = 'user'")[0]?.values[0]);
    if (!row) throw new SekeyError('NotProvisioned', 'this device holds no user identity');
    const base = Number(row[1]);
    return new User(options.device, db, options.clock ?? systemClock, String(row[0]), {
      adminToUserKeyId: base,
      userToAdminKeyId: base + 1,
      wrappingKeyId: base + 2,
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
   * Reads after expiring due keys locally (the user cannot change the KMS, but the end of a
   * cryptoperiod needs nobody's decision; the machine stamps it with the end of the cryptoperiod,
   * so the admin's later update records the very same time).
   */
  #read<T>(fn: (db: Database, now: number) => T): T {
    const now = this.#clock.now();
    const due = this.#db.read((db) => readKeys(db, "state IN ('active', 'suspended') AND expires_at <= ?", [now]).length);
    if (due > 0) this.#db.transaction((db) => expireDueKeys(db, now));
    return this.#db.read((db) => fn(db, now));
  }

  // ---- views ----------------------------------------------------------------------------------

  /** The user itself. */
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
    return this.#read((db) => readKeys(db).map(keyView));
  }

  /** One held key's metadata. */
  keyInfo(keyId: KeyId): KeyView {
    return this.#read((db) => keyView(this.#heldKey(db, keyId)));
  }

  #heldKey(db: Database, keyId: KeyId): KeyRow {
    const key = readKey(db, keyId);
    if (!key) throw new SekeyError('KeyUnavailable', `this device holds no key ${keyId}`);
    return key;
  }

  // ---- key selection and use ------------------------------------------------------------------

  /**
   * The key for a message to `recipients` (the original's `sekey_find_key_v1`/`v3`): a usable key of
   * the smallest group containing this user and every recipient; the most recently activated key
   * wins, then the latest end of cryptoperiod, then the highest key number.
   */
  findKey(recipients: readonly UserId[]): KeyChoice {
    return this.#read((db, now) => this.#choose(db, recipients, now));
  }

  #choose(db: Database, recipients: readonly UserId[], now: number): KeyChoice {
    const everyone = [...new Set([this.#userId, ...recipients])];
    const known = new Set(column(db, 'SELECT id FROM users').map(String));
    for (const r of recipients) {
      if (r !== this.#userId && !known.has(r)) throw new KmsError('UnknownUser', `${this.#userId} shares no group with ${r}`);
    }
    const marks = everyone.map(() => '?').join(', ');
    // Groups containing everyone, smallest first; a group's size is its member count.
    const groups = (db.exec(
      `SELECT g.id, (SELECT count(*) FROM memberships a WHERE a.group_id = g.id) AS size
         FROM kms_groups g
        WHERE (SELECT count(*) FROM memberships m WHERE m.group_id = g.id AND m.user_id IN (${marks})) = ?
        ORDER BY size`,
      [...everyone, everyone.length],
    )[0]?.values ?? []) as Array<[string, number]>;
    if (groups.length === 0) {
      throw new KmsError('NoCommonGroup', `no group contains ${this.#userId} and ${recipients.join(', ')}`);
    }
    for (const [, size] of groups) {
      const sameSize = groups.filter(([, s]) => s === size).map(([id]) => id);
      // Candidates in preference order; the life-cycle usage table decides which may encrypt.
      const candidates = readKeys(db, `owner_group IN (${sameSize.map(() => '?').join(', ')})`, sameSize)
        .filter((k) => keyUsageAt(stateOf(k), k.lifecycle.context, now).protect)
        .sort(preference);
      const best = candidates[0];
      if (best) return { keyId: best.id, groupId: best.owner };
    }
    throw new KmsError('NoUsableKey', `no active key in ${groups.map(([id]) => id).join(', ')}`);
  }

  /**
   * The preferred usable key of one of this user's groups (the original's `sekey_find_key_v2`, which
   * did not even check membership; here the replica only holds the user's own groups anyway).
   */
  findKeyInGroup(groupId: GroupId): KeyChoice {
    return this.#read((db, now) => {
      const group = readGroups(db).find((g) => g.id === groupId);
      if (!group) throw new KmsError('UnknownGroup', `${this.#userId} is not in ${groupId}`);
      const best = readKeys(db, 'owner_group = ?', [groupId])
        .filter((k) => keyUsageAt(stateOf(k), k.lifecycle.context, now).protect)
        .sort(preference)[0];
      if (!best) throw new KmsError('NoUsableKey', `no active key in ${groupId}`);
      return { keyId: best.id, groupId };
    });
  }

  /** Encrypts `data` for `recipients` inside the HSM; the message names the key, never holds it. */
  encrypt(recipients: readonly UserId[], data: Uint8Array): Uint8Array {
    const choice = this.findKey(recipients);
    const aad = messageAad(choice.keyId);
    const { nonce, ciphertext } = this.#device.encrypt(deviceKeyNumber(choice.keyId), data, { aad });
    return encodeMessage(choice.keyId, nonce, ciphertext);
  }

  /**
   * Decrypts a message inside the HSM, if the key's state allows processing: active, suspended or
   * deactivated. A compromised key refuses (use {@link reprotect}); a destroyed key is gone.
   */
  decrypt(message: Uint8Array): Uint8Array {
    const { keyId, nonce, ciphertext } = decodeMessage(message);
    return this.#read((db) => {
      const key = this.#heldKey(db, keyId);
      const state = stateOf(key);
      if (!keyUsage(state).process) {
        const hint = state === 'compromised' ? ' (re-protect it under a fresh key instead)' : '';
        throw new SekeyError('UsageNotAllowed', `key ${keyId} is ${state}: it may not decrypt${hint}`);
      }
      return this.#device.decrypt(deviceKeyNumber(keyId), nonce, ciphertext, messageAad(keyId));
    });
  }

  /**
   * Re-protects a message under the best usable key of the same group, inside the HSM: the plaintext
   * never leaves the device. The way to rescue data under a compromised key (the original's
   * `secure_recrypt`).
   */
  reprotect(message: Uint8Array): Uint8Array {
    const { keyId, nonce, ciphertext } = decodeMessage(message);
    return this.#read((db, now) => {
      const key = this.#heldKey(db, keyId);
      if (!keyUsage(stateOf(key)).reprotect) {
        throw new SekeyError('UsageNotAllowed', `key ${keyId} is ${stateOf(key)}: it may not re-protect`);
      }
      const members = readGroups(db).find((g) => g.id === key.owner)?.members ?? [this.#userId];
      const fresh = this.#choose(db, members.filter((m) => m !== this.#userId), now);
      if (fresh.keyId === keyId) return message;
      const out = this.#device.reencrypt(deviceKeyNumber(keyId), nonce, ciphertext, messageAad(keyId), deviceKeyNumber(fresh.keyId), messageAad(fresh.keyId));
      return encodeMessage(fresh.keyId, out.nonce, out.ciphertext);
    });
  }

  /** Closes the replica (the original's `sekey_stop`). */
  close(): void {
    this.#db.close();
  }

  // ---- applying what the administrator sends ---------------------------------------------------

  /**
   * Makes this device hold exactly `snapshot`: imports the keys it lacks (unwrapped inside the HSM),
   * replaces the replica in one database transaction, then carries out the erase orders (each
   * checked inside the HSM). Re-applying the same snapshot changes nothing, so an interrupted apply
   * is finished by applying it again.
   */
  applySnapshot(snapshot: UserSnapshot): void {
    if (snapshot.userId !== this.#userId || snapshot.userSerial !== this.#device.serial) {
      throw new SekeyError('WrongRecipient', `snapshot for ${snapshot.userId} on ${snapshot.userSerial}, this is ${this.#userId} on ${this.#device.serial}`);
    }
    const present = new Set(this.#device.listKeyIds());
    for (const { keyId, blob } of snapshot.wrapped) {
      const id = deviceKeyNumber(keyId);
      if (!present.has(id)) this.#device.importWrapped(id, blob, this.#keyIds.wrappingKeyId);
    }
    this.#db.transaction((db) => {
      for (const table of ['key_holders', 'keys', 'memberships', 'kms_groups', 'users']) db.run(`DELETE FROM ${table}`);
      for (const u of snapshot.users) db.run('INSERT INTO users (id, name) VALUES (?, ?)', [u.id, u.name]);
      for (const g of snapshot.groups) {
        writeGroup(db, g);
        for (const m of g.members) db.run('INSERT INTO memberships (group_id, user_id) VALUES (?, ?)', [g.id, m]);
      }
      for (const k of snapshot.keys) {
        writeKey(db, { id: k.id, name: k.name, owner: k.owner, algorithm: k.algorithm, lifecycle: restoreLifecycle(k.lifecycle) });
      }
    });
    for (const { keyId, order } of snapshot.eraseOrders) {
      this.#device.deleteKeyByOrder(deviceKeyNumber(keyId), order, this.#keyIds.adminToUserKeyId);
    }
  }
}
