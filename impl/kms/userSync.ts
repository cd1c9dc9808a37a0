/**
 * Syncing an SEkey user's replica: reading the user's update files from the share, having the HSM
 * authenticate each, applying those `model/updateProcessing.ts` accepts to the replica (and the HSM
 * work they order: key imports, erase orders), and writing the acknowledgements the administrator
 * collects (`acknowledgementCollector.ts`). Its state, the update-processing machine's snapshot, is
 * committed with the replica; `User` (`user.ts`) reads from it the freshness of its view (a sealed
 * heartbeat in every file, `stalenessAt` of `model/updateProcessing.ts`) and the sequence applied.
 * @module
 */
import type { SecubeDevice } from '../../device/secube.ts';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { initialTransition, transition } from '../../model/pureTransition.ts';
import { isDeviceError } from '../../device/deviceError.ts';
import { isSerial } from '../../device/deviceState.ts';
import type { DeviceError } from '../../device/deviceError.ts';
import { PowerLossError } from '../../device/powerLossError.ts';
import { UPDATE_SEQUENCE_COUNTER } from '../../device/acknowledgement.ts';
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
import type { KeyId, UserId } from '../../model/kms.ts';
import type { Clock } from './clock.ts';
import type { EncryptedDatabase } from '../db/encryptedDatabase.ts';
import type { Database } from '../db/sqlite.ts';
import type { ProvisioningRecord } from './distribution.ts';
import { SyncStalledError } from './syncStalledError.ts';
import { column, restoreLifecycle, writeGroup, writeKey } from './kmsRows.ts';
import { execute, query } from '../db/statementCache.ts';
import { messageOf } from '../../model/codedError.ts';

/**
 * Refusals of owed HSM work that later files can cure, and only they: a full key store (their erase
 * orders free room), and an import the HSM refuses for good, whose key a later file delivers again,
 * bound to that file, or orders erased (the last order for a key is the one carried out). Such an
 * import is one of a file published before wrapped keys were bound (`device/secubeWrap.ts`:
 * `UnwrapFailed`), which the administrator's resync cures; thrown, it stopped every sync before its
 * first file, the resync's included, for good. Nothing is recorded or acknowledged while it is owed.
 */
const CURABLE_REFUSALS = ['StoreFull', 'UnwrapFailed', 'SpentKeyMaterial'] as const;

/** A user's device as opened: its HSM, its replica's database, the clock, whose it is, its channel keys. */
export interface UserDeviceParts {
  readonly device: SecubeDevice;
  readonly db: EncryptedDatabase;
  readonly clock: Clock;
  readonly userId: UserId;
  readonly keyIds: ProvisioningRecord['keyIds'];
}

/** The syncing side of a `User` (`user.ts`): its update stream, the update-processing state, the owed HSM work. */
export class UserSync {
  readonly #device: SecubeDevice;
  readonly #db: EncryptedDatabase;
  readonly #clock: Clock;
  readonly #userId: UserId;
  readonly #keyIds: ProvisioningRecord['keyIds'];

  constructor(parts: UserDeviceParts) {
    ({ device: this.#device, db: this.#db, clock: this.#clock, userId: this.#userId, keyIds: this.#keyIds } = parts);
  }

  #deviceWorkError: Error | null = null;

  /** Why the HSM refused the owed work when it last tried, if it did (null once it is done). */
  get deviceWorkError(): Error | null {
    return this.#deviceWorkError;
  }

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

  /**
   * How fresh this user's view is: the latest heartbeat applied (null before any), and why the view
   * is too old to encrypt under now (null when it is not).
   */
  freshness(): { readonly statement: FreshnessStatement | null; readonly staleness: Staleness | null } {
    const context = this.#processing().context;
    return { statement: context.freshness ?? null, staleness: stalenessAt(context, this.#clock.now()) };
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
   *   stays full after every file (or `UnwrapFailed` / `SpentKeyMaterial` when an owed import stays
   *   refused, {@link CURABLE_REFUSALS}): what was applied stays applied, its HSM work owed.
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
    // the key store is full or an import is refused for good: then only later files can help (their
    // erase orders free room; they deliver the key again, bound to them), so they are applied, their
    // work added to the owed work, and nothing is recorded in the HSM or acknowledged until all of it
    // is done (an acknowledgement tells the admin that the device carried out what the files up to it
    // ordered: `AcknowledgementCollector.collectAcknowledgements`).
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
   * ({@link finishDeviceWork}). A power cut before the commit leaves the state before; after it,
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
  finishDeviceWork(): void {
    try {
      this.#carryOutDeviceWork();
      this.#deviceWorkError = null;
    } catch (error) {
      if (isDeviceError(error)) this.#deviceWorkError = error;
      throw error;
    }
  }

  /**
   * {@link finishDeviceWork}, except that a refusal of owed work that files still to come can cure is
   * returned instead of thrown ({@link CURABLE_REFUSALS}). Every other failure is thrown.
   */
  #finishDeviceWorkUnlessFull(): DeviceError | null {
    try {
      this.finishDeviceWork();
      return null;
    } catch (error) {
      if (isDeviceError(error) && (CURABLE_REFUSALS as readonly string[]).includes(error.code)) return error;
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
   * for the admin to find: its next collection sets the file aside
   * (`AcknowledgementCollector.collectAcknowledgements`), and the sync after that finds the
   * acknowledgement missing and sends it again.
   *
   * Sent too when the stream holds a file numbered below the last applied one and no acknowledgement
   * of that one is on the share. The admin removes the files an acknowledgement covers before the
   * acknowledgement itself, so such a file was written after the admin collected it: an admin HSM
   * restored from a backup, publishing again numbers this device applied (it passes over them
   * unread, as files it applied), or old files put back by someone who can write the share. The
   * acknowledgement tells the admin either way: a restored one finds it ahead of its database and
   * says so (`AcknowledgementCollector.collectAcknowledgements`, `ahead`); any other takes it for one it collected
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

/** A file of the user's stream that claims news, as {@link UserSync.sync} reads it. */
interface NewFile {
  readonly name: string;
  /** The sequence and kind its name claims. */
  readonly claimed: NonNullable<ReturnType<typeof sequenceOfName>>;
  /** Its header when it was listed, not authenticated (the HSM does that); null if it did not parse. */
  readonly header: UpdateHeader | null;
}

/** A sync that power cut short (see {@link UserSync.interruptedSync}). */
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

/** What one {@link UserSync.sync} did. */
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
   * acknowledged its last file again, which tells a restored admin (`AcknowledgementCollector.collectAcknowledgements`,
   * `ahead`) and lets any other clear them.
   */
  readonly writtenSince: readonly string[];
}

/** What {@link UserSync.sync} does first about the last applied file: its acknowledgement sent again, or not. */
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
