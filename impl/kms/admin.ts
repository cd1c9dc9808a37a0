/**
 * The SEkey administrator: the key distribution centre. It owns the admin HSM (logged in at admin
 * level) and the master metadata database on that HSM's SD card, and it is the only role that
 * changes anything.
 *
 * Rules are implemented here over SQL, independently of `model/kms.ts`, so that the property suites
 * comparing the two after every step can catch a disagreement. What is *not* re-implemented is the
 * life cycle: every key transition goes through the model's `keyLifecycleMachine` (`kmsRows.stepKey`),
 * and refusals surface as the model's `KmsError` with the model's codes.
 *
 * Every operation is one database transaction that first expires due keys, then changes tables,
 * then appends a hash-chained audit entry. Keys are generated inside the admin HSM (TRNG) during the
 * transaction and deleted again if it fails; keys are erased from the HSM only after the destruction
 * is committed. A crash between the two leaves at worst an orphan key in flash, which
 * {@link Admin.open} erases (the original's `se3_flash_maintenance_routine`, done on start).
 *
 * Fixed here from the original (reference: SEkey's `SEkey.cpp`): B1 (deleting a group left its keys
 * active), B2/B3 (wrong deactivation timestamps), B4 (`max_keys` never enforced, counter never
 * decremented), W6 (no rekey on member removal, new members got every past key).
 * @module
 */
import type { SdCard } from '../../device/sdcard.ts';
import type { SecubeDevice } from '../../device/secube.ts';
import { newKeyLifecycle } from '../../model/keyLifecycle.ts';
import type { KeyEventType, KeyState } from '../../model/keyLifecycle.ts';
import { FIRST_KEY_NUMBER, KmsError, LIVE_KEY_STATES, checkId, checkName, checkPolicy, sortIds } from '../../model/kms.ts';
import type { GroupId, GroupPolicy, KeyId, UserId, UserRecord } from '../../model/kms.ts';
import type { KeyView } from '../../model/projection.ts';
import type { Clock } from './clock.ts';
import { systemClock } from './clock.ts';
import { appendAudit, readAudit, verifyAudit } from '../db/auditLog.ts';
import type { AuditEntry } from '../db/auditLog.ts';
import { EncryptedDatabase } from '../db/encryptedDatabase.ts';
import { DATABASE_KEY_ID, secubeDatabaseDevice } from '../db/secubeDatabaseDevice.ts';
import type { Database } from '../db/sqlite.ts';
import { deviceKeyNumber, isKmsDeviceKey } from '../protocol/deviceKeyIds.ts';
import {
  column,
  keyView,
  readGroup,
  readGroups,
  readKey,
  readKeys,
  readUser,
  readUsers,
  stateOf,
  stepKey,
  writeGroup,
  writeKey,
} from './kmsRows.ts';
import type { GroupRow, KeyRow } from './kmsRows.ts';
import { dueKeys, expireDueKeys } from './expireDueKeys.ts';

/** A key as the admin sees it: metadata, life cycle and the users whose devices hold it. */
export interface AdminKeyInfo extends KeyView {
  readonly holders: readonly UserId[];
}

/** A user as the admin sees it (the original's `se_user`, without any PIN: PINs stay in HSMs). */
export interface AdminUserInfo extends UserRecord {
  readonly groups: readonly GroupId[];
}

/** Options of a new key. */
export interface AddKeyOptions {
  /** At most the group's default (which is also the default). */
  readonly cryptoperiodMs?: number;
}

/** What an operation in progress may do besides SQL. */
interface Mutation {
  readonly db: Database;
  readonly now: number;
  /** Allocates the next key ID and generates the key inside the admin HSM. */
  generateKey(): KeyId;
  /** Erases a key from the admin HSM once the transaction has committed. */
  eraseAfterCommit(keyId: KeyId): void;
}

const NEXT_KEY_COUNTER = 'nextKeyNumber';

/** The SEkey administrator. */
export class Admin {
  readonly #device: SecubeDevice;
  readonly #db: EncryptedDatabase;
  readonly #clock: Clock;

  private constructor(device: SecubeDevice, db: EncryptedDatabase, clock: Clock) {
    this.#device = device;
    this.#db = db;
    this.#clock = clock;
  }

  /** Sets up the administrator on a fresh admin HSM (admin session) and its SD card. */
  static async create(options: { device: SecubeDevice; sd: SdCard; clock?: Clock }): Promise<Admin> {
    requireAdminSession(options.device);
    const db = await EncryptedDatabase.create(secubeDatabaseDevice(options.device), options.sd);
    const admin = new Admin(options.device, db, options.clock ?? systemClock);
    admin.#mutate('initAdmin', {}, (m) => {
      m.db.run("INSERT INTO identity (id, role) VALUES (1, 'admin')");
      m.db.run('INSERT INTO counters VALUES (?, ?)', [NEXT_KEY_COUNTER, FIRST_KEY_NUMBER]);
    });
    return admin;
  }

  /**
   * Opens the administrator's database and reconciles the HSM with it: KMS keys in flash that the
   * database does not hold as live (orphans of an interrupted operation, or destroyed keys whose
   * erase was cut short) are erased.
   */
  static async open(options: { device: SecubeDevice; sd: SdCard; clock?: Clock }): Promise<Admin> {
    requireAdminSession(options.device);
    const db = await EncryptedDatabase.open(secubeDatabaseDevice(options.device), options.sd);
    const admin = new Admin(options.device, db, options.clock ?? systemClock);
    admin.#reconcileDevice();
    return admin;
  }

  /** The database generation (grows by one per committed operation). */
  get generation(): number {
    return this.#db.generation;
  }

  /** The admin HSM (for provisioning and distribution). */
  get device(): SecubeDevice {
    return this.#device;
  }

  #reconcileDevice(): void {
    const wanted = new Set(
      this.#db
        .read((d) => column(d, "SELECT id FROM keys WHERE state NOT IN ('destroyed', 'destroyedCompromised')"))
        .map((id) => deviceKeyNumber(String(id))),
    );
    for (const id of this.#device.listKeyIds()) {
      if (isKmsDeviceKey(id) && !wanted.has(id)) this.#device.deleteKey(id);
    }
  }

  /** Runs one admin operation as a single audited transaction; see the module comment. */
  #mutate<T>(action: string, details: Record<string, unknown>, fn: (m: Mutation) => T): T {
    const now = this.#clock.now();
    const generated: number[] = [];
    const toErase: number[] = [];
    let result: T;
    try {
      result = this.#db.transaction((db) => {
        expireDueKeys(db, now);
        const m: Mutation = {
          db,
          now,
          generateKey: () => {
            const n = Number(column(db, 'SELECT value FROM counters WHERE name = ?', [NEXT_KEY_COUNTER])[0]);
            db.run('UPDATE counters SET value = ? WHERE name = ?', [n + 1, NEXT_KEY_COUNTER]);
            this.#device.generateKey(n, { purpose: 'data' });
            generated.push(n);
            return `K${n}`;
          },
          eraseAfterCommit: (keyId) => toErase.push(deviceKeyNumber(keyId)),
        };
        const value = fn(m);
        appendAudit(db, now, 'admin', action, details);
        return value;
      });
    } catch (error) {
      for (const id of generated) {
        try {
          this.#device.deleteKey(id);
        } catch {
          // The device is gone (power cut): Admin.open erases the orphan later.
        }
      }
      throw error;
    }
    for (const id of toErase) this.#device.deleteKey(id);
    return result;
  }

  /** Runs a read after expiring due keys (committed only if something expired). */
  #read<T>(fn: (db: Database) => T): T {
    const now = this.#clock.now();
    const due = this.#db.read((db) => dueKeys(db, now));
    if (due.length > 0) this.#mutate('expireKeys', { keys: due }, () => undefined);
    return this.#db.read(fn);
  }

  // ---- users ----------------------------------------------------------------------------------

  /** Adds a user (the original's `sekey_add_user`). The user starts in no group. */
  addUser(userId: UserId, name: string): void {
    this.#mutate('addUser', { userId, name }, ({ db }) => {
      throwIf(checkId('user', userId) ?? checkName(name));
      if (readUser(db, userId)) throw new KmsError('DuplicateUser', `user ${userId} exists`);
      db.run('INSERT INTO users (id, name) VALUES (?, ?)', [userId, name]);
    });
  }

  /** Renames a user (`sekey_user_change_name`). */
  renameUser(userId: UserId, name: string): void {
    this.#mutate('renameUser', { userId, name }, ({ db }) => {
      requireUser(db, userId);
      throwIf(checkName(name));
      db.run('UPDATE users SET name = ? WHERE id = ?', [name, userId]);
    });
  }

  /**
   * Deletes a user (`sekey_delete_user`): removed from every group with the same rekey as
   * {@link removeMember}. Its device stays on record so that a last snapshot can order it to erase
   * every key it was given.
   */
  deleteUser(userId: UserId): void {
    this.#mutate('deleteUser', { userId }, (m) => {
      requireUser(m.db, userId);
      for (const group of readGroups(m.db)) {
        if (group.members.includes(userId)) removeMemberAndRekey(m, group, userId);
      }
      // The device stays on record, retired: it gets one last file ordering it to erase everything,
      // and never anything else — even if the same user ID is added again before a new device.
      m.db.run('UPDATE user_devices SET retired_at = ? WHERE user_id = ?', [m.now, userId]);
      m.db.run('DELETE FROM users WHERE id = ?', [userId]);
    });
  }

  /** A user and its groups (`sekey_user_get_info`). */
  userInfo(userId: UserId): AdminUserInfo {
    return this.#read((db) => {
      const user = requireUser(db, userId);
      return { ...user, groups: groupsOf(db, userId) };
    });
  }

  /** Every user (`sekey_user_get_info_all`, `sekey_get_user_ids`). */
  listUsers(): AdminUserInfo[] {
    return this.#read((db) => readUsers(db).map((u) => ({ ...u, groups: groupsOf(db, u.id) })));
  }

  // ---- groups ---------------------------------------------------------------------------------

  /** Adds a group with its policy (`sekey_add_group`). */
  addGroup(groupId: GroupId, name: string, policy: GroupPolicy, options: { shareHistory?: boolean } = {}): void {
    this.#mutate('addGroup', { groupId, name, policy, shareHistory: options.shareHistory ?? false }, ({ db }) => {
      throwIf(checkId('group', groupId) ?? checkName(name) ?? checkPolicy(policy));
      const exists = readGroup(db, groupId) !== null || column(db, 'SELECT id FROM retired_groups WHERE id = ?', [groupId]).length > 0;
      if (exists) throw new KmsError('DuplicateGroup', `group ${groupId} exists or existed`);
      writeGroup(db, { id: groupId, name, policy, shareHistory: options.shareHistory ?? false });
    });
  }

  /** Renames a group (`sekey_group_change_name`). */
  renameGroup(groupId: GroupId, name: string): void {
    this.#mutate('renameGroup', { groupId, name }, ({ db }) => {
      const group = requireGroup(db, groupId);
      throwIf(checkName(name));
      writeGroup(db, { ...group, name });
    });
  }

  /**
   * Changes a group's policy (`sekey_group_change_max_keys`, `…_default_cryptoperiod`). Refused if
   * the group's live keys would break it.
   */
  changePolicy(groupId: GroupId, policy: GroupPolicy): void {
    this.#mutate('changePolicy', { groupId, policy }, ({ db }) => {
      const group = requireGroup(db, groupId);
      throwIf(checkPolicy(policy));
      const live = liveKeysOf(db, groupId);
      if (live.length > policy.maxKeys) {
        throw new KmsError('PolicyConflict', `group ${groupId} has ${live.length} live keys, more than maxKeys ${policy.maxKeys}`);
      }
      const tooLong = live.find((k) => k.lifecycle.context.cryptoperiodMs > policy.defaultCryptoperiodMs);
      if (tooLong) {
        throw new KmsError('PolicyConflict', `live key ${tooLong.id} has a longer cryptoperiod than ${policy.defaultCryptoperiodMs} ms`);
      }
      writeGroup(db, { ...group, policy });
    });
  }

  /** Changes only `maxKeys` (the original's `sekey_group_change_max_keys`). */
  setMaxKeys(groupId: GroupId, maxKeys: number): void {
    const group = this.groupInfo(groupId);
    this.changePolicy(groupId, { ...group.policy, maxKeys });
  }

  /** Changes only the default cryptoperiod (`sekey_group_change_default_cryptoperiod`). */
  setDefaultCryptoperiod(groupId: GroupId, defaultCryptoperiodMs: number): void {
    const group = this.groupInfo(groupId);
    this.changePolicy(groupId, { ...group.policy, defaultCryptoperiodMs });
  }

  /**
   * Deletes a group (`sekey_delete_group`). Its live keys are retired — the original's B1 left them
   * active — and every member's device drops the group and its keys; the metadata stays for audit.
   */
  deleteGroup(groupId: GroupId): void {
    this.#mutate('deleteGroup', { groupId }, (m) => {
      requireGroup(m.db, groupId);
      for (const key of readKeys(m.db, 'owner_group = ?', [groupId])) {
        const retired = retire(key, m.now);
        writeKey(m.db, retired);
        if (isDestroyed(stateOf(retired))) m.eraseAfterCommit(key.id);
      }
      m.db.run('DELETE FROM key_holders WHERE key_id IN (SELECT id FROM keys WHERE owner_group = ?)', [groupId]);
      m.db.run('DELETE FROM kms_groups WHERE id = ?', [groupId]);
      m.db.run('INSERT INTO retired_groups (id) VALUES (?)', [groupId]);
    });
  }

  /** A group: policy and members (`sekey_group_get_info`). */
  groupInfo(groupId: GroupId): GroupRow {
    return this.#read((db) => requireGroup(db, groupId));
  }

  /** Every group (`sekey_group_get_info_all`, `sekey_get_group_ids`). */
  listGroups(): GroupRow[] {
    return this.#read(readGroups);
  }

  /**
   * Adds a member (`sekey_add_user_group`). The new member's device receives only the keys that can
   * still protect — pre-active, active, suspended — plus deactivated ones if the group shares its
   * history; never compromised or destroyed ones (backward secrecy).
   */
  addMember(groupId: GroupId, userId: UserId): void {
    this.#mutate('addMember', { groupId, userId }, ({ db }) => {
      const group = requireGroup(db, groupId);
      requireUser(db, userId);
      if (group.members.includes(userId)) throw new KmsError('AlreadyMember', `${userId} is already in ${groupId}`);
      db.run('INSERT INTO memberships (group_id, user_id) VALUES (?, ?)', [groupId, userId]);
      for (const key of readKeys(db, 'owner_group = ?', [groupId])) {
        const s = stateOf(key);
        if (LIVE_KEY_STATES.includes(s) || (group.shareHistory && s === 'deactivated')) {
          db.run('INSERT INTO key_holders (key_id, user_id) VALUES (?, ?)', [key.id, userId]);
        }
      }
    });
  }

  /**
   * Removes a member (`sekey_delete_user_group`) and rekeys the group: every key that could still
   * protect is retired and, if the group had an active key, a fresh one is activated for the
   * remaining members (forward secrecy; the original never rotates, W6).
   */
  removeMember(groupId: GroupId, userId: UserId): void {
    this.#mutate('removeMember', { groupId, userId }, (m) => {
      const group = requireGroup(m.db, groupId);
      requireUser(m.db, userId);
      if (!group.members.includes(userId)) throw new KmsError('NotMember', `${userId} is not in ${groupId}`);
      removeMemberAndRekey(m, group, userId);
    });
  }

  // ---- keys -----------------------------------------------------------------------------------

  /**
   * Adds a key to a group (`sekey_add_key`): generated by the admin HSM's TRNG, pre-active, held by
   * the group's members. `maxKeys` is enforced (B4) over keys that can still protect.
   */
  addKey(groupId: GroupId, name: string, options: AddKeyOptions = {}): KeyId {
    return this.#mutate('addKey', { groupId, name, ...options }, (m) => {
      const group = requireGroup(m.db, groupId);
      throwIf(checkName(name));
      const cryptoperiodMs = options.cryptoperiodMs ?? group.policy.defaultCryptoperiodMs;
      if (!Number.isSafeInteger(cryptoperiodMs) || cryptoperiodMs < 1) {
        throw new KmsError('InvalidCryptoperiod', `cryptoperiodMs must be a positive integer, got ${cryptoperiodMs}`);
      }
      if (cryptoperiodMs > group.policy.defaultCryptoperiodMs) {
        throw new KmsError('CryptoperiodTooLong', `cryptoperiod ${cryptoperiodMs} ms exceeds group ${groupId}'s ${group.policy.defaultCryptoperiodMs} ms`);
      }
      const live = liveKeysOf(m.db, groupId).length;
      if (live >= group.policy.maxKeys) {
        throw new KmsError('MaxKeysReached', `group ${groupId} already has ${live} of ${group.policy.maxKeys} keys`);
      }
      return insertNewKey(m, group, name, cryptoperiodMs).id;
    });
  }

  /** Activates a key (`sekey_activate_key`): NIST T4 (first activation starts the cryptoperiod). */
  activateKey(keyId: KeyId): void {
    this.#keyEvent(keyId, 'ACTIVATE');
  }

  /** Suspends an active key (T7). */
  suspendKey(keyId: KeyId): void {
    this.#keyEvent(keyId, 'SUSPEND');
  }

  /** Resumes a suspended key before the end of its cryptoperiod (T10; the original re-activates). */
  resumeKey(keyId: KeyId): void {
    this.#keyEvent(keyId, 'RESUME');
  }

  /** Deactivates a key (T8, T12), stamped with the real time (the original's B3 stamped the expiry). */
  deactivateKey(keyId: KeyId): void {
    this.#keyEvent(keyId, 'DEACTIVATE');
  }

  /** Marks a key compromised (T3, T6, T11, T14, KMIP 10); an active one is replaced at once. */
  compromiseKey(keyId: KeyId): void {
    this.#keyEvent(keyId, 'COMPROMISE');
  }

  /** Destroys a key (T2, T5, T9, T13, T15): erased from every HSM; the metadata stays. */
  destroyKey(keyId: KeyId): void {
    this.#keyEvent(keyId, 'DESTROY');
  }

  /**
   * Sends `EXPIRE` to one key: refused unless its cryptoperiod has ended (the sweep does this for
   * every due key before each operation, so this only matters as an explicit, audited request).
   */
  expireKey(keyId: KeyId): void {
    this.#keyEvent(keyId, 'EXPIRE');
  }

  /** The original's `sekey_key_change_status`, by target state name. */
  changeKeyStatus(keyId: KeyId, to: 'suspended' | 'deactivated' | 'compromised' | 'destroyed'): void {
    const events = { suspended: 'SUSPEND', deactivated: 'DEACTIVATE', compromised: 'COMPROMISE', destroyed: 'DESTROY' } as const;
    this.#keyEvent(keyId, events[to]);
  }

  #keyEvent(keyId: KeyId, type: KeyEventType): void {
    this.#mutate(`key:${type}`, { keyId }, (m) => {
      const key = requireKey(m.db, keyId);
      const next = stepKey(key, { type, now: m.now });
      writeKey(m.db, next);
      if (isDestroyed(stateOf(next))) {
        m.db.run('DELETE FROM key_holders WHERE key_id = ?', [keyId]);
        if (!isDestroyed(stateOf(key))) m.eraseAfterCommit(keyId);
      }
      const group = readGroup(m.db, key.owner);
      if (type === 'COMPROMISE' && stateOf(key) === 'active' && group) {
        activateReplacement(m, group);
      }
    });
  }

  /** Renames a key (`sekey_key_change_name`). */
  renameKey(keyId: KeyId, name: string): void {
    this.#mutate('renameKey', { keyId, name }, ({ db }) => {
      const key = requireKey(db, keyId);
      throwIf(checkName(name));
      writeKey(db, { ...key, name });
    });
  }

  /** A key's metadata and holders (`sekey_key_get_info`). */
  keyInfo(keyId: KeyId): AdminKeyInfo {
    return this.#read((db) => adminKeyInfo(db, requireKey(db, keyId)));
  }

  /** Every key (`sekey_key_get_info_all`, `sekey_get_key_ids`). */
  listKeys(): AdminKeyInfo[] {
    return this.#read((db) => readKeys(db).map((k) => adminKeyInfo(db, k)));
  }

  /**
   * Moves every key whose cryptoperiod has ended to `deactivated` (`sekey_check_expired_keys`, but
   * exact: no 60-second margin, and each key stamped with its own end of cryptoperiod, B2).
   * @returns the IDs of the keys it expired.
   */
  sweepExpired(): KeyId[] {
    const now = this.#clock.now();
    const due = this.#db.read((db) => dueKeys(db, now));
    if (due.length > 0) this.#mutate('expireKeys', { keys: due }, () => undefined);
    return due;
  }

  // ---- audit ----------------------------------------------------------------------------------

  /** The audit log, oldest first. */
  auditLog(): AuditEntry[] {
    return this.#db.read(readAudit);
  }

  /** Verifies the audit log's hash chain; returns its head hash. */
  verifyAuditLog(): string {
    return this.#db.read(verifyAudit);
  }

  /** Closes the database (the original's `sekey_stop`). */
  close(): void {
    this.#db.close();
  }

  /** Runs `fn` on the database for reading (distribution uses this). */
  readDatabase<T>(fn: (db: Database) => T): T {
    return this.#read(fn);
  }

  /** Runs `fn` as an audited admin transaction (distribution uses this). */
  transaction<T>(action: string, details: Record<string, unknown>, fn: (db: Database, now: number) => T): T {
    return this.#mutate(action, details, (m) => fn(m.db, m.now));
  }
}

function requireAdminSession(device: SecubeDevice): void {
  if (device.session !== 'admin') throw new KmsError('IllegalTransition', 'the administrator needs its HSM logged in at admin level');
}

function throwIf(error: KmsError | null): void {
  if (error) throw error;
}

function requireUser(db: Database, userId: UserId): UserRecord {
  const user = readUser(db, userId);
  if (!user) throw new KmsError('UnknownUser', `no user ${userId}`);
  return user;
}

function requireGroup(db: Database, groupId: GroupId): GroupRow {
  const group = readGroup(db, groupId);
  if (!group) throw new KmsError('UnknownGroup', `no group ${groupId}`);
  return group;
}

function requireKey(db: Database, keyId: KeyId): KeyRow {
  const key = readKey(db, keyId);
  if (!key) throw new KmsError('UnknownKey', `no key ${keyId}`);
  return key;
}

function groupsOf(db: Database, userId: UserId): GroupId[] {
  return sortIds(column(db, 'SELECT group_id FROM memberships WHERE user_id = ?', [userId]).map(String));
}

function isDestroyed(state: KeyState): boolean {
  return state === 'destroyed' || state === 'destroyedCompromised';
}

function liveKeysOf(db: Database, groupId: GroupId): KeyRow[] {
  return readKeys(db, 'owner_group = ?', [groupId]).filter((k) => LIVE_KEY_STATES.includes(stateOf(k)));
}

function adminKeyInfo(db: Database, key: KeyRow): AdminKeyInfo {
  return { ...keyView(key), holders: sortIds(column(db, 'SELECT user_id FROM key_holders WHERE key_id = ?', [key.id]).map(String)) };
}

/** Retires a key that could still protect: pre-active ones are destroyed (T2), others deactivated. */
function retire(key: KeyRow, now: number): KeyRow {
  const s = stateOf(key);
  if (!LIVE_KEY_STATES.includes(s)) return key;
  return stepKey(key, { type: s === 'preActivation' ? 'DESTROY' : 'DEACTIVATE', now });
}

function insertNewKey(m: Mutation, group: GroupRow, name: string, cryptoperiodMs: number): KeyRow {
  const id = m.generateKey();
  const key: KeyRow = {
    id,
    name,
    owner: group.id,
    algorithm: group.policy.algorithm,
    lifecycle: newKeyLifecycle({ id, cryptoperiodMs, createdAt: m.now }),
  };
  writeKey(m.db, key);
  for (const member of group.members) m.db.run('INSERT INTO key_holders (key_id, user_id) VALUES (?, ?)', [id, member]);
  return key;
}

/** A fresh key for the group's current members, activated at once, with the group's default cryptoperiod. */
function activateReplacement(m: Mutation, group: GroupRow): void {
  const key = insertNewKey(m, group, `replacement in ${group.id}`, group.policy.defaultCryptoperiodMs);
  writeKey(m.db, stepKey(key, { type: 'ACTIVATE', now: m.now }));
}

function removeMemberAndRekey(m: Mutation, group: GroupRow, userId: UserId): void {
  const keys = readKeys(m.db, 'owner_group = ?', [group.id]);
  const hadActive = keys.some((k) => stateOf(k) === 'active');
  m.db.run('DELETE FROM memberships WHERE group_id = ? AND user_id = ?', [group.id, userId]);
  m.db.run('DELETE FROM key_holders WHERE user_id = ? AND key_id IN (SELECT id FROM keys WHERE owner_group = ?)', [userId, group.id]);
  for (const key of keys) {
    const retired = retire(key, m.now);
    if (retired === key) continue;
    writeKey(m.db, retired);
    if (isDestroyed(stateOf(retired))) {
      m.db.run('DELETE FROM key_holders WHERE key_id = ?', [key.id]);
      m.eraseAfterCommit(key.id);
    }
  }
  if (hadActive) activateReplacement(m, { ...group, members: group.members.filter((u) => u !== userId) });
}

/** The device key ID of the database key, re-exported for tools that list device keys. */
export { DATABASE_KEY_ID };
