/**
 * How a session ends: its device images saved (always, even when the work failed), then its writes
 * to the share carried out (`DeferredTransport`: the share never gets ahead of the saved devices),
 * and each failure on the way worded for what is then true: a change in effect is never reported as
 * a refusal, since the command run again would make it twice.
 * @module
 */
import { messageOf } from '../../model/codedError.ts';
import { ShareOperationsFailed } from './deferredTransport.ts';
import type { DeferredTransport } from './deferredTransport.ts';
import { InstallationError } from './installationError.ts';
import { saveDevice } from './loadedDevice.ts';
import type { DeviceReport, LoadedDevice } from './loadedDevice.ts';

/** Whether `error` is the share failing (missing, or a folder there that is not one). */
export function isShareFailure(error: unknown): boolean {
  return error instanceof InstallationError && (error.code === 'ShareMissing' || error.code === 'UnsafeShare');
}

/** The first few of `items`, and how many more (a share that refused a long outbox). */
function someOf(items: readonly string[], shown = 4): string {
  const more = items.length - shown;
  return `${items.slice(0, shown).join(', ')}${more > 0 ? ` and ${more} more` : ''}`;
}

/**
 * `ShareNotWritten` for a change that is saved while the share failed with `error`. When operations
 * failed (`ShareOperationsFailed`), the error carries them all as `notWritten` (the message names the
 * first few), so that the command line says which of the files it announced are not on the share.
 */
export function shareNotWritten(error: unknown): InstallationError {
  const notWritten = error instanceof ShareOperationsFailed ? error.failed : undefined;
  return Object.assign(shareNotWrittenError(error), notWritten === undefined ? {} : { notWritten });
}

function shareNotWrittenError(error: unknown): InstallationError {
  const why = messageOf(error);
  // What was printed is committed; these did not reach the share (a `published:` line says which of its own).
  const missed = error instanceof ShareOperationsFailed ? `; not on the share: ${someOf(error.failed)}` : '';
  // The share's own way out (which folder, which file is in the way), where it has one.
  const fix = error instanceof InstallationError ? error.remedy : undefined;
  // Only a user's sync writes acknowledgements (the administrator only reads and removes them): the
  // administrator's publish, and a command that created something, are not its concern, and its own
  // next sync sends them again.
  if (
    error instanceof ShareOperationsFailed &&
    error.failed.length > 0 &&
    error.failed.every((op) => op.startsWith('write acks/'))
  )
    return new InstallationError(
      'ShareNotWritten',
      `what this sync applied is saved, but the share did not take its acknowledgements (${why}${missed}): fix ` +
        'the share; the next `sync` sends them again (until then the administrator counts those updates as ' +
        'unacknowledged)',
      // Its own, always: the code's general remedy leads with the administrator's publish (and `fix`
      // comes only from an InstallationError, which a ShareOperationsFailed is not).
      'Fix the share as the message says (free space on it, make it writable, or move away what is in the ' +
        'way); the next `sync` sends the acknowledgements again, and nothing else needs doing.',
    );
  return new InstallationError(
    'ShareNotWritten',
    `the change is saved, but the share did not take all of its files (${why}${missed}): fix the share; the next ` +
      "`sekey admin publish` (or, for acknowledgements, the user's next `sync`) writes them again. A command " +
      'that created something (a key, a user) would create it twice if run again',
    fix === undefined
      ? undefined
      : `${fix} Then run \`sekey admin publish\` (for acknowledgements, the user's \`sync\`): do not run the ` +
          'command again.',
  );
}

/**
 * Saves a session's device images, then its time (`saveTime`). What the work made durable is in
 * effect whether or not this succeeds (a checkpoint holds it), so when it fails after work that
 * succeeded, the failure is `ImagesNotSaved`, no refusal: said as one (the raw errno, exit 1, no line
 * printed), a retry made a second key, and a changed PIN was reported unchanged (the old one then
 * spent the tries: a locked HSM). After work that failed (`work.error`), that failure is what the
 * command reports, not the save's: a wrong PIN stays `WrongPin` (its spent try is in a checkpoint,
 * and the next command completes the save).
 */
export function saveSession(
  devices: readonly LoadedDevice[],
  work: { readonly done: boolean; readonly error: unknown; readonly filesHeld: boolean },
  saveTime: () => void,
): DeviceReport[] {
  try {
    const reports = devices.map(saveDevice);
    saveTime();
    return reports;
  } catch (error) {
    if (work.done) throw imagesNotSaved(error, work.filesHeld);
    throw work.error ?? error;
  }
}

/**
 * Ends a session one of whose devices' durable points stopped (a save that failed, or a step the
 * host stopped them for), before anything else is saved: saving then would put on disk what the
 * command was told failed (a commit it reported failed, a spent PIN try that was never compared,
 * an admin pairing for an HSM that was never saved). As after a power cut at that point, nothing
 * more is saved and nothing goes to the share; except the PIN tries a correct PIN gave back
 * (`logIn`, `loadedDevice.ts`). When a checkpoint holding a change of this session (a synced card write) was saved
 * before, the command did something, which the error says (`changed`: `CheckpointNotSaved`, exit 4).
 * @throws InstallationError `CheckpointNotSaved` when a save failed; the error that stopped the
 *   durable points otherwise (the work's own).
 */
export function refuseAfterFailedCheckpoint(devices: readonly LoadedDevice[]): void {
  const stopped = devices.find((d) => d.durable?.failure);
  const failure = stopped?.durable?.failure;
  if (!stopped || !failure) return;
  const changed = devices.some((d) => d.changeSaved?.() === true);
  for (const d of devices) {
    if (!d.triesGivenBack) continue;
    try {
      saveDevice(d);
    } catch {
      // The try stays spent, as after a power cut between the comparison and its save.
    }
  }
  if (!failure.saveFailed) throw failure.error;
  const why = messageOf(failure.error);
  // A user's session (its HSM alone loaded) is checked with the user's commands, an admin's with the admin's.
  const only = devices.length === 1 ? devices[0]?.name : undefined;
  const user = only === 'admin' ? undefined : only;
  const checks =
    user === undefined ? '`sekey admin keys`, `users`, `status`' : `\`sekey user ${user} status\`, \`keys\``;
  const remedy =
    user === undefined
      ? undefined
      : 'Free space, lift the file-size limit (`ulimit -f`), or fix the file the message names; then check what ' +
        `the command did (${checks}) before repeating it. A sync is safe to run again: it goes on where it stopped.`;
  const done = changed
    ? 'the steps it completed before are done and in effect (in text, the lines it printed): do not run again a ' +
      `command that created something (a key, a user), it would create it twice; check (${checks}) what is missing`
    : 'nothing it was asked to do is done; free space or fix the file, then run it again';
  const note = stopped.stoppedNote === undefined ? '' : `. ${stopped.stoppedNote}`;
  // `changed` goes with the error: the command line exits 4 for it, as for a change not all saved.
  throw Object.assign(
    new InstallationError(
      'CheckpointNotSaved',
      `saving the HSM images (or installation.json) at a durable point failed (${why}), so the command stopped ` +
        `there, as a power cut would have stopped it: nothing after it is kept and none of its files went to the ` +
        `share (a PIN try spent before it may stay spent); ${done}${note}`,
      remedy,
    ),
    { changed },
  );
}

/**
 * `ImagesNotSaved` for a session whose work is in effect (checkpointed) while the last save failed
 * with `error`; `filesHeld` when the work had files for the share, which then were not written. Worded
 * for any command: a listing whose last save failed changed nothing, and must not read as a change.
 */
function imagesNotSaved(error: unknown, filesHeld: boolean): InstallationError {
  const why = messageOf(error);
  const files = filesHeld
    ? ', and its files were not written to the share (the next `sekey admin publish`, or for acknowledgements ' +
      'the next `sync`, writes them)'
    : '';
  return new InstallationError(
    'ImagesNotSaved',
    'what the command printed is done and in effect (a checkpoint of the HSM images holds it), but the last ' +
      `save of the images or installation.json failed (${why})${files}: free space or fix the file; the next ` +
      'command completes the save. Do not run again a command that created something (a key, a user): it would ' +
      'create it twice; a PIN it changed is the new one',
  );
}

/**
 * Carries out the session's writes to the share, once its images are saved. When the work had
 * succeeded, a failure here must not read as a refusal: the change stands, and the command run
 * again would make it twice (a second key, a duplicate user refused). So it becomes
 * `ShareNotWritten`, which the command line reports with what the command did (`announce.ts`). When
 * the work had failed, its own error is what the command reports, not this one (the files held go
 * out with the next publication, from the administrator's outbox).
 */
export async function commitShare(transport: DeferredTransport, workDone: boolean): Promise<void> {
  try {
    await transport.commit();
  } catch (error) {
    if (workDone) throw shareNotWritten(error);
  }
}
