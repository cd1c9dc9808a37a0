/**
 * An admin HSM restored from a backup, at a random point of a random history. The admin works,
 * publishes and collects; at one point its HSM is copied (the backup); more work follows (the lost
 * time: files published, applied by some users, acknowledged and collected); then the copy is put
 * back and the restored admin goes on. Its users' HSMs are not restored: those that applied a file of
 * the lost time are ahead of the database, hold keys the database gave no number to, or gave again
 * to other keys (README, "Restoring an HSM's folder"), and no update file can repair them.
 *
 * Checked against what the run recorded (every file published, by its hash, and every file each HSM
 * applied), not against the implementation's own bookkeeping:
 * - **no false alarm**: at every collection, an HSM the admin reports ahead did apply a file of the
 *   lost time (a false alarm stops publication to a healthy user for good);
 * - **held**: nothing more is written to the update stream of an HSM reported ahead, heartbeats and
 *   resyncs included;
 * - **found**: once every user has synced through heartbeat rounds, every HSM that applied a file of
 *   the lost time is reported ahead;
 * - **no silent mix-up**: every HSM not reported ahead, and on record, is at the last file the admin
 *   published to it (as its publications reported), not blocked, and each KMS key it holds is the
 *   admin's key of that number (a probe it encrypts, the admin HSM opens);
 * - **not on record**: an HSM provisioned in the lost time is unknown to the restored database; at
 *   every collection the HSMs reported as not on record are exactly those whose acknowledgements lie
 *   on the share (read and parsed by the run), each one of the lost time; and once its user is
 *   provisioned again, none is left in that user's stream.
 *
 * The share is honest here (no attacker, no faults): what the share may refuse or lose is the
 * deployment suite's, and the guarantees above are stated for a share that delivers. An operation
 * (for `npm run properties`) is one step of the admin, a user or the clock: each drawn step, and
 * each of the heartbeat rounds' at the end.
 *
 * Each of these breaks fails the suite at CI size without the examples (checked by hand, one at a
 * time): the collection judging no acknowledgement under a number the database published with another hash,
 * or none past its last file; `publish` sending files to an HSM found ahead; a resync deleting the
 * files it supersedes rather than keeping their hashes; the user's host not acknowledging its last
 * file again, or not when a resync is coming. So does `flush` writing back to an HSM found ahead a
 * file the lost time's collection removed from the share, which only the second example reaches at
 * CI size (a random run at another seed found it: its 134th). Of the HSMs not on record: a
 * collection that takes a forgotten HSM for one fails at CI size without the examples; one that
 * reports none, and a provisioning that leaves their acknowledgements on the share, fail by the third.
 */
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { UserId } from '../model/kms.ts';
import { KmsError } from '../model/kmsError.ts';
import { DEFAULT_HEARTBEAT_INTERVAL_MS } from '../model/publication.ts';
import type { Admin } from '../impl/kms/admin.ts';
import type { Publisher } from '../impl/kms/publisher.ts';
import type { UnrecordedHsm } from '../impl/kms/acknowledgementCollector.ts';
import type { User } from '../impl/kms/user.ts';
import { newTeam, provisionDevice, restoreAdmin } from '../impl/kms/world.testkit.ts';
import type { World } from '../impl/kms/world.testkit.ts';
import { isKmsDeviceKey } from '../impl/protocol/deviceKeyIds.ts';
import { parseAck } from '../impl/protocol/ackFile.ts';
import { ackStream, sequenceOfName, updateStream } from '../impl/protocol/streams.ts';
import { PropertyProgress } from './progress.testkit.ts';
import { historyLength } from '../testing/runConfig.ts';

const DAY = 86_400_000;
const USERS = ['U1', 'U2', 'U3'] as const satisfies readonly UserId[];
const NAMES: Readonly<Record<UserId, string>> = { U1: 'alice', U2: 'bob', U3: 'carol' };
const progress = new PropertyProgress('restoredAdmin');

/** One step of the admin, of a user, or of the clock. */
type Step =
  | { readonly kind: 'key'; readonly group: 'G1' | 'G2' }
  | { readonly kind: 'rename'; readonly group: 'G1' | 'G2' }
  | { readonly kind: 'member'; readonly user: UserId }
  | { readonly kind: 'publish' }
  | { readonly kind: 'sync'; readonly user: UserId }
  | { readonly kind: 'collect' }
  | { readonly kind: 'resync'; readonly user: UserId }
  | { readonly kind: 'wait'; readonly days: number }
  | { readonly kind: 'replace'; readonly user: UserId }
  | { readonly kind: 'remedy' }
  | { readonly kind: 'resyncPast'; readonly user: UserId };

/** A history: steps before the backup, in the lost time, and after the restore. */
interface History {
  readonly before: readonly Step[];
  readonly lost: readonly Step[];
  readonly after: readonly Step[];
}

const user = fc.constantFrom(...USERS);
const group = fc.constantFrom('G1' as const, 'G2' as const);

/**
 * The steps of `kind` whose `field` `arb` draws (`{ kind, [field]: value }`; with no field, the step
 * alone), and a step back to what drew it (fast-check's unmapper). With it, an `examples` entry, which
 * comes with no shrinking context, shrinks as a drawn history does: without, fast-check shrinks none
 * (`canShrinkWithoutContext`), and a bug an example caught was reported at the example's full length.
 * The values drawn are the same: a seed draws the histories it drew.
 */
function stepOf<V>(kind: Step['kind'], field?: string, arb?: fc.Arbitrary<V>): fc.Arbitrary<Step> {
  const drawn: fc.Arbitrary<V | null> = arb ?? fc.constant(null);
  return drawn.map(
    (value) => (field === undefined ? { kind } : { kind, [field]: value }) as Step,
    (step) => {
      const fields = typeof step === 'object' && step !== null ? (step as Record<string, unknown>) : {};
      if (fields['kind'] !== kind || Object.keys(fields).length !== (field === undefined ? 1 : 2))
        throw new Error(`not a ${kind} step`);
      return (field === undefined ? null : fields[field]) as V | null;
    },
  );
}

const routineStep: fc.Arbitrary<Step> = fc.oneof(
  { weight: 3, arbitrary: stepOf('key', 'group', group) },
  { weight: 1, arbitrary: stepOf('rename', 'group', group) },
  { weight: 1, arbitrary: stepOf('member', 'user', user) },
  { weight: 4, arbitrary: stepOf('publish') },
  { weight: 5, arbitrary: stepOf('sync', 'user', user) },
  { weight: 3, arbitrary: stepOf('collect') },
  { weight: 1, arbitrary: stepOf('resync', 'user', user) },
  { weight: 1, arbitrary: stepOf('wait', 'days', fc.integer({ min: 1, max: 4 })) },
);
/** Any step, a new HSM for a user included. */
const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 20, arbitrary: routineStep },
  { weight: 1, arbitrary: stepOf('replace', 'user', user) },
);
/**
 * A step of the lost time: a new HSM now and then. The restored database has no record of it (its
 * channel keys went with the lost time): it can neither seal a file that HSM opens nor check its
 * acknowledgements, and the HSM it replaced is in service as far as it knows.
 */
const lostStep: fc.Arbitrary<Step> = fc.oneof(
  { weight: 10, arbitrary: routineStep },
  { weight: 1, arbitrary: stepOf('replace', 'user', user) },
);
// Each part of a history is as long as at CI size, longer or shorter by SEKEY_SCALE (`--scale`).
const history: fc.Arbitrary<History> = fc.record({
  before: fc.array(step, historyLength(0, 8)),
  // The lost time publishes at least once, and someone syncs, the admin collecting it or not: most
  // runs have an HSM ahead to find, and in half of them nothing on the share tells of its last file.
  lost: fc.tuple(fc.array(lostStep, historyLength(0, 10)), user, fc.boolean()).map(
    ([steps, u, collected]): Step[] => [
      { kind: 'key', group: 'G1' },
      { kind: 'publish' },
      ...steps,
      { kind: 'sync', user: u },
      ...(collected ? [{ kind: 'collect' as const }] : []),
    ],
    // Back (for an example's lost time, as `stepOf`): a collection last follows the sync.
    (lost): [Step[], (typeof USERS)[number], boolean] => {
      const all = Array.isArray(lost) ? (lost as Step[]) : [];
      const collected = all.at(-1)?.kind === 'collect';
      const sync = all.at(collected ? -2 : -1);
      const [key, publish] = all;
      if (key?.kind !== 'key' || key.group !== 'G1' || publish?.kind !== 'publish' || sync?.kind !== 'sync')
        throw new Error('not a lost time as drawn');
      return [all.slice(2, collected ? -2 : -1), sync.user as (typeof USERS)[number], collected];
    },
  ),
  // Now and then the README's remedy (a new HSM for every user reported ahead so far, or whose HSM
  // the database has no record of), and what
  // `stale` advises for a user who has not synced since the restore: a resync, past the files the
  // restored admin published meanwhile, which removes them from the share.
  after: fc.array(
    fc.oneof(
      { weight: 12, arbitrary: step },
      { weight: 1, arbitrary: stepOf('remedy') },
      { weight: 1, arbitrary: stepOf('resyncPast', 'user', user) },
    ),
    historyLength(0, 12),
  ),
});

const RESYNC_PAST_THE_LOST_FILE: History = {
  before: [],
  lost: [
    { kind: 'key', group: 'G1' },
    { kind: 'publish' },
    { kind: 'sync', user: 'U3' },
    { kind: 'collect' },
    { kind: 'sync', user: 'U1' },
  ],
  after: [{ kind: 'key', group: 'G1' }, { kind: 'publish' }, { kind: 'resync', user: 'U3' }],
};

/**
 * The lost time collects an acknowledgement the backup still waits for, and removes its file from
 * the share; the restored admin finds the HSM ahead, and then wrote that file back to it (its flush
 * of files missing from the share held no HSM back): a random run at another seed found it.
 */
const FLUSH_AFTER_LOST_COLLECTION: History = {
  before: [{ kind: 'rename', group: 'G1' }, { kind: 'publish' }, { kind: 'sync', user: 'U1' }],
  lost: [{ kind: 'key', group: 'G1' }, { kind: 'publish' }, { kind: 'collect' }, { kind: 'sync', user: 'U1' }],
  after: [{ kind: 'collect' }],
};

/**
 * Bob gets a new HSM in the lost time, which applies its resync and acknowledges it: the restored
 * database has no record of it. Its collections report it while that acknowledgement lies on the
 * share; the remedy (bob provisioned again) removes it.
 */
const HSM_OF_THE_LOST_TIME: History = {
  before: [],
  lost: [
    { kind: 'key', group: 'G1' },
    { kind: 'publish' },
    { kind: 'replace', user: 'U2' },
    { kind: 'publish' },
    { kind: 'sync', user: 'U2' },
  ],
  after: [{ kind: 'collect' }, { kind: 'remedy' }],
};

/** The histories every run of the property begins with (its `examples`), in this order. */
const EXAMPLES: readonly History[] = [RESYNC_PAST_THE_LOST_FILE, FLUSH_AFTER_LOST_COLLECTION, HSM_OF_THE_LOST_TIME];

function stepText(s: Step): string {
  switch (s.kind) {
    case 'key':
      return `a key added to ${s.group} and activated`;
    case 'rename':
      return `${s.group} renamed`;
    case 'member':
      return `${s.user} (${NAMES[s.user]}) joins or leaves G2`;
    case 'publish':
      return 'publish';
    case 'sync':
      return `${s.user} (${NAMES[s.user]}) syncs`;
    case 'collect':
      return 'collect acknowledgements';
    case 'resync':
      return `resync of ${s.user} requested`;
    case 'wait':
      return `${s.days} day${s.days === 1 ? '' : 's'} pass`;
    case 'replace':
      return `${s.user} (${NAMES[s.user]}) gets a new HSM; the old one, factory-reset, is forgotten as destroyed`;
    case 'remedy':
      return (
        'every user reported ahead, or whose HSM is not on record, gets a new HSM; the old ones, factory-reset, ' +
        'are forgotten as destroyed'
      );
    case 'resyncPast':
      return `a key added to G1 and activated, publish, resync of ${s.user} (${NAMES[s.user]}) requested, publish`;
  }
}

/** The heartbeat rounds every run ends with, after its drawn history ({@link settle}). */
const HEARTBEAT_ROUNDS = 3;

/**
 * Where each run is, by the history it was given, in words: the step, or the heartbeat round and what
 * it is doing, or the check at the end; cleared once every check passed. fast-check reports as its
 * counterexample the very history the failing run was given (found, shrunk, or cut short), so its text
 * can say where the run failed (`operationText.testkit.ts`' `FailedOperations` does the same for the
 * KMS suites): the rounds are the same in every run, and a failure in one of them (`files written to
 * U2's stream, whose HSM was reported ahead`) named neither the round nor what it was doing.
 */
const reached = new WeakMap<History, string>();

/** A history in words, for a counterexample: its three parts, the fixed rounds after them, and where it failed. */
function historyText([h]: [History]): string {
  const part = (title: string, steps: readonly Step[]) =>
    `${title}:${steps.length === 0 ? ' nothing' : steps.map((s, i) => `\n  ${i + 1}. ${stepText(s)}`).join('')}`;
  const where = reached.get(h);
  return [
    part('before the backup', h.before),
    part('the lost time (after the backup)', h.lost),
    part('after the restore', h.after),
    `then ${HEARTBEAT_ROUNDS} heartbeat rounds, each: ${ROUND}; then ${AGREEMENT}`,
    ...(where === undefined ? [] : [`the run failed in ${where}`]),
  ].join('\n');
}

/** What a heartbeat round does ({@link settle}). */
const ROUND =
  `the clock past the heartbeat interval, publish, ${USERS.map((u) => `${u} (${NAMES[u]})`).join(', ')} sync, ` +
  'collect acknowledgements, the HSMs reported ahead checked';
/** What the run checks last ({@link checkAgreement}). */
const AGREEMENT = 'every HSM not reported ahead, and on record, checked against the admin (its last file, its keys)';

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** What the run saw, to judge the admin by: files by their hashes, per user and per HSM. */
class RunRecord {
  /** `user → "sequence:hash"` of every file the admin of the lost time published. */
  readonly lost = new Map<UserId, Set<string>>(USERS.map((u) => [u, new Set<string>()]));
  /** `serial → "sequence:hash"` of every file that HSM applied. */
  readonly applied = new Map<string, Set<string>>();
  /** `serial → "sequence:hash"` of the last file that HSM applied. */
  readonly lastApplied = new Map<string, string>();
  /** `user → serial` of the HSMs the admin reported ahead so far (of those in service). */
  readonly ahead = new Map<UserId, string>();
  /**
   * The serials the serving admin database has on record, and `user → serial` of the HSM it has in
   * service for the user: what the run provisioned through it (the backup's, from the restore on).
   */
  onRecord = new Set<string>();
  inService = new Map<UserId, string>();
  /** The serials of the HSMs provisioned in the lost time. */
  readonly provisionedLost = new Set<string>();
  /** The replicas of the HSMs provisioned by `replace`, to close. */
  readonly replaced: User[] = [];
  /**
   * `user → sequence` of the last file the admin published to the user, from its publications'
   * reports: the original admin's, then, from the restore on, the backup's and the restored admin's.
   */
  published = new Map<UserId, number>();

  /** Whether HSM `serial`, of `u`, applied a file of the lost time. */
  appliedLost(u: UserId, serial: string): boolean {
    const lost = this.lost.get(u) as Set<string>;
    return [...(this.applied.get(serial) ?? [])].some((file) => lost.has(file));
  }

  /** Whether the HSM in `u`'s hands is the one the serving admin database has in service for `u`. */
  serves(w: World, u: UserId): boolean {
    return this.inService.get(u) === (w.users.get(u) as User).device.serial;
  }
}

/**
 * `sequence → "sequence:hash"` of the files in `u`'s update stream now. One file per number: an
 * honest share never holds two (the restored admin's first publication removes the lost files
 * numbered past its own, before it writes a number again), and the record would be ambiguous.
 */
async function streamFiles(w: World, u: UserId): Promise<Map<number, string>> {
  const files = new Map<number, string>();
  for (const name of await w.transport.list(updateStream(u))) {
    const parsed = sequenceOfName(name);
    const bytes = await w.transport.read(updateStream(u), name);
    if (parsed === null || bytes === null) continue;
    expect(files.has(parsed.sequence), `${u}'s stream holds two files numbered ${parsed.sequence}`).toBe(false);
    files.set(parsed.sequence, `${parsed.sequence}:${sha256(bytes)}`);
  }
  return files;
}

/** The deployment's admin side at one time: the original admin, then the restored one. */
interface AdminSide {
  readonly admin: Admin;
  readonly publisher: Publisher;
}

/** Runs one step; `lostTime` records what is published as the lost time's. */
async function run(w: World, side: AdminSide, s: Step, record: RunRecord, lostTime: boolean): Promise<void> {
  const { admin, publisher } = side;
  try {
    switch (s.kind) {
      case 'key':
        admin.activateKey(admin.addKey(s.group, 'k'));
        return;
      case 'rename':
        admin.renameGroup(s.group, `renamed at ${w.clock.now()}`);
        return;
      case 'member':
        if (admin.groupInfo('G2').members.includes(s.user)) admin.removeMember('G2', s.user);
        else admin.addMember('G2', s.user);
        return;
      case 'resync':
        publisher.requestResync(s.user);
        return;
      case 'wait':
        w.clock.advance(s.days * DAY);
        return;
      case 'publish':
        return await publish(w, side, record, lostTime);
      case 'sync':
        return await sync(w, s.user, record);
      case 'collect':
        return await collect(w, side, record);
      case 'replace':
        return await replace(w, side, s.user, record, lostTime);
      case 'remedy':
        for (const u of USERS) {
          if (record.ahead.has(u) || !record.serves(w, u)) await replace(w, side, u, record, lostTime);
        }
        return;
      case 'resyncPast':
        await run(w, side, { kind: 'key', group: 'G1' }, record, lostTime);
        await publish(w, side, record, lostTime);
        side.publisher.requestResync(s.user);
        return await publish(w, side, record, lostTime);
    }
  } catch (error) {
    // A refusal of the admin's rules (a group's key limit): the step does nothing, as in the CLI.
    if (error instanceof KmsError && error.code === 'MaxKeysReached') return;
    throw error;
  }
}

async function publish(w: World, { publisher }: AdminSide, record: RunRecord, lostTime: boolean): Promise<void> {
  // Held: read from the share, not from the report, so that no file (rewritten ones included) is missed.
  const held = new Map<UserId, Set<string>>();
  for (const u of record.ahead.keys()) held.set(u, new Set(await w.transport.list(updateStream(u))));
  const report = await publisher.publish();
  for (const [u, before] of held) {
    const written = (await w.transport.list(updateStream(u))).filter((name) => !before.has(name));
    expect(written, `files written to ${u}'s stream, whose HSM was reported ahead`).toEqual([]);
  }
  for (const p of report.published) {
    record.published.set(p.userId, p.sequence);
    const file = (await streamFiles(w, p.userId)).get(p.sequence);
    if (!lostTime) {
      // The restored admin wrote, byte for byte, a file of the lost time (its HSM restored with the
      // backup replays the same random draws, and the same operations at the same time make the same
      // file): that file is in both histories, not lost, and an HSM that applied it forks nothing.
      if (file !== undefined) record.lost.get(p.userId)?.delete(file);
      continue;
    }
    expect(file, `file #${p.sequence} of ${p.userId} is on the share after its publication`).toBeDefined();
    record.lost.get(p.userId)?.add(file as string);
  }
}

async function sync(w: World, u: UserId, record: RunRecord): Promise<void> {
  const files = await streamFiles(w, u);
  // By name: this share is honest, so a name says truly whether its file is a resync.
  const resyncs = new Set(
    (await w.transport.list(updateStream(u))).flatMap((n) => {
      const parsed = sequenceOfName(n);
      return parsed?.resync ? [parsed.sequence] : [];
    }),
  );
  const { serial } = (w.users.get(u) as User).device;
  const report = await (w.users.get(u) as User).sync(w.transport);
  for (const sequence of report.applied) {
    const file = files.get(sequence);
    expect(file, `${u} applied #${sequence}, a file that was on the share`).toBeDefined();
    // Never two histories in one replica: an HSM whose last file is one of the lost time takes no
    // incremental file of the restored admin on top of it (each extends the restored admin's own file
    // of that number, not the one the HSM holds: the chain check). A resync replaces the replica whole.
    const lost = record.lost.get(u) as Set<string>;
    const last = record.lastApplied.get(serial);
    if (last !== undefined && lost.has(last) && !resyncs.has(sequence))
      expect(
        lost.has(file as string),
        `${u}'s HSM applied ${last} of the lost time, then the restored admin's incremental #${sequence} on top of it`,
      ).toBe(true);
    record.lastApplied.set(serial, file as string);
    record.applied.set(serial, (record.applied.get(serial) ?? new Set()).add(file as string));
  }
}

/**
 * The acknowledgements on the share from HSMs the serving database has no record of, read from the
 * share: one entry per user and HSM, with the highest sequence and its file, as a collection reports them.
 */
async function unrecordedOnShare(w: World, record: RunRecord): Promise<UnrecordedHsm[]> {
  const found: UnrecordedHsm[] = [];
  for (const u of USERS) {
    for (const name of await w.transport.list(ackStream(u))) {
      const bytes = await w.transport.read(ackStream(u), name);
      if (bytes === null) continue;
      const { userId, serial, sequence } = parseAck(bytes).ack;
      if (userId !== u || record.onRecord.has(serial)) continue;
      const same = found.findIndex((f) => f.userId === u && f.serial === serial);
      if (same === -1) found.push({ userId: u, serial, sequence, name });
      else if (sequence > (found[same] as UnrecordedHsm).sequence) found[same] = { userId: u, serial, sequence, name };
    }
  }
  return found.sort((a, b) => a.userId.localeCompare(b.userId) || a.serial.localeCompare(b.serial));
}

async function collect(w: World, { publisher }: AdminSide, record: RunRecord): Promise<void> {
  const expectedUnrecorded = await unrecordedOnShare(w, record);
  const { ahead, unrecordedHsms } = await publisher.collectAcknowledgements();
  for (const a of ahead) {
    // Only the HSM in service for a user, as the database knows it, is judged (users are never deleted here).
    expect(a.serial, `the HSM reported ahead for ${a.userId} is the one in service`).toBe(
      record.inService.get(a.userId),
    );
    expect(
      record.appliedLost(a.userId, a.serial),
      `${a.userId}'s HSM is reported ahead (acknowledged #${a.acknowledged}, #${a.published} published), ` +
        'but it applied no file of the lost time: a false alarm',
    ).toBe(true);
    record.ahead.set(a.userId, a.serial);
  }
  // HSMs not on record: exactly those whose acknowledgements lie on the share, each provisioned in the lost time.
  expect(unrecordedHsms, 'the HSMs reported as not on record: those whose acknowledgements the share holds').toEqual(
    expectedUnrecorded,
  );
  for (const u of unrecordedHsms) {
    expect(
      record.provisionedLost.has(u.serial),
      `${u.userId}'s HSM ${u.serial}, not on record, is no HSM of the lost time`,
    ).toBe(true);
  }
}

/**
 * The remedy for an HSM ahead or not on record (README, "Restoring an HSM's folder"), and a
 * replacement of any HSM: a new HSM provisioned for the user, the HSM the database has in service
 * for it factory-reset and forgotten as destroyed, and the acknowledgements on the share of HSMs not
 * on record removed, as `sekey admin provision` does. The new HSM applied nothing yet; the old one's
 * acknowledgements still on the share are no longer judged.
 */
async function replace(w: World, side: AdminSide, u: UserId, record: RunRecord, lostTime: boolean): Promise<void> {
  const { admin, publisher } = side;
  const old = record.inService.get(u) as string;
  const { user: replica } = await provisionDevice(admin, u, `restored-admin-${u}-${record.replaced.length}`, w.clock);
  record.replaced.push(replica);
  w.users.set(u, replica);
  // As the CLI does it: `provision` removes them, and `forget-hsm` comes after.
  await publisher.removeUnrecordedHsmAcknowledgements(u);
  const left = (await unrecordedOnShare(w, record)).filter((f) => f.userId === u);
  expect(left, `acknowledgements of HSMs not on record left in ${u}'s stream after its new HSM`).toEqual([]);
  admin.forgetHsm(old, 'destroyed');
  const { serial } = replica.device;
  record.onRecord.add(serial);
  record.inService.set(u, serial);
  if (lostTime) record.provisionedLost.add(serial);
  record.ahead.delete(u);
}

/**
 * Heartbeat rounds: every user hears from the admin (or is held) and says where it is. The first
 * round finds every HSM ahead already: the heartbeat reaches each HSM not held, and one that applied
 * a lost file acknowledges its last file again, because it finds files at or below that one on the
 * share (the restored admin's, which it passes over), or a resync coming (one that removed those
 * files from the share: `resyncPast`); the collection judges that acknowledgement whether the
 * database published a file of that number (another hash, or one a resync superseded) or not yet (a
 * sequence past its last).
 */
async function settle(w: World, side: AdminSide, record: RunRecord, at: (where: string) => void): Promise<void> {
  for (let round = 1; round <= HEARTBEAT_ROUNDS; round++) {
    const doing = (what: string) => at(`heartbeat round ${round} of ${HEARTBEAT_ROUNDS}, at: ${what}`);
    doing('the clock past the heartbeat interval, publish');
    w.clock.advance(DEFAULT_HEARTBEAT_INTERVAL_MS + 1);
    await publish(w, side, record, false);
    for (const u of USERS) {
      doing(`${u} (${NAMES[u]}) syncs`);
      await sync(w, u, record);
    }
    doing('collect acknowledgements');
    await collect(w, side, record);
    doing('the HSMs reported ahead checked (everyone synced): those that applied a lost file');
    // Of the users whose HSM is the one the database has in service: an HSM replaced in the lost time
    // is reported only if its acknowledgement of a lost file is on the share (it no longer syncs).
    const served = USERS.filter((u) => record.serves(w, u));
    expect(
      served.filter((u) => record.ahead.has(u)),
      `the HSMs reported ahead after heartbeat round ${round} (everyone synced): those that applied a lost file`,
    ).toEqual(served.filter((u) => record.appliedLost(u, record.inService.get(u) as string)));
  }
}

/**
 * Every HSM not reported ahead, and on record, agrees with the admin: at its last file, and holding
 * the admin's keys. (One not on record opens none of the admin's files, which are sealed for the
 * HSM the database has in service: `collect` checks that it is reported while its acknowledgement
 * lies on the share.)
 */
function checkAgreement(w: World, { admin }: AdminSide, record: RunRecord): void {
  for (const u of USERS) {
    if (record.ahead.has(u) || !record.serves(w, u)) continue;
    const replica = w.users.get(u) as User;
    expect(replica.blocked, `${u} is not reported ahead, and blocked`).toBe(false);
    expect(replica.appliedSequence, `${u} is not reported ahead: at the admin's last file for it`).toBe(
      record.published.get(u),
    );
    const adminKeys = new Set(admin.device.listKeyIds());
    for (const id of replica.device.listKeyIds().filter(isKmsDeviceKey)) {
      expect(adminKeys.has(id), `${u}'s HSM holds key ${id}, which the admin HSM does not`).toBe(true);
      const probe = new TextEncoder().encode(`${u} ${id}`);
      const { nonce, ciphertext } = replica.device.encrypt(id, probe);
      let opened: Uint8Array | string;
      try {
        opened = admin.device.decrypt(id, nonce, ciphertext);
      } catch (error) {
        opened = String(error);
      }
      expect(opened, `${u}'s HSM holds another key than the admin's under number ${id}`).toEqual(probe);
    }
  }
}

/**
 * One run: `h` on a fork of `base`, then the heartbeat rounds and the check at the end. `at` hears
 * where the run is before each stage, in the words its counterexample gives ({@link reached}).
 */
async function runHistory(base: World, h: History, at: (where: string) => void): Promise<void> {
  const w = await base.fork();
  let restored: AdminSide | null = null;
  const record = new RunRecord();
  const steps = async (title: string, list: readonly Step[], side: AdminSide, lostTime: boolean) => {
    for (const [i, s] of list.entries()) {
      at(`step ${i + 1} ${title}: ${stepText(s)}`);
      await run(w, side, s, record, lostTime);
    }
  };
  try {
    const original: AdminSide = { admin: w.admin, publisher: w.publisher };
    for (const u of USERS) {
      const { serial } = (w.users.get(u) as User).device;
      record.onRecord.add(serial);
      record.inService.set(u, serial);
    }
    await steps('before the backup', h.before, original, false);
    at('the backup of the admin HSM');
    const backup = w.adminDevice.simulatorClone();
    const atBackup = {
      published: new Map(record.published),
      onRecord: new Set(record.onRecord),
      inService: new Map(record.inService),
    };
    await steps('of the lost time', h.lost, original, true);
    at('the restore of the backup');
    restored = await restoreAdmin(w, backup.device);
    Object.assign(record, atBackup);
    await steps('after the restore', h.after, restored, false);
    await settle(w, restored, record, at);
    at(`the check after the heartbeat rounds: ${AGREEMENT}`);
    checkAgreement(w, restored, record);
  } finally {
    try {
      restored?.admin.close();
      for (const replica of record.replaced) replica.close();
    } finally {
      w.close();
    }
  }
}

describe('an admin HSM restored from a backup, at a random point', () => {
  test('its examples shrink as drawn histories do', () => {
    // Without a step back to what drew them, fast-check shrinks no example: a failure one caught stayed as long.
    for (const example of EXAMPLES) expect(history.canShrinkWithoutContext(example), historyText([example])).toBe(true);
    expect(history.canShrinkWithoutContext({ ...HSM_OF_THE_LOST_TIME, lost: [{ kind: 'publish' }] })).toBe(false);
  });

  let base: World;
  beforeAll(async () => {
    // Alice, bob and carol in G1, alice and bob in G2, one active key in each, all synced.
    base = await newTeam();
    base.admin.addGroup('G2', 'pair', base.admin.groupInfo('G1').policy);
    for (const u of ['U1', 'U2']) base.admin.addMember('G2', u);
    for (const g of ['G1', 'G2']) base.admin.activateKey(base.admin.addKey(g, 'first'));
    await base.syncByFiles();
  });
  afterAll(() => base.close());

  test('a counterexample names the fixed heartbeat rounds, and the round and stage its run failed in', async () => {
    // Bob applies a file of the lost time; nothing is drawn after the restore.
    const h: History = {
      before: [],
      lost: [{ kind: 'key', group: 'G1' }, { kind: 'publish' }, { kind: 'sync', user: 'U2' }],
      after: [],
    };
    const stages: string[] = [];
    await runHistory(base, h, (where) => stages.push(where));
    const round = (n: number) =>
      [
        'the clock past the heartbeat interval, publish',
        ...USERS.map((u) => `${u} (${NAMES[u]}) syncs`),
        'collect acknowledgements',
        'the HSMs reported ahead checked (everyone synced): those that applied a lost file',
      ].map((what) => `heartbeat round ${n} of 3, at: ${what}`);
    expect(stages).toEqual([
      'the backup of the admin HSM',
      'step 1 of the lost time: a key added to G1 and activated',
      'step 2 of the lost time: publish',
      'step 3 of the lost time: U2 (bob) syncs',
      'the restore of the backup',
      ...round(1),
      ...round(2),
      ...round(3),
      `the check after the heartbeat rounds: ${AGREEMENT}`,
    ]);
    // A failure in the second round, where bob syncs (any check failing there throws as this one).
    const failing = 'heartbeat round 2 of 3, at: U2 (bob) syncs';
    const planted = new Error('planted in round 2');
    const at = (where: string) => {
      reached.set(h, where);
      if (where === failing) throw planted;
    };
    await expect(runHistory(base, h, at)).rejects.toBe(planted);
    expect(historyText([h]).split('\n').slice(-3)).toEqual([
      'after the restore: nothing',
      'then 3 heartbeat rounds, each: the clock past the heartbeat interval, publish, U1 (alice), U2 (bob), ' +
        `U3 (carol) sync, collect acknowledgements, the HSMs reported ahead checked; then ${AGREEMENT}`,
      `the run failed in ${failing}`,
    ]);
  });

  test('HSMs that applied a lost file are found and held; no other is, and every other agrees', async () => {
    await progress.assert(
      fc.asyncProperty(history, async (h) => {
        await runHistory(base, h, (where) => reached.set(h, where));
        reached.delete(h);
        // A heartbeat round: the clock, a publication, each user's sync, a collection.
        progress.ran(h.before.length + h.lost.length + h.after.length + HEARTBEAT_ROUNDS * (3 + USERS.length));
      }),
      {
        ...progress.params<[History]>(40, historyText),
        // At every run: a resync the restored admin sends to an HSM that applied a lost file, past it,
        // with nothing at or below that file left on the share: only the acknowledgement the HSM sends
        // again when it sees a resync coming tells of it. The 145th run at CI's seed found it missing,
        // before `resyncPast` and the lost time's last collection; now the 18th does as well.
        examples: EXAMPLES.map((example): [History] => [example]),
      },
    );
  });
});
