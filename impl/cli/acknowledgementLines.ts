/**
 * The lines saying what a collection of acknowledgements did (`publish`, `collect-acks`, and
 * `forget-hsm --lost`, which collects first).
 * @module
 */
import type { AheadDevice, SetAsideAcknowledgement } from '../kms/publisher.ts';
import { refusedAckStream } from '../protocol/streams.ts';

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
 * A warning per HSM ahead of the admin database (`Publisher.collectAcknowledgements`, `ahead`): the
 * admin HSM was restored from a backup. No file can bring such an HSM back: it holds keys of the lost
 * files under numbers the restored database gives again to other keys, and it imports no key over
 * one it holds (only an admin-level session may replace a key); so nothing is published to it. A new
 * HSM holds nothing, and takes everything the resync of its provisioning sends; the old one is
 * factory-reset, so that the keys only it holds go with it.
 */
export function describeAhead(ahead: readonly AheadDevice[]): string[] {
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
    return (
      `warning: ${a.userId}'s HSM ${a.serial} acknowledged update #${a.acknowledged}, which this admin database ` +
      `never published (${published}): the admin HSM was restored from a backup, and ${a.serial} holds ` +
      `keys this database lost, under numbers it gives to other keys. Nothing more is published to it: ${remedy}`
    );
  });
}

/**
 * Writes {@link describeAhead}'s warnings on standard error: every command that reads the
 * acknowledgements says them there, JSON or not, since the output of a cron job's publish is rarely read.
 */
export function warnAhead(io: { err(line: string): void }, ahead: readonly AheadDevice[]): void {
  for (const line of describeAhead(ahead)) io.err(line);
}
