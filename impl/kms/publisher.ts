/**
 * The administrator's side of distribution: after changes, publish to each affected user exactly
 * what changed in that user's view (need-to-know), as an update file sealed by the admin HSM; collect
 * acknowledgements; know who is stale; resynchronise users on request.
 *
 * A user is affected when its view (need-to-know, `rules/needToKnow.ts`) differs from the view last
 * published to it, so exactly the affected users get a file. What was last published is kept once for
 * the world (`publishedWorld.ts`) and per device only as its own groups and keys (`deviceViews.ts`),
 * so the bookkeeping of a round grows with what changed, not with the square of the group size
 * (`viewDiff.ts`). The file, its sequence and the device's new view are committed to the admin
 * database (an outbox) before the file is written to the transport; a crash in between is repaired
 * by {@link Publisher.flush}, which writes the committed files again — byte for byte, since sealing
 * is randomised and a regenerated file would fork the user's chain.
 *
 * Acknowledgements are collected in one transaction per round, however many users sent one: one
 * database commit (and one audit entry) for a thousand users, not a thousand.
 *
 * Each user's publication state follows `model/publication.ts` (upToDate, pending, acknowledged,
 * stale), driven through xstate's pure `transition()`.
 *
 * **Heartbeats** (TUF's timestamp role, The Update Framework specification §"timestamp"): every
 * file carries a `heartbeat` record — when it was issued (the admin's clock) and the installation's
 * freshness window — and a user whose latest file is older than the heartbeat interval gets a
 * heartbeat-only file at the next publish (`heartbeatDue`). Heartbeats travel in the same sealed,
 * numbered, hash-chained, acknowledged stream as every other file: withholding any file blocks the
 * later heartbeats too (the user's `gap` rule), so its user stops encrypting once the window ends.
 * The window is installation-wide, a deliberate simplification of a per-group window: one number
 * the administrator chooses, carried in every heartbeat so users need no configuration.
 * @module
 */
import { initialTransition, transition } from '../../model/pureTransition.ts';
import { bytesEqual } from '../../device/binaryCodec.ts';
import { DELETE_ORDER_AAD, encodeDeleteOrder } from '../../device/deleteOrder.ts';
import { persistSnapshot, restoreSnapshot } from '../../model/persistedSnapshot.ts';
import {
  DEFAULT_HEARTBEAT_INTERVAL_MS,
  DEFAULT_STALE_AFTER_MS,
  defaultFreshnessWindow,
  heartbeatDue,
  publicationMachine,
} from '../../model/publication.ts';
import type { PublicationEvent, PublicationSnapshot, PublicationState } from '../../model/publication.ts';
import { compareIds, sortIds } from '../../model/kms.ts';
import type { UserId } from '../../model/kms.ts';
import { bytesToHex } from '@noble/hashes/utils.js';
import { parseAck } from '../protocol/ackFile.ts';
import type { Admin } from './admin.ts';
import type { Database } from '../db/sqlite.ts';
import { deviceKeyNumber, userKeyIds } from '../protocol/deviceKeyIds.ts';
import { userDeviceOf } from './distribution.ts';
import { forgetErased, readDeviceViews, recordDeviceView } from './deviceViews.ts';
import type { DeviceView } from './deviceViews.ts';
import { readPublishedWorld, recordPublishedWorld, summarizeWorld, worldChanges } from './publishedWorld.ts';
import { projectionSource } from './rules/needToKnow.ts';
import { diffView } from './viewDiff.ts';
import type { RoundWorld } from './viewDiff.ts';
import { column } from './kmsRows.ts';
import type { Transport } from '../protocol/transport.ts';
import {
  ackFileName,
  ackStream,
  refusedAckStream,
  sequenceOfName,
  updateFileName,
  updateStream,
} from '../protocol/streams.ts';
import {
  NO_PREVIOUS_FILE,
  UpdateFormatError,
  assembleUpdateFile,
  encodeRecords,
  fileHash,
} from '../protocol/updateFile.ts';
import { isDeviceError } from '../../device/deviceError.ts';
import type { UpdateKind, UpdateRecord } from '../protocol/updateFile.ts';
import { execute, query } from '../db/statementCache.ts';
import { messageOf } from '../../model/codedError.ts';

const EMPTY = new Uint8Array(0);

/** What one {@link Publisher.publish} did. */
export interface PublishReport {
  readonly published: ReadonlyArray<{
    readonly userId: UserId;
    readonly sequence: number;
    readonly kind: UpdateKind;
    readonly bytes: number;
    /** Nothing changed in the user's view: the file only carries a heartbeat (its latest file was old). */
    readonly heartbeatOnly: boolean;
  }>;
  /**
   * Files of earlier publications written to the share again first ({@link Publisher.flush}): they
   * had not reached it (a crash, a share that refused them) or were missing or damaged there.
   */
  readonly rewritten: ReadonlyArray<RewrittenFile>;
  /**
   * Update files removed from the share first, numbered past the last file published to their stream:
   * not written by this admin database ({@link Publisher.removeStrays}).
   */
  readonly removed: ReadonlyArray<StrayFile>;
}

/** A file in a user's update stream numbered past the last one published to it: not this database's. */
export interface StrayFile {
  readonly userId: UserId;
  readonly name: string;
}

/** A file a publication prepares: what it reports, its name on the share, its bytes. */
interface PreparedFile {
  readonly entry: PublishReport['published'][number];
  readonly name: string;
  readonly file: Uint8Array;
}

/**
 * A published file in a few bytes, as `sekey admin publish` names it (`U7 #12`, `U7 #13 resync`,
 * `U7 #14 heartbeat`): the publication's audit entry lists one per file, so a heartbeat round to a
 * thousand users adds about ten kilobytes to the log, not a record per file.
 */
export function fileLabel(entry: PublishReport['published'][number]): string {
  const kind = entry.kind === 'resync' ? ' resync' : '';
  return `${entry.userId} #${entry.sequence}${kind}${entry.heartbeatOnly ? ' heartbeat' : ''}`;
}

/** A committed file written to the share again. */
export interface RewrittenFile {
  readonly userId: UserId;
  readonly sequence: number;
  readonly name: string;
}

function readPublication(db: Database, userId: UserId, staleAfterMs: number): PublicationSnapshot {
  const text = column(db, 'SELECT snapshot FROM publication WHERE user_id = ?', [userId])[0];
  if (text === undefined) return initialTransition(publicationMachine, { userId, staleAfterMs })[0];
  return restoreSnapshot(publicationMachine, String(text), { staleAfterMs });
}

/**
 * Whether a device acknowledged a view that holds nothing: told to hold nothing (its user deleted)
 * and every file published to it acknowledged. A retired device so emptied needs no resync (there is
 * nothing left to erase); one that did not acknowledge (blocked by a withheld file, it never applied
 * the file that emptied it) still holds the deleted user's groups and members, and keys if it had
 * any, and the resync's reset is what empties it.
 */
function acknowledgedEmpty(view: DeviceView, publication: PublicationSnapshot): boolean {
  const { publishedSequence, acknowledgedSequence } = publication.context;
  return view.state === 'empty' && acknowledgedSequence >= publishedSequence;
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
 * The publication event of an acknowledgement of `sequence` collected at `now`, with when the first
 * file after it that the user still needs was published (`nextPublishedAt`; a file a resync
 * superseded is needed no more): progress restarts the staleness clock there, not at `now`.
 */
function ackEvent(db: Database, userId: UserId, sequence: number, now: number): PublicationEvent {
  const next = column(
    db,
    `SELECT published_at FROM outbox WHERE user_id = ? AND sequence > ? AND bytes IS NOT NULL
     ORDER BY sequence LIMIT 1`,
    [userId, sequence],
  )[0];
  return { type: 'ACK', sequence, now, nextPublishedAt: next === undefined || next === null ? null : Number(next) };
}

/**
 * Applies a publication event through the machine; refused events change nothing. Time passes
 * first (`TICK` at the event's time): a user that became stale since the last commit is stale when
 * the publication or acknowledgement reaches it, as the machine says, although reads compute
 * staleness without committing it.
 */
function publicationEvent(
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

/** The HSMs recorded as ahead of this database ({@link AheadDevice}), by user. */
function readAheadDevices(db: Database): AheadDevice[] {
  const rows = query(
    db,
    `SELECT d.user_id, d.serial, coalesce(s.sequence, 0), d.ahead_sequence, d.retired_at IS NULL
     FROM user_devices d LEFT JOIN streams s ON s.user_id = d.user_id
     WHERE d.ahead_sequence IS NOT NULL ORDER BY d.user_id`,
  );
  return rows.map(([userId, serial, published, acknowledged, inService]) => ({
    userId: String(userId),
    serial: String(serial),
    published: Number(published),
    acknowledged: Number(acknowledged),
    inService: Number(inService) === 1,
  }));
}

/** A provisioned device as one publication round starts: where its stream stands, whether its user exists. */
interface RoundDevice {
  readonly userId: UserId;
  readonly serial: string;
  readonly keyIds: ReturnType<typeof userKeyIds>;
  /** Its stream's last file and whether a resync was requested; null before its first file. */
  readonly stream: { readonly sequence: number; readonly lastHash: Uint8Array; readonly resync: boolean } | null;
  /** In service and its user exists: false for a retired device, which only learns to hold nothing. */
  readonly exists: boolean;
  /** Found ahead of this database ({@link AheadDevice}): nothing is published to it. */
  readonly held: boolean;
}

/**
 * Every provisioned device as the round starts, in one query rather than three per device: each
 * device's rows (`user_devices`, `streams`, `users`) are read here before its own file is prepared,
 * and a round writes only the stream row of the device it prepares, so each device's entry is what
 * `userDeviceOf` and the per-device queries would read at its turn.
 */
function readRoundDevices(db: Database): Map<UserId, RoundDevice> {
  const devices = new Map<UserId, RoundDevice>();
  const rows = query(
    db,
    `SELECT d.user_id, d.serial, d.key_base, d.retired_at IS NULL, s.sequence, s.last_hash, s.resync, u.id IS NOT NULL,
       d.ahead_sequence IS NOT NULL
     FROM user_devices d LEFT JOIN streams s ON s.user_id = d.user_id LEFT JOIN users u ON u.id = d.user_id`,
  );
  for (const [userId, serial, keyBase, inService, sequence, lastHash, resync, userExists, ahead] of rows) {
    devices.set(String(userId), {
      userId: String(userId),
      serial: String(serial),
      keyIds: userKeyIds(Number(keyBase)),
      stream:
        sequence === null || sequence === undefined
          ? null
          : { sequence: Number(sequence), lastHash: lastHash as Uint8Array, resync: Number(resync) === 1 },
      exists: Number(inService) === 1 && Number(userExists) === 1,
      held: Number(ahead) === 1,
    });
  }
  return devices;
}

/** An authentic acknowledgement waiting on the transport, not yet collected. */
export interface WaitingAcknowledgement {
  readonly userId: UserId;
  readonly sequence: number;
  /** Its file name in the user's acknowledgement stream. */
  readonly name: string;
}

/**
 * A spoiled acknowledgement that a collection moved to {@link refusedAckStream}: under the name of
 * an acknowledgement the admin waits for, with that acknowledgement's header and a seal the admin
 * HSM refuses.
 */
export interface SetAsideAcknowledgement {
  readonly userId: UserId;
  /** Its file name, the same in the acknowledgement stream it left and the refused stream it went to. */
  readonly name: string;
  /**
   * Present when the copy under the refused stream could not be written: the share's error. The
   * file was removed all the same (its seal is broken; left in place it stands in for the
   * acknowledgement), so only the evidence is lost, not the acknowledgement. (Through `sekey`, whose
   * writes to the share wait for its save, a refused copy is `ShareNotWritten` instead, naming it; the
   * removal is carried out all the same.)
   */
  readonly notKept?: string;
}

/**
 * A user's HSM in service that acknowledged a file this admin database never published: proof,
 * sealed by that HSM, that the admin HSM is not where it was when it sealed that file. Its database
 * was rolled back (its folder restored from a backup: the README's "Restoring an HSM's folder").
 * The HSM holds what the lost files gave it: keys the database no longer knows, under numbers it
 * gives again to other keys, which the HSM would not take over its own (only an admin-level session
 * may replace a key). No file can repair that, so the first collection that finds it records it
 * (`user_devices.ahead_sequence`), publication to it is held from then on, and every collection
 * reports it until a new HSM replaces it.
 */
export interface AheadDevice {
  readonly userId: UserId;
  /** The HSM's serial: the one in service for the user (another's acknowledgements are not judged). */
  readonly serial: string;
  /** Whether it serves its user (false: its user was deleted, and it waited for its last file). */
  readonly inService: boolean;
  /** The last file this database published to the user (0: none), when the HSM was found ahead. */
  readonly published: number;
  /** The sequence the HSM acknowledged: past `published`, or at most it under another file's hash. */
  readonly acknowledged: number;
}

/**
 * An HSM this admin database has no record of (never in service, retired or forgotten, for any
 * user) that a file on the share, under a user's acknowledgements, claims to be: its header names
 * the user and the HSM's serial. The database holds no channel key of such an HSM, so the seal
 * cannot be checked: anyone who can write the share can make such a file. But a genuine one has a
 * single cause: the HSM was provisioned by this admin HSM in a time its database no longer holds,
 * after the backup it was restored from (README, "Restoring an HSM's folder"). Such an HSM holds
 * keys of the lost time under numbers the database gives again, opens none of the files sealed for
 * the HSM the database knows (`SyncRefusal.namesHsm`), and acknowledges its last file again when it
 * sees the admin write numbers it applied (`User.sync`), so it does leave such a file. Nothing is
 * committed for it (junk costs no commit); every collection reports it while the file lies there.
 */
export interface UnrecordedHsm {
  readonly userId: UserId;
  readonly serial: string;
  /** The highest sequence the HSM's acknowledgements on the share claim, and the file that claims it. */
  readonly sequence: number;
  readonly name: string;
}

/** What a collection of acknowledgements did (`Publisher.collectAcknowledgements`). */
export interface CollectedAcknowledgements {
  /** The acknowledgements accepted. */
  readonly accepted: Array<{ readonly userId: UserId; readonly sequence: number }>;
  /** The spoiled acknowledgements moved out of the acknowledgement streams. */
  readonly setAside: SetAsideAcknowledgement[];
  /** HSMs ahead of this database ({@link AheadDevice}): found at every collection until they are replaced. */
  readonly ahead: AheadDevice[];
  /** HSMs this database has no record of whose acknowledgements lie on the share ({@link UnrecordedHsm}). */
  readonly unrecordedHsms: UnrecordedHsm[];
}

/** A user's publication state as {@link Publisher.publicationStates} reports it. */
export interface PublicationStatus {
  readonly userId: UserId;
  readonly state: PublicationState;
  readonly published: number;
  readonly acknowledged: number;
}

/** Options of a {@link Publisher}. */
export interface PublisherOptions {
  /** How long a user may leave a publication unacknowledged before it is stale (default 7 days). */
  readonly staleAfterMs?: number;
  /**
   * A user whose latest file is this old or older gets a heartbeat-only file at the next publish
   * (default {@link DEFAULT_HEARTBEAT_INTERVAL_MS}, 1 day). Run `publish` at least this often (cron).
   */
  readonly heartbeatIntervalMs?: number;
  /**
   * How long after a file was issued its user may still encrypt: carried in every heartbeat (default
   * {@link defaultFreshnessWindow} of the interval: 3 days for 1 day). Must exceed the interval.
   */
  readonly freshnessWindowMs?: number;
}

/** Checks a heartbeat interval and freshness window; RangeError if they cannot work together. */
export function checkFreshnessOptions(heartbeatIntervalMs: number, freshnessWindowMs: number): void {
  if (!(Number.isSafeInteger(heartbeatIntervalMs) && heartbeatIntervalMs > 0)) {
    throw new RangeError(
      `the heartbeat interval must be a positive number of milliseconds, got ${heartbeatIntervalMs}`,
    );
  }
  if (!(Number.isSafeInteger(freshnessWindowMs) && freshnessWindowMs > heartbeatIntervalMs)) {
    // A window no longer than the interval would leave users stale between two heartbeats.
    throw new RangeError(
      `the freshness window (${freshnessWindowMs} ms) must be longer than the heartbeat interval ` +
        `(${heartbeatIntervalMs} ms)`,
    );
  }
}

/** The administrator's publisher. */
export class Publisher {
  readonly #admin: Admin;
  readonly #transport: Transport;
  readonly #staleAfterMs: number;
  readonly #heartbeatIntervalMs: number;
  readonly #freshnessWindowMs: number;

  constructor(admin: Admin, transport: Transport, options: PublisherOptions = {}) {
    this.#admin = admin;
    this.#transport = transport;
    this.#staleAfterMs = options.staleAfterMs ?? DEFAULT_STALE_AFTER_MS;
    this.#heartbeatIntervalMs = options.heartbeatIntervalMs ?? DEFAULT_HEARTBEAT_INTERVAL_MS;
    this.#freshnessWindowMs = options.freshnessWindowMs ?? defaultFreshnessWindow(this.#heartbeatIntervalMs);
    checkFreshnessOptions(this.#heartbeatIntervalMs, this.#freshnessWindowMs);
  }

  /** The heartbeat interval and the freshness window this publisher uses. */
  get freshness(): { readonly heartbeatIntervalMs: number; readonly freshnessWindowMs: number } {
    return { heartbeatIntervalMs: this.#heartbeatIntervalMs, freshnessWindowMs: this.#freshnessWindowMs };
  }

  /**
   * Publishes to every provisioned user whose view changed since its last file (or who asked for a
   * resync), and a heartbeat-only file to every other user in service whose latest file is at least
   * the heartbeat interval old; then writes the committed files to the transport.
   */
  async publish(): Promise<PublishReport> {
    // A share that is not there fails the publication before it commits anything (nothing then to say).
    await this.#transport.check?.();
    const rewritten = await this.flush();
    const removed = await this.removeStrays();
    // One transaction for all users: one database commit however many users are affected.
    // Audited by what it wrote; a publication with nothing to say leaves no entry and commits nothing.
    // Files removed as strays are audited too: the share's only trace of them (planted, or left by an
    // admin HSM restored from a backup) goes with them.
    const strays = removed.map((f) => `${f.userId}/${f.name}`);
    const said = ({ entries, recorded }: { entries: PreparedFile[]; recorded: number }) =>
      entries.length === 0 && recorded === 0 && strays.length === 0
        ? null
        : { files: entries.map(({ entry }) => fileLabel(entry)), ...(strays.length > 0 ? { removed: strays } : {}) };
    const { entries: files } = this.#admin.transaction('publish', said, (db, now) => {
      const entries: PreparedFile[] = [];
      const source = projectionSource(db, now);
      const published = readPublishedWorld(db);
      const current = summarizeWorld(source);
      const world: RoundWorld = { source, published, changes: worldChanges(published, current, source.users) };
      const deviceView = readDeviceViews(db);
      const devices = readRoundDevices(db);
      for (const userId of sortIds([...devices.keys()])) {
        const device = devices.get(userId) as RoundDevice;
        // A device ahead of this database gets nothing more: it is left behind the published world
        // for good, and only a new HSM (a new row, brought up by a resync) serves its user again.
        if (device.held) continue;
        const prepared = this.#prepare(db, now, device, world, deviceView(userId));
        if (prepared) entries.push(prepared);
      }
      // Every device was brought to the current world (or needed nothing, or is held): it is the published one now.
      return { entries, recorded: recordPublishedWorld(db, published, current) };
    });
    // Committed first, written second: a crash in between, or a file lost from the share later, is
    // repaired by flush(), which the next publish runs first. The outbox keeps a file's bytes until
    // the user acknowledges it (or a resync supersedes it): a regenerated file would fork the chain.
    for (const { entry, name, file } of files) await this.#transport.write(updateStream(entry.userId), name, file);
    const published = files.map((f) => f.entry);
    for (const p of published)
      if (p.kind === 'resync')
        await this.#removeSuperseded(p.userId, p.sequence, await this.#transport.list(updateStream(p.userId)));
    return { published, rewritten, removed };
  }

  /** Builds and commits the next file of `userId`, if there is anything to say. */
  #prepare(db: Database, now: number, device: RoundDevice, world: RoundWorld, before: DeviceView): PreparedFile | null {
    const { userId, serial, keyIds, stream, exists } = device;
    const sequence = stream ? stream.sequence + 1 : 1;
    const previousHash = stream ? stream.lastHash : NO_PREVIOUS_FILE;
    const kind: UpdateKind = !stream || stream.resync ? 'resync' : 'incremental';
    const diff = diffView(world, userId, kind, exists, before);
    const records: UpdateRecord[] = [...diff.records];
    for (const k of diff.newKeys) {
      const keyNumber = deviceKeyNumber(k.id);
      records.push({
        type: 'keyMaterial',
        keyNumber,
        blob: this.#admin.device.exportWrapped(keyNumber, keyIds.wrappingKeyId, sequence).blob,
      });
    }
    for (const keyId of diff.dropped) {
      const keyNumber = deviceKeyNumber(keyId);
      records.push({
        type: 'eraseOrder',
        keyNumber,
        order: this.#admin.device.seal(
          keyIds.adminToUserKeyId,
          // Bound to this file: once the device records it as applied, the order is spent.
          encodeDeleteOrder(serial, keyNumber, sequence),
          DELETE_ORDER_AAD,
        ),
      });
    }
    const publication = readPublication(db, userId, this.#staleAfterMs);
    // A retired device gets nothing after its last file, heartbeats included.
    const heartbeatOnly =
      records.length === 0 && exists && heartbeatDue(publication.context, now, this.#heartbeatIntervalMs);
    if (kind === 'incremental' && records.length === 0 && !heartbeatOnly) return null;
    // A retired device that acknowledged holding nothing needs no resync with nothing to erase: the
    // request (made before it acknowledged) is done with.
    if (!exists && kind === 'resync' && records.length === 1 && acknowledgedEmpty(before, publication)) {
      if (stream?.resync) execute(db, 'UPDATE streams SET resync = 0 WHERE user_id = ?', [userId]);
      return null;
    }
    // Every file says when it was issued: last, after the records that change the replica.
    records.push({ type: 'heartbeat', issuedAt: now, freshnessWindowMs: this.#freshnessWindowMs });
    const body = encodeRecords(records);
    const header = { kind, userId, serial, sequence, previousHash };
    const file = assembleUpdateFile(
      header,
      (aad) => this.#admin.device.seal(keyIds.adminToUserKeyId, body, aad),
      body.length + 28,
    );
    const name = updateFileName(sequence, kind);
    const hash = fileHash(file);
    // An upsert keeps the row in place (INSERT OR REPLACE would move it, touching two pages).
    execute(
      db,
      `INSERT INTO streams (user_id, sequence, last_hash, resync) VALUES (?, ?, ?, 0)
       ON CONFLICT(user_id) DO UPDATE SET sequence = excluded.sequence, last_hash = excluded.last_hash, resync = 0`,
      [userId, sequence, hash],
    );
    recordDeviceView(db, userId, before, diff.after, sequence);
    // A resync supersedes the unacknowledged files before it: their bytes go (flush writes them no
    // more), their hashes stay for as long as this HSM serves the user (provisioning another deletes
    // them: `provisionUser`), some 70 bytes a file. An acknowledgement of one of those numbers under
    // another hash is of a file this database never published (#scanAcknowledgements), however late
    // it comes: after the resync's own, which a synced folder may deliver first.
    if (kind === 'resync')
      execute(db, 'UPDATE outbox SET bytes = NULL WHERE user_id = ? AND sequence < ? AND bytes IS NOT NULL', [
        userId,
        sequence,
      ]);
    execute(
      db,
      'INSERT INTO outbox (user_id, sequence, name, file_hash, bytes, published_at) VALUES (?, ?, ?, ?, ?, ?)',
      [userId, sequence, name, hash, file, now],
    );
    // The row read above: nothing in this round wrote it since.
    publicationEvent(db, userId, this.#staleAfterMs, { type: 'PUBLISH', sequence, now }, publication);
    return { entry: { userId, sequence, kind, bytes: file.length, heartbeatOnly }, name, file };
  }

  /**
   * Removes from `userId`'s stream the files of `names` numbered below `sequence`, a resync's: it
   * supersedes them, and they would only be refused (a new HSM calls them forged). Names that are no
   * update file's are left alone. Returns the names removed.
   */
  async #removeSuperseded(userId: UserId, sequence: number, names: readonly string[]): Promise<string[]> {
    const older = names.filter((name) => {
      const s = sequenceOfName(name);
      return s !== null && s.sequence < sequence;
    });
    for (const name of older) await this.#transport.remove(updateStream(userId), name);
    return older;
  }

  /**
   * Writes every committed, unacknowledged file that is missing from the transport or differs from
   * the committed bytes: after a crash between a commit and its write, or when someone deleted,
   * damaged or replaced files on the share. Byte for byte the
   * committed file (sealing is randomised; a regenerated file would fork the user's chain). Not to
   * an HSM found ahead ({@link AheadDevice}): nothing is written to it, as nothing is published to it
   * (a file of the restored database that the lost time's collection removed would otherwise go back).
   * A committed resync's stream loses its older files, as the resync's publication removes them.
   * @returns the files it wrote.
   */
  async flush(): Promise<RewrittenFile[]> {
    const pending = this.#admin.readDatabase(
      (db) =>
        query(
          db,
          `SELECT o.user_id, o.sequence, o.name, o.bytes
           FROM outbox o LEFT JOIN user_devices d ON d.user_id = o.user_id
           WHERE o.bytes IS NOT NULL AND d.ahead_sequence IS NULL ORDER BY o.user_id, o.sequence`,
        ) as Array<[string, number, string, Uint8Array]>,
    );
    const written: RewrittenFile[] = [];
    const listed = new Map<UserId, Set<string>>();
    for (const [userId, sequence, name, bytes] of pending) {
      let present = listed.get(userId);
      if (!present) {
        present = new Set(await this.#transport.list(updateStream(userId)));
        listed.set(userId, present);
      }
      // A file on the share is written again unless it is byte for byte the committed one: a missing,
      // damaged, truncated or replaced file would otherwise stall its user (the erase orders of a
      // deleted user's last file included) until five counted refusals or a manual resync.
      if (!present.has(name) || !bytesEqual((await this.#transport.read(updateStream(userId), name)) ?? EMPTY, bytes)) {
        await this.#transport.write(updateStream(userId), name, bytes);
        written.push({ userId, sequence: Number(sequence), name });
      }
      // As when it was published: a crash after its commit (or a share that refused it) left the older
      // files there, and a new HSM refuses them as forged.
      if (sequenceOfName(name)?.resync === true)
        for (const old of await this.#removeSuperseded(userId, Number(sequence), [...present])) present.delete(old);
    }
    return written;
  }

  /**
   * Removes from each user's update stream the files numbered past the last one published to it:
   * the admin commits a file before it writes it, so this database wrote no such file. Whoever can
   * write to the share put it there, or an admin HSM restored from a backup had written it before
   * (it then publishes those numbers again, with other files). A user's device would refuse it at
   * every sync, and no publication would replace it until its number came: the user's syncs would
   * fail for good, telling the user to wait for a publication that changes nothing. Files of other
   * names are left alone (the device ignores them).
   * @returns the files it removed (or, on a transport that defers its writes, `DeferredTransport`,
   *   asked to remove: a removal that then fails fails the command as its writes do).
   */
  async removeStrays(): Promise<StrayFile[]> {
    const streams = this.#admin.readDatabase(
      (db) => query(db, 'SELECT user_id, sequence FROM streams ORDER BY user_id') as Array<[UserId, number]>,
    );
    const removed: StrayFile[] = [];
    for (const [userId, published] of streams) {
      const stream = updateStream(userId);
      const strays = (await this.#transport.list(stream)).filter((name) => {
        const s = sequenceOfName(name);
        return s !== null && s.sequence > Number(published);
      });
      for (const name of strays) {
        await this.#transport.remove(stream, name);
        removed.push({ userId, name });
      }
    }
    return removed;
  }

  /**
   * Makes the next file of each user a full resync (the original's `sekey_recovery_request`), in one
   * transaction however many users are named. A deleted user's HSM that acknowledged a file telling
   * it to hold nothing gets none (there is nothing left to erase): the request is dropped, and the
   * user is among those returned.
   * @returns The users named whose HSM needs no resync (retired and acknowledged empty).
   */
  requestResync(userIds: UserId | readonly UserId[]): UserId[] {
    const ids = typeof userIds === 'string' ? [userIds] : [...userIds];
    return this.#admin.transaction('requestResync', { userIds: ids }, (db) => {
      const views = readDeviceViews(db);
      const notNeeded: UserId[] = [];
      for (const userId of ids) {
        const { inService } = userDeviceOf(db, userId);
        const publication = readPublication(db, userId, this.#staleAfterMs);
        if (!inService && acknowledgedEmpty(views(userId), publication)) notNeeded.push(userId);
        else execute(db, 'UPDATE streams SET resync = 1 WHERE user_id = ?', [userId]);
      }
      return notNeeded;
    });
  }

  /**
   * The acknowledgements waiting on the transport that the admin HSM accepts as authentic, in the
   * order they would be collected; nothing is committed and nothing moved. Forged or stray files are
   * left out.
   */
  async waitingAcknowledgements(): Promise<WaitingAcknowledgement[]> {
    return (await this.#scanAcknowledgements()).waiting;
  }

  /** The HSMs recorded as ahead of this database ({@link AheadDevice}), from the database alone. */
  aheadDevices(): AheadDevice[] {
    return this.#admin.readDatabase(readAheadDevices);
  }

  /**
   * What {@link waitingAcknowledgements} finds, and the HSMs ahead of this database
   * ({@link AheadDevice}), in one reading of the share; nothing is committed and nothing moved. Of
   * those, `notHeld`: found on the share but not recorded yet, so publication to them is not held
   * until a collection records them (a change's own publication still sends them files).
   */
  async inspectAcknowledgements(): Promise<{
    waiting: WaitingAcknowledgement[];
    ahead: AheadDevice[];
    notHeld: AheadDevice[];
    unrecordedHsms: UnrecordedHsm[];
  }> {
    const { waiting, ahead, notHeld, unrecordedHsms } = await this.#scanAcknowledgements();
    return { waiting, ahead, notHeld, unrecordedHsms };
  }

  /**
   * Every authentic acknowledgement on the transport: those waiting to be collected, and leftovers,
   * already collected (their sequence is at most the user's acknowledged one) but still on the share
   * because a crash came between a collection's commit and its clean-up; and the spoiled ones.
   *
   * Spoiled: a file under the name of an acknowledgement the admin waits for, whose header is that
   * acknowledgement's (this user, this HSM, a file in the outbox with its hash) and whose seal the
   * admin HSM refuses. Only these are set aside (`collectAcknowledgements`): the user's device reads
   * the header, not the seal, so only these stand in for the acknowledgement; anything else under
   * that name it replaces itself, and junk under other names stands in for nothing (it is left
   * where it lies, as is an acknowledgement of a file a resync superseded). So at most one file per
   * file in the outbox is set aside, each the size of an acknowledgement, however much junk the
   * share holds. A file the HSM could not judge (power lost, logged out) is not refused: the error
   * is thrown, and the next collection judges it.
   *
   * Ahead ({@link AheadDevice}): an authentic acknowledgement of a file this database never
   * published. Either its sequence is past the last file published to the user (the `streams` row),
   * or the outbox holds a file of that sequence under another hash: it keeps every published file's
   * hash until the file is acknowledged, and those a resync superseded for good (only their bytes
   * go). An acknowledgement of a superseded file of its own hash is left where it lies, as before. The
   * user's HSM seals only a sequence it recorded as applied, and applies only files the admin HSM
   * sealed, so whatever else the share may hold, such a file was sealed by the admin HSM and is
   * unknown to this database: the admin HSM was restored from a backup (the README: "Restoring an
   * HSM's folder"). The user's device sends it when the admin writes files at or below what it
   * applied, and before it applies a resync (`UserSync.sync`, `#acknowledgeAgain`); the collection
   * records it ({@link AheadDevice}), and the file is left where it lies.
   *
   * Unrecorded ({@link UnrecordedHsm}): a file whose header names the user and a serial the database
   * has no record of; its seal cannot be checked (no channel key of that HSM is on record). Of an HSM
   * on record but not the user's in service (replaced, forgotten, serving another user since): not
   * judged, left where it lies.
   */
  async #scanAcknowledgements(only?: UserId): Promise<{
    waiting: WaitingAcknowledgement[];
    leftovers: WaitingAcknowledgement[];
    spoiled: Array<SetAsideAcknowledgement & { readonly bytes: Uint8Array }>;
    /** Every HSM ahead: recorded before, or found now. */
    ahead: AheadDevice[];
    /** Those found now, or found further ahead than recorded: the collection records them. */
    news: AheadDevice[];
    /** Of `news`, those not recorded at all (a recorded HSM found further ahead is held already). */
    notHeld: AheadDevice[];
    /** One entry per user and HSM not on record, the highest sequence claimed ({@link UnrecordedHsm}). */
    unrecordedHsms: UnrecordedHsm[];
    /** Every file of an HSM not on record. */
    unrecordedFiles: UnrecordedHsm[];
  }> {
    // `only`: that user's acknowledgements alone (the HSMs recorded ahead are every user's all the same).
    const users = this.#admin
      .readDatabase((db) => sortIds(column(db, 'SELECT user_id FROM user_devices').map(String)))
      .filter((u) => only === undefined || u === only);
    const waiting: WaitingAcknowledgement[] = [];
    const leftovers: WaitingAcknowledgement[] = [];
    const spoiled: Array<SetAsideAcknowledgement & { readonly bytes: Uint8Array }> = [];
    // Those found before, then those found now: one entry per HSM, the latest sequence it acknowledged.
    const recorded = this.aheadDevices();
    const found: AheadDevice[] = [];
    const unrecordedFiles: UnrecordedHsm[] = [];
    for (const userId of users) {
      for (const name of await this.#transport.list(ackStream(userId))) {
        const bytes = await this.#transport.read(ackStream(userId), name);
        if (bytes === null) continue;
        const judged = this.#admin.readDatabase((db) => {
          const { serial, keyIds, inService } = userDeviceOf(db, userId);
          let parsed: ReturnType<typeof parseAck>;
          try {
            parsed = parseAck(bytes);
          } catch (error) {
            if (error instanceof UpdateFormatError) return null;
            throw error;
          }
          const { sequence } = parsed.ack;
          if (parsed.ack.userId !== userId) return null;
          if (parsed.ack.serial !== serial) {
            // Of an HSM the database knows (replaced, forgotten, or serving another user since): not judged.
            const known = column(
              db,
              'SELECT 1 FROM user_devices WHERE serial = ? UNION ALL SELECT 1 FROM retired_devices WHERE serial = ? ' +
                'UNION ALL SELECT 1 FROM forgotten_devices WHERE serial = ? LIMIT 1',
              [parsed.ack.serial, parsed.ack.serial, parsed.ack.serial],
            );
            return known.length === 0 ? { unrecorded: { userId, serial: parsed.ack.serial, sequence, name } } : null;
          }
          const [hash, superseded] = query(
            db,
            'SELECT file_hash, bytes IS NULL FROM outbox WHERE user_id = ? AND sequence = ?',
            [userId, sequence],
          )[0] ?? [undefined, 0];
          const ours = hash instanceof Uint8Array && bytesToHex(hash) === bytesToHex(parsed.ack.fileHash);
          const awaited = ours && Number(superseded) === 0;
          try {
            this.#admin.device.open(keyIds.userToAdminKeyId, parsed.seal, parsed.header);
          } catch (error) {
            if (!isDeviceError(error, 'AuthFailed')) throw error;
            return awaited && name === ackFileName(sequence) ? ('spoiled' as const) : null;
          }
          const ack = { userId, sequence, name };
          if (awaited) return { to: waiting, ack };
          const published = Number(column(db, 'SELECT sequence FROM streams WHERE user_id = ?', [userId])[0] ?? 0);
          // Judged before the leftovers: a superseded file's hash outlives the resync's acknowledgement,
          // which a synced folder may deliver before the acknowledgement the device sent ahead of it.
          if (hash instanceof Uint8Array && !ours) {
            found.push({ userId, serial, inService, published, acknowledged: sequence });
            return null;
          }
          const acknowledged = column(db, 'SELECT acknowledged_sequence FROM publication WHERE user_id = ?', [
            userId,
          ])[0];
          if (sequence <= Number(acknowledged ?? 0)) return { to: leftovers, ack };
          // Of a file a resync superseded, of its own hash: left where it lies (a leftover once the resync is).
          if (sequence > published) found.push({ userId, serial, inService, published, acknowledged: sequence });
          return null;
        });
        if (judged === 'spoiled') spoiled.push({ userId, name, bytes });
        else if (judged !== null && 'unrecorded' in judged) unrecordedFiles.push(judged.unrecorded);
        else judged?.to.push(judged.ack);
      }
    }
    const ahead = new Map(recorded.map((a) => [a.userId, a]));
    for (const a of found) if (a.acknowledged > (ahead.get(a.userId)?.acknowledged ?? 0)) ahead.set(a.userId, a);
    const all = sortIds([...ahead.keys()]).map((userId) => ahead.get(userId) as AheadDevice);
    const news = all.filter((a) => !recorded.includes(a));
    const notHeld = news.filter((a) => !recorded.some((r) => r.userId === a.userId && r.serial === a.serial));
    const highest = new Map<string, UnrecordedHsm>();
    for (const u of unrecordedFiles) {
      const at = `${u.userId} ${u.serial}`;
      if (u.sequence > (highest.get(at)?.sequence ?? -1)) highest.set(at, u);
    }
    const unrecordedHsms = [...highest.values()].sort(
      (a, b) => compareIds(a.userId, b.userId) || a.serial.localeCompare(b.serial),
    );
    return { waiting, leftovers, spoiled, ahead: all, news, notHeld, unrecordedHsms, unrecordedFiles };
  }

  /**
   * Removes from the share the acknowledgements in `userId`'s stream from HSMs this database has no
   * record of ({@link UnrecordedHsm}). For after a provisioning of the user, the remedy their warning
   * gives: made up or genuine, they stand for nothing once a new HSM serves the user, and left where
   * they lie they were reported at every collection. (When the HSM provisioned is the unrecorded one
   * itself, factory-reset, its serial is on record from then on: its old files are then left where
   * they lie and count for nothing, as a replaced HSM's do.) Commits nothing.
   * @returns The files removed.
   */
  async removeUnrecordedHsmAcknowledgements(userId: UserId): Promise<UnrecordedHsm[]> {
    const files = (await this.#scanAcknowledgements(userId)).unrecordedFiles;
    for (const { name } of files) await this.#transport.remove(ackStream(userId), name);
    return files;
  }

  /**
   * Reads every user's acknowledgements, checks each inside the admin HSM, and advances that
   * user's publication state. Files up to an acknowledged sequence are removed from the outbox and
   * the transport, and the dropped keys whose erasure the acknowledgement confirms are forgotten
   * (`deviceViews.ts`). One transaction for the whole round: one database commit and one audit entry
   * however many users acknowledged, and none when nothing authentic is waiting. The clean-up a
   * crash interrupted is finished here too: an authentic acknowledgement already collected is
   * removed with the update files it covers, without a commit.
   *
   * A spoiled acknowledgement (its header that of an acknowledgement the admin waits for, its seal
   * refused by the admin HSM, under that acknowledgement's name) is set aside: moved, unchanged, to
   * the user's {@link refusedAckStream}, for inspection. Left where it was, it stood in for the real
   * one: the user's device can read the header but not open the seal (only the admin HSM can), so it
   * took the file for its acknowledgement and did not send it again (`User.sync`), and the user
   * stayed unacknowledged until its next update, for good if it had none coming (a deleted user's
   * retired device). Once it is set aside, the device's next sync sends the acknowledgement again.
   * Other junk is left where it lies (the device replaces a file under its acknowledgement's name
   * whose header is not its own). Costs no commit either; a file already set aside under the same
   * name is replaced. When the share refuses the copy, the spoiled file is removed all the same and
   * the entry says why no copy was kept (`notKept`).
   */
  async collectAcknowledgements(): Promise<CollectedAcknowledgements> {
    // Checked before the transaction: a forged or stray file costs no commit and no audit entry.
    const { waiting, leftovers, spoiled, ahead, news, unrecordedHsms } = await this.#scanAcknowledgements();
    const pair = ({ userId, sequence }: WaitingAcknowledgement) => ({ userId, sequence });
    const accepted =
      waiting.length === 0 && news.length === 0
        ? []
        : this.#admin.transaction<WaitingAcknowledgement[]>(
            'acknowledge',
            // What the publication machine took; apart, what it refused (one under a number taken
            // already, or older than one taken: someone who can write the share copied or renamed
            // acknowledgements), which an entry listing every file judged authentic gave as taken.
            // An HSM found ahead is audited once, when it is recorded (entries before this version
            // have no `ahead`).
            (taken) => {
              const refused = waiting.filter((a) => !taken.includes(a)).map(pair);
              return {
                acknowledgements: taken.map(pair),
                ...(refused.length > 0 ? { refused } : {}),
                ...(news.length > 0 ? { ahead: news } : {}),
              };
            },
            (db, now) => {
              for (const a of news)
                execute(db, 'UPDATE user_devices SET ahead_sequence = ? WHERE user_id = ? AND serial = ?', [
                  a.acknowledged,
                  a.userId,
                  a.serial,
                ]);
              return waiting.filter(({ userId, sequence }) => {
                if (!publicationEvent(db, userId, this.#staleAfterMs, ackEvent(db, userId, sequence, now)))
                  return false;
                // The hashes of files a resync superseded stay (#prepare): the device may yet acknowledge one.
                execute(db, 'DELETE FROM outbox WHERE user_id = ? AND sequence <= ? AND bytes IS NOT NULL', [
                  userId,
                  sequence,
                ]);
                // The device applied that file: it erased what that file and the ones before ordered erased.
                forgetErased(db, userId, sequence);
                return true;
              });
            },
          );
    // Committed first, cleaned second, the acknowledgement last: while it is on the share, a crash
    // may have left the update files it covers, and the next collection removes both (a leftover).
    for (const { userId, sequence, name } of [...accepted, ...leftovers]) {
      for (const old of await this.#transport.list(updateStream(userId))) {
        const s = sequenceOfName(old);
        if (s && s.sequence <= sequence) await this.#transport.remove(updateStream(userId), old);
      }
      await this.#transport.remove(ackStream(userId), name);
    }
    const setAside: SetAsideAcknowledgement[] = [];
    for (const { userId, name, bytes } of spoiled) {
      // Replaced or gone since it was judged (the user's device may write it at any time): the next
      // collection judges what is there now. (Replaced between this read and the removal, the new
      // file is set aside with the old one's bytes kept, and the device sends it again: a delay.)
      const now = await this.#transport.read(ackStream(userId), name);
      if (now === null || !bytesEqual(now, bytes)) continue;
      // The copy is evidence; the removal is what lets the device send its acknowledgement again. A
      // copy the share refuses (a file planted where the refused stream's folder goes, a share that
      // lets the admin write only the update and acknowledgement streams) must not cost that: thrown,
      // it failed every collection, and so every `sekey admin publish`, heartbeats included, for
      // as long as the spoiled file lay there.
      let notKept: string | undefined;
      try {
        await this.#transport.write(refusedAckStream(userId), name, bytes);
      } catch (error) {
        notKept = messageOf(error);
      }
      await this.#transport.remove(ackStream(userId), name);
      setAside.push(notKept === undefined ? { userId, name } : { userId, name, notKept });
    }
    return {
      accepted: accepted.map(pair),
      setAside,
      ahead,
      unrecordedHsms,
    };
  }

  /**
   * Every provisioned user's publication state at the clock's time (`TICK`), computed without
   * committing anything: staleness follows from the stored state and the time alone. With
   * `acknowledgements` (from {@link waitingAcknowledgements}), the states they would lead to once
   * collected.
   */
  publicationStates(acknowledgements: readonly WaitingAcknowledgement[] = []): PublicationStatus[] {
    return this.#admin.readDatabase((db, now) => {
      const users = sortIds(column(db, 'SELECT user_id FROM user_devices').map(String));
      return users.map((userId) => {
        let s = readPublication(db, userId, this.#staleAfterMs);
        for (const ack of acknowledgements) {
          if (ack.userId !== userId) continue;
          const event = ackEvent(db, userId, ack.sequence, now);
          if (s.can(event)) [s] = transition(publicationMachine, s, event);
        }
        const tick = { type: 'TICK', now } as const;
        if (s.can(tick)) [s] = transition(publicationMachine, s, tick);
        return {
          userId,
          state: s.value as PublicationState,
          published: s.context.publishedSequence,
          acknowledged: s.context.acknowledgedSequence,
        };
      });
    });
  }

  /** Users who have not acknowledged for `staleAfterMs`: their updates may be withheld. */
  staleUsers(acknowledgements: readonly WaitingAcknowledgement[] = []): UserId[] {
    return this.publicationStates(acknowledgements)
      .filter((p) => p.state === 'stale')
      .map((p) => p.userId);
  }
}
