/**
 * Durable points: the moments at which a device's images on disk must catch up with the device in
 * memory, in the middle of a command.
 *
 * A command loads a device from its images and saves them at the end. Between the two, the device
 * runs from memory, so killing the process (kill -9, a full disk, `ulimit -f`) used to undo the whole
 * session — including what the device had made durable in its own flash on purpose: a spent PIN try
 * (the SEcube and the PIN machine spend it in flash *before* comparing the PIN, NIST SP 800-63B
 * §5.2.2 rate limiting), an advanced anti-rollback generation, an advanced update sequence. A host
 * that can undo those can brute-force PINs or replay states.
 *
 * Every such counter lives in the device's state record area (`recordArea.ts`, sectors
 * `DEFAULT_STATE_SECTORS`): a program there is the device committing a counter. So the host watches
 * the flash ({@link Flash.setWriteListener}) and, on each program of a state sector, saves both
 * images at once — flash and the card's durable (synced) content, as one checkpoint of the pair
 * (`deviceImages.ts`: one file, one flush) — before the flash call returns to the device. The device's next step (the
 * PIN
 * comparison, the use of a new key) therefore happens only after the counter is on disk.
 *
 * Why the whole pair and not the changed sector alone: the counters refer to the card (the
 * generation names the committed database), and the device is built to survive a power cut at any
 * flash operation; the images saved at a durable point are exactly what its media would hold after a
 * power cut there (unsynced card writes dropped). So the pair invariant of `deviceImages.ts` holds at
 * every step: on disk there is always the pair of the last durable point or of the end of a
 * session, never a mix, and each later save is of a later state, so none can bring an older
 * counter back.
 * @module
 */
import type { Flash, FlashWrite } from '../../device/flash.ts';

/** Control over one device's durable points. */
export interface DurablePoints {
  /**
   * Defers durable points until the returned function is called, which then saves at once if one
   * was deferred. For host-level orderings between devices (provisioning saves the new user device
   * before the admin's images may show it).
   */
  hold(): () => void;
  /** Durable points reached so far (saves done). */
  readonly saves: number;
  /**
   * What stopped this device's durable points, or null: a save that failed (`saveFailed`), or
   * {@link stop}. Once stopped, every later durable point fails with the same error and saves nothing.
   */
  readonly failure: { readonly error: unknown; readonly saveFailed: boolean } | null;
  /**
   * Stops the durable points as a failed save does: for a step the host takes itself that must
   * succeed before this device's next durable point may be saved (the new user device's images at
   * provisioning: the admin's images must not show an HSM that was not saved). `saveFailed` when
   * that step was a save that failed.
   */
  stop(error: unknown, saveFailed: boolean): void;
  /** Stops watching the flash. */
  detach(): void;
}

/**
 * Calls `save` after every program of one of `stateSectors` on `flash` (see the module doc).
 * A failing `save` (disk full) fails the flash operation, so the device stops before relying on it;
 * and it stays stopped: the flash in memory is already past the point the disk could not take, so a
 * later save (space freed meanwhile, a smaller file) would put that point on disk after the command
 * was told it failed. The host then saves nothing more of the session: the disk keeps the last
 * durable point, as after a power cut there (`Installation`, `CheckpointNotSaved`).
 */
export function watchDurablePoints(flash: Flash, stateSectors: readonly number[], save: () => void): DurablePoints {
  let holds = 0;
  let deferred = false;
  let saves = 0;
  let failure: { readonly error: unknown; readonly saveFailed: boolean } | null = null;
  const reach = (): void => {
    if (failure !== null) throw failure.error;
    if (holds > 0) {
      deferred = true;
      return;
    }
    deferred = false;
    try {
      save();
    } catch (error) {
      failure = { error, saveFailed: true };
      throw error;
    }
    saves += 1;
  };
  flash.setWriteListener((write: FlashWrite) => {
    if (write.kind === 'program' && stateSectors.includes(write.sector)) reach();
  });
  return {
    hold() {
      holds += 1;
      let released = false;
      return () => {
        if (released) return;
        released = true;
        holds -= 1;
        if (holds === 0 && deferred) reach();
      };
    },
    get saves() {
      return saves;
    },
    get failure() {
      return failure;
    },
    stop(error: unknown, saveFailed: boolean) {
      failure ??= { error, saveFailed };
    },
    detach() {
      flash.setWriteListener(undefined);
    },
  };
}
