/**
 * Declared edges the implementation cannot take, each with the reason. The statistics test allows
 * exactly these to stay unexercised (and fails if one of them is ever taken, so this list cannot
 * go stale); any other unexercised edge fails it. Test support only.
 *
 * Empty: every declared edge is taken. The update-processing edges once listed here are taken
 * now: a sync cut short sends `POWER_LOSS` to its live machine (`impl/kms/userSync.ts`), in
 * `verifying` (a cut at the HSM's check), `applying` (in the apply's commit), `applied` and
 * `refused`; and `idle -(always)[awaitingResync]-> blocked` follows a cut during the resync of a
 * blocked user. `opening -POWER_LOSS-> idle` was dead specification and left the model: opening is
 * a parse in host memory with no device call, so no host learns of a power loss there.
 * @module
 */
import type { MACHINES } from './stats.testkit.ts';

/** Per machine: edge name → why the implementation never takes it. */
export const UNREACHABLE_EDGES: Partial<Record<keyof typeof MACHINES, Record<string, string>>> = {};
