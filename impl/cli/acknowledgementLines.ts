/**
 * The lines saying what a collection of acknowledgements did (`publish`, `collect-acks`, and
 * `forget-hsm --lost`, which collects first).
 * @module
 */
import type { SetAsideAcknowledgement } from '../kms/publisher.ts';
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
