/**
 * A fixed warm-up scenario for the deployment suite, run before the random runs so that rare edges
 * of the machines are taken at every CI run (see the statistics test). Test support only.
 * @module
 */
import type { CommandSpec } from './commands.testkit.ts';

/** The warm-up scenario (after the bootstrap). */
export const WARMUP: readonly CommandSpec[] = [];
