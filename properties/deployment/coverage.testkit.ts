/**
 * Declared edges the implementation cannot take, each with the reason. The statistics test allows
 * exactly these to stay unexercised (and fails if one of them is ever taken, so this list cannot
 * go stale); any other unexercised edge fails it. Test support only.
 * @module
 */
import type { MACHINES } from './stats.testkit.ts';

const NO_POWER_LOSS_EVENT =
  'impl/kms/user.ts never sends POWER_LOSS to the update-processing machine: a cut simply loses the ' +
  'uncommitted transaction, and the persisted snapshot is the one before (so the machine is never told)';

/** Per machine: edge name → why the implementation never takes it. */
export const UNREACHABLE_EDGES: Partial<Record<keyof typeof MACHINES, Record<string, string>>> = {
  updateProcessingEdges: {
    'opening -POWER_LOSS-> idle': NO_POWER_LOSS_EVENT,
    'verifying -POWER_LOSS-> idle': NO_POWER_LOSS_EVENT,
    'applying -POWER_LOSS-> idle': NO_POWER_LOSS_EVENT,
    'applied -POWER_LOSS-> idle': NO_POWER_LOSS_EVENT,
    'refused -POWER_LOSS-> idle': NO_POWER_LOSS_EVENT,
    'idle -(always)[awaitingResync]-> blocked':
      'impl/kms/user.ts restores the persisted snapshot (restoreSnapshot) instead of starting the machine ' +
      'from its input, so a device blocked before a reboot is restored as blocked and never passes through idle',
  },
};
