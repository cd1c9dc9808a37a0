/**
 * A sync that applied what it could but could not carry out the HSM work the files order, because
 * the HSM's key store is full (or, rarer, an owed import is one the HSM refuses for good until a later
 * file delivers its key again: `UserSync`'s curable refusals). It is the device's `StoreFull` (or that
 * refusal: same class and code, so every caller that branches on the device's refusal still does),
 * and it carries the sync's report: the files it did apply are committed to the replica, and a
 * caller that is told only "StoreFull" cannot say so. Their work stays owed
 * (`UserSync.pendingDeviceWork`) and none of them is acknowledged until a later sync carries it out:
 * an acknowledgement tells the administrator the work was done.
 * @module
 */
import { DeviceError } from '../../device/deviceError.ts';
import type { SyncReport } from './userSync.ts';

/** `StoreFull` (or another curable refusal) at the end of a sync, with what the sync did before it. */
export class SyncStalledError extends DeviceError {
  /** What the sync applied and refused, as a completed sync would report it. */
  readonly report: SyncReport;

  constructor(cause: DeviceError, report: SyncReport) {
    const applied =
      report.applied.length === 0
        ? `no new update file was applied (the replica is at update #${report.sequence})`
        : `update ${report.applied.map((s) => `#${s}`).join(', ')} applied (the replica is at update ` +
          `#${report.sequence}), their HSM work owed`;
    super(cause.code, `${cause.detail}; this sync: ${applied}; nothing is acknowledged until the work is done`);
    this.report = report;
  }
}
