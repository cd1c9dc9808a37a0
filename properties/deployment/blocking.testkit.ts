/**
 * Blocking, judged by the model: after every sync, the user is blocked if and only if the update-processing
 * machine (`model/updateProcessing.ts`) says so, counting the refusals of that sync and the syncs before.
 * Each file it applied or refused is judged from what the harness knows of it, not from the implementation's
 * reasons: whether its bytes are a file the system published for this user's HSM since it was provisioned
 * (authentic: sealed under its channel key), and then the reason `refusalFor` gives over its header (none,
 * for a file applied; a blocked user applies a resync only). Except the sequence rule, judged from the numbers
 * the harness tracks itself, so that the rule is not checked against itself: an authentic file numbered at or
 * below the highest update the suite saw the HSM apply must be refused (`replayed` for that number,
 * `rolledBack` below it; a resync too), and applying one breaks `integrity`. With `refusalFor` as the only
 * oracle, a rule that let an old resync through before comparing numbers agreed with itself at every sync.
 * Before, the suite judged blocking only as "a clean sync leaves nobody blocked", and by the coverage of the
 * machine's edges: a user that never blocked, however many authentic files it refused, passed.
 *
 * What it cannot judge: which files a sync opens. Which file applied, which it refused and which it passed
 * over (an incremental file behind a gap waits for the next sync; a blocked user leaves files not named as
 * a resync unopened) is read from the sync's report, in the host's order; those choices are the host's,
 * not the machine's, and convergence judges where they lead. The count is unknown, and the check left out,
 * for an HSM until it applies a file, and after a sync of it failed (a refusal committed before a power cut
 * counts, one after it does not). Test support only.
 * @module
 */
import { bytesToHex } from '@noble/hashes/utils.js';
import type { UserId } from '../../model/kms.ts';
import { DEFAULT_MAX_REFUSALS, countsTowardsBlock, refusalFor } from '../../model/updateProcessing.ts';
import type { RefusalReason, UpdateProcessingContext } from '../../model/updateProcessing.ts';
import type { SyncReport } from '../../impl/kms/userSync.ts';
import { sequenceOfName, updateStream } from '../../impl/protocol/streams.ts';
import { NO_PREVIOUS_FILE, fileHash, parseUpdateFile } from '../../impl/protocol/updateFile.ts';
import type { UpdateHeader } from '../../impl/protocol/updateFile.ts';
import type { Deployment } from '../../impl/simulation/deployment.ts';
import { violated } from '../../impl/simulation/invariantError.ts';
import type { CheckTally } from '../../impl/simulation/invariantError.ts';
import { usable } from '../../impl/simulation/modelViews.ts';

/** A file of the stream the sync will look at, as the harness knows it. */
interface StreamFile {
  readonly name: string;
  readonly hash: string;
  /** Its header, if it parses (not authenticated). */
  readonly header: UpdateHeader | null;
  /** Bytes the system published to this stream, for this HSM: sealed under its channel key. */
  readonly authentic: boolean;
}

/** What the harness read before a sync. */
export interface BeforeSync {
  /** The user's HSM in its incarnation (`hsmOf`). */
  readonly hsm: string;
  readonly last: number;
  /** The highest update the suite saw this HSM apply (`DeploymentModel.appliedByDevice`), 0 if none. */
  readonly highest: number;
  readonly lastHash: string;
  /** In the order the sync judges them. */
  readonly files: readonly StreamFile[];
}

/**
 * Counted refusals since the last applied file, by HSM (`hsmOf`), for the model of each run: absent while
 * unknown (an HSM not seen applying a file yet, or one whose sync was cut: the refusals it committed
 * before the cut are unknown). Known again from the next file it applies, which clears the count.
 */
const counts = new WeakMap<object, Map<string, number>>();

function countsOf(run: object): Map<string, number> {
  const map = counts.get(run) ?? new Map<string, number>();
  counts.set(run, map);
  return map;
}

/** The user's HSM in its incarnation: a factory-reset HSM provisioned again starts with no refusals. */
function hsmOf(r: Deployment, userId: UserId): string {
  const slot = r.slot(userId);
  return `${userId}#${slot.incarnation} on ${slot.device.serial}`;
}

/** A sync of `userId` failed (a power cut, a stalled HSM): what it counted before is unknown. */
export function syncFailed(run: object, r: Deployment, userId: UserId): void {
  countsOf(run).delete(hsmOf(r, userId));
}

/**
 * Reads the files of `userId`'s stream that the sync will judge (named past the last applied file), in
 * its order: by the sequence their header claims, else their name's (`UserSync.#news`: the host's order,
 * not a judgement), and whether each is authentic for the user's HSM.
 */
export async function beforeSync(r: Deployment, userId: UserId, highest: number): Promise<BeforeSync | null> {
  const slot = r.slot(userId);
  if (!usable(slot)) return null;
  const stream = updateStream(userId);
  const last = slot.user.appliedSequence;
  const files: Array<StreamFile & { order: number }> = [];
  // Once a sync, not once a file: the system's writes to every stream grow with the run.
  const published = new Set([...r.genuine].filter(([path]) => path.startsWith(`${stream}/`)).map(([, h]) => h));
  const earlier = r.streamWhenProvisioned.get(`${userId}#${slot.incarnation}`);
  for (const name of await r.share.list(stream)) {
    const claimed = sequenceOfName(name);
    if (claimed === null || claimed.sequence <= last) continue;
    const bytes = await r.share.read(stream, name);
    if (bytes === null) continue;
    const hash = bytesToHex(fileHash(bytes));
    let header: UpdateHeader | null = null;
    try {
      header = parseUpdateFile(bytes).header;
    } catch {
      // Junk: ordered by its name, and not authentic.
    }
    // Published for this user and naming its HSM, but not before this provisioning of it (a factory reset
    // keeps the serial): sealed under its channel keys.
    const authentic =
      published.has(hash) &&
      !(earlier?.has(hash) ?? false) &&
      header?.userId === userId &&
      header.serial === slot.device.serial;
    files.push({ name, hash, header, authentic, order: header?.sequence ?? claimed.sequence });
  }
  files.sort((a, b) => a.order - b.order);
  return { hsm: hsmOf(r, userId), last, highest, lastHash: slot.user.appliedFileHash, files };
}

/** The machine's context as far as `refusalFor` reads it. */
function contextAt(lastSequence: number, lastFileHash: string): UpdateProcessingContext {
  return {
    maxRefusals: DEFAULT_MAX_REFUSALS,
    lastSequence,
    lastFileHash,
    consecutiveRefusals: 0,
    lastRefusal: null,
    refusedFiles: [],
    fileInHand: null,
    pending: null,
    freshness: null,
  };
}

/** The reasons a file that is not authentic can be refused for: none counts. */
const NOT_AUTHENTIC: readonly RefusalReason[] = ['forged', 'corrupt', 'truncated'];

/**
 * model-agreement, after a sync that returned `report`: each file it refused, the reason the model gives
 * (for an authentic file: `refusalFor` over its header, `gap` for a blocked user's incremental file; for
 * any other, one that does not count), and whether the user is blocked, from the refusals counted since
 * its last applied file. Files the sync did not judge (refused before, or passed over) count nothing new.
 */
export function checkBlocking(
  run: object,
  before: BeforeSync | null,
  report: SyncReport,
  label: string,
  userId: UserId,
  tally: CheckTally,
): void {
  if (before === null) return;
  const known = countsOf(run);
  const prior = known.get(before.hsm) ?? null;
  let count = prior;
  let last = before.last;
  let lastHash = before.lastHash;
  // The harness's own count of where the HSM is: what it saw it apply, then the files this sync applied.
  let floor = Math.max(before.last, before.highest);
  const refused = new Map(report.refused.map((f) => [f.name, f.reason]));
  const held = new Set(report.held.map((f) => f.name));
  const applied = new Set(report.applied);
  const story: string[] = [];
  const say = (what: string) =>
    `${label}: ${userId}'s sync (applied before: ${before.last}; counted refusals since: ${prior ?? 'unknown'}) ` +
    `${what}${story.length === 0 ? '' : `\n  the model's count in this sync: ${story.join('; ')}`}`;
  for (const f of before.files) {
    if (held.has(f.name)) continue;
    const reason = refused.get(f.name);
    const h = f.header;
    if (!f.authentic || h === null) {
      if (reason !== undefined && !NOT_AUTHENTIC.includes(reason))
        violated('model-agreement', say(`refused ${f.name}, not a file published for its HSM, as ${reason}`));
      continue;
    }
    const facts = {
      authentic: true,
      forThisRecipient: true,
      sequence: h.sequence,
      resync: h.kind === 'resync',
      extendsAppliedChain: bytesToHex(h.previousHash) === (lastHash || bytesToHex(NO_PREVIOUS_FILE)),
    };
    // A file the HSM went past, by the numbers alone: never applied, refused as `replayed` or `rolledBack`,
    // neither counted (docs/update-format.md: old authentic files replayed under new names count nothing).
    const old: RefusalReason | null = h.sequence < floor ? 'rolledBack' : h.sequence === floor ? 'replayed' : null;
    if (old !== null) {
      const what = `${f.name} (authentic, update ${h.sequence}${facts.resync ? ', a resync' : ''})`;
      const past = `update ${floor} is the highest this HSM applied, so it must be refused as ${old}`;
      if (reason === undefined && applied.has(h.sequence))
        violated('integrity', say(`applied ${what}, an old file delivered again: ${past}`));
      if (reason !== undefined && reason !== old)
        violated('model-agreement', say(`refused ${what} as ${reason}: ${past}`));
      if (reason !== undefined) tally.count('invariantChecks', `integrity:an old file refused as ${old}`);
      continue;
    }
    const blocked = count === null ? null : count >= DEFAULT_MAX_REFUSALS;
    const byRule = refusalFor(contextAt(last, lastHash), facts);
    if (reason === undefined) {
      if (!applied.has(h.sequence)) continue;
      // Applied: the model must apply it too (no refusal by rule, and a blocked user takes a resync only).
      if (byRule !== null || (blocked === true && !facts.resync))
        violated(
          'model-agreement',
          say(`applied ${f.name} (authentic, sequence ${h.sequence}): the model refuses it as ${byRule ?? 'gap'}`),
        );
      applied.delete(h.sequence);
      last = h.sequence;
      floor = Math.max(floor, h.sequence);
      lastHash = f.hash;
      count = 0;
      story.push(`${f.name} applied: 0`);
      continue;
    }
    // A blocked user refuses an otherwise fine incremental file as `gap` (it only applies a resync); while
    // the count is unknown, so is whether it was blocked, and the reason for such a file with it.
    const expected = byRule ?? (facts.resync ? null : blocked === null ? undefined : blocked ? 'gap' : null);
    if (expected === null)
      violated(
        'model-agreement',
        say(`refused ${f.name} (authentic, sequence ${h.sequence}) as ${reason}: the model applies it`),
      );
    if (expected !== undefined && expected !== reason)
      violated(
        'model-agreement',
        say(`refused ${f.name} (authentic, sequence ${h.sequence}) as ${reason}, the model as ${expected}`),
      );
    // The model's reason counts, not the implementation's: a reason of its that does not count must not
    // hide a refusal that does, and the block it leads to.
    if (countsTowardsBlock(expected ?? reason, true)) {
      count = count === null ? null : Math.min(count + 1, DEFAULT_MAX_REFUSALS);
      story.push(`${f.name} refused as ${reason}: ${count ?? 'unknown'}`);
    }
  }
  if (count === null) {
    tally.count('invariantChecks', 'model-agreement:blocking not judged (counted refusals unknown)');
    return;
  }
  known.set(before.hsm, count);
  const blocked = count >= DEFAULT_MAX_REFUSALS;
  tally.count('invariantChecks', `model-agreement:blocking judged${blocked ? ', blocked' : ''}`);
  if (report.blocked !== blocked)
    violated(
      'model-agreement',
      say(
        `ends ${report.blocked ? 'blocked' : 'not blocked'}, but the model counts ${count} refusal(s) of ` +
          `authentic files since the file it applied last (blocked at ${DEFAULT_MAX_REFUSALS})`,
      ),
    );
}
