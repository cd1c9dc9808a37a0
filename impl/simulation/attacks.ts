/**
 * The adversary on a deployment's share and SD cards: what it can do to the update and
 * acknowledgement files it sees (replay, reorder, drop, a withheld file and the next renamed as a
 * resync, duplicate, truncate, corrupt, append, misdeliver, an acknowledgement forged ahead of the
 * HSM, files of a foreign installation) and to the cards (an old image of a user's or the admin's
 * card, two users' cards swapped). Every attack must be refused or change nothing: the card attacks
 * check that here (`integrity`), the share attacks are judged by the invariants after the victims
 * sync. The deployment property suite generates these attacks at random; `sekey simulate`'s hostile
 * profile runs them a few times a day.
 * @module
 */
import { count } from './chartScale.ts';
import { DAY_MS } from './time.ts';
import { Deployment } from './deployment.ts';
import type { DeviceFactory } from './deployment.ts';
import { violated } from './invariantError.ts';
import { adminView, checkModelAgreement, usable } from './modelViews.ts';
import { deviceState } from './integrity.ts';
import type { DeploymentModel } from './referenceModel.ts';
import type { UserId } from '../../model/kms.ts';
import { ackFileName, ackStream, sequenceOfName, updateFileName, updateStream } from '../protocol/streams.ts';
import { ACK_SEAL_BYTES, encodeAckHeader } from '../protocol/ackFile.ts';
import { fileHash, parseUpdateFile } from '../protocol/updateFile.ts';
import { concatBytes } from '@noble/hashes/utils.js';

/** What the adversary does. */
export const ATTACK_KINDS = [
  'replay',
  'reorder',
  'drop',
  'renameResync',
  'duplicate',
  'truncate',
  'corrupt',
  'append',
  'misdeliver',
  'ackDrop',
  'ackCorrupt',
  'ackReplay',
  'ackMisdeliver',
  'forgedAck',
  'sdRollback',
  'sdSwap',
  'adminSdRollback',
  'foreignInstallation',
] as const;
/** An attack kind. */
export type AttackKind = (typeof ATTACK_KINDS)[number];

/**
 * The operation a simulation counts for an attack of `kind` that found nothing to attack
 * (`runAttack`): by kind, so that a report shows which attacks never acted (an attack on files
 * when no stream held what it needs: `targetsOf`).
 */
export function nothingToAttackOperation(kind: AttackKind): string {
  return `attack:${kind} (nothing to attack)`;
}

/** One attack: its kind, its victim, a second user (misdeliveries, swaps), and choices it draws on. */
export interface AttackSpec {
  readonly kind: AttackKind;
  readonly user: UserId;
  readonly other: UserId;
  /** Picks a file, an image or an offset among those available. */
  readonly pick: number;
  /** The bits a corruption flips (1–255). */
  readonly mask: number;
}

/**
 * What an attack did, in words a person reads in a failure or a report: the file on the share it
 * touched (`updates/U1/000000000004.update`), the byte it flipped and with which mask, the card it put
 * back, and what the HSM said (`flipped byte 12 of updates/U1/000000000004.update (537 bytes) with xor
 * 0x2b`), rather than the draw it made it from (`pick 12, mask 43`). `acted` is false when it found
 * nothing to attack, `what` then saying what was missing.
 */
export interface AttackOutcome {
  readonly acted: boolean;
  readonly what: string;
}

/** Where attacks count what they did (`attackKinds`) and the refusals they met (`errorCodes`). */
export interface AttackTally {
  count(category: 'attackKinds' | 'errorCodes', name: string): void;
  /** Counts a refusal; returns its code. */
  error(error: unknown): string;
}

/**
 * How many of the victim's files an attack of `kind` needs on the share before it can act: files
 * of its update stream not yet applied (`reorder` and `renameResync` need two), or, for the attacks
 * on acknowledgements, files of its acknowledgement stream not yet collected. 0 for attacks that
 * need none (a replay needs a recording, a card attack an image: they check those themselves).
 */
export function pendingFilesNeeded(kind: AttackKind): number {
  switch (kind) {
    case 'reorder':
    case 'renameResync':
      return 2;
    case 'drop':
    case 'duplicate':
    case 'truncate':
    case 'corrupt':
    case 'append':
    case 'forgedAck':
    case 'ackDrop':
    case 'ackCorrupt':
      return 1;
    default:
      return 0;
  }
}

/**
 * The files of `user`'s stream an attack of `kind` can work on: the update files past what its
 * replica applied, or every acknowledgement on the share (none is collected while it lies there).
 */
async function pendingFiles(r: Deployment, kind: AttackKind, user: UserId): Promise<string[]> {
  const isAck = kind.startsWith('ack');
  const names = await r.share.list(isAck ? ackStream(user) : updateStream(user));
  return pendingAmong(names, isAck, appliedSequence(r, user));
}

/** The sequence number `user`'s replica has applied (0 without a usable device). */
function appliedSequence(r: Deployment, user: UserId): number {
  const slot = r.slot(user);
  return usable(slot) ? slot.user.appliedSequence : 0;
}

/** Of a stream's file names, those an attack can work on (see {@link pendingFiles}). */
function pendingAmong(names: readonly string[], isAck: boolean, applied: number): string[] {
  return isAck ? [...names] : names.filter((n) => (sequenceOfName(n)?.sequence ?? 0) > applied);
}

/** A file of a user's update stream its HSM went past, as a replay delivers it again ({@link oldFiles}). */
interface OldFile {
  readonly hash: string;
  readonly bytes: Uint8Array;
  /** The sequence its header claims (authenticated: the file is the system's). */
  readonly sequence: number;
  readonly resync: boolean;
}

/**
 * The files the adversary recorded of `user`'s update stream that its HSM in service already applied
 * or went past, oldest first: written by the system for this HSM since it was provisioned (sealed under
 * its channel keys, so that its seal verifies and only the sequence rule refuses it) and numbered at or
 * below the update its replica applied. What a replay delivers again: a file with a lower number must
 * be refused as `rolledBack`, the one applied last as `replayed`. An old resync above all, which
 * replaces the whole replica: a rule that let a resync through before comparing numbers rolled a
 * replica back, and passed every CI-size run while replays picked any recording (2 of 99 attacks acted).
 */
export function oldFiles(r: Deployment, user: UserId): OldFile[] {
  const slot = r.slot(user);
  if (!usable(slot)) return [];
  const applied = slot.user.appliedSequence;
  const stream = updateStream(user);
  const system = r.wroteAs.get(stream);
  const earlier = r.streamWhenProvisioned.get(`${user}#${slot.incarnation}`);
  const old: OldFile[] = [];
  for (const [hash, bytes] of r.seen.get(stream) ?? []) {
    if (!system?.has(hash) || earlier?.has(hash)) continue;
    let header: ReturnType<typeof parseUpdateFile>['header'];
    try {
      header = parseUpdateFile(bytes).header;
    } catch {
      continue;
    }
    if (header.userId !== user || header.serial !== slot.device.serial || header.sequence > applied) continue;
    old.push({ hash, bytes, sequence: header.sequence, resync: header.kind === 'resync' });
  }
  return old.sort((a, b) => a.sequence - b.sequence);
}

/**
 * The users among `candidates` that an attack of `kind` can act on now: an adversary who reads
 * the share aims at a stream with the files the attack needs (`pendingFilesNeeded`), not at random;
 * a replay, at a stream with a file its HSM went past ({@link oldFiles}), those with a file pending
 * first (the copy then waits under a pending file's number, which no publication removes).
 * Every candidate when the kind needs no file, none when no stream has enough.
 */
export async function targetsOf(r: Deployment, kind: AttackKind, candidates: readonly UserId[]): Promise<UserId[]> {
  if (kind === 'replay') {
    const withOld = candidates.filter((user) => oldFiles(r, user).length > 0);
    const waiting: UserId[] = [];
    for (const user of withOld) if ((await pendingFiles(r, kind, user)).length > 0) waiting.push(user);
    return waiting.length > 0 ? waiting : withOld;
  }
  const needed = pendingFilesNeeded(kind);
  if (needed === 0) return [...candidates];
  const targets: UserId[] = [];
  for (const user of candidates) if ((await pendingFiles(r, kind, user)).length >= needed) targets.push(user);
  return targets;
}

/** Whether an attack needs a second user with a device (`other`). */
export function attackNeedsOther(kind: AttackKind): boolean {
  return kind === 'misdeliver' || kind === 'ackMisdeliver' || kind === 'sdSwap';
}

/**
 * What a card attack did so far, in words, told before each check it makes: a check that fails
 * throws, and the outcome is never returned, so that a caller listing the steps would otherwise not
 * say what the attack did up to the failure. Each call says it all from the start (the last replaces
 * the ones before); the last before a return says what the outcome does.
 */
export type AttackWordsSoFar = (what: string) => void;

/**
 * Runs one attack. Share attacks taint the victim's stream in the model (`tainted`: its next sync
 * is not held to the model's projection); card attacks check integrity at once, telling `soFar` what
 * they did before each check ({@link AttackWordsSoFar}). Returns what it did ({@link AttackOutcome}):
 * with nothing to attack (no file pending, no recording, no old image) it changes nothing and checks
 * nothing, and says so (`attackKinds`, `KIND:nothing to attack`).
 */
export async function runAttack(
  m: DeploymentModel,
  r: Deployment,
  spec: AttackSpec,
  label: string,
  stats: AttackTally,
  soFar: AttackWordsSoFar = () => {},
): Promise<AttackOutcome> {
  const { kind, user, other, pick, mask } = spec;
  const applied = appliedSequence(r, user);
  const isAck = kind.startsWith('ack');
  const stream = isAck ? ackStream(user) : updateStream(user);
  const names = await r.share.list(stream);
  const seqs = names.map((n) => sequenceOfName(n)?.sequence ?? Number(/^(\d+)\.ack$/.exec(n)?.[1] ?? 0));
  const top = Math.max(0, applied, m.published.get(user) ?? 0, ...seqs);
  const nextName = isAck ? ackFileName(top + 1) : updateFileName(top + 1, pick % 3 === 0 ? 'resync' : 'incremental');
  const pending = pendingAmong(names, isAck, applied);
  const pool = [...(r.seen.get(stream)?.entries() ?? [])];
  const nothing = (missing: string) => nothingToAttack(stats, kind, missing);
  const taint = (what: string): AttackOutcome => {
    if (!isAck) m.tainted.add(user);
    return { acted: true, what };
  };
  // A file as a reader of the share finds it: `updates/U1/000000000004.update`.
  const at = (name: string, where = stream) => `${where}/${name}`;
  const sized = (bytes: Uint8Array) => count(bytes.length, 'byte');
  const needed = pendingFilesNeeded(kind);
  if (pending.length < needed) {
    const files = `${isAck ? 'acknowledgement' : 'update file'}${pending.length === 1 ? '' : 's'}`;
    const past = isAck ? '' : ` past sequence ${applied}, the last ${user} applied,`;
    return nothing(
      `${stream} holds ${pending.length === 0 ? 'no' : pending.length} ${files}${past} and it needs ${needed}`,
    );
  }
  switch (kind) {
    case 'replay': {
      // A file the HSM went past, chosen by `pick` three ways so that each reason is reached: an old
      // resync (the file a rule weak on resyncs would apply), the file applied last (`replayed`), or
      // any older one (`rolledBack`); any of them when the way chosen has none.
      const old = oldFiles(r, user);
      const ways = [
        old.filter((f) => f.resync),
        old.filter((f) => f.sequence === applied),
        old.filter((f) => f.sequence < applied),
      ];
      const among = [ways[pick % 3] as OldFile[], old].find((files) => files.length > 0);
      const file = among?.[Math.floor(pick / 3) % among.length];
      if (file !== undefined) {
        // Where the victim's next sync reads it. The admin removes files named past the last it published at
        // each publication (`Publisher.removeStrays`), and its next file takes the next number: a copy named
        // there was mostly gone before the victim synced (8 of 15 replays at the CI seed never judged). So,
        // mostly, under a resync's name (which a blocked HSM still opens, and the admin's next file does
        // not take) at the number of a file still pending, kept until the victim acknowledges it. The name
        // carries no authority: the header decides.
        const asResync = mask % 4 !== 0;
        const waiting = pending
          .map((n) => sequenceOfName(n)?.sequence ?? 0)
          .filter((n) => n <= (m.published.get(user) ?? 0) && !names.includes(updateFileName(n, 'resync')));
        const under = waiting[Math.floor(pick / 3) % Math.max(1, waiting.length)];
        const name =
          asResync && under !== undefined
            ? updateFileName(under, 'resync')
            : updateFileName(top + 1, asResync ? 'resync' : 'incremental');
        await r.share.write(stream, name, file.bytes);
        const last = `the last ${user} applied`;
        const when = file.sequence === applied ? last : `older than update ${applied}, ${last}`;
        const copy = recorded(r, stream, [file.hash, file.bytes], pool.length);
        const resync = file.resync ? ', a resync' : '';
        return taint(`wrote a recorded copy of ${copy} (update ${file.sequence}${resync}: ${when}) as ${at(name)}`);
      }
      // An HSM that applied nothing yet: any recording, an old HSM's file or one still pending.
      const any = pool[pick % Math.max(1, pool.length)];
      if (!any) return nothing(`no file of ${stream} recorded to replay`);
      await r.share.write(stream, nextName, any[1]);
      return taint(`wrote a recorded copy of ${recorded(r, stream, any, pool.length)} as ${at(nextName)}`);
    }
    case 'ackReplay': {
      const old = pool[pick % Math.max(1, pool.length)];
      if (!old) return nothing(`no file of ${stream} recorded to replay`);
      await r.share.write(stream, nextName, old[1]);
      return taint(`wrote a recorded copy of ${recorded(r, stream, old, pool.length)} as ${at(nextName)}`);
    }
    case 'misdeliver':
    case 'ackMisdeliver': {
      const source = isAck ? ackStream(other) : updateStream(other);
      const from = [...(r.seen.get(source)?.entries() ?? [])];
      const file = from[pick % Math.max(1, from.length)];
      if (!file) return nothing(`no file of ${source} recorded to misdeliver`);
      await r.share.write(stream, nextName, file[1]);
      return taint(`wrote a recorded copy of ${recorded(r, source, file, from.length)} as ${at(nextName)}`);
    }
    case 'reorder': {
      const a = pending[pick % pending.length] as string;
      const b = pending[(pick + 1) % pending.length] as string;
      const [x, y] = await Promise.all([r.share.read(stream, a), r.share.read(stream, b)]);
      if (!x || !y) return nothing(`${at(a)} or ${at(b)} gone before it could be read`);
      await r.share.write(stream, a, y);
      await r.share.write(stream, b, x);
      return taint(`swapped the contents of ${at(a)} and ${at(b)}`);
    }
    case 'drop':
    case 'ackDrop': {
      const name = pending[pick % pending.length] as string;
      await r.share.remove(stream, name);
      return taint(`deleted ${at(name)}`);
    }
    case 'renameResync': {
      // A file withheld, and the next one offered under a resync's name one past the newest: a name
      // carries no authority (the header, authenticated, says incremental), so the gap stays a gap.
      const [withheld, next] = [...pending].sort() as [string, string];
      const bytes = await r.share.read(stream, next);
      if (!bytes) return nothing(`${at(next)} gone before it could be read`);
      const renamed = updateFileName(top + 1, 'resync');
      await r.share.remove(stream, withheld);
      await r.share.remove(stream, next);
      await r.share.write(stream, renamed, bytes);
      return taint(`deleted ${at(withheld)}, and moved ${at(next)} to ${at(renamed)}`);
    }
    case 'duplicate': {
      const name = pending[pick % pending.length] as string;
      const bytes = await r.share.read(stream, name);
      if (!bytes) return nothing(`${at(name)} gone before it could be read`);
      await r.share.write(stream, nextName, bytes);
      return taint(`copied ${at(name)} to ${at(nextName)}`);
    }
    case 'truncate':
    case 'corrupt':
    case 'ackCorrupt': {
      const name = pending[pick % pending.length] as string;
      const bytes = await r.share.read(stream, name);
      if (!bytes || bytes.length === 0)
        return nothing(`${at(name)} ${bytes ? 'is empty' : 'gone before it could be read'}`);
      const bad = kind === 'truncate' ? bytes.slice(0, pick % bytes.length) : bytes.slice();
      const flipped = pick % bytes.length;
      if (kind !== 'truncate') bad[flipped] = (bad[flipped] as number) ^ (mask || 1);
      await r.share.write(stream, name, bad);
      return taint(
        kind === 'truncate'
          ? `cut ${at(name)} from ${sized(bytes)} to ${bad.length === 0 ? 'nothing' : `its first ${sized(bad)}`}`
          : `flipped byte ${flipped} of ${at(name)} (${sized(bytes)}) with xor ${hex(mask || 1)}`,
      );
    }
    case 'append': {
      // An authentic file with bytes after its sealed body (1 to 16 bytes of `mask`): not the
      // administrator's file, though its header and seal are intact, so it must be refused.
      const name = pending[pick % pending.length] as string;
      const bytes = await r.share.read(stream, name);
      if (!bytes) return nothing(`${at(name)} gone before it could be read`);
      const longer = new Uint8Array(bytes.length + 1 + (pick % 16)).fill(mask);
      longer.set(bytes);
      await r.share.write(stream, name, longer);
      const added = longer.length - bytes.length;
      return taint(`appended ${count(added, 'byte')} ${hex(mask)} to ${at(name)} (${sized(bytes)})`);
    }
    case 'forgedAck': {
      // An acknowledgement ahead of the HSM: of a file published to it and not applied yet, stating the
      // file's true hash (anyone who reads the share can hash it), under a seal the adversary cannot
      // make (an old acknowledgement's of this user, or zeros). Counted, it would take the file off the
      // share and the outbox and forget the erase orders it carries, while the HSM never applied it.
      const slot = r.slot(user);
      if (!usable(slot)) return nothing(`${user} has no HSM in service whose acknowledgement to forge`);
      const name = pending[pick % pending.length] as string;
      const bytes = await r.share.read(stream, name);
      const sequence = sequenceOfName(name)?.sequence;
      if (!bytes || sequence === undefined) return nothing(`${at(name)} gone before it could be read`);
      const header = encodeAckHeader({ userId: user, serial: slot.device.serial, sequence, fileHash: fileHash(bytes) });
      const acks = [...(r.seen.get(ackStream(user))?.values() ?? [])];
      const old = acks[pick % Math.max(1, acks.length)];
      const seal = old?.subarray(old.length - ACK_SEAL_BYTES) ?? new Uint8Array(ACK_SEAL_BYTES);
      const forged = concatBytes(header, seal);
      const ackName = ackFileName(sequence);
      await r.share.write(ackStream(user), ackName, forged);
      const whose = old === undefined ? 'zeros' : `the seal of an earlier acknowledgement of ${user}`;
      return {
        acted: true,
        what: `wrote ${at(ackName, ackStream(user))}, acknowledging ${at(name)} by its true hash, under ${whose}`,
      };
    }
    case 'sdRollback':
      return sdRollback(r, user, pick, label, stats, soFar);
    case 'adminSdRollback':
      return adminSdRollback(m, r, pick, label, stats, soFar);
    case 'foreignInstallation': {
      const files = await foreignFiles(r.devices, user);
      const file = files[pick % Math.max(1, files.length)];
      if (!file) return nothing(`the foreign installation has no file for ${user}`);
      await r.share.write(stream, nextName, file);
      const which = `${ordinal((pick % files.length) + 1)} of the ${files.length}`;
      return taint(`wrote the ${which} update files a foreign installation made for its ${user} as ${at(nextName)}`);
    }
    case 'sdSwap':
      return sdSwap(r, user, other, label, stats, soFar);
  }
}

/** A byte as a mask is read: `0x2b`. */
function hex(byte: number): string {
  return `0x${byte.toString(16).padStart(2, '0')}`;
}

/** 1st, 2nd, 3rd, 4th, …, 11th, 12th, 13th, 21st. */
export function ordinal(n: number): string {
  const teen = n % 100 >= 11 && n % 100 <= 13;
  const suffix = teen ? 'th' : (['th', 'st', 'nd', 'rd'][n % 10] ?? 'th');
  return `${n}${suffix}`;
}

/**
 * A file the adversary recorded from `stream` (its hash and bytes), named as the system wrote it
 * when it did (`updates/U1/000000000003.update (537 bytes)`), even when the system wrote that name
 * again since with other bytes (said so), else as one it saw there.
 */
function recorded(r: Deployment, stream: string, [hash, bytes]: [string, Uint8Array], of: number): string {
  const size = count(bytes.length, 'byte');
  const name = r.wroteAs.get(stream)?.get(hash);
  if (name === undefined) return `a file of ${stream} not the system's (${size}, one of the ${of} it recorded there)`;
  const file = `${stream}/${name}`;
  const since = r.genuine.get(file) === hash ? '' : ', as the system first wrote it: it wrote that name again since';
  return `${file} (${size}${since})`;
}

/** Counts an attack that found nothing to attack; says what was `missing`. */
function nothingToAttack(stats: AttackTally, kind: AttackKind, missing: string): AttackOutcome {
  stats.count('attackKinds', `${kind}:nothing to attack`);
  return { acted: false, what: `nothing to attack: ${missing}` };
}

/** An HSM's answer to a card put in, in words: `refused (RolledBack)`, or `opened`. */
function answer(stats: AttackTally, refusal: unknown): string {
  return refusal === null ? 'opened' : `refused (${stats.error(refusal)})`;
}

async function sdRollback(
  r: Deployment,
  userId: UserId,
  pick: number,
  label: string,
  stats: AttackTally,
  soFar: AttackWordsSoFar,
): Promise<AttackOutcome> {
  const slot = r.slot(userId);
  if (!usable(slot)) return nothingToAttack(stats, 'sdRollback', `${userId}'s HSM cannot be opened`);
  if (slot.archive.length === 0) return nothingToAttack(stats, 'sdRollback', `no old image of ${userId}'s card kept`);
  const genuine = { flash: slot.flash.toImage(), sd: slot.sd.toImage() };
  const before = deviceState(r, userId);
  const which = pick % slot.archive.length;
  const old = slot.archive[which] as { flash: Uint8Array; sd: Uint8Array };
  const image = `${userId}'s SD card as imaged before a sync (${oldImage(which, slot.archive.length)})`;
  const refusal = await r.insertCard(userId, old.sd, old.flash);
  if (refusal === null) {
    stats.count('errorCodes', 'sdRollback:opened');
    soFar(`put back ${image}: ${userId}'s HSM opened`);
    if (deviceState(r, userId) !== before)
      violated('integrity', `${label}: ${userId}'s HSM opened ${image}, and its state changed`);
  } else r.output(refusal);
  const what = `put back ${image}: ${userId}'s HSM ${answer(stats, refusal)}; its own card then put back`;
  await r.restoreDevice(userId, genuine);
  soFar(what);
  if (deviceState(r, userId) !== before)
    violated('integrity', `${label}: ${userId}'s genuine card, put back, no longer shows the state before the attack`);
  return { acted: true, what };
}

/** Which of `kept` old images, oldest first, the `which`-th is: `the oldest of 3 kept`, `the only one kept`. */
function oldImage(which: number, kept: number): string {
  if (kept === 1) return 'the only one kept';
  const rank = which === 0 ? 'the oldest' : which === kept - 1 ? 'the newest' : `the ${ordinal(which + 1)} oldest`;
  return `${rank} of ${kept} kept`;
}

async function adminSdRollback(
  m: DeploymentModel,
  r: Deployment,
  pick: number,
  label: string,
  stats: AttackTally,
  soFar: AttackWordsSoFar,
): Promise<AttackOutcome> {
  if (r.adminArchive.length === 0)
    return nothingToAttack(stats, 'adminSdRollback', "no old image of the admin's card kept");
  const genuine = r.adminCard.toImage();
  const before = JSON.stringify(adminView(r.admin));
  const which = pick % r.adminArchive.length;
  const old = r.adminArchive[which] as Uint8Array;
  const image = `the admin's SD card as imaged before a publication (${oldImage(which, r.adminArchive.length)})`;
  const refusal = await r.insertAdminCard(old);
  if (refusal === null) {
    stats.count('errorCodes', 'adminSdRollback:opened');
    soFar(`put back ${image}: the admin HSM opened`);
    if (JSON.stringify(adminView(r.admin)) !== before)
      violated('integrity', `${label}: the admin HSM opened ${image}, and now shows an older state`);
  } else r.output(refusal);
  const what = `put back ${image}: the admin HSM ${answer(stats, refusal)}; its own card then put back`;
  await r.restoreAdmin(genuine);
  soFar(what);
  if (JSON.stringify(adminView(r.admin)) !== before)
    violated('integrity', `${label}: the admin's genuine card, put back, no longer shows the state before the attack`);
  checkModelAgreement(m, r, label);
  return { acted: true, what };
}

/** A second, unrelated installation, made of the same kind of devices, and its files per user. */
interface Foreign {
  /** The installation after the last user it was asked about; requests run one after another. */
  chain: Promise<Deployment>;
  readonly files: Map<UserId, Promise<Uint8Array[]>>;
}

const foreignInstallations = new WeakMap<DeviceFactory, Foreign>();

/**
 * Update files of a second, unrelated installation (its own admin HSM and user HSMs, same user IDs):
 * what an attacker who runs SEkey elsewhere can drop into this share. One installation per process
 * and kind of devices; a user is added to it the first time its files are asked for.
 */
function foreignFiles(devices: DeviceFactory, userId: UserId): Promise<Uint8Array[]> {
  let foreign = foreignInstallations.get(devices);
  if (foreign === undefined) {
    // Kept for the whole process, which may end without exit handlers (a test worker): its share
    // is in memory, so nothing stays on disk; its databases go with the process.
    const made = Deployment.create({
      seed: 'foreign-installation',
      start: Date.UTC(2026, 0, 1),
      devices,
      share: 'memory',
    }).then((d) => {
      d.admin.addGroup('G1', 'foreign', { maxKeys: 3, algorithm: 'AES-256-GCM', defaultCryptoperiodMs: 7 * DAY_MS });
      return d;
    });
    foreign = { chain: made, files: new Map() };
    foreignInstallations.set(devices, foreign);
  }
  const known = foreign.files.get(userId);
  if (known !== undefined) return known;
  const next = foreign.chain.then(async (d) => {
    d.admin.addUser(userId, `foreign ${userId}`);
    await d.provision(userId);
    d.admin.addMember('G1', userId);
    if (!d.admin.listKeys().some((k) => k.state === 'active')) d.admin.activateKey(d.admin.addKey('G1', 'foreign key'));
    await d.publisher.publish();
    d.admin.renameUser(userId, `foreign ${userId} 2`);
    await d.publisher.publish();
    return d;
  });
  foreign.chain = next;
  const files = next.then(async (d) => {
    const out: Uint8Array[] = [];
    for (const name of await d.transport.list(updateStream(userId)))
      out.push((await d.transport.read(updateStream(userId), name)) as Uint8Array);
    return out;
  });
  foreign.files.set(userId, files);
  return files;
}

async function sdSwap(
  r: Deployment,
  a: UserId,
  b: UserId,
  label: string,
  stats: AttackTally,
  soFar: AttackWordsSoFar,
): Promise<AttackOutcome> {
  const [sa, sb] = [r.slot(a), r.slot(b)];
  if (!usable(sa) || !usable(sb)) return nothingToAttack(stats, 'sdSwap', `${a}'s or ${b}'s HSM cannot be opened`);
  const genuine = new Map(
    [a, b].map((u) => [u, { flash: r.slot(u).flash.toImage(), sd: r.slot(u).sd.toImage() }] as const),
  );
  const before = new Map([a, b].map((u) => [u, deviceState(r, u)] as const));
  const said: string[] = [];
  for (const [target, source] of [
    [a, b],
    [b, a],
  ] as const) {
    const refusal = await r.insertCard(target, (genuine.get(source) as { sd: Uint8Array }).sd);
    const it = refusal === null ? 'opened it' : `refused it (${stats.error(refusal)})`;
    said.push(`put ${source}'s SD card into ${target}'s device: ${target}'s HSM ${it}`);
    soFar(said.join('; '));
    if (refusal === null) violated('integrity', `${label}: ${target}'s HSM opened ${source}'s SD card`);
    r.output(refusal);
  }
  const what = `${said.join('; ')}; each card then put back`;
  for (const u of [a, b]) {
    await r.restoreDevice(u, genuine.get(u) as { flash: Uint8Array; sd: Uint8Array });
    // At the first card's check, the other device still holds the card swapped into it.
    soFar(u === b ? what : `${said.join('; ')}; ${u}'s own card then put back`);
    if (deviceState(r, u) !== before.get(u))
      violated('integrity', `${label}: ${u}'s genuine card, put back, no longer shows the state before the swap`);
  }
  return { acted: true, what };
}
