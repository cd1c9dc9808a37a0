/**
 * The lines saying what a collection of acknowledgements did (`publish`, `collect-acks`, and
 * `forget-hsm --lost`, which collects first).
 * @module
 */
import type { AheadDevice, SetAsideAcknowledgement, UnrecordedHsm } from '../kms/acknowledgementCollector.ts';
import { ackStream, refusedAckStream } from '../protocol/streams.ts';

/** One line naming the acknowledgements a command collected. */
export function describeAcknowledged(
  accepted: ReadonlyArray<{ readonly userId: string; readonly sequence: number }>,
): string {
  return `acknowledged: ${accepted.map((a) => `${a.userId} #${a.sequence}`).join(', ')}`;
}

/**
 * The spoiled acknowledgements a collection moved out of the users' streams: whoever spoiled them
 * can write the share, which the administrator wants to know (docs/update-format.md).
 */
export function describeSetAside(setAside: readonly SetAsideAcknowledgement[]): string {
  const files = setAside.map((f) => `${refusedAckStream(f.userId)}/${f.name}`);
  return (
    'set aside, their seal broken (each device sends its acknowledgement again at its next sync): ' + files.join(', ')
  );
}

/**
 * A warning per HSM ahead of the admin database (`AcknowledgementCollector.collectAcknowledgements`, `ahead`): the
 * admin HSM was restored from a backup. No file can bring such an HSM back: it holds keys of the lost
 * files under numbers the restored database gives again to other keys, and it imports no key over
 * one it holds (only an admin-level session may replace a key); so nothing is published to it. A new
 * HSM holds nothing, and takes everything the resync of its provisioning sends; the old one is
 * factory-reset, so that the keys only it holds go with it. Publication to it is held once a
 * collection records it: one of `notHeld`, found by a command that records nothing (`status`,
 * `stale`), is said to be held only from then on.
 */
export function describeAhead(ahead: readonly AheadDevice[], notHeld: readonly AheadDevice[] = []): string[] {
  return ahead.map((a) => {
    const published =
      a.acknowledged <= a.published
        ? `its #${a.acknowledged} to ${a.userId} is another file`
        : a.published === 0
          ? 'it published none'
          : `its last to ${a.userId} is #${a.published}`;
    const remedy = a.inService
      ? `provision a new HSM (sekey admin provision ${a.userId}), factory-reset ${a.serial}, then sekey admin ` +
        `forget-hsm ${a.serial} --destroyed`
      : `factory-reset ${a.serial} (it served ${a.userId}, since deleted), then sekey admin forget-hsm ` +
        `${a.serial} --destroyed`;
    // Found by a command that records nothing (status, stale): held only once a collection records it.
    const held = notHeld.some((n) => n.userId === a.userId && n.serial === a.serial)
      ? 'Nothing more is published to it once a collection records this (sekey admin collect-acks, or the next ' +
        "sekey admin publish); until then a change's own publication still sends it files it cannot use"
      : 'Nothing more is published to it';
    return (
      `warning: ${a.userId}'s HSM ${a.serial} acknowledged update #${a.acknowledged}, which this admin database ` +
      `never published (${published}): the admin HSM was restored from a backup, and ${a.serial} holds ` +
      `keys this database lost, under numbers it gives to other keys. ${held}: ${remedy}`
    );
  });
}

/** Unknown HSMs named one by one; past this, one line counts the rest (anyone can write such files). */
export const UNRECORDED_HSMS_NAMED = 3;

/**
 * A warning per HSM the admin database has no record of whose acknowledgement lies on the share
 * (`AcknowledgementCollector.collectAcknowledgements`, `unrecordedHsms`), up to {@link UNRECORDED_HSMS_NAMED}, then one
 * line for the rest. Its seal cannot be checked, so the warning gives both readings: an HSM provisioned
 * after the backup the admin HSM was restored from (it holds keys of the lost time under numbers the
 * database gives again, and opens none of its files: it is factory-reset and provisioned again), or
 * a file made up by someone who can write the share.
 */
export function describeUnrecordedHsms(unrecordedHsms: readonly UnrecordedHsm[]): string[] {
  const named = unrecordedHsms
    .slice(0, UNRECORDED_HSMS_NAMED)
    .map(
      (u) =>
        `warning: ${ackStream(u.userId)}/${u.name} on the share is an acknowledgement from ${u.userId}'s HSM ` +
        `${u.serial}, which this admin database has no record of. If the admin HSM was restored from a backup, ` +
        `${u.serial} was provisioned after it and holds keys this database lost: factory-reset it, then provision ` +
        `it again (sekey admin provision ${u.userId}). If not, someone who can write the share made the file up ` +
        '(its seal cannot be checked here): remove it',
    );
  const rest = unrecordedHsms.length - named.length;
  if (rest > 0) {
    named.push(
      `warning: and ${rest} more HSM${rest === 1 ? '' : 's'} this admin database has no record of left ` +
        'acknowledgements on the share (sekey admin collect-acks --json lists them)',
    );
  }
  return named;
}

/** One line naming the acknowledgements of unknown HSMs that a provisioning removed from the share. */
export function describeUnrecordedRemoved(removed: readonly UnrecordedHsm[]): string {
  const serials = [...new Set(removed.map((u) => u.serial))];
  const files = removed.map((u) => `${ackStream(u.userId)}/${u.name}`);
  return (
    `removed from the share, the HSM they came from replaced: acknowledgements of ${serials.join(', ')}, which ` +
    `this admin database has no record of (${files.join(', ')})`
  );
}

/**
 * Writes {@link describeAhead}'s and {@link describeUnrecordedHsms}'s warnings on standard error: every
 * command that reads the acknowledgements says them there, JSON or not, since the output of a cron
 * job's publish is rarely read.
 */
export function warnAboutHsms(
  io: { err(line: string): void },
  found: {
    readonly ahead: readonly AheadDevice[];
    /** Those of `ahead` no collection recorded yet (`AcknowledgementCollector.inspectAcknowledgements`). */
    readonly notHeld?: readonly AheadDevice[];
    readonly unrecordedHsms: readonly UnrecordedHsm[];
  },
): void {
  const lines = [...describeAhead(found.ahead, found.notHeld), ...describeUnrecordedHsms(found.unrecordedHsms)];
  for (const line of lines) io.err(line);
}
