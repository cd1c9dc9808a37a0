/**
 * Declared edges the implementation cannot take, each with the reason. The statistics test allows
 * exactly these to stay unexercised; any other unexercised edge fails it. Test support only.
 * @module
 */
import type { MACHINES } from './stats.testkit.ts';

/** Per machine: edge name → why the implementation never takes it. */
export const UNREACHABLE_EDGES: Partial<Record<keyof typeof MACHINES, Record<string, string>>> = {};
