/**
 * The SEkey administrator: the key distribution centre. It owns the admin HSM (logged in at admin
 * level) and the master metadata database on that HSM's SD card, and it is the only role that
 * changes anything.
 *
 * The whole-KMS rules are re-implemented over SQL in `rules/`, independently of `model/kms.ts`, so
 * that the property suites comparing the two after every step can catch a disagreement; this class
 * checks arguments, runs the rules in a transaction and reports what they did. What is *not*
 * re-implemented is the life cycle: every key transition goes through the model's
 * `keyLifecycleMachine` (`rules/stepKey.ts`), and refusals surface as the model's `KmsError` with the
 * model's codes.
 *
 * Every operation is one database transaction that first expires due keys (audited as such), then
 * changes tables, then appends a hash-chained audit entry (a transaction that did nothing leaves
 * none, and an unchanged database commits nothing: `PageStore.commit`); it returns what it did
 * ({@link AdminChanges}, recorded by the rules as they act). Keys are generated inside the admin HSM
 * (TRNG) during the transaction and deleted again if it fails before committing (a commit cut short
 * may have landed: its keys stay until the reopen tells); keys are erased from the HSM only after the
 * destruction is committed. A crash between the two leaves at worst an orphan key in flash, which
 * {@link Admin.open} erases (the original's `se3_flash_maintenance_routine`, done on
 * start). Reads never commit: they show keys as expiry at the clock's time would leave them.
 *
 * Fixed here from the original (reference: SEkey's `SEkey.cpp`): B1 (deleting a group left its keys
 * active), B2/B3 (wrong deactivation timestamps), B4 (`max_keys` never enforced, counter never
 * decremented), W6 (no rekey on member removal, new members got every past key).
 * @module
 */
import type { SdCard } from '../../device/sdcard.ts';
import type { SecubeDevice } from '../../device/secube.ts';
import { KEY_TRANSITIONS } from '../../model/keyLifecycle.ts';
import type { KeyEventType, KeyState } from '../../model/keyLifecycle.ts';
import {
  DESTROYED_KEY_STATES,
  FIRST_KEY_NUMBER,
  KmsError,
  checkId,
  checkName,
  checkPolicy,
  invalidTime,
  sortIds,
} from '../../model/kms.ts';
import type { GroupId, GroupPolicy, KeyId, KmsOperation, UserId, UserRecord } from '../../model/kms.ts';
import type { Clock } from './clock.ts';
import { systemClock } from './clock.ts';
import { appendAudit, lastAuditedAt, readAudit, verifyAudit } from '../db/auditLog.ts';
import type { AuditCard, AuditEntry, AuditItem } from '../db/auditLog.ts';
import { EncryptedDatabase } from '../db/encryptedDatabase.ts';
import { secubeDatabaseDevice } from '../db/secubeDatabaseDevice.ts';
import type { Database } from '../db/sqlite.ts';
import { deviceKeyNumber, isKmsDeviceKey, userKeyIndex } from '../protocol/deviceKeyIds.ts';
import { SekeyError } from '../protocol/sekeyError.ts';
import { ChangeRecorder, NO_CHANGES } from './adminChanges.ts';
import type { AdminChanges, AdminKeyInfo, ChangeSpan } from './adminChanges.ts';
import {
  column,
  groupedIds,
  keyView,
  readGroup,
  readGroups,
  readKeys,
  readUser,
  readUsers,
  stateOf,
  writeGroup,
  writeKey,
} from './kmsRows.ts';
import type { GroupRow, KeyRow } from './kmsRows.ts';
import { holdersOf, viewersOfUser } from './rules/affectedUsers.ts';
import { dueKeys, expireDueKeys, keyAsOf } from './rules/expiry.ts';
import { deleteGroupAndRetireKeys } from './rules/groupDeletion.ts';
import { addMemberAndRekey } from './rules/rekeyOnJoin.ts';
import { applyKeyEvent } from './rules/keyEvent.ts';
import { stepKey } from './rules/stepKey.ts';
import type { Mutation } from './rules/mutation.ts';
import { insertNewKey } from './rules/newKey.ts';
import { checkNewKey, checkPolicyChange } from './rules/policyCheck.ts';
import { removeMemberAndRekey } from './rules/rekeyOnLeave.ts';
import { requireGroup, requireKey, requireUser, throwIf } from './rules/require.ts';
import { findRetiredHsm, forgetRetiredHsm, keysRetiredHsmMayHold, usersServed } from './retiredHsms.ts';
import type { ForgottenHsm, HsmFate } from './retiredHsms.ts';
import { execute } from '../db/statementCache.ts';

export type { AdminKeyInfo } from './adminChanges.ts';

/** A user as the admin sees it (the original's `se_user`, without any PIN: PINs stay in HSMs). */
export interface AdminUserInfo extends UserRecord {
  readonly groups: readonly GroupId[];
}

/** Options of a new key. */
export interface AddKeyOptions {
  /** At most the group's default (which is also the default). */
  readonly cryptoperiodMs?: number;
}

/**
 * What an admin transaction's audit entry says: fixed details, or details drawn from its result (the
 * ID of the key it made, the files it published); null for a transaction that did nothing worth an
 * entry (a publication with nothing to say), which then leaves no entry.
 */
export type AuditDetails<T> = Record<string, unknown> | ((result: T) => Record<string, unknown> | null);

/** An entry that follows an operation's own, naming the key changes recorded in `span`. */
interface FollowUpEntry {
  readonly action: string;
  readonly details: Record<string, unknown>;
  readonly span?: ChangeSpan;
}

const NEXT_KEY_COUNTER = 'nextKeyNumber';

/** The SEkey administrator. */
export class Admin {
  readonly #device: SecubeDevice;
  readonly #db: EncryptedDatabase;
  readonly #clock: Clock;
  /** Where the audit log's sealed records go (`auditLog.ts`): beside the database, on the same card. */
  readonly #audit: AuditCard;

  private constructor(device: SecubeDevice, db: EncryptedDatabase, clock: Clock, audit: AuditCard) {
    this.#device = device;
    this.#db = db;
    this.#clock = clock;
    this.#audit = audit;
  }

  /**
   * Sets up the administrator on a fresh admin HSM (admin session) and its SD card: identity, key
   * counter and the first audit entry, in the database's first commit (`EncryptedDatabase.create`).
   */
  static async create(options: { device: SecubeDevice; sd: SdCard; clock?: Clock }): Promise<Admin> {
    requireAdminSession(options.device);
    const dbDevice = secubeDatabaseDevice(options.device);
    const clock = options.clock ?? systemClock;
    const audit: AuditCard = { device: dbDevice, sd: options.sd };
    const db = await EncryptedDatabase.create(dbDevice, options.sd, (d) => {
      execute(d, "INSERT INTO identity (id, role) VALUES (1, 'admin')");
      execute(d, 'INSERT INTO counters VALUES (?, ?)', [NEXT_KEY_COUNTER, FIRST_KEY_NUMBER]);
      appendAudit(d, audit, [{ at: clock.now(), actor: 'admin', action: 'initAdmin', details: {} }]);
    });
    return new Admin(options.device, db, clock, audit);
  }

  /**
   * Opens the administrator's database and reconciles the HSM with it: KMS keys in flash that the
   * database does not hold as live (orphans of an interrupted operation, or destroyed keys whose
   * erase was cut short), and provisioning keys of a device the database has no record of (a
   * provisioning whose commit was lost), are erased. Nothing is committed.
   */
  static async open(options: { device: SecubeDevice; sd: SdCard; clock?: Clock }): Promise<Admin> {
    requireAdminSession(options.device);
    const dbDevice = secubeDatabaseDevice(options.device);
    const db = await EncryptedDatabase.open(dbDevice, options.sd);
    return db.closeIfThrows(() => {
      const role = db.read((d) => column(d, 'SELECT role FROM identity WHERE id = 1')[0]);
      if (role !== 'admin') {
        throw new SekeyError(
          'NotProvisioned',
          role === undefined
            ? 'this card holds no administrator identity (its setup never completed)'
            : `this card holds a ${String(role)}'s database, not the administrator's`,
        );
      }
      const admin = new Admin(options.device, db, options.clock ?? systemClock, { device: dbDevice, sd: options.sd });
      admin.#reconcileDevice();
      return admin;
    });
  }

  /** The admin database in plaintext as this host holds it (EncryptedDatabase.hostImage). */
  get hostDatabaseImage(): Uint8Array {
    return this.#db.hostImage;
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
    const destroyed = DESTROYED_KEY_STATES.map(() => '?').join(', ');
    const wanted = new Set(
      this.#db
        .read((d) => column(d, `SELECT id FROM keys WHERE state NOT IN (${destroyed})`, [...DESTROYED_KEY_STATES]))
        .map((id) => deviceKeyNumber(String(id))),
    );
    // Provisioning installs a device's channel and wrapping keys before its commit: a commit lost
    // to a power cut leaves them under an index no device row names, and would block that index.
    const provisioned = new Set(
      this.#db.read((d) => column(d, 'SELECT key_base FROM user_devices')).map((index) => Number(index)),
    );
    for (const id of this.#device.listKeyIds()) {
      const index = userKeyIndex(id);
      const orphan = isKmsDeviceKey(id) ? !wanted.has(id) : index !== null && !provisioned.has(index);
      if (orphan) this.#device.deleteKey(id);
    }
  }

  /**
   * Runs one admin operation as a single audited transaction; see the module comment. KMS
   * operations first expire due keys (`sweep`); distribution's transactions do not, and show keys
   * as of their time instead, so that an expiry is always committed by, and reported with, a KMS
   * operation. `followUps` are entries the operation's own entry is followed by, in the same sealed
   * record (the key events `forgetHsm` takes, each as `compromise-key` would log it), each naming
   * the key changes of its `span` (which the operation's own entry then leaves out).
   *
   * Every entry's details end with what its part of the transaction did to keys
   * ({@link ChangeRecorder.audited}: `created`, `transitions`, each left out when empty): the
   * sweep's `expireKeys` entry the expiries, the operation's entry the rest.
   */
  #mutate<T>(
    action: string,
    details: AuditDetails<T>,
    fn: (m: Mutation) => T,
    sweep = true,
    followUps: (result: T) => ReadonlyArray<FollowUpEntry> = () => [],
  ): { value: T; changes: AdminChanges } {
    const now = this.#clock.now();
    // The model's check of every operation's time (GENERAL_REFUSALS): a clock may be set anywhere.
    const refusal = invalidTime(now);
    if (refusal !== null) throw refusal;
    const generated: number[] = [];
    const toErase: number[] = [];
    const changes = new ChangeRecorder();
    let value: T;
    try {
      value = this.#db.transaction((db) => {
        const start = changes.mark();
        const expired = sweep ? expireDueKeys(db, now, changes) : [];
        const swept = changes.mark();
        // One sealed audit record per transaction, written last (`auditLog.ts`). Each entry names
        // the keys generated and the steps taken in its part of the transaction (`audited`).
        const audit: AuditItem[] = [];
        if (expired.length > 0) {
          const keys = changes.audited({ from: start, to: swept }, now);
          audit.push({ at: now, actor: 'admin', action: 'expireKeys', details: { keys: expired, ...keys } });
        }
        const m: Mutation = {
          db,
          now,
          changes,
          generateKey: () => {
            const n = Number(column(db, 'SELECT value FROM counters WHERE name = ?', [NEXT_KEY_COUNTER])[0]);
            execute(db, 'UPDATE counters SET value = ? WHERE name = ?', [n + 1, NEXT_KEY_COUNTER]);
            this.#device.generateKey(n, { purpose: 'data' });
            generated.push(n);
            return `K${n}`;
          },
          eraseAfterCommit: (keyId) => toErase.push(deviceKeyNumber(keyId)),
        };
        const result = fn(m);
        const done = { from: swept, to: changes.mark() };
        const said = typeof details === 'function' ? details(result) : details;
        const following = followUps(result);
        const theirs = following.flatMap((item) => (item.span === undefined ? [] : [item.span]));
        if (said !== null) {
          const keys = changes.audited(done, now, theirs);
          audit.push({ at: now, actor: 'admin', action, details: { ...said, ...keys } });
        }
        for (const { action: followUp, details: told, span } of following) {
          const keys = span === undefined ? {} : changes.audited(span, now);
          audit.push({ at: now, actor: 'admin', action: followUp, details: { ...told, ...keys } });
        }
        appendAudit(db, this.#audit, audit);
        return result;
      });
    } catch (error) {
      // A commit cut short may still have landed (its manifest written, the counter not yet
      // advanced: the reopen completes it), so its keys stay; Admin.open erases those that turn out
      // to be orphans. Only a transaction known not to have committed deletes what it generated.
      if (!this.#db.mustReopen) {
        for (const id of generated) {
          try {
            this.#device.deleteKey(id);
          } catch {
            // The device is gone (power cut): Admin.open erases the orphan later.
          }
        }
      }
      throw error;
    }
    for (const id of toErase) this.#device.deleteKey(id);
    return { value, changes: changes.report() };
  }

  /** Runs a read at the clock's time. Never commits: due keys are shown expired ({@link keyAsOf}). */
  #view<T>(fn: (db: Database, now: number) => T): T {
    const now = this.#clock.now();
    return this.#db.read((db) => fn(db, now));
  }

  /**
   * Carries out a model operation (`model/kms.ts`'s `KmsOperation`: one vocabulary for the property
   * suites, scripts and the CLI) and reports what it did. The operation's `now` is the clock's
   * business: callers replaying model operations set the clock to it first. Throws the model's
   * `KmsError` on refusal, having changed nothing.
   */
  apply(op: KmsOperation): AdminChanges {
    switch (op.type) {
      case 'addUser':
        return this.addUser(op.userId, op.name);
      case 'deleteUser':
        return this.deleteUser(op.userId);
      case 'renameUser':
        return this.renameUser(op.userId, op.name);
      case 'addGroup':
        return this.addGroup(
          op.groupId,
          op.name,
          op.policy,
          op.shareHistory === undefined ? {} : { shareHistory: op.shareHistory },
        );
      case 'deleteGroup':
        return this.deleteGroup(op.groupId);
      case 'renameGroup':
        return this.renameGroup(op.groupId, op.name);
      case 'changePolicy':
        return this.changePolicy(op.groupId, op.policy);
      case 'addMember':
        return this.addMember(op.groupId, op.userId);
      case 'removeMember':
        return this.removeMember(op.groupId, op.userId);
      case 'addKey':
        return this.#addKey(
          op.groupId,
          op.name,
          op.cryptoperiodMs === undefined ? {} : { cryptoperiodMs: op.cryptoperiodMs },
        ).changes;
      case 'renameKey':
        return this.renameKey(op.keyId, op.name);
      case 'expireKeys':
        return this.sweep();
      case 'keyEvent':
        return this.#keyEvent(op.keyId, op.event.type);
    }
  }

  // ---- users ----------------------------------------------------------------------------------

  /** Adds a user (the original's `sekey_add_user`). The user starts in no group. */
  addUser(userId: UserId, name: string): AdminChanges {
    return this.#mutate('addUser', { userId, name }, ({ db, changes }) => {
      throwIf(checkId('user', userId) ?? checkName(name));
      if (readUser(db, userId)) throw new KmsError('DuplicateUser', `user ${userId} exists`);
      execute(db, 'INSERT INTO users (id, name) VALUES (?, ?)', [userId, name]);
      changes.affects([userId]);
    }).changes;
  }

  /** Renames a user (`sekey_user_change_name`). */
  renameUser(userId: UserId, name: string): AdminChanges {
    return this.#mutate('renameUser', { userId, name }, ({ db, changes }) => {
      const user = requireUser(db, userId);
      throwIf(checkName(name));
      execute(db, 'UPDATE users SET name = ? WHERE id = ?', [name, userId]);
      if (user.name !== name) changes.affects(viewersOfUser(db, userId));
    }).changes;
  }

  /**
   * Deletes a user (`sekey_delete_user`): removed from every group with the same rekey as
   * {@link removeMember}. Its device stays on record so that a last snapshot can order it to erase
   * every key it was given.
   */
  deleteUser(userId: UserId): AdminChanges {
    return this.#mutate('deleteUser', { userId }, (m) => {
      requireUser(m.db, userId);
      m.changes.affects(viewersOfUser(m.db, userId));
      for (const group of readGroups(m.db)) {
        if (group.members.includes(userId)) removeMemberAndRekey(m, group, userId);
      }
      // The device stays on record, retired: it gets one last file ordering it to erase everything,
      // and never anything else — even if the same user ID is added again before a new device.
      execute(m.db, 'UPDATE user_devices SET retired_at = ? WHERE user_id = ?', [m.now, userId]);
      execute(m.db, 'DELETE FROM users WHERE id = ?', [userId]);
    }).changes;
  }

  /** A user and its groups (`sekey_user_get_info`). */
  userInfo(userId: UserId): AdminUserInfo {
    return this.#view((db) => {
      const user = requireUser(db, userId);
      return { ...user, groups: groupsOf(db, userId) };
    });
  }

  /** Every user (`sekey_user_get_info_all`, `sekey_get_user_ids`). */
  listUsers(): AdminUserInfo[] {
    return this.#view((db) => {
      const groups = groupedIds(db, 'SELECT user_id, group_id FROM memberships');
      return readUsers(db).map((u) => ({ ...u, groups: groups.get(u.id) ?? [] }));
    });
  }

  /**
   * Forgets a retired HSM (replaced, or its user deleted) that will never acknowledge its last file:
   * the administrator attests it is `destroyed` or `lost`. Every record of it goes
   * (`retiredHsms.ts`): the publisher owes it nothing more, `stale` no longer names its user, and
   * its channel keys leave the admin HSM after the commit. `hsm` is its serial, or the user ID it
   * served (when that user had one retired HSM).
   *
   * A `lost` HSM may still hold every key it was given, and whoever finds it may get them out: NIST
   * SP 800-57 Pt 1 Rev 5 treats keying material whose protection is no longer assured as compromised
   * (§5.5, compromise of keys and other keying material; §6, protection requirements). So each key
   * the administrator's records say it may hold ({@link keysRetiredHsmMayHold}) is marked
   * compromised, by the same life-cycle event as {@link compromiseKey} (an active one is replaced at
   * once, a destroyed one becomes `destroyedCompromised`), each logged as that command logs it after
   * the `forgetHsm` entry. Keys already `compromised` or `destroyedCompromised` are left as they are
   * (reported as skipped). All of it is one transaction: a power cut leaves the HSM on record as
   * before, or forgotten, and forgetting it again is refused (`AlreadyForgotten`), except as lost one
   * forgotten as destroyed: it turned up (for sale, say), and the keys recorded with it when it was
   * forgotten are compromised now. Acknowledgements waiting on the share are not read here: an HSM
   * that acknowledged erasing keys before it was lost no longer holds them, so collect them first
   * (`AcknowledgementCollector.collectAcknowledgements`, as `sekey admin forget-hsm --lost` does).
   * @throws SekeyError `UnknownHsm`, `HsmInService`, `AlreadyForgotten`, `AmbiguousHsm`.
   */
  forgetHsm(hsm: string, fate: HsmFate): ForgottenHsm {
    type Forgetting = Omit<ForgottenHsm, 'fate' | 'changes'> & {
      readonly channelKeys: readonly number[];
      /** What compromising each key did (its step, its replacement): its `key:COMPROMISE` entry's. */
      readonly spans: readonly ChangeSpan[];
    };
    const { value, changes } = this.#mutate<Forgetting>(
      'forgetHsm',
      (r) => ({
        hsm: r.serial,
        users: r.users,
        fate,
        previously: r.previously,
        compromised: r.compromised,
        skipped: r.skipped,
        keysUnknown: r.keysUnknown,
      }),
      (m) => {
        const retired = findRetiredHsm(m.db, hsm, fate);
        const compromised: KeyId[] = [];
        const spans: ChangeSpan[] = [];
        const skipped: Array<{ keyId: KeyId; state: KeyState }> = [];
        for (const keyId of fate === 'lost' ? keysRetiredHsmMayHold(m.db, retired) : []) {
          const key = requireKey(m.db, keyId);
          const state = stateOf(key);
          // The life-cycle machine decides which keys can still be marked compromised (NIST SP 800-57
          // Pt 1 §7, KMIP's destroyed-compromised); the rest are already, and are reported, not refused.
          if (KEY_TRANSITIONS[state].COMPROMISE === undefined) skipped.push({ keyId, state });
          else {
            const from = m.changes.mark();
            applyKeyEvent(m, key, 'COMPROMISE');
            compromised.push(keyId);
            spans.push({ from, to: m.changes.mark() });
          }
        }
        const channelKeys = forgetRetiredHsm(m.db, retired, fate, m.now);
        const keysUnknown = fate === 'lost' && !retired.keysRecorded;
        const previously = retired.forgottenFor === null ? null : 'destroyed';
        return {
          serial: retired.serial,
          users: usersServed(retired),
          previously,
          compromised,
          skipped,
          keysUnknown,
          channelKeys,
          spans,
        };
      },
      true,
      (r) =>
        r.compromised.map((keyId, i) => ({
          action: 'key:COMPROMISE',
          details: { keyId, hsm: r.serial },
          ...(r.spans[i] === undefined ? {} : { span: r.spans[i] }),
        })),
    );
    const held = new Set(this.#device.listKeyIds());
    for (const id of value.channelKeys) if (held.has(id)) this.#device.deleteKey(id);
    const { channelKeys: _erased, spans: _audited, ...forgotten } = value;
    return { ...forgotten, fate, changes };
  }

  // ---- groups ---------------------------------------------------------------------------------

  /** Adds a group with its policy (`sekey_add_group`). */
  addGroup(
    groupId: GroupId,
    name: string,
    policy: GroupPolicy,
    options: { shareHistory?: boolean } = {},
  ): AdminChanges {
    return this.#mutate(
      'addGroup',
      { groupId, name, policy, shareHistory: options.shareHistory ?? false },
      ({ db }) => {
        throwIf(checkId('group', groupId) ?? checkName(name) ?? checkPolicy(policy));
        const exists =
          readGroup(db, groupId) !== null ||
          column(db, 'SELECT id FROM retired_groups WHERE id = ?', [groupId]).length > 0;
        if (exists) throw new KmsError('DuplicateGroup', `group ${groupId} exists or existed`);
        writeGroup(db, { id: groupId, name, policy, shareHistory: options.shareHistory ?? false });
      },
    ).changes;
  }

  /** Renames a group (`sekey_group_change_name`). */
  renameGroup(groupId: GroupId, name: string): AdminChanges {
    return this.#mutate('renameGroup', { groupId, name }, ({ db, changes }) => {
      const group = requireGroup(db, groupId);
      throwIf(checkName(name));
      writeGroup(db, { ...group, name });
      if (group.name !== name) changes.affects(group.members);
    }).changes;
  }

  /**
   * Changes a group's policy (`sekey_group_change_max_keys`, `…_default_cryptoperiod`). Refused if
   * the group's live keys would break it.
   */
  changePolicy(groupId: GroupId, policy: GroupPolicy): AdminChanges {
    return this.#mutate('changePolicy', { groupId, policy }, ({ db, changes }) => {
      const group = requireGroup(db, groupId);
      throwIf(checkPolicy(policy));
      checkPolicyChange(db, groupId, policy);
      writeGroup(db, { ...group, policy });
      const p = group.policy;
      if (
        p.maxKeys !== policy.maxKeys ||
        p.algorithm !== policy.algorithm ||
        p.defaultCryptoperiodMs !== policy.defaultCryptoperiodMs
      ) {
        changes.affects(group.members);
      }
    }).changes;
  }

  /** Changes only `maxKeys` (the original's `sekey_group_change_max_keys`). */
  setMaxKeys(groupId: GroupId, maxKeys: number): AdminChanges {
    const group = this.groupInfo(groupId);
    return this.changePolicy(groupId, { ...group.policy, maxKeys });
  }

  /** Changes only the default cryptoperiod (`sekey_group_change_default_cryptoperiod`). */
  setDefaultCryptoperiod(groupId: GroupId, defaultCryptoperiodMs: number): AdminChanges {
    const group = this.groupInfo(groupId);
    return this.changePolicy(groupId, { ...group.policy, defaultCryptoperiodMs });
  }

  /**
   * Deletes a group (`sekey_delete_group`). Its live keys are retired — the original's B1 left them
   * active — and every member's device drops the group and its keys; the metadata stays for audit.
   */
  deleteGroup(groupId: GroupId): AdminChanges {
    return this.#mutate('deleteGroup', { groupId }, (m) => {
      deleteGroupAndRetireKeys(m, requireGroup(m.db, groupId));
    }).changes;
  }

  /** A group: policy and members (`sekey_group_get_info`). */
  groupInfo(groupId: GroupId): GroupRow {
    return this.#view((db) => requireGroup(db, groupId));
  }

  /** Every group (`sekey_group_get_info_all`, `sekey_get_group_ids`). */
  listGroups(): GroupRow[] {
    return this.#view(readGroups);
  }

  /**
   * Adds a member (`sekey_add_user_group`). The new member's device receives only the keys that can
   * still protect — pre-active, active, suspended — plus deactivated ones if the group shares its
   * history; never compromised or destroyed ones (backward secrecy).
   */
  addMember(groupId: GroupId, userId: UserId): AdminChanges {
    return this.#mutate('addMember', { groupId, userId }, (m) => {
      const group = requireGroup(m.db, groupId);
      requireUser(m.db, userId);
      if (group.members.includes(userId)) throw new KmsError('AlreadyMember', `${userId} is already in ${groupId}`);
      addMemberAndRekey(m, group, userId);
    }).changes;
  }

  /**
   * Removes a member (`sekey_delete_user_group`) and rekeys the group: every key that could still
   * protect is retired and, if the group had an active key, a fresh one is activated for the
   * remaining members (forward secrecy; the original never rotates, W6).
   */
  removeMember(groupId: GroupId, userId: UserId): AdminChanges {
    return this.#mutate('removeMember', { groupId, userId }, (m) => {
      const group = requireGroup(m.db, groupId);
      requireUser(m.db, userId);
      if (!group.members.includes(userId)) throw new KmsError('NotMember', `${userId} is not in ${groupId}`);
      removeMemberAndRekey(m, group, userId);
    }).changes;
  }

  // ---- keys -----------------------------------------------------------------------------------

  /**
   * Adds a key to a group (`sekey_add_key`): generated by the admin HSM's TRNG, pre-active, held by
   * the group's members. `maxKeys` is enforced (B4) over keys that can still protect.
   * @returns the new key's ID ({@link apply} reports the key itself).
   */
  addKey(groupId: GroupId, name: string, options: AddKeyOptions = {}): KeyId {
    return this.#addKey(groupId, name, options).value;
  }

  #addKey(groupId: GroupId, name: string, options: AddKeyOptions): { value: KeyId; changes: AdminChanges } {
    return this.#mutate(
      'addKey',
      (keyId) => ({ groupId, name, keyId, ...options }),
      (m) => {
        const group = requireGroup(m.db, groupId);
        throwIf(checkName(name));
        const cryptoperiodMs = checkNewKey(m.db, group, options.cryptoperiodMs);
        return insertNewKey(m, group, name, cryptoperiodMs, 'added').id;
      },
    );
  }

  /** Activates a key (`sekey_activate_key`): NIST T4 (first activation starts the cryptoperiod). */
  activateKey(keyId: KeyId): AdminChanges {
    return this.#keyEvent(keyId, 'ACTIVATE');
  }

  /** Suspends an active key (T7). */
  suspendKey(keyId: KeyId): AdminChanges {
    return this.#keyEvent(keyId, 'SUSPEND');
  }

  /** Resumes a suspended key before the end of its cryptoperiod (T10; the original re-activates). */
  resumeKey(keyId: KeyId): AdminChanges {
    return this.#keyEvent(keyId, 'RESUME');
  }

  /** Deactivates a key (T8, T12), stamped with the real time (the original's B3 stamped the expiry). */
  deactivateKey(keyId: KeyId): AdminChanges {
    return this.#keyEvent(keyId, 'DEACTIVATE');
  }

  /** Marks a key compromised (T3, T6, T11, T14, KMIP 10); an active one is replaced at once. */
  compromiseKey(keyId: KeyId): AdminChanges {
    return this.#keyEvent(keyId, 'COMPROMISE');
  }

  /**
   * Destroys a key (T2, T13, T15): erased from every HSM; the metadata stays. An active or suspended
   * key is refused: deactivate it first (`model/keyLifecycle.ts`: T5 and T9 are not for data keys).
   */
  destroyKey(keyId: KeyId): AdminChanges {
    return this.#keyEvent(keyId, 'DESTROY');
  }

  /** The original's `sekey_key_change_status`, by target state name. */
  changeKeyStatus(keyId: KeyId, to: 'suspended' | 'deactivated' | 'compromised' | 'destroyed'): AdminChanges {
    const events = {
      suspended: 'SUSPEND',
      deactivated: 'DEACTIVATE',
      compromised: 'COMPROMISE',
      destroyed: 'DESTROY',
    } as const;
    return this.#keyEvent(keyId, events[to]);
  }

  /**
   * Throws what the key's life cycle refuses `type` with (an unknown key, a step its state does not
   * take), changing nothing: the gate of the event itself (`rules/stepKey.ts`), and nothing else. A
   * destructive command asks its question only about a step the key can take (`destroy-key` of an
   * active key is refused before anyone is asked). For DESTROY that gate is every refusal; COMPROMISE
   * could still be refused later, by the group's policy when its replacement is made.
   */
  checkKeyEvent(keyId: KeyId, type: KeyEventType): void {
    this.#view((db, now) => {
      const refusal = invalidTime(now);
      if (refusal !== null) throw refusal;
      // As the event would find the key: after the expiry sweep every change starts with.
      stepKey(keyAsOf(requireKey(db, keyId), now), { type, now });
    });
  }

  #keyEvent(keyId: KeyId, type: KeyEventType): AdminChanges {
    return this.#mutate(`key:${type}`, { keyId }, (m) => applyKeyEvent(m, requireKey(m.db, keyId), type)).changes;
  }

  /** Renames a key (`sekey_key_change_name`). */
  renameKey(keyId: KeyId, name: string): AdminChanges {
    return this.#mutate('renameKey', { keyId, name }, ({ db, changes }) => {
      const key = requireKey(db, keyId);
      throwIf(checkName(name));
      writeKey(db, { ...key, name });
      changes.renamed(keyId, key.name, name);
      if (key.name !== name) changes.affects(holdersOf(db, keyId));
    }).changes;
  }

  /** A key's metadata and holders (`sekey_key_get_info`), as of the clock's time. */
  keyInfo(keyId: KeyId): AdminKeyInfo {
    return this.#view((db, now) => adminKeyInfo(db, keyAsOf(requireKey(db, keyId), now)));
  }

  /** Every key (`sekey_key_get_info_all`, `sekey_get_key_ids`), as of the clock's time. */
  listKeys(): AdminKeyInfo[] {
    return this.#view((db, now) => {
      const holders = groupedIds(db, 'SELECT key_id, user_id FROM key_holders');
      return readKeys(db).map((k) => ({ ...keyView(keyAsOf(k, now)), holders: holders.get(k.id) ?? [] }));
    });
  }

  /**
   * Moves every key whose cryptoperiod has ended to `deactivated` (`sekey_check_expired_keys`, but
   * exact: no 60-second margin, and each key stamped with its own end of cryptoperiod, B2). Commits
   * (and audits) only if a key was due.
   */
  sweep(): AdminChanges {
    if (this.#view(dueKeys).length === 0) return NO_CHANGES;
    // The expiry itself, not the keys due a moment ago: its entry names what it did.
    return this.#mutate<KeyId[]>(
      'expireKeys',
      (keys) => (keys.length === 0 ? null : { keys }),
      (m) => expireDueKeys(m.db, m.now, m.changes),
      false,
    ).changes;
  }

  /**
   * {@link sweep}, reporting only the IDs of the keys it expired.
   */
  sweepExpired(): KeyId[] {
    return this.sweep().transitions.map((t) => t.keyId);
  }

  // ---- audit ----------------------------------------------------------------------------------

  /**
   * The time of the latest audited operation, from the sealed database: no session may run before
   * it (the host refuses one, `ClockWentBack`, whatever its own record of time says).
   */
  lastAuditedAt(): number {
    return this.#db.read(lastAuditedAt);
  }

  /** The audit log, oldest first. */
  auditLog(): AuditEntry[] {
    return this.#db.read((db) => readAudit(db, this.#audit));
  }

  /** Verifies the audit log's hash chain; returns its head hash. */
  verifyAuditLog(): string {
    return this.#db.read((db) => verifyAudit(db, this.#audit));
  }

  /** Closes the database (the original's `sekey_stop`). */
  close(): void {
    this.#db.close();
  }

  /** Runs `fn` on the database for reading, with the clock's time (distribution uses this). Never commits. */
  readDatabase<T>(fn: (db: Database, now: number) => T): T {
    return this.#view(fn);
  }

  /**
   * Runs `fn` as an audited admin transaction that changes no KMS record (distribution uses this:
   * provisioning, publication, acknowledgements). It expires nothing: keys due at `now` are to be
   * read through `rules/expiry.ts`'s `keyAsOf`.
   */
  transaction<T>(action: string, details: AuditDetails<T>, fn: (db: Database, now: number) => T): T {
    return this.#mutate(action, details, (m) => fn(m.db, m.now), false).value;
  }
}

function requireAdminSession(device: SecubeDevice): void {
  if (device.session !== 'admin')
    throw new KmsError('IllegalTransition', 'the administrator needs its HSM logged in at admin level');
}

function groupsOf(db: Database, userId: UserId): GroupId[] {
  return sortIds(column(db, 'SELECT group_id FROM memberships WHERE user_id = ?', [userId]).map(String));
}

function adminKeyInfo(db: Database, key: KeyRow): AdminKeyInfo {
  return { ...keyView(key), holders: holdersOf(db, key.id) };
}
