/**
 * The administrator's collection of acknowledgements: reading every user's acknowledgement stream,
 * checking each acknowledgement inside the admin HSM, advancing that user's publication state
 * (`publicationRows.ts`), and removing the update files it covers; setting aside spoiled
 * acknowledgements; finding user HSMs ahead of the admin database (an admin HSM restored from a
 * backup) and acknowledgements of HSMs it has no record of; and saying who is stale.
 *
 * Acknowledgements are collected in one transaction per round, however many users sent one: one
 * database commit (and one audit entry) for a thousand users, not a thousand.
 * @module
 */
import { transition } from '../../model/pureTransition.ts';
import { bytesEqual } from '../../device/binaryCodec.ts';
import { publicationMachine } from '../../model/publication.ts';
import type { PublicationEvent, PublicationState } from '../../model/publication.ts';
import { compareIds, sortIds } from '../../model/kms.ts';
import type { UserId } from '../../model/kms.ts';
import { bytesToHex } from '@noble/hashes/utils.js';
import { parseAck } from '../protocol/ackFile.ts';
import type { Admin } from './admin.ts';
import type { Database } from '../db/sqlite.ts';
import { userDeviceOf } from './distribution.ts';
import { forgetErased } from './deviceViews.ts';
import { column } from './kmsRows.ts';
import { publicationEvent, readPublication } from './publicationRows.ts';
import type { Transport } from '../protocol/transport.ts';
import { ackFileName, ackStream, refusedAckStream, sequenceOfName, updateStream } from '../protocol/streams.ts';
import { UpdateFormatError } from '../protocol/updateFile.ts';
import { isDeviceError } from '../../device/deviceError.ts';
import { execute, query } from '../db/statementCache.ts';
import { messageOf } from '../../model/codedError.ts';

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
 * sees the admin write numbers it applied (`UserSync.sync`), so it does leave such a file. Nothing is
 * committed for it (junk costs no commit); every collection reports it while the file lies there.
 */
export interface UnrecordedHsm {
  readonly userId: UserId;
  readonly serial: string;
  /** The highest sequence the HSM's acknowledgements on the share claim, and the file that claims it. */
  readonly sequence: number;
  readonly name: string;
}

/** What a collection of acknowledgements did ({@link AcknowledgementCollector.collectAcknowledgements}). */
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

/** A user's publication state as {@link AcknowledgementCollector.publicationStates} reports it. */
export interface PublicationStatus {
  readonly userId: UserId;
  readonly state: PublicationState;
  readonly published: number;
  readonly acknowledged: number;
}

/** The administrator's collector of acknowledgements (held by the `Publisher`, which forwards to it). */
export class AcknowledgementCollector {
  readonly #admin: Admin;
  readonly #transport: Transport;
  readonly #staleAfterMs: number;

  constructor(admin: Admin, transport: Transport, staleAfterMs: number) {
    this.#admin = admin;
    this.#transport = transport;
    this.#staleAfterMs = staleAfterMs;
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
   * took the file for its acknowledgement and did not send it again (`UserSync.sync`), and the user
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
                // The hashes of files a resync superseded stay (Publisher's #prepare): the device may yet
                // acknowledge one.
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
