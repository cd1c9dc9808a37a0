/**
 * The simulated organisation's system and its oracle side by side: a real {@link Deployment} and its
 * {@link DeploymentModel}, kept in step by every operation the workload runs, with the shared
 * checkers (of the invariants `invariantError.ts` names) judging the deployment. Operations run as
 * in the deployment property suite (the same model bookkeeping: publications recorded, streams the
 * adversary touched tainted, a clean sync held to the model's projection), but a broken invariant
 * is recorded as a {@link ViolationDetail} and the day goes on.
 * @module
 */
import type { KmsOperation, UserId } from '../../model/kms.ts';
import { nothingToAttackOperation, runAttack } from './attacks.ts';
import type { AttackSpec } from './attacks.ts';
import { DayTally, bump, refusalCode } from './dayTally.ts';
import type { Deployment } from './deployment.ts';
import { messageKey, openUser } from './deployment.ts';
import { InvariantError, violated } from './invariantError.ts';
import type { InvariantName } from './invariantError.ts';
import { checkModelAgreement, isSynced, usable } from './modelViews.ts';
import { checkKeySecrecy } from './keySecrecy.ts';
import { checkNeedToKnow, checkSyncedExactly } from './heldKeys.ts';
import { aheadAlarm, checkIntegrity } from './integrity.ts';
import { checkLedger } from './readability.ts';
import { checkNothingAfterLastFile } from './convergence.ts';
import { checkEncryption, checkReprotection, encryptionJudged, senderPosition } from './smallestGroup.ts';
import type { DeploymentModel } from './referenceModel.ts';
import { simulationInvariantOf } from './simulationInvariants.ts';
import type { SimulationInvariant, ViolationDetail } from './simulationReport.ts';
import { SIMULATION_INVARIANTS } from './simulationReport.ts';
import { isoDate } from './time.ts';
import { utf8 } from '../../device/binaryCodec.ts';

/** The model and the deployment, the day's counters, and what the checkers found. */
export class SimulationWorld {
  readonly m: DeploymentModel;
  readonly r: Deployment;
  day = 0;
  tally: DayTally;
  readonly violations: ViolationDetail[] = [];
  /** Checks run per invariant (each checker run, and each reader × message readability judged). */
  readonly checks = Object.fromEntries(SIMULATION_INVARIANTS.map((i) => [i, 0])) as Record<SimulationInvariant, number>;
  /** How the smallest-group checks judged each protection they ran to the end (`ProtectionsJudged`). */
  readonly judged = { synced: 0, behind: 0, heartbeatOnly: 0 };
  /** Sizes of published files, by `user/sequence`: the bytes a user applies. */
  readonly #fileBytes = new Map<string, number>();
  /** Users who synced a clean stream since the last publication. */
  readonly syncedClean = new Set<UserId>();

  /**
   * Whether old card images are kept for the adversary (before each sync and publication): only
   * when attacks run, since imaging every card costs more than the sync itself.
   */
  readonly #archive: boolean;

  /** Told of each operation as it starts (the device meters). */
  readonly #onOperation: ((kind: string) => void) | undefined;
  readonly #meters: { pause(): void; resume(): void } | undefined;

  constructor(
    m: DeploymentModel,
    r: Deployment,
    options: {
      readonly archive: boolean;
      readonly onOperation?: (kind: string) => void;
      /** Told before and after each check, so that the checkers' device work is left out of the costs. */
      readonly meters?: { pause(): void; resume(): void };
    },
  ) {
    this.m = m;
    this.r = r;
    this.#archive = options.archive;
    this.#onOperation = options.onOperation;
    this.#meters = options.meters;
    this.tally = new DayTally(this.#onOperation);
  }

  /** Starts a new day's counters. */
  newDay(day: number): void {
    this.day = day;
    this.tally = new DayTally(this.#onOperation);
  }

  /** Moves model and deployment to `time`. */
  at(time: number): void {
    this.m.now = time;
    this.r.clock.set(time);
  }

  /** Records a violation of the day, found after `operation`. */
  record(invariant: SimulationInvariant, operation: string, detail: string): void {
    this.violations.push({ day: this.day, date: isoDate(this.m.now), operation, invariant, detail });
  }

  /**
   * Runs a check: counts it under `invariant`, and records what it throws (an {@link InvariantError}
   * under its own invariant, anything else under `invariant`).
   */
  async check(invariant: InvariantName, operation: string, run: () => void | Promise<void>): Promise<void> {
    this.checks[simulationInvariantOf(invariant)] += 1;
    this.#meters?.pause();
    try {
      await run();
    } catch (error) {
      if (error instanceof InvariantError)
        this.record(simulationInvariantOf(error.invariant), operation, error.message);
      else this.record(simulationInvariantOf(invariant), operation, `the check itself failed: ${String(error)}`);
    } finally {
      this.#meters?.resume();
    }
  }

  /** Counts how a protection was judged (what `checkEncryption` or `checkReprotection` returned). */
  #judged(how: 'protection' | 'behind' | 'freshness' | null): void {
    if (how === 'protection') this.judged.synced += 1;
    else if (how === 'behind') this.judged.behind += 1;
    else if (how === 'freshness') this.judged.heartbeatOnly += 1;
  }

  // ---- the admin ---------------------------------------------------------------------------------

  /**
   * Runs an admin operation on the model and the deployment; they must agree (a refusal the model
   * does not give is a `model-agreement` failure, reported as integrity). Returns whether it was done.
   */
  async admin(kind: string, op: KmsOperation, label: string): Promise<boolean> {
    const { m, r } = this;
    m.step += 1;
    this.tally.operation(kind);
    const result = m.apply(op);
    let code = 'ok';
    try {
      r.admin.apply(op);
    } catch (error) {
      code = this.tally.error(error);
      r.output(error);
    }
    const expected = result.ok ? 'ok' : result.error.code;
    if (code !== expected)
      this.record('integrity', label, `invariant model-agreement: the admin answered ${code}, the model ${expected}`);
    return code === 'ok';
  }

  /** The admin publishes (its daily cron); a power cut at the n-th write of its flash or card, if `cut`. */
  async publish(label: string, cut?: { where: 'flash' | 'sd'; n: number }): Promise<void> {
    const { m, r } = this;
    m.step += 1;
    this.tally.operation('publish');
    if (this.#archive) r.archiveAdmin();
    const before = r.streamSequences();
    if (cut !== undefined) (cut.where === 'flash' ? r.adminFlash : r.adminCard).cutPowerAfter(cut.n);
    try {
      const report = await r.publisher.publish();
      r.output(report);
      checkNothingAfterLastFile(m, report.published, label);
      for (const p of report.published) {
        m.recordPublished(p.userId, p.sequence);
        this.#fileBytes.set(`${p.userId}/${p.sequence}`, p.bytes);
        this.tally.updates.filesPublished += 1;
        this.tally.updates.bytesPublished += p.bytes;
      }
      m.dirty = false;
      this.syncedClean.clear();
    } catch (error) {
      if (r.adminDevice.powered && r.adminFlash.powered && r.adminCard.powered) throw error;
      await this.#adminRebooted(label, before);
    } finally {
      r.adminFlash.cancelPowerCut();
      r.adminCard.cancelPowerCut();
    }
  }

  /**
   * After a power cut during a publication: the admin reboots; publications committed before the cut
   * count as published (their files may be missing until the next flush), so their users' streams
   * are tainted (held to the model only once clean again).
   */
  async #adminRebooted(label: string, before: Map<UserId, number>): Promise<void> {
    const { m, r } = this;
    this.tally.operation('power-cut:publish');
    try {
      await r.reopenAdmin();
    } catch (error) {
      this.record(
        'integrity',
        label,
        `invariant durability: the admin cannot be reopened after the cut: ${String(error)}`,
      );
      return;
    }
    for (const [userId, sequence] of r.streamSequences()) {
      const from = before.get(userId) ?? 0;
      if (sequence > from) {
        m.recordPublished(userId, sequence);
        m.tainted.add(userId);
        // Counted as published like any other file (the report would otherwise apply more than it
        // published): sizes from the outbox, which holds each file's bytes until acknowledged.
        for (const [published, bytes] of this.#outboxSizes(userId, from, sequence)) {
          this.#fileBytes.set(`${userId}/${published}`, bytes);
          this.tally.updates.filesPublished += 1;
          this.tally.updates.bytesPublished += bytes;
        }
      }
    }
    await this.check('model-agreement', label, () => checkModelAgreement(m, r, label));
  }

  /** Sequence and size of `userId`'s files in the admin's outbox after `from`, up to `to`. */
  #outboxSizes(userId: UserId, from: number, to: number): Array<[number, number]> {
    return this.r.admin.readDatabase((db) =>
      (
        (db.exec(
          // A resync's superseded files keep only their hash there (Publisher's #prepare): not published now.
          'SELECT sequence, length(bytes) FROM outbox ' +
            'WHERE user_id = ? AND sequence > ? AND sequence <= ? AND bytes IS NOT NULL',
          [userId, from, to],
        )[0]?.values ?? []) as Array<[number, number]>
      ).map(([sequence, bytes]) => [Number(sequence), Number(bytes)]),
    );
  }

  /** The admin collects acknowledgements and looks at who is stale; returns the stale users' count. */
  async collect(): Promise<number> {
    const { r } = this;
    this.tally.operation('collect-acks');
    const collected = await r.publisher.collectAcknowledgements();
    r.output(collected);
    // No admin HSM is restored from a backup here (an old card alone is refused, RolledBack), so an
    // HSM found ahead of the admin's database is a false alarm, and publication to it would stop for good.
    await this.check('integrity', 'collect-acks', () => {
      if (collected.ahead.length > 0) violated('integrity', aheadAlarm(collected.ahead));
    });
    const states = r.publisher.publicationStates();
    r.output(states);
    return states.filter((s) => s.state === 'stale').length;
  }

  /**
   * Whether `userId`'s device is retired and done: its user was deleted, it applied the last file
   * published to it, which took it out of service (the admin publishes nothing to a retired device
   * after that one, heartbeats included), and the admin holds its acknowledgement of that file.
   * Without the last condition a device whose acknowledgement an adversary dropped or spoiled was
   * handed back with the admin still waiting for it (a convergence violation at the end of the run):
   * the device sends a missing acknowledgement again at its next sync, and a spoiled one once the
   * admin's collection has set it aside.
   */
  retiredAndDone(userId: UserId): boolean {
    const { m, r } = this;
    if (m.inService(userId)) return false;
    const slot = r.slot(userId);
    const last = m.published.get(userId) ?? 0;
    if (!usable(slot) || slot.user.blocked || slot.user.appliedSequence !== last) return false;
    if (m.history.get(userId)?.get(last)?.inService !== false) return false;
    const admin = r.publisher.publicationStates().find((p) => p.userId === userId);
    return admin !== undefined && admin.published === last && admin.acknowledged === last;
  }

  /** The admin asks for a resync of a user (one who reported being blocked). */
  resync(userId: UserId): void {
    this.tally.operation('resync');
    this.m.resyncAsked.add(userId);
    this.r.publisher.requestResync(userId);
    this.m.dirty = true;
  }

  /** A (new or replacement) device for a user, provisioned by the admin. */
  async provision(userId: UserId, kind: 'provision' | 'replace-device'): Promise<void> {
    this.tally.operation(kind);
    this.m.step += 1;
    await this.r.provision(userId);
    this.m.provisioned(userId);
  }

  // ---- users ---------------------------------------------------------------------------------------

  /**
   * A user syncs (a power cut at the n-th write of its flash or card, if `cut`). A clean sync (nothing
   * changed since the publication, no attack on its stream) must bring the replica to the model's
   * projection (need-to-know).
   */
  async sync(userId: UserId, label: string, cut?: { where: 'flash' | 'sd'; n: number }): Promise<void> {
    const { m, r } = this;
    const slot = r.slot(userId);
    if (!usable(slot)) return;
    m.step += 1;
    this.tally.operation('sync');
    if (this.#archive) r.archive(userId);
    const clean = !m.dirty && !m.tainted.has(userId) && (await r.streamIsGenuine(userId));
    if (cut !== undefined) (cut.where === 'flash' ? slot.flash : slot.sd).cutPowerAfter(cut.n);
    let report: Awaited<ReturnType<Deployment['sync']>>;
    try {
      report = await r.sync(userId);
    } catch (error) {
      slot.flash.cancelPowerCut();
      slot.sd.cancelPowerCut();
      if (!slot.device.powered || !slot.flash.powered || !slot.sd.powered) {
        this.tally.operation('power-cut:sync');
        r.output(error);
        try {
          await r.reopenUser(userId);
        } catch (reopen) {
          this.record(
            'integrity',
            label,
            `invariant durability: ${userId} cannot reopen after the cut: ${String(reopen)}`,
          );
        }
        return;
      }
      this.tally.error(error);
      r.output(error);
      if (clean) this.record('need-to-know', label, `invariant need-to-know: a clean sync failed: ${String(error)}`);
      return;
    }
    slot.flash.cancelPowerCut();
    slot.sd.cancelPowerCut();
    r.output(report);
    for (const sequence of report.applied) {
      this.tally.updates.filesApplied += 1;
      this.tally.updates.bytesApplied += this.#fileBytes.get(`${userId}/${sequence}`) ?? 0;
    }
    for (const refusal of report.refused) this.tally.error({ code: `update-refused:${refusal.reason}` });
    if (clean) {
      await this.check('need-to-know', label, () => checkSyncedExactly(m, r, userId, label));
      this.syncedClean.add(userId);
    }
    if (m.tainted.has(userId) && isSynced(m, slot) && (await r.streamIsGenuine(userId))) m.tainted.delete(userId);
  }

  /**
   * A user encrypts to `to`; a synced sender's choice is held to the model's smallest group, and any
   * sender's freshness to the heartbeat rule; a sender behind the model within its window, to the
   * smallest group over what was published to it (`checkEncryption`). Returns whether a message was sent.
   */
  async encrypt(userId: UserId, to: readonly UserId[], text: string, label: string): Promise<boolean> {
    const { m, r } = this;
    const slot = r.slot(userId);
    if (!usable(slot)) return false;
    m.step += 1;
    this.tally.operation('encrypt');
    const replica = senderPosition(m, r, slot);
    const { synced } = replica;
    const plaintext = utf8(text);
    let message: Uint8Array;
    try {
      message = openUser(slot).encrypt(to, plaintext);
    } catch (error) {
      const code = this.tally.error(error);
      r.output(error);
      if (encryptionJudged(m, userId, replica))
        await this.check('smallest-group', label, () => {
          this.#judged(checkEncryption(m, userId, to, replica, { code }, label));
        });
      return false;
    }
    r.output(message);
    const keyId = messageKey(message);
    const groupId = m.kms.keys[keyId]?.owner ?? '?';
    if (encryptionJudged(m, userId, replica))
      await this.check('smallest-group', label, () => {
        this.#judged(checkEncryption(m, userId, to, replica, { keyId, groupId }, label));
      });
    m.record({ sender: userId, recipients: [...to], keyId, groupId, plaintext, message, senderSynced: synced });
    return true;
  }

  /** A recipient decrypts a message of the ledger (judged by readability at the day's end). */
  decrypt(userId: UserId, message: Uint8Array): void {
    const slot = this.r.slot(userId);
    if (!usable(slot)) return;
    this.tally.operation('decrypt');
    try {
      this.r.output(this.r.decrypt(userId, message));
    } catch (error) {
      this.tally.error(error);
      this.r.output(error);
    }
  }

  /**
   * A member re-protects a message under a compromised key (decrypt and re-encrypt inside the HSM);
   * the new message joins the ledger, its key held to the smallest group of the old one's members.
   */
  async reprotect(userId: UserId, entry: DeploymentModel['ledger'][number], label: string): Promise<void> {
    const { m, r } = this;
    const slot = r.slot(userId);
    if (!usable(slot)) return;
    m.step += 1;
    this.tally.operation('reprotect');
    const replica = senderPosition(m, r, slot);
    const { synced } = replica;
    let out: Uint8Array;
    try {
      out = openUser(slot).reprotect(entry.message);
    } catch (error) {
      const code = this.tally.error(error);
      r.output(error);
      if (encryptionJudged(m, userId, replica))
        await this.check('smallest-group', label, () => {
          this.#judged(checkReprotection(m, userId, entry, replica, { code }, label));
        });
      return;
    }
    r.output(out);
    const keyId = messageKey(out);
    const groupId = m.kms.keys[keyId]?.owner ?? '?';
    if (encryptionJudged(m, userId, replica))
      await this.check('smallest-group', label, () => {
        this.#judged(checkReprotection(m, userId, entry, replica, { keyId, groupId }, label));
      });
    if (out === entry.message) return;
    const others = (m.kms.groups[entry.groupId]?.members ?? []).filter((u) => u !== userId);
    m.record({
      sender: userId,
      recipients: others,
      keyId,
      groupId,
      plaintext: entry.plaintext,
      message: out,
      senderSynced: synced,
    });
  }

  /**
   * The adversary strikes (the property suite's attack kinds); card attacks check integrity at once.
   * An attack that finds nothing to attack (no file pending in the stream, no recording, no old
   * card image) did nothing: it is counted as `attack:KIND (nothing to attack)`, not as its kind, and
   * checks nothing.
   */
  async attack(spec: AttackSpec, label: string): Promise<void> {
    const kind = `attack:${spec.kind}`;
    this.tally.operation(kind);
    this.m.step += 1;
    let acted = true;
    try {
      acted = (await runAttack(this.m, this.r, spec, label, this.tally)).acted;
    } catch (error) {
      if (error instanceof InvariantError) this.record(simulationInvariantOf(error.invariant), label, error.message);
      else this.record('integrity', label, `the attack left the system broken: ${String(error)}`);
    }
    if (acted) this.checks.integrity += 1;
    else this.tally.reclassify(kind, nothingToAttackOperation(spec.kind));
  }

  // ---- the day's checks ------------------------------------------------------------------------

  /**
   * The invariants at the end of a day: key secrecy over everything the host saw, need-to-know in
   * every HSM, integrity of every replica and of the admin's database, readability of the ledger for
   * every user, and convergence of the users who synced a clean stream since the last publication.
   */
  async endOfDay(label: string): Promise<void> {
    const { m, r } = this;
    await r.observe(m.deviceIds());
    await this.check('key-secrecy', label, () => checkKeySecrecy(m, r));
    await this.check('need-to-know', label, () => checkNeedToKnow(m, r));
    await this.check('integrity', label, () => checkIntegrity(m, r));
    await this.check('model-agreement', label, () => checkModelAgreement(m, r, label));
    // The checker's own trial decryptions (every user tries every message) are not the
    // organisation's work: their refusals are not counted as refusals.
    const judging = {
      count: (_: 'invariantChecks', name: string) => bump(this.tally.checks, name),
      error: refusalCode,
    };
    await this.check('readability', label, () => checkLedger(m, r, judging));
    for (const userId of [...this.syncedClean].sort()) {
      if (m.dirty || m.tainted.has(userId) || !m.devices.has(userId)) continue;
      await this.check('convergence', label, () => checkSyncedExactly(m, r, userId, label, 'convergence'));
    }
    const judged = Object.entries(this.tally.checks)
      .filter(([name]) => name.startsWith('readability:'))
      .reduce((n, [, c]) => n + c, 0);
    this.checks.readability += judged;
  }
}
