/**
 * How update files and acknowledgements are named on a transport: one stream of update files and one
 * of acknowledgements per user, file names that sort by sequence. Names carry no authority (every
 * file is authenticated by the HSMs, which bind the sequence and recipient in the sealed header), so
 * a name is only a hint for ordering; both sides share this one module, neither imports the other.
 * @module
 */
import type { UserId } from '../../model/kms.ts';
import type { UpdateKind } from './updateFile.ts';

/** The stream of update files of a user. */
export function updateStream(userId: UserId): string {
  return `updates/${userId}`;
}

/** The stream of acknowledgements of a user. */
export function ackStream(userId: UserId): string {
  return `acks/${userId}`;
}

/**
 * Where the admin moves a user's spoiled acknowledgements (the right header, a seal its HSM
 * refuses), out of the way of the user's device, which would take one for its own
 * (`AcknowledgementCollector.collectAcknowledgements`).
 */
export function refusedAckStream(userId: UserId): string {
  return `refused-acks/${userId}`;
}

/** The file name of update `sequence`: sortable, and saying whether it claims to be a resync. */
export function updateFileName(sequence: number, kind: UpdateKind): string {
  return `${String(sequence).padStart(12, '0')}.${kind === 'resync' ? 'resync' : 'update'}`;
}

/** The sequence a file name claims, or null for a name that is not an update file. */
export function sequenceOfName(name: string): { sequence: number; resync: boolean } | null {
  const m = /^(\d{12})\.(update|resync)$/.exec(name);
  return m ? { sequence: Number(m[1]), resync: m[2] === 'resync' } : null;
}

/** The file name of the acknowledgement of update `sequence`. */
export function ackFileName(sequence: number): string {
  return `${String(sequence).padStart(12, '0')}.ack`;
}

/** The sequence an acknowledgement's file name claims, or null for a name that is not one. */
export function sequenceOfAckName(name: string): number | null {
  const m = /^(\d{12})\.ack$/.exec(name);
  return m ? Number(m[1]) : null;
}
