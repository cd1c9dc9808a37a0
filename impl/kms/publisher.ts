/**
 * The administrator's side of distribution: after changes, publish to each affected user exactly
 * what changed in that user's view (need-to-know), as an update file sealed by the admin HSM;
 * resynchronise users on request. Acknowledgements come back through the
 * {@link AcknowledgementCollector} (`acknowledgementCollector.ts`), which a publisher holds and
 * forwards to: it collects them, and knows who is stale.
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
 * Each user's publication state follows `model/publication.ts` (upToDate, pending, acknowledged,
 * stale), driven through xstate's pure `transition()` (`publicationRows.ts`).
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
import { bytesEqual } from '../../device/binaryCodec.ts';
import { DELETE_ORDER_AAD, encodeDeleteOrder } from '../../device/deleteOrder.ts';
import {
  DEFAULT_HEARTBEAT_INTERVAL_MS,
  DEFAULT_STALE_AFTER_MS,
  defaultFreshnessWindow,
  heartbeatDue,
} from '../../model/publication.ts';
import type { PublicationSnapshot } from '../../model/publication.ts';
import { sortIds } from '../../model/kms.ts';
import type { UserId } from '../../model/kms.ts';
import type { Admin } from './admin.ts';
import type { Database } from '../db/sqlite.ts';
import { deviceKeyNumber, userKeyIds } from '../protocol/deviceKeyIds.ts';
import { userDeviceOf } from './distribution.ts';
import { readDeviceViews, recordDeviceView } from './deviceViews.ts';
import type { DeviceView } from './deviceViews.ts';
import { readPublishedWorld, recordPublishedWorld, summarizeWorld, worldChanges } from './publishedWorld.ts';
import { projectionSource } from './rules/needToKnow.ts';
import { diffView } from './viewDiff.ts';
import type { RoundWorld } from './viewDiff.ts';
import { publicationEvent, readPublication } from './publicationRows.ts';
import { AcknowledgementCollector } from './acknowledgementCollector.ts';
import type {
  AheadDevice,
  CollectedAcknowledgements,
  PublicationStatus,
  UnrecordedHsm,
  WaitingAcknowledgement,
} from './acknowledgementCollector.ts';
import type { Transport } from '../protocol/transport.ts';
import { sequenceOfName, updateFileName, updateStream } from '../protocol/streams.ts';
import { NO_PREVIOUS_FILE, assembleUpdateFile, encodeRecords, fileHash } from '../protocol/updateFile.ts';
import type { UpdateKind, UpdateRecord } from '../protocol/updateFile.ts';
import { execute, query } from '../db/statementCache.ts';

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
  readonly #acknowledgements: AcknowledgementCollector;

  constructor(admin: Admin, transport: Transport, options: PublisherOptions = {}) {
    this.#admin = admin;
    this.#transport = transport;
    this.#staleAfterMs = options.staleAfterMs ?? DEFAULT_STALE_AFTER_MS;
    this.#heartbeatIntervalMs = options.heartbeatIntervalMs ?? DEFAULT_HEARTBEAT_INTERVAL_MS;
    this.#freshnessWindowMs = options.freshnessWindowMs ?? defaultFreshnessWindow(this.#heartbeatIntervalMs);
    checkFreshnessOptions(this.#heartbeatIntervalMs, this.#freshnessWindowMs);
    this.#acknowledgements = new AcknowledgementCollector(admin, transport, this.#staleAfterMs);
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
    // another hash is of a file this database never published (`acknowledgementCollector.ts`), however late
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

  // ---- acknowledgements: collected by the AcknowledgementCollector (acknowledgementCollector.ts) ----

  /** {@link AcknowledgementCollector.waitingAcknowledgements}. */
  waitingAcknowledgements(): Promise<WaitingAcknowledgement[]> {
    return this.#acknowledgements.waitingAcknowledgements();
  }

  /** {@link AcknowledgementCollector.aheadDevices}. */
  aheadDevices(): AheadDevice[] {
    return this.#acknowledgements.aheadDevices();
  }

  /** {@link AcknowledgementCollector.inspectAcknowledgements}. */
  inspectAcknowledgements(): Promise<{
    waiting: WaitingAcknowledgement[];
    ahead: AheadDevice[];
    notHeld: AheadDevice[];
    unrecordedHsms: UnrecordedHsm[];
  }> {
    return this.#acknowledgements.inspectAcknowledgements();
  }

  /** {@link AcknowledgementCollector.removeUnrecordedHsmAcknowledgements}. */
  removeUnrecordedHsmAcknowledgements(userId: UserId): Promise<UnrecordedHsm[]> {
    return this.#acknowledgements.removeUnrecordedHsmAcknowledgements(userId);
  }

  /** {@link AcknowledgementCollector.collectAcknowledgements}. */
  collectAcknowledgements(): Promise<CollectedAcknowledgements> {
    return this.#acknowledgements.collectAcknowledgements();
  }

  /** {@link AcknowledgementCollector.publicationStates}. */
  publicationStates(acknowledgements: readonly WaitingAcknowledgement[] = []): PublicationStatus[] {
    return this.#acknowledgements.publicationStates(acknowledgements);
  }

  /** {@link AcknowledgementCollector.staleUsers}. */
  staleUsers(acknowledgements: readonly WaitingAcknowledgement[] = []): UserId[] {
    return this.#acknowledgements.staleUsers(acknowledgements);
  }
}
